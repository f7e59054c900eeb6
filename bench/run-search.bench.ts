import { createHash } from 'node:crypto';
import { experimentsRpc, type ListRunsReply, nameBasedUuid, platformEventCatalog, type RpcRequest, type RunStartedV1, type z } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { actorSigningKeyFromEnvironment, RpcClient } from '@modeltrail/messaging';
import type { Pool } from 'pg';
import { createPool, ident } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { mulberry32 } from '@modeltrail/contracts';
import { runStream } from '../services/experiments/src/run/run.decider';
import { performance } from 'node:perf_hooks';
import { type Benchmark, type BenchContext, type ConcurrentRun, type Figure, latencyFigures, runConcurrent, timed } from './harness';
import { bootExperiments } from './services';

const PROJECTS = 10;
const EXPERIMENTS = 100;
const PARAMS = 50;
const METRICS = 20;
const PAGE = 50;
/** Rounds of each question (both ways) before the measured ones. */
const WARM_UP = 3;
/** Runs started per event-store transaction while seeding, and seeding connections. */
const SEED_BATCH = 500;
const SEED_WRITERS = 4;
/** run_metric_latest rows per INSERT while seeding. */
const METRIC_CHUNK = 25_000;

const LEARNING_RATES = [0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001];
const OPTIMIZERS = ['adam', 'adamw', 'sgd', 'rmsprop'];
const MODELS = ['resnet18', 'resnet50', 'resnet101', 'vit_b16', 'vit_l16', 'convnext_t', 'efficientnet_b0', 'mobilenet_v3'];
const METRIC_KEYS = ['val/accuracy', 'val/loss', 'train/loss', 'train/accuracy', 'val/f1', 'val/auc', 'lr', 'epoch', 'grad_norm', 'throughput', 'gpu_mem_gb', 'train/time_s'];
const KEYS = [...METRIC_KEYS, ...Array.from({ length: METRICS - METRIC_KEYS.length }, (_, i) => `extra/metric_${i}`)];
const ABLATIONS = 50;

type ListRuns = RpcRequest<typeof experimentsRpc.listRuns>;
type ListRunsReplyValue = z.output<typeof ListRunsReply>;

/** Run, dataset and version ids of the seeded data, stable across runs of the benchmark. */
const BENCH_NAMESPACE = '6a3f1d2e-8b4c-4f5a-9e7d-1c2b3a4d5e6f';
const uuidOf = (name: string): string => nameBasedUuid(BENCH_NAMESPACE, name);

const pick = <T>(random: () => number, values: ReadonlyArray<T>): T => values[Math.floor(random() * values.length)];

/** The parameters of run `i`: the usual training hyper-parameters, then filler of both kinds (numbers and choices). */
function paramsOf(i: number, random: () => number): Record<string, string | number | boolean> {
  const params: Record<string, string | number | boolean> = {
    lr: pick(random, LEARNING_RATES),
    batch_size: pick(random, [16, 32, 64, 128, 256]),
    optimizer: pick(random, OPTIMIZERS),
    model: pick(random, MODELS),
    seed: Math.floor(random() * 1000),
    dropout: pick(random, [0, 0.1, 0.2, 0.3, 0.5]),
    weight_decay: pick(random, [0, 1e-5, 1e-4, 1e-3]),
    epochs: pick(random, [10, 20, 50, 100]),
    warmup_steps: pick(random, [0, 100, 500, 1000]),
    use_amp: random() < 0.5,
  };
  for (let p = Object.keys(params).length; p < PARAMS; p++) {
    params[`hp_${String(p).padStart(2, '0')}`] = p % 3 === 0 ? `choice_${Math.floor(random() * 12)}` : Math.round(random() * 10_000) / 10_000;
  }
  params.run_index = i;
  return params;
}

/**
 * The latest value of each of the METRICS keys of every run, as LogMetrics would leave it in
 * run_metric_latest: key by key, in value order, so that the (key, value) indexes fill at
 * their edges.
 */
