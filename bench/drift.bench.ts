import { fork } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { mulberry32 } from '@modeltrail/contracts';
import { buildReference, type CurrentColumns, encodeReference, type FeatureSpec, measureDrift } from '@modeltrail/drift';
import { type Benchmark, type BenchContext, figure, percentile } from './harness';

const FEATURES = 20;
/** Features from this index on are shifted in the batch (by 0.25 of their std), the others drawn anew from the same distribution. */
const SHIFTED_FROM = 10;
const REPEATS = 3;
const SAMPLE_MS = 5;
const MB = 1024 * 1024;

/**
 * Column f: N(offset_f, scale_f) drawn by Box–Muller from a seeded generator; every fourth
 * column rounded to 2 decimals, so that values repeat (ties in the merge walks).
 */
function columnsOf(seed: number, rows: number, shift: (feature: number) => number): CurrentColumns {
  const random = mulberry32(seed);
  const columns = new Map<string, Float64Array>();
  for (let f = 0; f < FEATURES; f++) {
    const scale = 1 + (f % 5);
    const offset = f * 10 + shift(f) * scale;
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      values[i] = offset + scale * z;
    }
    if (f % 4 === 3) for (let i = 0; i < rows; i++) values[i] = Math.round(values[i] * 100) / 100;
    columns.set(`f${String(f).padStart(2, '0')}`, values);
  }
  return { rows, columns };
}

/**
 * Peak resident set size of the whole process while `work` runs, sampled every 5 ms by a worker
 * thread (the work itself is synchronous and cannot sample), above the RSS just before it.
 */
