import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { datasetsRpc, defineRpc, type MessageHeaders, withNamespace, z } from '@modeltrail/contracts';
import { actorSigningKeyFromEnvironment, closeInProcessBus, connectBus, decodeJson, encodeJson, fromNatsHeaders, RpcClient } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { type Benchmark, type BenchContext, type ConcurrentRun, cpuFigures, runConcurrent, summarize, summaryFigures, warmUpOps } from './harness';
import { bootDatasets } from './services';

const CONCURRENCY = 16;
const DATASETS = 64;
/** The service's pool size (DATABASE_POOL_SIZE's default), for the baseline responder too. */
const POOL_SIZE = 10;

/**
 * The baseline's exchange: the same request and a reply of the same shape as
 * changeDatasetDescription, so the client does the same work (envelope, reply schema) on both.
 */
const insertBaseline = defineRpc(
  'mt.bench.InsertCommand',
  z.object({ datasetId: z.string(), description: z.string() }),
  z.object({ datasetId: z.string(), description: z.string(), revision: z.number() }),
);

/**
 * changeDatasetDescription through NATS to the datasets service (decode, validate, load the
 * stream, decide, append, reply) against what any NATS service writing to PostgreSQL must do:
 * a plain responder that decodes the request, runs one INSERT of a comparable row (an event's
 * columns, autocommit: INSERT + commit) and replies — same concurrency, same client, same run.
 * A bare NATS echo of a request of the same size is reported too, as information, and the same
 * commands to the same service on the in-process bus of the one-process composition (against
 * NATS: what the network hop and the NATS server cost a command).
 */
