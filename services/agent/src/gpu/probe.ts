import type { MetricPointInput } from '@modeltrail/contracts';
import { recordGpus } from '@modeltrail/observability';
import { ownedProcesses } from '../process/procfs';
import { runCommand, type CommandResult } from './command';
import { APPS_QUERY_ARGS, GPU_QUERY_ARGS, parseComputeApps, parseGpuRows, type GpuRow } from './nvidia-smi';

/**
 * What GPUs this node has, and which of them the agent may offer.
 *
 * `probeGpus` runs the GPU query and the compute-apps query of `nvidia-smi` (found on PATH) side
 * by side, under one time limit. The result's `status` says how the probe went:
 *
 * - OK: both queries answered and every value was read;
 * - MIG_PARTIAL: as OK, but some GPU reports `[N/A]` utilisation, as GPUs in MIG mode do; the
 *   GPUs are still listed and offered by their UUID (MIG instances are not scheduled one by
 *   one), their utilisation is unknown;
 * - TIMEOUT: a query did not answer in time; it was killed (its whole process group);
 * - ERROR: a query failed (non-zero exit, e.g. no driver) or printed something unreadable;
 * - ABSENT: no nvidia-smi on PATH: the node has no NVIDIA GPUs for the platform, and the caller
 *   registers its configured CPU-only capacity.
 *
 * Each GPU has its own `status`: AVAILABLE (offer it), BUSY_EXTERNAL (it runs a process that is
 * not one of the agent's: do not offer it), UNKNOWN (its processes or memory could not be read:
 * do not offer it). When the GPU query answered but the process query did not, the GPUs are
 * listed as UNKNOWN and `status` is that query's TIMEOUT or ERROR.
 *
 * Inside a container with its own pid namespace, nvidia-smi may show host pids (or none):
 * then the agent's own jobs can look foreign. Run the agent in the host's pid namespace.
 */

export type GpuProbeStatus = 'OK' | 'TIMEOUT' | 'ERROR' | 'ABSENT' | 'MIG_PARTIAL';
export type GpuStatus = 'AVAILABLE' | 'BUSY_EXTERNAL' | 'UNKNOWN';

export interface GpuInfo {
  index: number;
  uuid: string;
  name: string;
  /** Total memory in MiB (0 when nvidia-smi gave no number; the GPU is then UNKNOWN). */
  memoryMb: number;
  memoryUsedMb: number | null;
  utilizationPct: number | null;
  status: GpuStatus;
  /** Pids of processes on this GPU that are not the agent's (BUSY_EXTERNAL). */
  externalPids: number[];
}

export interface GpuProbe {
  status: GpuProbeStatus;
  /** One or more sentences for the agent's log and its registration (at most 4000 characters); empty when all is well. */
  message: string;
  gpus: GpuInfo[];
}

export interface ProbeOptions {
  /** Limit for the queries (run side by side). Default 5000 ms. */
  timeoutMs?: number;
  /**
   * Pids the agent owns (its jobs' processes). Their process groups and descendants count as
   * the agent's too (found through /proc), so a data-loader worker of a job is not foreign.
   */
  ownedPids?: Iterable<number>;
  /** Environment for nvidia-smi; its PATH is searched. Default: the agent's own environment. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Program name or path. Default `nvidia-smi`. */
  program?: string;
}

export const DEFAULT_PROBE_TIMEOUT_MS = 5_000;

/** Probes the GPUs, and sets the agent's GPU gauges (modeltrail_agent_gpu_*, docs/observability.md) from what it found. */
export async function probeGpus(options: ProbeOptions = {}): Promise<GpuProbe> {
  const probe = await probeOnce(options);
  recordGpus(probe.gpus);
  return probe;
}