async function loadLatestMetrics(pool: Pool, rm: string, runIds: ReadonlyArray<string>, started: number): Promise<void> {
  for (const [k, key] of KEYS.entries()) {
    const random = mulberry32(1000 + k);
    const bounded = key.endsWith('accuracy') || key.endsWith('f1') || key.endsWith('auc');
    const rows = runIds.map((runId, i) => ({ runId, i, value: bounded ? 0.5 + 0.5 * random() : 3 * random() })).sort((a, b) => a.value - b.value);
    for (let from = 0; from < rows.length; from += METRIC_CHUNK) {
      const chunk = rows.slice(from, from + METRIC_CHUNK);
      await pool.query(
        `INSERT INTO ${rm}.run_metric_latest (run_id, key, value, step, ts, min, max, count)
         SELECT run_id, $2, value, 1000, ts, least(value, 0.1), greatest(value, 0.9), 1001
           FROM unnest($1::uuid[], $3::float8[], $4::timestamptz[]) AS m(run_id, value, ts)`,
        [chunk.map((r) => r.runId), key, chunk.map((r) => r.value), chunk.map((r) => new Date(started + r.i * 30_000 + 3_600_000).toISOString())],
      );
    }
  }
}

/**
 * listRuns over NATS to the experiments service on 100,000 runs (50 params and 20 metrics each,
 * 100 experiments; 5,000 in quick mode), for five typical questions — a parameter equal to a
 * value, a metric above a threshold, both, all runs by a metric, a tag — each a first page of 50
 * runs, against the same page read by one hand-written SQL statement through pg on the same
 * tables and indexes (the page's runs, then their latest metrics; the rare parameter value by
 * its index terms alone, exact on these values, the common one by `params->'lr' = value`). The
 * ratio is what the service path (NATS, validation, query building, views, reply encoding and
 * checking) adds to the database's own work; the p95 figures are the absolute answer times.
 * Both answer the first round with the same runs, or the benchmark fails.
 *
 * Seeding: projects and experiments through the service's commands; RunStarted events appended
 * to the event store in bulk (SEED_BATCH runs per transaction, one stream each, validated by the
 * platform's event catalog), and the service's own projection builds the runs read model; the
 * latest metric values are loaded into run_metric_latest with plain INSERTs (the table search
 * reads), since 100,000 LogMetrics calls would take far longer than the searches measured.
 */