async function peakRssAbove<T>(work: () => T): Promise<{ value: T; seconds: number; cpuSeconds: number; peakMb: number }> {
  const shared = new SharedArrayBuffer(16);
  const cells = new BigInt64Array(shared); // [0] peak RSS, [1] stop flag
  const sampler = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const cells = new BigInt64Array(workerData);
     const sample = () => { const rss = BigInt(process.memoryUsage.rss()); if (rss > Atomics.load(cells, 0)) Atomics.store(cells, 0, rss); };
     const tick = () => { sample(); if (Atomics.load(cells, 1) === 0n) setTimeout(tick, ${SAMPLE_MS}); else parentPort.postMessage('done'); };
     sample(); parentPort.postMessage('ready'); setTimeout(tick, ${SAMPLE_MS});`,
    { eval: true, workerData: shared },
  );
  const message = () => new Promise<void>((resolve, reject) => (sampler.once('message', () => resolve()), sampler.once('error', reject)));
  await message();
  const before = process.memoryUsage.rss();
  Atomics.store(cells, 0, BigInt(before));
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = work();
  const seconds = (performance.now() - started) / 1000;
  const spent = process.cpuUsage(cpu);
  const after = BigInt(process.memoryUsage.rss());
  const done = message();
  Atomics.store(cells, 1, 1n);
  await done;
  await sampler.terminate();
  const peak = Atomics.load(cells, 0) > after ? Atomics.load(cells, 0) : after;
  return { value, seconds, cpuSeconds: (spent.user + spent.system) / 1e6, peakMb: Number(peak - BigInt(before)) / MB };
}

/** Sorts a copy of each column: the floor under any exact two-sample statistic. */
function sortCopies(columns: CurrentColumns): number {
  let checksum = 0;
  for (const column of columns.columns.values()) {
    const sorted = (column as Float64Array).slice().sort();
    checksum += sorted[sorted.length >>> 1];
  }
  return checksum;
}

/** One call measured: wall seconds, CPU seconds of the process (GC threads included), peak RSS above start. */
interface Run {
  seconds: number;
  cpuSeconds: number;
  peakMb: number;
}

interface Side {
  ours: Run;
  baseline: Run;
}

interface Measured {
  parameters: Record<string, unknown>;
  build: Side;
  drift: Side;
}

/** Everything measured, in this process: medians of REPEATS runs, ours and the baseline alternating. */
async function measure(rows: number): Promise<Measured> {
  const specs: FeatureSpec[] = Array.from({ length: FEATURES }, (_, f) => ({ name: `f${String(f).padStart(2, '0')}`, kind: 'NUMERIC' }));
  const referenceData = columnsOf(1, rows, () => 0);
  const batch = columnsOf(2, rows, (f) => (f >= SHIFTED_FROM ? 0.25 : 0));

  // Warm-up, untimed: the same code on a small slice.
  const slice = (data: CurrentColumns, n: number): CurrentColumns => ({ rows: n, columns: new Map([...data.columns].map(([k, v]) => [k, (v as Float64Array).subarray(0, n)])) });
  measureDrift(buildReference(specs, slice(referenceData, 10_000)), slice(batch, 10_000));
  sortCopies(slice(batch, 10_000));

  const runs = { build: { ours: [] as Run[], baseline: [] as Run[] }, drift: { ours: [] as Run[], baseline: [] as Run[] } };
  let reference = buildReference(specs, referenceData);
  let driftedFeatures = 0;
  for (let r = 0; r < REPEATS; r++) {
    const turns = r % 2 === 0 ? (['ours', 'baseline'] as const) : (['baseline', 'ours'] as const);
    for (const turn of turns) {
      if (turn === 'ours') {
        const built = await peakRssAbove(() => buildReference(specs, referenceData));
        reference = built.value;
        runs.build.ours.push(built);
      } else {
        runs.build.baseline.push(await peakRssAbove(() => sortCopies(referenceData)));
      }
    }
    for (const turn of turns) {
      if (turn === 'ours') {
        const measured = await peakRssAbove(() => measureDrift(reference, batch));
        driftedFeatures = measured.value.driftedFeatures;
        runs.drift.ours.push(measured);
      } else {
        runs.drift.baseline.push(await peakRssAbove(() => sortCopies(batch)));
      }
    }
  }
  const encodeStarted = performance.now();
  const profileBytes = encodeReference(reference).length;
  const encodeSeconds = (performance.now() - encodeStarted) / 1000;
  const median = (values: number[]) => percentile(values, 50);
  const medians = (list: Run[]): Run => ({ seconds: median(list.map((x) => x.seconds)), cpuSeconds: median(list.map((x) => x.cpuSeconds)), peakMb: median(list.map((x) => x.peakMb)) });
  const sides = (side: { ours: Run[]; baseline: Run[] }): Side => ({ ours: medians(side.ours), baseline: medians(side.baseline) });
  return {
    parameters: {
      rows,
      referenceRows: rows,
      features: FEATURES,
      shiftedFeatures: FEATURES - SHIFTED_FROM,
      shift: '0.25 std',
      driftedFeatures,
      repeats: REPEATS,
      profileBytes,
      encodeSeconds: Number(encodeSeconds.toFixed(3)),
    },
    build: sides(runs.build),
    drift: sides(runs.drift),
  };
}

const CHILD_FLAG = '--drift-bench-child';

/**
 * Runs `measure` in a child process of this compiled file with glibc's mmap threshold fixed
 * (MALLOC_MMAP_THRESHOLD_), so that a freed column goes back to the kernel at once and RSS
 * follows the memory in use instead of what the allocator keeps for later. From TypeScript
 * sources (jest) it runs in this process instead.
 */
async function measureApart(rows: number): Promise<Measured & { apart: boolean }> {
  if (!__filename.endsWith('.js')) return { ...(await measure(rows)), apart: false };
  const child = fork(__filename, [CHILD_FLAG, String(rows)], { env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const [result] = await Promise.race([once(child, 'message') as Promise<[Measured]>, once(child, 'exit').then(([code]) => Promise.reject(new Error(`the drift measurement process exited with ${String(code)}`)))]);
  await once(child, 'exit');
  return { ...result, apart: true };
}

if (require.main === module && process.argv[2] === CHILD_FLAG) {
  measure(Number(process.argv[3])).then(
    (result) => process.send!(result, () => process.exit(0)),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

/**
 * Drift of a batch against a frozen reference (20 numeric features, KS, normed Wasserstein and
 * decile PSI each), next to sorting copies of the same 20 columns with Float64Array's sort: the
 * sort is what any exact two-sample statistic must do, so the ratio shows what the statistics
 * add on top. Building the reference (sorted values, deciles, moments) is measured the same way
 * against sorting the reference's columns. Times, wall and the process's CPU time (which a busy
 * machine disturbs less), are the median of 3 runs, ours and the baseline alternating; memory is
 * the peak RSS above the RSS before the call (see peakRssAbove), in a process of its own (see
 * measureApart).
 */
export const driftBenchmark: Benchmark = {
  name: 'drift',
  async run(ctx: BenchContext) {
    const rows = ctx.n(ctx.quick ? 100_000 : 1_000_000, 1_000);
    ctx.log(`drift: ${rows.toLocaleString('en-US')} × ${FEATURES} reference and batch values`);
    const { parameters, build, drift, apart } = await measureApart(rows);
    // A floor of 1 MiB keeps the ratio meaningful when a run's peak stays within the RSS it started with.
    const mb = (value: number) => Math.max(1, value);
    const label = `${rows.toLocaleString('en-US')} rows × ${FEATURES} numeric features (vs sorting copies of the columns)`;
    return {
      parameters: {
        ...parameters,
        memory: `peak process RSS above the RSS before the call, sampled every ${SAMPLE_MS} ms by a worker thread, median of ${REPEATS}${apart ? ', in a child process with MALLOC_MMAP_THRESHOLD_=131072' : ' (in the test process: allocator reuse hides part of it)'}`,
      },
      figures: [
        figure('drift', `measureDrift, ${label}`, 's', drift.ours.seconds, drift.baseline.seconds, 'lower'),
        figure('drift', 'measureDrift CPU time (vs sorting copies)', 's', drift.ours.cpuSeconds, drift.baseline.cpuSeconds, 'lower'),
        figure('drift', 'measureDrift peak RSS above start (vs sorting copies)', 'MiB', mb(drift.ours.peakMb), mb(drift.baseline.peakMb), 'lower'),
        figure('drift', `buildReference, ${label}`, 's', build.ours.seconds, build.baseline.seconds, 'lower'),
        figure('drift', 'buildReference CPU time (vs sorting copies)', 's', build.ours.cpuSeconds, build.baseline.cpuSeconds, 'lower'),
        figure('drift', 'buildReference peak RSS above start (vs sorting copies)', 'MiB', mb(build.ours.peakMb), mb(build.baseline.peakMb), 'lower'),
      ],
    };
  },
};
