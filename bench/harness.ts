import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Pool } from 'pg';
import type { NatsConnection } from 'nats';

/** One measured figure next to the baseline measured in the same run. */
export interface Figure {
  benchmark: string;
  measure: string;
  unit: string;
  ours: number;
  baseline: number;
  /** ours / baseline. */
  ratio: number;
  /** Which direction is better for this unit: throughput higher, latency lower. */
  better: 'higher' | 'lower';
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  node: string;
  platform: string;
  postgres: string;
  nats: string;
}

export interface BenchmarkResult {
  name: string;
  parameters: Record<string, unknown>;
  figures: Figure[];
  seconds: number;
}

export interface BenchResults {
  /** Prefix of the run's schemas and NATS namespace (all removed at the end). */
  runId: string;
  mode: 'quick' | 'full';
  scale: number;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  machine: MachineInfo;
  databaseUrl: string;
  natsUrl: string;
  benchmarks: BenchmarkResult[];
}

/** What every benchmark gets: connections, its own names, and the run's size. */
export interface BenchContext {
  quick: boolean;
  /** Multiplies every count (1 by default; the spec runs smaller). */
  scale: number;
  databaseUrl: string;
  natsUrl: string;
  /** Pool on the bench database, for baselines and set-up. */
  pool: Pool;
  nc: NatsConnection;
  /** Prefix shared by the run's schemas and NATS namespace. */
  runId: string;
  /** A schema for `purpose`, dropped at the end of the run. */
  schema(purpose: string): string;
  /** `count` scaled by the run's scale (at least `min`). */
  n(count: number, min?: number): number;
  log(message: string): void;
}

export interface Benchmark {
  name: string;
  run(ctx: BenchContext): Promise<{ parameters: Record<string, unknown>; figures: Figure[] }>;
}

/**
 * Operations run, untimed, before a measured run: a service is measured as it runs for days,
 * with its code compiled by the JIT and its plans and connections made, not in its first second.
 * The same count for ours and for the baseline.
 */
export function warmUpOps(ctx: Pick<BenchContext, 'quick' | 'n'>, concurrency: number): number {
  return ctx.quick ? concurrency * 4 : ctx.n(1_000, concurrency * 4);
}

/** A run id usable as a schema name and a NATS token: bench_<time>_<random>. */
export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:TZ.]/g, '').slice(0, 14);
  return `bench_${stamp}_${randomBytes(3).toString('hex')}`;
}

export function figure(benchmark: string, measure: string, unit: string, ours: number, baseline: number, better: 'higher' | 'lower'): Figure {
  return { benchmark, measure, unit, ours, baseline, ratio: ours / baseline, better };
}

/** Seconds taken by `work`. */
export async function timed<T>(work: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const start = performance.now();
  const value = await work();
  return { seconds: (performance.now() - start) / 1000, value };
}

export interface ConcurrentRun {
  seconds: number;
  operations: number;
  /** Per-operation latency in milliseconds, in completion order. */
  latenciesMs: number[];
  /** CPU spent during the run, in milliseconds, where it could be read (see cpuNow). */
  cpu?: CpuUse;
}

/**
 * CPU time in milliseconds: this process (client and any service booted in it), every local
 * PostgreSQL process and every local NATS server. The servers' figures come from /proc and are
 * absent (zero) on a machine without it or when the servers run elsewhere.
 */
export interface CpuUse {
  node: number;
  postgres: number;
  nats: number;
}

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ, 100 on every common build). */
const USER_HZ = 100;

/** The CPU used so far by this process and the local PostgreSQL and NATS servers. */
export function cpuNow(): CpuUse {
  const usage = process.cpuUsage();
  const use: CpuUse = { node: (usage.user + usage.system) / 1000, postgres: 0, nats: 0 };
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return use;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // comm is in parentheses and may contain spaces; the fields after it are space-separated.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const server = comm === 'postgres' ? 'postgres' : comm === 'nats-server' ? 'nats' : undefined;
      if (!server) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after comm.
      use[server] += ((Number(fields[11]) + Number(fields[12])) * 1000) / USER_HZ;
    } catch {
      // the process ended between the listing and the read
    }
  }
  return use;
}

/** What was spent between two cpuNow() readings. */
export function cpuSince(start: CpuUse, end: CpuUse = cpuNow()): CpuUse {
  return { node: end.node - start.node, postgres: end.postgres - start.postgres, nats: end.nats - start.nats };
}

/**
 * Runs `total` operations with `concurrency` workers, each taking the next index; `op(i, worker)`
 * is timed one by one. Worker w only ever runs with its own index, so it can own a stream.
 */
