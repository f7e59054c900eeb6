import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { type AgentGpu, type JobResources, jobStream, schedulerRpc, subjects, withNamespace } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { actorSigningKeyFromEnvironment, NatsRpcTransport, RpcClient } from '@modeltrail/messaging';
import { createPool } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { placeJobs, type PendingJob, type PlacementAgent, type PlacementInput } from '../services/scheduler/src/placement/placement';
import { PlacementLoop } from '../services/scheduler/src/placement/placement.loop';
import { SchedulerLeadership } from '../services/scheduler/src/leadership/scheduler.leadership';
import { SchedulerModule } from '../services/scheduler/src/scheduler.module';
import { type Benchmark, type BenchContext, cpuNow, cpuSince, figure, runConcurrent, timed } from './harness';

/** Agent shapes of the fleet, in turn: GPUs (MB each). */
const AGENT_SHAPES: ReadonlyArray<number[]> = [Array(8).fill(81_920), Array(4).fill(40_960), [24_576, 24_576], [24_576, 24_576]];
/** Job shapes, in turn (a mix of CPU-only, one-GPU, large-memory and multi-GPU jobs). */
const JOB_SHAPES: ReadonlyArray<Pick<JobResources, 'gpus' | 'gpuMemoryMb'>> = [
  { gpus: 1, gpuMemoryMb: 0 },
  { gpus: 1, gpuMemoryMb: 30_000 },
  { gpus: 0, gpuMemoryMb: 0 },
  { gpus: 2, gpuMemoryMb: 0 },
  { gpus: 1, gpuMemoryMb: 0 },
  { gpus: 4, gpuMemoryMb: 40_000 },
  { gpus: 1, gpuMemoryMb: 20_000 },
  { gpus: 2, gpuMemoryMb: 20_000 },
  { gpus: 1, gpuMemoryMb: 0 },
  { gpus: 8, gpuMemoryMb: 80_000 },
];
const AGENT_CPUS = 64;
const AGENT_MEMORY_MB = 512_000;
const JOB_CPUS = 2;
const JOB_MEMORY_MB = 8_000;
const PRIORITIES = 4;
const SEED_CONCURRENCY = 8;
const REGISTER_CONCURRENCY = 32;

interface Fleet {
  agents: Array<{ agentId: string; sessionId: string; hostname: string; gpus: AgentGpu[] }>;
  jobs: Array<{ jobId: string; priority: number; queuedAt: string; resources: JobResources }>;
}

/** The same fleet and queue every run (ids aside): shapes in turn, priorities in turn, queued a millisecond apart. */
function fleetOf(agentCount: number, jobCount: number): Fleet {
  const start = Date.parse('2026-11-22T12:00:00.000Z');
  const agents = Array.from({ length: agentCount }, (_, i) => ({
    agentId: randomUUID(),
    sessionId: randomUUID(),
    hostname: `bench-node-${String(i).padStart(4, '0')}`,
    gpus: AGENT_SHAPES[i % AGENT_SHAPES.length].map((memoryMb, index) => ({ index, uuid: `GPU-${randomUUID()}`, name: `${memoryMb / 1024} GB`, memoryMb, status: 'AVAILABLE' as const })),
  }));
  const jobs = Array.from({ length: jobCount }, (_, i) => ({
    jobId: randomUUID(),
    priority: i % PRIORITIES,
    queuedAt: new Date(start + i).toISOString(),
    resources: { ...JOB_SHAPES[i % JOB_SHAPES.length], cpus: JOB_CPUS, memoryMb: JOB_MEMORY_MB, labels: {} },
  }));
  return { agents, jobs };
}