export const runSearchBenchmark: Benchmark = {
  name: 'run-search',
  async run(ctx: BenchContext) {
    const runs = ctx.n(ctx.quick ? 5_000 : 100_000, 500);
    const iterations = ctx.n(ctx.quick ? 15 : 60, 5);
    const schema = ctx.schema('search');
    const readModel = ctx.schema('search_rm');
    const rm = ident(readModel);
    const service = await bootExperiments(ctx, schema, readModel);
    const pool = createPool(ctx.databaseUrl, { max: SEED_WRITERS + 2, applicationName: 'bench-run-search' });
    const store = new PostgresEventStore({ pool, connectionString: ctx.databaseUrl, schema, catalog: platformEventCatalog() });
    try {
      const rpc = new RpcClient(ctx.nc, { timeoutMs: 60_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
      const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };

      const seeding = await timed(async () => {
        let mark = Date.now();
        const phase = (what: string) => {
          ctx.log(`${what}: ${((Date.now() - mark) / 1000).toFixed(1)} s`);
          mark = Date.now();
        };
        const experiments: Array<{ experimentId: string; projectId: string }> = [];
        for (let p = 0; p < PROJECTS; p++) {
          const project = await rpc.request(experimentsRpc.defineProject, { name: `search-project-${p}`, problem: 'Which configuration generalises best?', taskType: 'MULTICLASS_CLASSIFICATION', target: 'label' }, { headers });
          for (let e = 0; e < EXPERIMENTS / PROJECTS; e++) {
            const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: `sweep-${e}` }, { headers });
            experiments.push({ experimentId: experiment.experimentId, projectId: project.projectId });
          }
        }

        phase('projects and experiments defined');
        const random = mulberry32(42);
        const started = Date.parse('2026-06-01T00:00:00.000Z');
        const runIds = Array.from({ length: runs }, (_, i) => uuidOf(`${schema}/run/${i}`));
        const events = runIds.map((runId, i): { runId: string; data: z.input<typeof RunStartedV1> } => {
          const experiment = experiments[i % experiments.length];
          const tags = [`team-${pick(random, ['vision', 'nlp', 'platform'])}`, `ablation-${Math.floor(random() * ABLATIONS)}`];
          if (random() < 0.1) tags.push('baseline');
          return {
            runId,
            data: {
              runId,
              experimentId: experiment.experimentId,
              projectId: experiment.projectId,
              params: paramsOf(i, random),
              codeRef: { repository: 'git@github.com:acme/vision-models.git', commit: createHash('sha1').update(String(i >> 6)).digest('hex'), path: 'train.py' },
              datasetVersions: [{ datasetVersionId: uuidOf(`dv-${i % 20}`), datasetId: uuidOf(`ds-${i % 5}`), role: 'TRAIN' }],
              tags,
              startedAt: new Date(started + i * 30_000).toISOString(),
            },
          };
        });

        // One stream per run, SEED_BATCH streams per transaction, SEED_WRITERS transactions at a
        // time; the metric values load meanwhile on one more connection.
        await Promise.all([
          runConcurrent(SEED_WRITERS, Math.ceil(runs / SEED_BATCH), async (b) => {
            const client = await pool.connect();
            try {
              await client.query('BEGIN');
              for (const { runId, data } of events.slice(b * SEED_BATCH, (b + 1) * SEED_BATCH)) {
                await store.appendInTransaction(client, runStream(runId), [{ type: 'experiments.RunStarted.v1', data, metadata: { ...headers, occurredAt: data.startedAt } }], {
                  expectedRevision: 'no_stream',
                });
              }
              await client.query('COMMIT');
            } catch (error) {
              await client.query('ROLLBACK').catch(() => undefined);
              throw error;
            } finally {
              client.release();
            }
          }),
          loadLatestMetrics(pool, rm, runIds, started),
        ]);
        phase('runs appended, metric values loaded');
        const head = await store.headPosition();
        await Promise.all(service.get<ProjectionRunner[]>(PROJECTION_RUNNERS).map((runner) => runner.waitFor(head, 30 * 60_000)));
        phase('projection caught up');
        // As autovacuum leaves a table that has settled: statistics and visibility map up to date.
        await pool.query(`VACUUM ANALYZE ${rm}.runs`);
        await pool.query(`VACUUM ANALYZE ${rm}.run_metric_latest`);
        phase('vacuum analyze');
      });
      const { rows: counted } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${rm}.runs`);
      if (Number(counted[0].n) !== runs) throw new Error(`the read model has ${counted[0].n} of ${runs} runs`);
      ctx.log(`seeded ${runs} runs (${PARAMS} params, ${METRICS} metrics each) in ${seeding.seconds.toFixed(1)} s`);

      // The page's runs first, then their latest metrics (for those 50 runs only), in page order.
      const paged = (from: string, where: string, order: 'start' | 'metric') => {
        const [sortKey, orderBy] = order === 'start' ? ['r.started_at', 'sort DESC, run_id'] : ['o.value', 'sort, run_id'];
        return `SELECT p.*, (SELECT json_agg(json_build_object('key', l.key, 'value', l.value, 'step', l.step, 'timestamp', l.ts, 'min', l.min, 'max', l.max, 'count', l.count) ORDER BY l.key COLLATE "C")
                               FROM ${rm}.run_metric_latest l WHERE l.run_id = p.run_id) AS latest
                  FROM (SELECT r.*, ${sortKey} AS sort FROM ${from} WHERE ${where} ORDER BY ${orderBy} LIMIT ${PAGE}) p
                 ORDER BY ${orderBy}`;
      };
      const threshold = (i: number) => 0.99 + (i % 5) * 0.001;
      const questions: Array<{ label: string; request: (i: number) => ListRuns; sql: (i: number) => [string, unknown[]] }> = [
        {
          label: 'param equals (seed = n)',
          request: (i) => ({ filter: { params: [{ key: 'seed', op: 'EQ', value: (i * 37) % 1000 }] }, first: PAGE }),
          sql: (i) => [paged(`${rm}.runs r`, `${rm}.run_param_terms(r.params) && ARRAY[${rm}.run_param_term('seed', $1::jsonb)]`, 'start'), [JSON.stringify((i * 37) % 1000)]],
        },
        {
          label: 'metric above (val/accuracy > t)',
          request: (i) => ({ filter: { metrics: [{ key: 'val/accuracy', op: 'GT', value: threshold(i) }] }, first: PAGE }),
          sql: (i) => [paged(`${rm}.runs r`, `EXISTS (SELECT 1 FROM ${rm}.run_metric_latest f WHERE f.run_id = r.run_id AND f.key = 'val/accuracy' AND f.value > $1)`, 'start'), [threshold(i)]],
        },
        {
          label: 'param and metric (lr = x, val/accuracy > 0.95)',
          request: (i) => ({ filter: { params: [{ key: 'lr', op: 'EQ', value: LEARNING_RATES[i % LEARNING_RATES.length] }], metrics: [{ key: 'val/accuracy', op: 'GT', value: 0.95 }] }, first: PAGE }),
          sql: (i) => [
            paged(
              `${rm}.runs r`,
              `r.params->'lr' = $1::jsonb
               AND EXISTS (SELECT 1 FROM ${rm}.run_metric_latest f WHERE f.run_id = r.run_id AND f.key = 'val/accuracy' AND f.value > 0.95)`,
              'start',
            ),
            [JSON.stringify(LEARNING_RATES[i % LEARNING_RATES.length])],
          ],
        },
        {
          label: 'ordered by a metric (val/loss, lowest first)',
          request: () => ({ orderBy: { field: 'METRIC', key: 'val/loss', direction: 'ASC' }, first: PAGE }),
          sql: () => [paged(`${rm}.run_metric_latest o JOIN ${rm}.runs r ON r.run_id = o.run_id`, `o.key = 'val/loss'`, 'metric'), []],
        },
        {
          label: 'tag (ablation-n)',
          request: (i) => ({ filter: { tags: [`ablation-${i % ABLATIONS}`] }, first: PAGE }),
          sql: (i) => [paged(`${rm}.runs r`, `r.tags @> $1::jsonb`, 'start'), [JSON.stringify([`ablation-${i % ABLATIONS}`])]],
        },
      ];

      const figures: Figure[] = [];
      const matches: Record<string, number> = {};
      for (const question of questions) {
        // Both answer the same runs in the same order.
        const reply: ListRunsReplyValue = await rpc.request(experimentsRpc.listRuns, question.request(0), { headers });
        const [sql, values] = question.sql(0);
        const bare = await pool.query<{ run_id: string }>(sql, values);
        const ours = reply.items.map((run) => run.runId).join();
        if (ours !== bare.rows.map((row) => row.run_id).join()) throw new Error(`${question.label}: the service and the bare query found different runs`);
        matches[question.label] = reply.items.length;

        // Ours and the baseline take turns on the same values (the first of each pair warms the
        // cache for the second, so the pairs alternate which goes first), after a few rounds of warm-up.
        const answered: ConcurrentRun = { seconds: 0, operations: iterations, latenciesMs: [] };
        const baseline: ConcurrentRun = { seconds: 0, operations: iterations, latenciesMs: [] };
        const ask = async (i: number, into?: ConcurrentRun) => {
          const t0 = performance.now();
          await rpc.request(experimentsRpc.listRuns, question.request(i), { headers });
          if (into) into.latenciesMs.push(performance.now() - t0);
        };
        const query = async (i: number, into?: ConcurrentRun) => {
          const t0 = performance.now();
          const [text, parameters] = question.sql(i);
          await pool.query(text, parameters);
          if (into) into.latenciesMs.push(performance.now() - t0);
        };
        for (let i = 1; i <= WARM_UP; i++) await Promise.all([ask(iterations + i), query(iterations + i)]);
        for (let i = 1; i <= iterations; i++) {
          if (i % 2) await ask(i, answered).then(() => query(i, baseline));
          else await query(i, baseline).then(() => ask(i, answered));
        }
        answered.seconds = answered.latenciesMs.reduce((a, b) => a + b, 0) / 1000;
        baseline.seconds = baseline.latenciesMs.reduce((a, b) => a + b, 0) / 1000;
        figures.push(...latencyFigures('run-search', question.label, answered, baseline).filter((f) => / p(50|95)$/.test(f.measure)));
      }
      return {
        parameters: { runs, projects: PROJECTS, experiments: EXPERIMENTS, params: PARAMS, metrics: METRICS, page: PAGE, iterations, concurrency: 1, seedSeconds: Math.round(seeding.seconds), firstPageRuns: matches },
        figures,
      };
    } finally {
      await store.close();
      await pool.end();
      await service.close();
    }
  },
};