export async function runConcurrent(concurrency: number, total: number, op: (index: number, worker: number) => Promise<void>): Promise<ConcurrentRun> {
  let next = 0;
  const latenciesMs: number[] = [];
  const cpuStart = cpuNow();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      for (let i = next++; i < total; i = next++) {
        const t0 = performance.now();
        await op(i, worker);
        latenciesMs.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { seconds, operations: total, latenciesMs, cpu: cpuSince(cpuStart) };
}

/**
 * CPU per operation, ours against the baseline, for each place where it is spent (this process,
 * PostgreSQL, NATS), and their sum against the machine's cores: the throughput the CPU alone
 * allows. A figure is left out when either side read no CPU at all (no /proc, the servers on
 * another machine, or a run shorter than a clock tick).
 */
export function cpuFigures(benchmark: string, label: string, ours: ConcurrentRun, baseline: ConcurrentRun): Figure[] {
  if (!ours.cpu || !baseline.cpu) return [];
  const per = (run: ConcurrentRun, part: keyof CpuUse) => (run.cpu?.[part] ?? 0) / run.operations;
  const total = (run: ConcurrentRun) => per(run, 'node') + per(run, 'postgres') + per(run, 'nats');
  const parts: Array<[keyof CpuUse, string]> = [
    ['node', 'this process (client + service)'],
    ['postgres', 'PostgreSQL'],
    ['nats', 'NATS server'],
  ];
  return [
    ...parts.map(([part, name]) => figure(benchmark, `${label} CPU per op, ${name}`, 'ms', per(ours, part), per(baseline, part), 'lower')),
    figure(benchmark, `${label} CPU per op, all`, 'ms', total(ours), total(baseline), 'lower'),
    figure(benchmark, `${label} ops/s the CPUs allow (cores / CPU per op)`, 'req/s', (cpus().length * 1000) / total(ours), (cpus().length * 1000) / total(baseline), 'higher'),
  ].filter((f) => f.ours > 0 && f.baseline > 0);
}

/** The p-th percentile (0..100) by nearest rank. */
export function percentile(values: ReadonlyArray<number>, p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

/** What a latency run comes to: percentiles in milliseconds and operations per second. */
export interface LatencySummary {
  p50: number;
  p95: number;
  p99: number;
  throughput: number;
}

export function summarize(run: ConcurrentRun): LatencySummary {
  const at = (p: number) => percentile(run.latenciesMs, p);
  return { p50: at(50), p95: at(95), p99: at(99), throughput: run.operations / run.seconds };
}

/**
 * Stages that a request goes through one after the other (a GraphQL layer, then a command):
 * their latencies add up, percentile by percentile, and so do the times per operation
 * (1 / throughput). A baseline made of two measured stages, each measured alone.
 */
export function inSeries(...stages: ReadonlyArray<LatencySummary>): LatencySummary {
  const sum = (pick: (s: LatencySummary) => number) => stages.reduce((total, stage) => total + pick(stage), 0);
  return { p50: sum((s) => s.p50), p95: sum((s) => s.p95), p99: sum((s) => s.p99), throughput: 1 / sum((s) => 1 / s.throughput) };
}

/**
 * p50 / p95 / p99 and throughput figures of `ours` against `baseline`, named `<label> p50`...
 * `<label> throughput` (with ` <suffix>` after each, when given: `vs bare NATS echo`).
 */
export function summaryFigures(benchmark: string, label: string, ours: LatencySummary, baseline: LatencySummary, options: { suffix?: string; percentiles?: ReadonlyArray<50 | 95 | 99> } = {}): Figure[] {
  const tail = options.suffix ? ` ${options.suffix}` : '';
  return [
    ...(options.percentiles ?? ([50, 95, 99] as const)).map((p) => figure(benchmark, `${label} p${p}${tail}`, 'ms', ours[`p${p}`], baseline[`p${p}`], 'lower')),
    figure(benchmark, `${label} throughput${tail}`, 'req/s', ours.throughput, baseline.throughput, 'higher'),
  ];
}

/** p50 / p95 / p99 and throughput figures of a latency run against its baseline run. */
export function latencyFigures(benchmark: string, label: string, ours: ConcurrentRun, baseline: ConcurrentRun): Figure[] {
  return summaryFigures(benchmark, label, summarize(ours), summarize(baseline));
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The figures as a plain-text table. */
export function formatTable(figures: ReadonlyArray<Figure>): string {
  const header = ['benchmark', 'measure', 'unit', 'ours', 'baseline', 'ours/baseline'];
  const rows = figures.map((f) => [f.benchmark, f.measure, f.unit, formatNumber(f.ours), formatNumber(f.baseline), `${f.ratio.toFixed(2)}x (${f.better} is better)`]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 3 && i <= 4 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

export async function machineInfo(pool: Pool, nc: NatsConnection): Promise<MachineInfo> {
  const { rows } = await pool.query<{ server_version: string }>('SHOW server_version');
  const all = cpus();
  return {
    cpus: all.length,
    cpuModel: all[0]?.model ?? 'unknown',
    memoryBytes: totalmem(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    postgres: rows[0].server_version,
    nats: nc.info?.version ?? 'unknown',
  };
}

export function writeResults(directory: string, results: BenchResults): string {
  mkdirSync(directory, { recursive: true });
  const file = join(directory, 'latest.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** A JSON payload of about `bytes` bytes. */
export function payloadOf(bytes: number, index: number): { index: number; name: string; note: string } {
  const base = { index, name: `item-${index}`, note: '' };
  const fill = Math.max(0, bytes - JSON.stringify(base).length);
  return { ...base, note: 'x'.repeat(fill) };
}