function pureInput(fleet: Fleet, held: ReadonlyMap<string, Set<string>>, pending: Fleet['jobs'], now: string): PlacementInput {
  const busy = new Set([...held.values()].flatMap((uuids) => [...uuids]));
  const agents: PlacementAgent[] = fleet.agents.map((a) => ({
    agentId: a.agentId,
    status: 'ACTIVE',
    labels: {},
    cpus: AGENT_CPUS,
    memoryMb: AGENT_MEMORY_MB,
    cpusFree: AGENT_CPUS,
    memoryMbFree: AGENT_MEMORY_MB,
    gpus: a.gpus.map((g) => ({ index: g.index, uuid: g.uuid, memoryMb: g.memoryMb, state: busy.has(g.uuid) ? 'ALLOCATED' : 'FREE' })),
  }));
  const jobs: PendingJob[] = pending.map((j) => ({ jobId: j.jobId, projectId: 'bench', priority: j.priority, queuedAt: j.queuedAt, notBefore: null, resources: j.resources, attempt: 1 }));
  return { jobs, agents, now };
}

/**
 * The baseline drain: the pure `placeJobs` alone, in rounds over the same fleet and queue —
 * place, every placed job finishes at once, place again — until the queue is empty. What the
 * service adds on top is the store, the read model, NATS and the agents' round trips.
 */
function pureDrain(fleet: Fleet): { seconds: number; passes: number; decisions: number } {
  const started = performance.now();
  let pending = fleet.jobs;
  let passes = 0;
  let decisions = 0;
  const now = new Date().toISOString();
  while (pending.length > 0) {
    const { assignments } = placeJobs(pureInput(fleet, new Map(), pending, now));
    if (assignments.length === 0) throw new Error('the bench queue holds a job no agent can take');
    const placed = new Set(assignments.map((a) => a.jobId));
    pending = pending.filter((j) => !placed.has(j.jobId));
    passes += 1;
    decisions += assignments.length;
  }
  return { seconds: (performance.now() - started) / 1_000, passes, decisions };
}

/**
 * Simulated agents, all in this loop: each heartbeats when the scheduler wakes it (and, as a
 * safety net, when it has not for a while), and reports every job it is given as finished at
 * once (SUCCEEDED). No processes run.
 */
class BenchAgents {
  private readonly state = new Map<string, { sessionId: string; busy: boolean; again: boolean; lastBeat: number }>();
  private finished = 0;
  private failures = 0;
  private resolveDrained!: () => void;
  readonly drained = new Promise<void>((resolve) => (this.resolveDrained = resolve));

  constructor(
    private readonly rpc: RpcClient,
    private readonly total: number,
  ) {}

  add(agentId: string, sessionId: string): void {
    this.state.set(agentId, { sessionId, busy: false, again: false, lastBeat: 0 });
  }

  get done(): number {
    return this.finished;
  }

  get errors(): number {
    return this.failures;
  }

  poke(agentId: string): void {
    const agent = this.state.get(agentId);
    if (!agent) return;
    if (agent.busy) {
      agent.again = true;
      return;
    }
    agent.busy = true;
    void (async () => {
      do {
        agent.again = false;
        agent.lastBeat = Date.now();
        await this.beat(agentId, agent.sessionId).catch(() => (this.failures += 1));
      } while (agent.again);
      agent.busy = false;
    })();
  }

  /** Agents not heard for `ms`: heartbeat them (a wake-up that came while nothing was new). */
  sweep(ms: number): void {
    const now = Date.now();
    for (const [agentId, agent] of this.state) if (!agent.busy && now - agent.lastBeat > ms) this.poke(agentId);
  }

  private async beat(agentId: string, sessionId: string): Promise<void> {
    const headers = { actor: `agent:${agentId}`, correlationId: `bench-${agentId}` };
    const reply = await this.rpc.request(schedulerRpc.agentHeartbeat, { agentId, sessionId, running: [] }, { headers });
    await Promise.all(
      reply.assignments.map(async (a) => {
        await this.rpc.request(schedulerRpc.reportJobFinished, { jobId: a.jobId, agentId, fencingToken: a.fencingToken, outcome: 'SUCCEEDED', exitCode: 0, durationMs: 0 }, { headers: { ...headers, correlationId: a.jobId } });
        this.finished += 1;
        if (this.finished >= this.total) this.resolveDrained();
      }),
    );
  }
}

