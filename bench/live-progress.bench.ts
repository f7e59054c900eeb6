import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { experimentsRpc, withNamespace } from '@modeltrail/contracts';
import { actorSigningKeyFromEnvironment, decodeJson, encodeJson, RpcClient } from '@modeltrail/messaging';
import { GraphQLHttpClient, SubscriptionQueue, webSocketClient } from '../gateway/test/graphql-client';
import { Agent } from '../services/agent/src/node';
import { type Benchmark, type BenchContext, figure, percentile } from './harness';
import { BENCH_TOKEN, bootExperiments, bootGateway, bootScheduler, telemetryStreamOf } from './services';

/**
 * A child that prints `rate` metric points a second for `seconds`, as training-protocol lines
 * (`{"modeltrail":1,"type":"metrics",...}`), in ticks of 10 ms, once `goFile` exists (until
 * then it prints a log line every 100 ms). Each point's value is the wall-clock millisecond it
 * was printed, so a receiver on this machine knows its latency.
 */
function emitterScript(rate: number, seconds: number, goFile: string | null): string {
  return `
const fs = require('fs');
const perTick = Math.max(1, Math.round(${rate} / 100));
const ticks = Math.round(${seconds} * 100);
let step = 0, tick = 0, start = 0;
function next() {
  const lines = [];
  for (let i = 0; i < perTick; i++) lines.push(JSON.stringify({ modeltrail: 1, type: 'metrics', metrics: { 'bench/sent_ms': Date.now() }, step: step++ }));
  process.stdout.write(lines.join('\\n') + '\\n');
  if (++tick < ticks) setTimeout(next, Math.max(0, start + tick * 10 - Date.now()));
}
// Until every subscriber is following, say so every 100 ms (each subscriber's first item).
function wait() {
  if (${JSON.stringify(goFile)} === null || fs.existsSync(${JSON.stringify(goFile)})) { start = Date.now(); return next(); }
  console.log('waiting for subscribers');
  setTimeout(wait, 100);
}
wait();
`;
}

interface Delivery {
  latenciesMs: number[];
  received: number;
}

/**
 * Live progress: a job prints metric points at a steady rate and `subscribers` graphql-ws
 * clients follow `jobProgress` — the line leaves the child, the agent reads and batches it,
 * JetStream stores it, the gateway's consumer for each subscriber reads it and sends it over
 * the WebSocket in `jobProgressBatches` messages (what arrived together; one message per point,
 * as `jobProgress` sends, cannot carry a million points a second to 100 subscribers on a small
 * machine). Latency is measured per point per subscriber, from the moment the child
 * printed it to the moment the subscriber has the message.
 *
 * Baseline, same run, same child, same rate and subscriber count: the bench reads the child's
 * stdout itself, publishes each 10 ms batch on core NATS, and the subscribers are plain NATS
 * subscriptions (no agent, no JetStream, no gateway, no WebSocket).
 */
