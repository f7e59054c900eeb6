import { datasetsRpc, withNamespace } from '@modeltrail/contracts';
import { encodeJson, decodeJson, RpcClient } from '@modeltrail/messaging';
import { type Benchmark, type BenchContext, latencyFigures, runConcurrent } from './harness';
import { bootDatasets } from './services';

const CONCURRENCY = 16;
const DATASETS = 64;

/**
 * changeDatasetDescription through NATS to the datasets service (decode, validate, load the
 * stream, decide, append) against a bare NATS responder echoing a request of the same size.
 */
export const commandBenchmark: Benchmark = {
  name: 'command',
  async run(ctx: BenchContext) {
    const total = ctx.n(ctx.quick ? 600 : 4_000, 64);
    const schema = ctx.schema('cmd');
    const service = await bootDatasets(ctx, schema, schema);
    try {
      const rpc = new RpcClient(ctx.nc, { timeoutMs: 30_000, namespace: schema });
      const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };
      const datasets: string[] = [];
      for (let i = 0; i < DATASETS; i++) datasets.push((await rpc.request(datasetsRpc.registerDataset, { name: `bench-${i}`, description: 'seed' }, { headers })).datasetId);
      // Worker w only touches datasets w, w+16, ...: no two requests race for one stream.
      const request = (i: number, w: number) => ({ datasetId: datasets[(w + CONCURRENCY * (Math.floor(i / CONCURRENCY) % (DATASETS / CONCURRENCY))) % DATASETS], description: `description number ${i} of the benchmark` });
      const payloadBytes = encodeJson(request(total, 0)).length;

      await runConcurrent(CONCURRENCY, CONCURRENCY * 4, (i, w) => rpc.request(datasetsRpc.changeDatasetDescription, request(i, w), { headers }).then(() => undefined));
      const ours = await runConcurrent(CONCURRENCY, total, (i, w) => rpc.request(datasetsRpc.changeDatasetDescription, request(i, w), { headers }).then(() => undefined));

      const echoSubject = withNamespace(schema, 'mt.bench.echo');
      const echo = ctx.nc.subscribe(echoSubject, { callback: (_error, msg) => msg.respond(msg.data) });
      try {
        const call = async (i: number, w: number) => {
          const reply = await ctx.nc.request(echoSubject, encodeJson(request(i, w)), { timeout: 30_000 });
          decodeJson(reply.data);
        };
        await runConcurrent(CONCURRENCY, CONCURRENCY * 4, call);
        const baseline = await runConcurrent(CONCURRENCY, total, call);
        return {
          parameters: { commands: total, concurrency: CONCURRENCY, datasets: DATASETS, command: 'datasets.changeDatasetDescription', requestBytes: payloadBytes },
          figures: latencyFigures('command', 'changeDatasetDescription', ours, baseline),
        };
      } finally {
        echo.unsubscribe();
      }
    } finally {
      await service.close();
    }
  },
};
