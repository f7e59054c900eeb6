import Table from 'cli-table3';

/** Where a command writes: stdout for results, stderr for diagnostics and progress. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (colours, live status lines). */
  isTTY: boolean;
  /** Colours wanted: a terminal, and NO_COLOR unset. */
  color: boolean;
}

export function processIo(env: NodeJS.ProcessEnv = process.env): Io {
  const isTTY = Boolean(process.stdout.isTTY);
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => void process.stderr.write(text),
    isTTY,
    color: isTTY && !env.NO_COLOR && env.TERM !== 'dumb',
  };
}

const ANSI = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof ANSI;

/** Text in a style when colours are on; the text alone otherwise. */
export function paint(text: string, style: Style, color: boolean): string {
  if (!color) return text;
  const [open, close] = ANSI[style];
  return `\u001b[${open}m${text}\u001b[${close}m`;
}

/** A cell value as a person reads it: null/undefined as "-", numbers without noise, objects as compact JSON. */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return formatNumber(value);
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return JSON.stringify(value);
}

export function formatNumber(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(4);
  return String(Number(value.toPrecision(6)));
}

/** A table with a header row; rows are arrays of cell values. Without colours, no ANSI codes at all. */
export function table(head: string[], rows: unknown[][], color = false): string {
  const t = new Table({
    head: head.map((h) => paint(h, 'bold', color)),
    style: { head: [], border: [] },
    wordWrap: true,
  });
  for (const row of rows) t.push(row.map(cell));
  return `${t.toString()}\n`;
}

/** Key/value pairs as a two-column table (one entity). */
export function details(pairs: Array<[string, unknown]>, color = false): string {
  const t = new Table({ style: { head: [], border: [] }, wordWrap: true });
  for (const [key, value] of pairs) t.push({ [paint(key, 'bold', color)]: cell(value) });
  return `${t.toString()}\n`;
}

/** JSON for scripts: the value alone, pretty-printed, one trailing newline. */
export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