export const liveProgressBenchmark: Benchmark = {
  name: 'live-progress',
  async run(ctx: BenchContext) {
    const rate = ctx.n(ctx.quick ? 2_000 : 10_000, 200);
    const seconds = ctx.quick ? 2 : 5;
    const subscribers = ctx.n(ctx.quick ? 10 : 100, 2);
    const expected = Math.max(1, Math.round(rate / 100)) * Math.round(seconds * 100);
    const schema = ctx.schema('live');
    const work = mkdtempSync(join(tmpdir(), 'mt-bench-live-'));
    chmodSync(work, 0o755);
    const apps: Array<INestMicroservice | INestApplication> = [];
    let agent: Agent | undefined;
    try {
      apps.push(await bootExperiments(ctx, schema, schema));
      apps.push(await bootScheduler(ctx, schema, schema, { AGENT_HEARTBEAT_MS: '500', AGENT_LEASE_MS: '5000', JOB_WORKING_DIR_ROOTS: work }));
      const gateway = await bootGateway(ctx, schema, schema);
      apps.push(gateway.app);
      agent = new Agent({
        nc: ctx.nc,
        namespace: schema,
        agentId: randomUUID(),
        hostname: 'bench-node',
        capacity: { gpus: [], cpus: 2, memoryMb: 4_096, gpuProbe: { status: 'ABSENT', message: 'benchmark: CPU-only' } },
        dataDir: join(work, 'agent'),
        artifactRoot: join(work, 'artifacts'),
        telemetryStream: telemetryStreamOf(schema),
        jobUser: null,
        gpuSampleIntervalMs: 0,
        stopGraceMs: 1_000,
        // A local agent, as under npm start: it signs as a platform process.
        signingKey: actorSigningKeyFromEnvironment(),
      });
      await agent.start();

      const http = new GraphQLHttpClient(gateway.url, BENCH_TOKEN);
      const rpc = new RpcClient(ctx.nc, { timeoutMs: 30_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
      const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };
      const project = await rpc.request(experimentsRpc.defineProject, { name: 'live-bench', problem: 'How fast is live progress?', taskType: 'REGRESSION', target: 'y' }, { headers });
      const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'live' }, { headers });

      // Ours: through the agent, JetStream and the gateway.
      const jobId = randomUUID();
      const goFile = join(work, 'go');
      const clients = Array.from({ length: subscribers }, () => webSocketClient(gateway.url, { authorization: `Bearer ${BENCH_TOKEN}` }));
      const ours: Delivery = { latenciesMs: [], received: 0 };
      let queues: SubscriptionQueue[] = [];
      try {
        const { submitJob } = await http.data(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { id } }`, {
          input: { jobId, experimentId: experiment.experimentId, command: [process.execPath, '-e', emitterScript(rate, seconds, goFile)], resources: { cpus: 1, memoryMb: 256 } },
        });
        if (submitJob.id !== jobId) throw new Error('the job id changed');
        queues = clients.map((client) => new SubscriptionQueue(client, `subscription($j: ID!) { jobProgressBatches(jobId: $j) { items { ... on JobMetric { value } } } }`, { j: jobId }));
        // The job prints points only once every subscriber has had an item (its waiting lines):
        // every subscriber then follows the whole run.
        await Promise.all(queues.map((queue) => queue.next(60_000)));
        writeFileSync(goFile, 'go');
        await drain(queues, ours, expected, 30_000);
      } finally {
        for (const queue of queues) queue.dispose();
        await Promise.all(clients.map((c) => c.dispose()));
      }

      // Baseline: the same child, read by the bench, batches on core NATS to plain subscribers.
      const baseline = await plainNatsRun(ctx, withNamespace(schema, `bench.live.${randomUUID()}`), emitterScript(rate, seconds, null), subscribers, expected);

      const summary = (d: Delivery) => ({ p50: percentile(d.latenciesMs, 50), p99: percentile(d.latenciesMs, 99), delivered: d.received / (expected * subscribers) });
      const [o, b] = [summary(ours), summary(baseline)];
      return {
        parameters: {
          pointsPerSecond: rate,
          seconds,
          subscribers,
          pointsPerSubscriber: expected,
          oursDeliveredFraction: Number(o.delivered.toFixed(4)),
          baselineDeliveredFraction: Number(b.delivered.toFixed(4)),
          path: 'child stdout → agent (protocol reader, 50 ms telemetry batches) → JetStream → gateway ordered consumer per subscriber → graphql-ws jobProgressBatches',
          baseline: 'child stdout → bench (10 ms batches) → core NATS → plain subscriptions',
          agentBatching: 'telemetry flushed every 50 ms (the agent default)',
        },
        figures: [
          figure('live-progress', `point latency, child → subscriber, p50 (${subscribers} subscribers, ${rate} points/s)`, 'ms', Math.max(o.p50, 0.01), Math.max(b.p50, 0.01), 'lower'),
          figure('live-progress', `point latency, child → subscriber, p99 (${subscribers} subscribers, ${rate} points/s)`, 'ms', Math.max(o.p99, 0.01), Math.max(b.p99, 0.01), 'lower'),
        ],
      };
    } finally {
      await agent?.stop({ graceMs: 1_000 }).catch(() => undefined);
      for (const app of apps.reverse()) await app.close().catch(() => undefined);
      const jsm = await ctx.nc.jetstreamManager();
      await jsm.streams.delete(telemetryStreamOf(schema)).catch(() => undefined);
      rmSync(work, { recursive: true, force: true });
    }
  },
};

/** Takes messages from every queue until each has `expected` points or `timeoutMs` passes. */
async function drain(queues: SubscriptionQueue[], into: Delivery, expected: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await Promise.all(
    queues.map(async (queue) => {
      let points = 0;
      while (points < expected && Date.now() < deadline) {
        let message;
        try {
          message = await queue.next(Math.max(1, deadline - Date.now()));
        } catch {
          return;
        }
        const now = Date.now();
        const items = (message.data as { jobProgressBatches?: { items?: Array<{ value?: number }> } } | null | undefined)?.jobProgressBatches?.items ?? [];
        for (const item of items) {
          if (typeof item.value !== 'number') continue;
          into.latenciesMs.push(now - item.value);
          into.received += 1;
          points += 1;
        }
      }
    }),
  );
}

async function plainNatsRun(ctx: BenchContext, subject: string, script: string, subscribers: number, expected: number): Promise<Delivery> {
  const delivery: Delivery = { latenciesMs: [], received: 0 };
  const counts = new Array<number>(subscribers).fill(0);
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const subscriptions = Array.from({ length: subscribers }, (_, s) =>
    ctx.nc.subscribe(subject, {
      callback: (_error, msg) => {
        const now = Date.now();
        for (const sent of decodeJson(msg.data) as number[]) {
          delivery.latenciesMs.push(now - sent);
          delivery.received += 1;
          counts[s] += 1;
        }
        if (counts.every((c) => c >= expected)) done();
      },
    }),
  );
  await ctx.nc.flush();
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let batch: number[] = [];
  const flush = () => {
    if (batch.length) ctx.nc.publish(subject, encodeJson(batch));
    batch = [];
  };
  const timer = setInterval(flush, 10);
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const record = JSON.parse(line) as { metrics?: Record<string, number> };
    if (record.metrics) batch.push(record.metrics['bench/sent_ms']);
  });
  await new Promise((resolve) => child.once('exit', resolve));
  flush();
  clearInterval(timer);
  await Promise.race([finished, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  for (const s of subscriptions) s.unsubscribe();
  return delivery;
}