async function probeOnce(options: ProbeOptions): Promise<GpuProbe> {
  const run = (args: readonly string[]) =>
    runCommand(options.program ?? 'nvidia-smi', args, { timeoutMs: options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, env: options.env ?? process.env });
  const [gpuResult, appsResult] = await Promise.all([run(GPU_QUERY_ARGS), run(APPS_QUERY_ARGS)]);

  const inventory = readInventory(gpuResult, options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
  if (inventory.status !== null) return { status: inventory.status, message: cap(inventory.message), gpus: [] };

  const messages: string[] = [];
  let status: GpuProbeStatus = 'OK';
  const { rows, problems } = parseGpuRows(gpuResult.kind === 'ok' ? gpuResult.stdout : '');
  if (problems.length > 0) {
    status = 'ERROR';
    messages.push(`nvidia-smi printed lines that are not GPUs: ${problems.join('; ')}`);
  }

  // Which GPUs run processes that are not the agent's.
  let externalByUuid: Map<string, number[]> | null = new Map();
  if (appsResult.kind === 'ok') {
    const apps = parseComputeApps(appsResult.stdout);
    if (apps.problems.length > 0) {
      externalByUuid = null;
      status = 'ERROR';
      messages.push(`nvidia-smi's process list could not be read: ${apps.problems.join('; ')}`);
    } else {
      const owned = ownedProcesses(options.ownedPids ?? []);
      for (const app of apps.rows) {
        if (owned.has(app.pid)) continue;
        const list = externalByUuid.get(app.gpuUuid) ?? [];
        list.push(app.pid);
        externalByUuid.set(app.gpuUuid, list);
      }
    }
  } else {
    externalByUuid = null;
    const failed = readInventory(appsResult, options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
    status = failed.status === 'TIMEOUT' ? 'TIMEOUT' : 'ERROR';
    messages.push(`the GPUs' processes could not be listed, so no GPU is offered: ${failed.message}`);
  }

  const gpus = rows.map((row) => toGpu(row, externalByUuid, messages));
  const mig = rows.filter((r) => r.utilizationPct === null && r.utilizationText !== null && /n\/a/i.test(r.utilizationText));
  if (mig.length > 0) {
    if (status === 'OK') status = 'MIG_PARTIAL';
    messages.push(
      `${mig.map((r) => `GPU ${r.index}`).join(', ')} report${mig.length === 1 ? 's' : ''} utilisation as [N/A], as GPUs in MIG mode do: still offered, by the GPU's UUID (MIG instances are not scheduled one by one), utilisation not sampled`,
    );
  }
  return { status, message: cap(messages.join('. ')), gpus };
}

/** Messages stay within what a registration carries (the scheduler contracts' GpuProbe: 4000 characters). */
export const MAX_PROBE_MESSAGE_CHARS = 4_000;

function cap(message: string): string {
  return message.length <= MAX_PROBE_MESSAGE_CHARS ? message : `${message.slice(0, MAX_PROBE_MESSAGE_CHARS - 3)}...`;
}

/** The GPUs to offer: the AVAILABLE ones. */
export function offerableGpus(probe: GpuProbe): GpuInfo[] {
  return probe.gpus.filter((gpu) => gpu.status === 'AVAILABLE');
}

function toGpu(row: GpuRow, externalByUuid: Map<string, number[]> | null, messages: string[]): GpuInfo {
  const externalPids = externalByUuid?.get(row.uuid) ?? [];
  let status: GpuStatus = externalByUuid === null ? 'UNKNOWN' : externalPids.length > 0 ? 'BUSY_EXTERNAL' : 'AVAILABLE';
  if (row.memoryMb === null) {
    status = 'UNKNOWN';
    messages.push(`GPU ${row.index} reports no total memory: not offered`);
  }
  if (externalPids.length > 0) messages.push(`GPU ${row.index} runs processes that are not the agent's (pids ${externalPids.join(', ')}): not offered`);
  return {
    index: row.index,
    uuid: row.uuid,
    name: row.name,
    memoryMb: row.memoryMb ?? 0,
    memoryUsedMb: row.memoryUsedMb,
    utilizationPct: row.utilizationPct,
    status,
    externalPids,
  };
}

/** A failed command's probe status and message; status null when the command answered. */
function readInventory(result: CommandResult, timeoutMs: number): { status: GpuProbeStatus | null; message: string } {
  switch (result.kind) {
    case 'ok':
      return { status: null, message: '' };
    case 'absent':
      return { status: 'ABSENT', message: 'nvidia-smi is not on PATH: no GPUs (the configured CPU-only capacity applies)' };
    case 'timeout':
      return {
        status: 'TIMEOUT',
        message: `nvidia-smi did not answer within ${timeoutMs} ms: killed (pid ${result.pid})${result.exited ? '' : ', but it had not exited a second after SIGKILL'}`,
      };
    case 'failed': {
      const said = firstLine(result.stdout) || firstLine(result.stderr);
      const how = result.code !== null ? `exit code ${result.code}` : `signal ${result.signal}`;
      return { status: 'ERROR', message: `nvidia-smi failed (${how})${said ? `: ${said}` : ''}` };
    }
    case 'error':
      return { status: 'ERROR', message: result.message };
    default: {
      const unreachable: never = result;
      return unreachable;
    }
  }
}

function firstLine(text: string): string {
  return text.split('\n').find((l) => l.trim() !== '')?.trim().slice(0, 500) ?? '';
}

// ---------------------------------------------------------------------------------------------
// Sampling, for a run's system metrics
// ---------------------------------------------------------------------------------------------

export interface SampleOptions {
  /**
   * The job's GPUs, in the order of its CUDA_VISIBLE_DEVICES: metric keys number them by their
   * position here (the device number the job itself sees). Without it, every GPU, keyed by its
   * node index.
   */
  uuids?: readonly string[];
  timeoutMs?: number;
  env?: Readonly<Record<string, string | undefined>>;
  program?: string;
}

export interface GpuSample {
  status: GpuProbeStatus;
  message: string;
  /** `system/gpu.<n>.utilization` (percent) and `system/gpu.<n>.memory_used_mb`; values nvidia-smi did not give are left out. */
  points: Array<{ key: string; value: number }>;
}

export async function sampleGpus(options: SampleOptions = {}): Promise<GpuSample> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const result = await runCommand(options.program ?? 'nvidia-smi', GPU_QUERY_ARGS, { timeoutMs, env: options.env ?? process.env });
  const failed = readInventory(result, timeoutMs);
  if (failed.status !== null) return { status: failed.status, message: failed.message, points: [] };
  const { rows, problems } = parseGpuRows(result.kind === 'ok' ? result.stdout : '');
  const byUuid = new Map(rows.map((r) => [r.uuid, r]));
  const selected: Array<[number, GpuRow | undefined]> = options.uuids ? options.uuids.map((uuid, i) => [i, byUuid.get(uuid)]) : rows.map((r) => [r.index, r]);
  const points: GpuSample['points'] = [];
  const missing: string[] = [];
  for (const [n, row] of selected) {
    if (row === undefined) {
      missing.push(options.uuids?.[n] ?? String(n));
      continue;
    }
    if (row.utilizationPct !== null) points.push({ key: `system/gpu.${n}.utilization`, value: row.utilizationPct });
    if (row.memoryUsedMb !== null) points.push({ key: `system/gpu.${n}.memory_used_mb`, value: row.memoryUsedMb });
  }
  const messages = [...problems.map((p) => `unreadable line: ${p}`), ...(missing.length > 0 ? [`nvidia-smi does not list ${missing.join(', ')}`] : [])];
  return { status: messages.length > 0 ? 'ERROR' : 'OK', message: messages.join('. '), points };
}

export interface GpuSamplerOptions extends SampleOptions {
  /** Time between the end of one sample and the start of the next. */
  intervalMs: number;
  /**
   * Called with each sample's points as metric points for the run (step = the sample's number,
   * 0, 1, 2, ...; timestamp = when it was taken); not called for a sample without points. A
   * sample that failed is passed to `onProblem` instead.
   */
  onPoints: (points: MetricPointInput[]) => void;
  onProblem?: (sample: GpuSample) => void;
  now?: () => Date;
}

export interface GpuSampler {
  /** Stops sampling; resolves once a sample in progress has ended and been reported. */
  stop(): Promise<void>;
}

/** Samples every `intervalMs` until stopped; samples never overlap. */
export function startGpuSampler(options: GpuSamplerOptions): GpuSampler {
  const now = options.now ?? (() => new Date());
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  let step = 0;
  const tick = () => {
    timer = null;
    inFlight = (async () => {
      const timestamp = now().toISOString();
      const sample = await sampleGpus(options);
      // A sample begun before stop() still counts: it was taken while the job ran, and stop()
      // waits for it (a job shorter than one nvidia-smi call would otherwise have no sample).
      if (sample.status !== 'OK' && sample.status !== 'MIG_PARTIAL') options.onProblem?.(sample);
      if (sample.points.length > 0) {
        const at = step++;
        options.onPoints(sample.points.map((p) => ({ key: p.key, value: p.value, step: at, timestamp })));
      }
    })()
      .catch((error: unknown) => options.onProblem?.({ status: 'ERROR', message: (error as Error).message, points: [] }))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
