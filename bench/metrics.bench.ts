import { randomUUID } from 'node:crypto';
import { experimentsRpc, type MetricPoint } from '@modeltrail/contracts';
import { actorSigningKeyFromEnvironment, encodeJson, RpcClient } from '@modeltrail/messaging';
import { ident } from '@modeltrail/postgres';
import { type Benchmark, type BenchContext, type CpuUse, cpuNow, cpuSince, type Figure, figure, timed } from './harness';
import { bootExperiments } from './services';

const KEYS = ['train/loss', 'val/loss', 'val/accuracy', 'lr'];

function pointsOf(count: number, firstStep: number): MetricPoint[] {
  const base = Date.parse('2026-11-22T12:00:00.000Z');
  return Array.from({ length: count }, (_, i) => {
    const step = firstStep + Math.floor(i / KEYS.length);
    return { key: KEYS[i % KEYS.length], value: 1 / (1 + step) + (i % 7) * 1e-3, step, timestamp: new Date(base + step * 1000).toISOString() };
  });
}

/**
 * LogMetrics over NATS to the experiments service (validation, run check, metrics lock, insert
 * into run_metrics plus the per-key latest table, telemetry publish) against a bare unnest
 * INSERT of the same points into the same run_metrics table.
 */
export const metricsBenchmark: Benchmark = {
  name: 'metrics',
  async run(ctx: BenchContext) {
    const schema = ctx.schema('metrics');
    const readModel = ctx.schema('metrics_rm');
    const rm = ident(readModel);
    const service = await bootExperiments(ctx, schema, readModel);
    try {
      const rpc = new RpcClient(ctx.nc, { timeoutMs: 60_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
      const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };
      const project = await rpc.request(experimentsRpc.defineProject, { name: 'bench-project', problem: 'How fast are metrics ingested?', taskType: 'REGRESSION', target: 'y' }, { headers });
      const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'bench-experiment' }, { headers });
      const run = await rpc.request(experimentsRpc.startRun, { experimentId: experiment.experimentId }, { headers });

      const sizes = [
        { batch: 1_000, calls: ctx.n(ctx.quick ? 10 : 60, 2) },
        { batch: 10_000, calls: ctx.n(ctx.quick ? 3 : 20, 1) },
      ];
      const figures: Figure[] = [];
      const parameters: Record<string, unknown> = { keys: KEYS.length, concurrency: 1, calls: sizes.map((s) => ({ ...s, points: s.batch * s.calls })) };
      let step = 0;
      for (const { batch, calls } of sizes) {
        parameters[`requestBytes${batch}`] = encodeJson({ runId: run.runId, points: pointsOf(batch, 0) }).length;
        await rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: pointsOf(batch, step) }, { headers: { ...headers, commandId: randomUUID() } });
        step += batch;
        // Ours and the baseline take turns, call by call (alternating which goes first), so that
        // both see the same load on a shared machine.
        const baselineRun = randomUUID();
        const baselineInsert = (points: MetricPoint[]) =>
          ctx.pool.query(`INSERT INTO ${rm}.run_metrics (run_id, key, step, ts, value) SELECT $1::uuid, * FROM unnest($2::text[], $3::bigint[], $4::timestamptz[], $5::float8[])`, [
            baselineRun,
            points.map((p) => p.key),
            points.map((p) => p.step),
            points.map((p) => p.timestamp),
            points.map((p) => p.value),
          ]);
        await baselineInsert(pointsOf(batch, 0));
        const ours = { seconds: 0, cpu: { node: 0, postgres: 0, nats: 0 } };
        const baseline = { seconds: 0, cpu: { node: 0, postgres: 0, nats: 0 } };
        const addCpu = (total: CpuUse, spent: CpuUse) => {
          total.node += spent.node;
          total.postgres += spent.postgres;
          total.nats += spent.nats;
        };
        for (let c = 0; c < calls; c++, step += batch) {
          const logged = async () => {
            const cpu = cpuNow();
            const { seconds, value: reply } = await timed(() => rpc.request(experimentsRpc.logMetrics, { runId: run.runId, points: pointsOf(batch, step) }, { headers: { ...headers, commandId: randomUUID() } }));
            if (reply.accepted !== batch) throw new Error(`logMetrics accepted ${reply.accepted} of ${batch} points`);
            ours.seconds += seconds;
            addCpu(ours.cpu, cpuSince(cpu));
          };
          const inserted = async () => {
            const cpu = cpuNow();
            baseline.seconds += (await timed(() => baselineInsert(pointsOf(batch, (c + 1) * batch)))).seconds;
            addCpu(baseline.cpu, cpuSince(cpu));
          };
          if (c % 2 === 0) await logged().then(inserted);
          else await inserted().then(logged);
        }
        const label = `logMetrics, ${batch.toLocaleString('en-US')}-point batches`;
        figures.push(figure('metrics', label, 'points/s', (batch * calls) / ours.seconds, (batch * calls) / baseline.seconds, 'higher'));
        // Where the time goes: CPU per 1,000 points in this process (client building the points
        // included, for both), in PostgreSQL and in NATS.
        const perThousand = (ms: number) => (ms * 1000) / (batch * calls);
        // The baseline does not go through NATS: that server's share is a parameter, not a ratio.
        for (const [part, name] of [['node', 'this process'], ['postgres', 'PostgreSQL']] as const) {
          const cpu = figure('metrics', `${label}, CPU per 1,000 points, ${name}`, 'ms', perThousand(ours.cpu[part]), perThousand(baseline.cpu[part]), 'lower');
          if (cpu.ours > 0 && cpu.baseline > 0) figures.push(cpu);
        }
        parameters[`natsCpuMsPer1000Points${batch}`] = perThousand(ours.cpu.nats);
      }
      return { parameters, figures };
    } finally {
      await service.close();
    }
  },
};
