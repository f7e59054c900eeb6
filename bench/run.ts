/**
 * The benchmark suite: each benchmark measures one path of ModelTrail next to a baseline taken
 * in the same run, and reports ours / baseline.
 *
 *   npm run bench                 # full sizes (a few minutes)
 *   npm run bench -- --quick      # small sizes (under a minute)
 *   npm run bench -- --only append,command
 *
 * It uses the PostgreSQL database `modeltrail_bench` (created when missing) with one set of
 * schemas per run, dropped at the end, and NATS subjects under the run's own namespace. The
 * table is printed and every figure, the parameters and the machine go to bench/results/latest.json.
 */
import 'reflect-metadata';
import { join } from 'node:path';
import { connectNats } from '@modeltrail/messaging';
import { createPool, ensureDatabase, ident } from '@modeltrail/postgres';
import { appendBenchmark } from './append.bench';
import { commandBenchmark } from './command.bench';
import { driftBenchmark } from './drift.bench';
import { graphqlBenchmark } from './graphql.bench';
import { type Benchmark, type BenchContext, type BenchmarkResult, type BenchResults, formatTable, machineInfo, newRunId, timed, writeResults } from './harness';
import { metricsBenchmark } from './metrics.bench';
import { liveProgressBenchmark } from './live-progress.bench';
import { lineageBenchmark } from './lineage.bench';
import { placementBenchmark } from './placement.bench';
import { readReplayBenchmark } from './read-replay.bench';
import { runSearchBenchmark } from './run-search.bench';

export const BENCHMARKS: ReadonlyArray<Benchmark> = [appendBenchmark, readReplayBenchmark, commandBenchmark, graphqlBenchmark, metricsBenchmark, runSearchBenchmark, placementBenchmark, liveProgressBenchmark, driftBenchmark, lineageBenchmark];

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/modeltrail_bench';
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface BenchOptions {
  quick: boolean;
  /** Benchmark names to run (default: all). */
  only?: ReadonlyArray<string>;
  /** Multiplies every count (default 1). */
  scale?: number;
  databaseUrl?: string;
  natsUrl?: string;
  /** Where latest.json goes (default: bench/results under the working directory). */
  resultsDir?: string;
  log?: (message: string) => void;
}

export async function runBenchmarks(options: BenchOptions): Promise<BenchResults & { file: string }> {
  const log = options.log ?? ((message: string) => console.log(message));
  const databaseUrl = options.databaseUrl ?? DEFAULT_DATABASE_URL;
  const natsUrl = options.natsUrl ?? DEFAULT_NATS_URL;
  const scale = options.scale ?? 1;
  const unknown = (options.only ?? []).filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')}: choose from ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const selected = options.only?.length ? BENCHMARKS.filter((b) => options.only!.includes(b.name)) : BENCHMARKS;

  const started = new Date();
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, { max: 4, applicationName: 'bench' });
  const nats = await connectNats({ url: natsUrl, name: 'bench' });
  const runId = newRunId();
  const schemas = new Set<string>();
  const ctx: BenchContext = {
    quick: options.quick,
    scale,
    databaseUrl,
    natsUrl,
    pool,
    nc: nats.nc,
    runId,
    schema(purpose) {
      const name = `${runId}_${purpose}`;
      schemas.add(name);
      return name;
    },
    n: (count, min = 1) => Math.max(min, Math.round(count * scale)),
    log: (message) => log(`  ${message}`),
  };
  try {
    const machine = await machineInfo(pool, nats.nc);
    log(`ModelTrail benchmarks (${options.quick ? 'quick' : 'full'}${scale !== 1 ? `, scale ${scale}` : ''}) on ${machine.cpus} CPUs, ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB, Node ${machine.node}, PostgreSQL ${machine.postgres}, NATS ${machine.nats}; run ${runId}`);
    const benchmarks: BenchmarkResult[] = [];
    for (const benchmark of selected) {
      log(`${benchmark.name} ...`);
      const { seconds, value } = await timed(() => benchmark.run(ctx));
      benchmarks.push({ name: benchmark.name, parameters: value.parameters, figures: value.figures, seconds });
      log(`${benchmark.name} done in ${seconds.toFixed(1)} s`);
    }
    const finished = new Date();
    const results: BenchResults = {
      runId,
      mode: options.quick ? 'quick' : 'full',
      scale,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      wallSeconds: (finished.getTime() - started.getTime()) / 1000,
      machine,
      databaseUrl,
      natsUrl,
      benchmarks,
    };
    log(`\n${formatTable(benchmarks.flatMap((b) => b.figures))}\n`);
    const file = writeResults(options.resultsDir ?? join(process.cwd(), 'bench', 'results'), results);
    log(`results written to ${file} (${results.wallSeconds.toFixed(1)} s)`);
    return { ...results, file };
  } finally {
    for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.end();
    await nats.close();
  }
}

function parseArguments(argv: ReadonlyArray<string>): BenchOptions {
  const options: BenchOptions = { quick: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') options.quick = true;
    else if (arg === '--only') options.only = value().split(',').map((s) => s.trim()).filter(Boolean);
    else if (arg === '--scale') {
      options.scale = Number(value());
      if (!(options.scale > 0)) throw new Error('--scale must be a positive number');
    } else if (arg === '--database-url') options.databaseUrl = value();
    else if (arg === '--nats-url') options.natsUrl = value();
    else throw new Error(`unknown option ${arg}: use --quick, --only <names>, --scale <factor>, --database-url <url>, --nats-url <url>`);
  }
  return options;
}

if (require.main === module) {
  runBenchmarks(parseArguments(process.argv.slice(2))).then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error instanceof Error ? (error.stack ?? error.message) : error);
      process.exit(1);
    },
  );
}