export const commandBenchmark: Benchmark = {
  name: 'command',
  async run(ctx: BenchContext) {
    const total = ctx.n(ctx.quick ? 600 : 4_000, 64);
    const schema = ctx.schema('cmd');
    const service = await bootDatasets(ctx, schema, schema);
    let serviceClosed: Promise<void> | undefined;
    const closeService = () => (serviceClosed ??= service.close());
    try {
      const rpc = new RpcClient(ctx.nc, { timeoutMs: 30_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
      const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };
      const datasets: string[] = [];
      for (let i = 0; i < DATASETS; i++) datasets.push((await rpc.request(datasetsRpc.registerDataset, { name: `bench-${i}`, description: 'seed' }, { headers })).datasetId);
      // Worker w only touches datasets w, w+16, ...: no two requests race for one stream.
      const request = (i: number, w: number) => ({ datasetId: datasets[(w + CONCURRENCY * (Math.floor(i / CONCURRENCY) % (DATASETS / CONCURRENCY))) % DATASETS], description: `description number ${i} of the benchmark` });
      const payloadBytes = encodeJson(request(total, 0)).length;
      const measure = async (op: (i: number, w: number) => Promise<void>): Promise<ConcurrentRun> => {
        await runConcurrent(CONCURRENCY, warmUpOps(ctx, CONCURRENCY), op);
        return runConcurrent(CONCURRENCY, total, op);
      };

      const ours = await measure((i, w) => rpc.request(datasetsRpc.changeDatasetDescription, request(i, w), { headers }).then(() => undefined));
      const insert = await commandBaseline(ctx, schema, CONCURRENCY, total, request);
      // Where the time goes: the same commands with the service's projection runners paused
      // (the command path alone: decode, validate, decide, append, reply).
      await Promise.all(service.get<ProjectionRunner[]>(PROJECTION_RUNNERS).map((runner) => runner.stop()));
      const commandPathOnly = await measure((i, w) => rpc.request(datasetsRpc.changeDatasetDescription, request(i, w), { headers }).then(() => undefined));

      const echoSubject = withNamespace(schema, 'mt.bench.echo');
      const echo = ctx.nc.subscribe(echoSubject, { callback: (_error, msg) => msg.respond(msg.data) });
      let bare: ConcurrentRun;
      try {
        bare = await measure(async (i, w) => {
          const reply = await ctx.nc.request(echoSubject, encodeJson(request(i, w)), { timeout: 30_000 });
          decodeJson(reply.data);
        });
      } finally {
        echo.unsubscribe();
      }

      // The same service on the in-process bus; it takes over the projections paused above.
      await closeService();
      const busUrl = `in-process://${schema}`;
      const local = await bootDatasets(ctx, schema, schema, busUrl);
      const bus = await connectBus({ url: busUrl, name: 'bench-client' });
      let inProcess: ConcurrentRun;
      try {
        const localRpc = new RpcClient(bus.nc, { timeoutMs: 30_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
        inProcess = await measure((i, w) => localRpc.request(datasetsRpc.changeDatasetDescription, request(i, w), { headers }).then(() => undefined));
      } finally {
        await bus.close();
        await local.close();
        await closeInProcessBus(busUrl);
      }

      return {
        parameters: {
          commands: total,
          concurrency: CONCURRENCY,
          datasets: DATASETS,
          command: 'datasets.changeDatasetDescription',
          requestBytes: payloadBytes,
          baseline: `NATS responder: decode, one INSERT + commit (pool of ${POOL_SIZE}), reply`,
          information: 'bare NATS echo (no database); the same service on the in-process bus',
        },
        figures: [
          ...summaryFigures('command', 'changeDatasetDescription', summarize(ours), summarize(insert)),
          ...cpuFigures('command', 'changeDatasetDescription', ours, insert),
          ...summaryFigures('command', 'changeDatasetDescription', summarize(commandPathOnly), summarize(insert), { suffix: 'projections paused', percentiles: [99] }),
          ...cpuFigures('command', 'changeDatasetDescription, projections paused,', commandPathOnly, insert).filter((f) => /, (PostgreSQL|this process|all)$/.test(f.measure)),
          ...summaryFigures('command', 'changeDatasetDescription', summarize(ours), summarize(bare), { suffix: 'vs bare NATS echo', percentiles: [50, 99] }),
          ...summaryFigures('command', 'changeDatasetDescription on the in-process bus', summarize(inProcess), summarize(ours), { suffix: 'vs over NATS', percentiles: [50, 99] }),
        ],
      };
    } finally {
      await closeService();
    }
  },
};

/**
 * The command baseline alone: `total` requests, `concurrency` in flight, through an RpcClient
 * to a plain responder that decodes, INSERTs one row (autocommit) and replies. The table goes
 * into `schema` (which must exist), the responder onto the subjects of the namespace `schema`.
 */
export async function commandBaseline(
  ctx: BenchContext,
  schema: string,
  concurrency: number,
  total: number,
  request: (index: number, worker: number) => { datasetId: string; description: string },
): Promise<ConcurrentRun> {
  const pool = createPool(ctx.databaseUrl, { max: POOL_SIZE, applicationName: 'bench-command-baseline' });
  const stop = await serveInsertBaseline(ctx, pool, schema);
  try {
    const rpc = new RpcClient(ctx.nc, { timeoutMs: 30_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
    const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };
    const op = (i: number, w: number) => rpc.request(insertBaseline, request(i, w), { headers }).then(() => undefined);
    await runConcurrent(concurrency, warmUpOps(ctx, concurrency), op);
    return await runConcurrent(concurrency, total, op);
  } finally {
    await stop();
    await pool.end();
  }
}

/**
 * The baseline responder: a plain subscription, no framework. Each request is decoded and
 * stored as one row with an event's columns, then answered in the platform's reply envelope.
 */
async function serveInsertBaseline(ctx: BenchContext, pool: Pool, schema: string): Promise<() => Promise<void>> {
  const table = `${ident(schema)}.baseline_commands`;
  await pool.query(
    `CREATE TABLE ${table} (id uuid PRIMARY KEY, stream text NOT NULL, type text NOT NULL, data jsonb NOT NULL, actor text NOT NULL, correlation_id text NOT NULL, occurred_at timestamptz NOT NULL)`,
  );
  const sql = `INSERT INTO ${table} (id, stream, type, data, actor, correlation_id, occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`;
  const inFlight = new Set<Promise<void>>();
  const subscription = ctx.nc.subscribe(withNamespace(schema, insertBaseline.subject), {
    callback: (_error, msg) => {
      const work = (async () => {
        const meta: MessageHeaders = fromNatsHeaders(msg.headers);
        const req = decodeJson(msg.data) as { datasetId: string; description: string };
        const data = { datasetId: req.datasetId, description: req.description };
        await pool.query(sql, [randomUUID(), `dataset-${req.datasetId}`, 'bench.DescriptionChanged.v1', JSON.stringify(data), meta.actor, meta.correlationId, new Date()]);
        msg.respond(encodeJson({ ok: true, data: { ...data, revision: 0 } }));
      })()
        .catch((error: unknown) => {
          msg.respond(encodeJson({ ok: false, error: { code: 'INTERNAL', message: error instanceof Error ? error.message : String(error) } }));
        })
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
    },
  });
  await ctx.nc.flush();
  return async () => {
    await subscription.drain();
    await Promise.allSettled([...inFlight]);
  };
}