/**
 * Placement through the scheduler service as it runs (leader, read model, NATS): a queue of
 * mixed job shapes seeded directly into the event store as JobQueued events, a fleet of
 * simulated agents registered over NATS, and the queue drained by the agents finishing every
 * job they are given at once. The experiments service is not started: this measures placement
 * and the job lifecycle, not the closing of runs (the reactor waits for experiments, backing
 * off, as it would while that service is down). Reported next to the pure
 * `placeJobs` on the same fleet and queue: decisions per second, and the time to drain.
 */
export const placementBenchmark: Benchmark = {
  name: 'placement',
  async run(ctx: BenchContext) {
    const agentCount = ctx.n(ctx.quick ? 100 : 500, 8);
    const jobCount = ctx.n(ctx.quick ? 600 : 5_000, 40);
    const schema = ctx.schema('placement');
    const telemetryStream = `${schema}_tel`.slice(-64);
    const environment = {
      DATABASE_URL: ctx.databaseUrl,
      NATS_URL: ctx.natsUrl,
      NATS_NAMESPACE: schema,
      EVENTSTORE_SCHEMA: schema,
      READ_MODEL_SCHEMA: schema,
      TELEMETRY_STREAM: telemetryStream,
      // Long leases: the simulated agents heartbeat when woken, not on a timer.
      AGENT_HEARTBEAT_MS: '60000',
      AGENT_LEASE_MS: '600000',
      RPC_TIMEOUT_MS: '30000',
      LOG_LEVEL: 'error',
    };
    const fleet = fleetOf(agentCount, jobCount);
    const parameters = {
      agents: agentCount,
      gpus: fleet.agents.reduce((n, a) => n + a.gpus.length, 0),
      agentShapes: AGENT_SHAPES.map((g) => `${g.length} x ${g[0]} MB`).join(', '),
      jobs: jobCount,
      jobShapes: JOB_SHAPES.map((s) => `${s.gpus} GPU${s.gpuMemoryMb ? ` >= ${s.gpuMemoryMb} MB` : ''}`).join(', '),
      priorities: PRIORITIES,
      seeding: 'JobQueued events appended directly to the store, before the scheduler starts',
      runs: 'not closed: the experiments service is not started, so the reactor backs off as it does while that service is down (run closing is covered by the service tests)',
      agentsLoop: 'one loop in the bench: heartbeat when woken, report every assignment finished at once',
      baseline: 'pure placeJobs on the same fleet and queue, in rounds until drained',
    };
    ctx.log(`placement: ${JSON.stringify(parameters)}`);

    let scheduler: INestMicroservice | undefined;
    const pool = createPool(ctx.databaseUrl, { max: SEED_CONCURRENCY, applicationName: 'bench-placement' });
    const store = new PostgresEventStore({ pool, connectionString: ctx.databaseUrl, schema });
    const rpc = new RpcClient(ctx.nc, { timeoutMs: 60_000, namespace: schema, signingKey: actorSigningKeyFromEnvironment() });
    const headers = { actor: 'bench@modeltrail.local', correlationId: `bench-${schema}` };
    const wakes = ctx.nc.subscribe(withNamespace(schema, subjects.agent('*', 'wake')));
    try {
      await store.migrate();
      const project = { projectId: randomUUID() };
      const experiment = { experimentId: randomUUID() };
      const run = { runId: randomUUID() };

      // The queue, straight into the store; then the scheduler starts and its read model catches up.
      const seeded = await runConcurrent(SEED_CONCURRENCY, jobCount, async (i) => {
        const j = fleet.jobs[i];
        await store.append(
          jobStream(j.jobId),
          [
            {
              type: 'scheduler.JobQueued.v1',
              data: {
                jobId: j.jobId,
                projectId: project.projectId,
                experimentId: experiment.experimentId,
                runId: run.runId,
                newRun: null,
                command: ['python', 'train.py'],
                env: {},
                workingDir: null,
                resources: j.resources,
                priority: j.priority,
                maxRetries: 2,
                timeoutSeconds: null,
                cancelGraceSeconds: 10,
                sweep: null,
                queuedAt: j.queuedAt,
              },
              metadata: { actor: headers.actor, correlationId: headers.correlationId },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
      });
      scheduler = await NestFactory.createMicroservice(SchedulerModule.forRoot(loadConfig({ ...environment, SERVICE_NAME: 'scheduler' })), {
        strategy: new NatsRpcTransport({ nats: { url: ctx.natsUrl, name: 'scheduler-bench' }, namespace: schema, queue: 'scheduler' }),
        logger: false,
      });
      await scheduler.listen();
      await scheduler.get(SchedulerLeadership).whenLeader();
      const head = await store.headPosition();
      await Promise.all(scheduler.get<ProjectionRunner[]>(PROJECTION_RUNNERS).map((r) => r.waitFor(head, 120_000)));
      ctx.log(`placement: seeded ${jobCount} queued jobs in ${seeded.seconds.toFixed(1)} s`);

      // The fleet registers and the clock runs until every job has been reported finished.
      const agents = new BenchAgents(rpc, jobCount);
      for (const a of fleet.agents) agents.add(a.agentId, a.sessionId);
      void (async () => {
        for await (const msg of wakes) agents.poke(msg.subject.split('.').at(-2)!);
      })();
      const loop = scheduler.get(PlacementLoop);
      const before = { ...loop.stats };
      const safetyNet = setInterval(() => agents.sweep(2_000), 500);
      const cpuStart = cpuNow();
      const drain = await timed(async () => {
        await runConcurrent(REGISTER_CONCURRENCY, fleet.agents.length, async (i) => {
          const a = fleet.agents[i];
          await rpc.request(
            schedulerRpc.registerAgent,
            { agentId: a.agentId, sessionId: a.sessionId, hostname: a.hostname, gpus: a.gpus, cpus: AGENT_CPUS, memoryMb: AGENT_MEMORY_MB, gpuProbe: { status: 'OK', message: '' } },
            { headers: { actor: `agent:${a.agentId}`, correlationId: `bench-${a.agentId}` } },
          );
          agents.poke(a.agentId);
        });
        await agents.drained;
      }).finally(() => clearInterval(safetyNet));
      const cpu = cpuSince(cpuStart);
      const assigned = loop.stats.assigned - before.assigned;
      const busySeconds = (loop.stats.busyMs - before.busyMs) / 1_000;
      const passes = loop.stats.passes - before.passes;
      ctx.log(`placement: service drained ${jobCount} jobs in ${drain.seconds.toFixed(1)} s (${assigned} assignments in ${passes} passes, ${busySeconds.toFixed(1)} s placing; ${agents.errors} failed agent calls; CPU ms per job: this process ${(cpu.node / jobCount).toFixed(2)}, PostgreSQL ${(cpu.postgres / jobCount).toFixed(2)}, NATS ${(cpu.nats / jobCount).toFixed(2)})`);

      // The baseline: the pure function on the same fleet and queue.
      const firstInput = pureInput(fleet, new Map(), fleet.jobs, new Date().toISOString());
      placeJobs(firstInput); // warm
      const firstPass = await timed(async () => placeJobs(firstInput));
      const pure = pureDrain(fleet);
      ctx.log(
        `placement: pure placeJobs: first pass ${firstPass.value.assignments.length} decisions in ${(firstPass.seconds * 1_000).toFixed(1)} ms; drain in ${pure.passes} passes, ${(pure.seconds * 1_000).toFixed(1)} ms`,
      );

      return {
        parameters: { ...parameters, servicePasses: passes, pureDrainPasses: pure.passes },
        figures: [
          figure('placement', 'placement decisions/s while draining (service: read model, place, append JobAssigned, wake)', 'decisions/s', assigned / busySeconds, pure.decisions / pure.seconds, 'higher'),
          figure('placement', 'time to drain the queue (all jobs reported finished)', 's', drain.seconds, pure.seconds, 'lower'),
        ],
      };
    } finally {
      wakes.unsubscribe();
      await scheduler?.close();
      await (await ctx.nc.jetstreamManager()).streams.delete(telemetryStream).catch(() => undefined);
      await pool.end();
    }
  },
};
