/**
 * The two nvidia-smi queries the agent makes, and pure parsers of their CSV output
 * (`--format=csv,noheader,nounits`: one line per GPU or process, fields separated by `, `,
 * no quoting; values nvidia-smi cannot give read `[N/A]`, `[Not Supported]`, `[Unknown Error]`).
 */

export const GPU_QUERY_ARGS = ['--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu', '--format=csv,noheader,nounits'] as const;
export const APPS_QUERY_ARGS = ['--query-compute-apps=gpu_uuid,pid,used_memory', '--format=csv,noheader,nounits'] as const;

export interface GpuRow {
  index: number;
  uuid: string;
  name: string;
  /** null when nvidia-smi gave no number. */
  memoryMb: number | null;
  memoryUsedMb: number | null;
  utilizationPct: number | null;
  /** What nvidia-smi printed for the utilisation when it was not a number (`[N/A]` on a GPU in MIG mode). */
  utilizationText: string | null;
}

export interface ComputeAppRow {
  gpuUuid: string;
  pid: number;
  usedMemoryMb: number | null;
}

export interface Parsed<T> {
  rows: T[];
  /** Lines that could not be read, with why. */
  problems: string[];
}

/** A number, or null for anything else (`[N/A]`, `[Not Supported]`, empty, ...). */
export function csvNumber(text: string): number | null {
  const trimmed = text.trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : null;
}

/**
 * Rows of the GPU query. The name is everything between the uuid and the last three fields,
 * so a name with a comma in it still reads right.
 */
export function parseGpuRows(stdout: string): Parsed<GpuRow> {
  const rows: GpuRow[] = [];
  const problems: string[] = [];
  for (const line of lines(stdout)) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 6) {
      problems.push(`expected 6 fields, got ${fields.length}: ${JSON.stringify(line)}`);
      continue;
    }
    const [indexText, uuid] = fields;
    const [total, used, utilization] = fields.slice(-3);
    const name = fields.slice(2, -3).join(', ');
    const index = csvNumber(indexText);
    if (index === null || !Number.isInteger(index)) {
      problems.push(`GPU index ${JSON.stringify(indexText)} is not a whole number: ${JSON.stringify(line)}`);
      continue;
    }
    if (!/^[A-Za-z0-9-]+$/.test(uuid)) {
      problems.push(`GPU uuid ${JSON.stringify(uuid)} is not one: ${JSON.stringify(line)}`);
      continue;
    }
    const utilizationPct = csvNumber(utilization);
    rows.push({
      index,
      uuid,
      name,
      memoryMb: csvNumber(total),
      memoryUsedMb: csvNumber(used),
      utilizationPct,
      utilizationText: utilizationPct === null ? utilization : null,
    });
  }
  return { rows, problems };
}

/** Rows of the compute-apps query. */
export function parseComputeApps(stdout: string): Parsed<ComputeAppRow> {
  const rows: ComputeAppRow[] = [];
  const problems: string[] = [];
  for (const line of lines(stdout)) {
    // nvidia-smi says so in words when it cannot list processes on some GPU.
    if (/^no running (compute )?processes found/i.test(line)) continue;
    const fields = line.split(',').map((f) => f.trim());
    const pid = fields.length === 3 ? csvNumber(fields[1]) : null;
    if (pid === null || !Number.isInteger(pid) || pid <= 0) {
      problems.push(`expected "<gpu uuid>, <pid>, <used memory>", got ${JSON.stringify(line)}`);
      continue;
    }
    rows.push({ gpuUuid: fields[0], pid, usedMemoryMb: csvNumber(fields[2]) });
  }
  return { rows, problems };
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}
