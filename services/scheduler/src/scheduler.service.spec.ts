import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import {
  agentPrincipal,
  commandScopedId,
  ConflictError,
  type DatasetVersionReply,
  datasetsRpc,
  experimentsRpc,
  ForbiddenError,
  jobRefusalStream,
  JobProgressItem,
  jobRunId,
  jobStream,
  type JobView,
  NotFoundError,
  type RetrainRequestedV1,
  type RpcRequest,
  schedulerRpc,
  sweepStream,
  SweepSpace,
  UnauthenticatedError,
  ValidationError,
  withNamespace,
} from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import {
  connectBus,
  type CredentialVerifier,
  decodeJson,
  DEFAULT_JOB_TELEMETRY_PREFIX,
  encodeJson,
  followJobTelemetry,
  type ManagedBus,
  NatsRpcTransport,
  RpcClient,
  type RpcReplyEnvelope,
  type RpcServer,
  serveRpc,
  toNatsHeaders,
} from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, eventually, onTestBus, take, TEST_ACTOR_SIGNING_KEY, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { ExperimentsModule } from '../../experiments/src/experiments.module';
import { SimulatedAgent, type SimulatedAgentSpec } from '../test/simulated-agent';
import { LivenessMonitor } from './agent/liveness.monitor';
import { SchedulerLeadership } from './leadership/scheduler.leadership';
import { PlacementLoop, SCHEDULER_ACTOR } from './placement/placement.loop';
import { SchedulerReactor } from './reactor/scheduler.reactor';
import { SchedulerModule } from './scheduler.module';
import { expandSpace } from './sweep/sweep-space';

/**
 * The scheduler as it runs: a Nest app on the NATS transport over the real PostgreSQL and the
 * test bus (NATS, or the in-process bus where no NATS server answers), next to the experiments
 * service (jobs start and close runs there). Agents are simulated by calling the agent-facing
 * RPCs over the bus. Each test places its jobs on its own pool of agents
 * (a label), so tests do not take each other's capacity.
 */
describeOnTestBus('scheduler service over the bus', () => {
  const schema = uniqueName('schsvc');
  const telemetryStream = `${schema}_TEL`;
  const environment = {
    DATABASE_URL: TEST_DATABASE_URL,
    NATS_NAMESPACE: schema,
    EVENTSTORE_SCHEMA: schema,
    READ_MODEL_SCHEMA: schema,
    TELEMETRY_STREAM: telemetryStream,
    // A short lease, so lost agents are found quickly; simulated agents heartbeat every 200 ms.
    AGENT_HEARTBEAT_MS: '1000',
    AGENT_LEASE_MS: '3000',
    JOB_WORKING_DIR_ROOTS: '/srv/jobs',
    JOB_LOG_MAX_BYTES: '4096',
    SWEEP_TRIAL_LIMIT: '10',
    LOG_LEVEL: 'error',
  };
  const headers = { actor: 'ada@example.com', correlationId: 'corr-scheduler' };
  const pool = createPool(TEST_DATABASE_URL, { max: 2 });
  const store = new PostgresEventStore({ pool, connectionString: TEST_DATABASE_URL, schema });
  let experiments: INestMicroservice;
  let scheduler: INestMicroservice;
  let replica: INestMicroservice | undefined;
  let schedulerClosed = false;
  let caller: ManagedBus;
  let rpc: RpcClient;
  const agents: SimulatedAgent[] = [];
  /** Dataset versions the datasets context knows (version id -> dataset id), as its GetDatasetVersions answers. */
  const knownVersions = new Map<string, string>();
  let datasets: RpcServer | undefined;

  /** Agent credentials the services accept (API key -> principal): the access service's part, stubbed. */
  const agentKeys = new Map<string, string>();
  const credentials: CredentialVerifier = {
    async verify(credential) {
      const principal = agentKeys.get(credential);
      if (!principal) throw new UnauthenticatedError('unknown API key');
      return { principal };
    },
  };

  async function boot(module: ReturnType<typeof SchedulerModule.forRoot>, name: string): Promise<INestMicroservice> {
    const app = await NestFactory.createMicroservice(module, {
      strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name }, namespace: schema, actors: { signingKey: TEST_ACTOR_SIGNING_KEY, credentials } }),
      logger: false,
    });
    await app.listen();
    return app;
  }

  const schedulerModule = () =>
    SchedulerModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'scheduler' })), undefined, { placementIntervalMs: 100, livenessCheckMs: 200, reactorRetryMs: 100, leadershipRetryMs: 100 });

  beforeAll(async () => {
    experiments = await boot(ExperimentsModule.forRoot(onTestBus(loadConfig({ ...environment, SERVICE_NAME: 'experiments' }))), 'experiments-test');
    scheduler = await boot(schedulerModule(), 'scheduler-test');
    await scheduler.get(SchedulerLeadership).whenLeader();
    caller = await connectBus({ url: TEST_BUS_URL, name: 'scheduler-test-caller' });
    rpc = new RpcClient(caller.nc, { signingKey: TEST_ACTOR_SIGNING_KEY, timeoutMs: 15_000, namespace: schema });
    datasets = serveRpc(
      caller.nc,
      datasetsRpc.getDatasetVersions,
      (req) => ({ items: req.datasetVersionIds.filter((id) => knownVersions.has(id)).map((id) => versionReply(id, knownVersions.get(id)!)) }),
      { namespace: schema },
    );
  });
  afterAll(async () => {
    for (const agent of agents) await agent.die();
    await replica?.close();
    if (!schedulerClosed) await scheduler?.close();
    await experiments?.close();
    await datasets?.stop();
    await (await caller?.nc.jetstreamManager())?.streams.delete(telemetryStream).catch(() => undefined);
    await caller?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`);
    await pool.end();
  });

  // -------------------------------------------------------------------------------------------
  // Helpers
  // -------------------------------------------------------------------------------------------

  let projects = 0;
  async function newExperiment(successCriteria: Array<{ metric: string; threshold: number; direction: 'MAXIMIZE' | 'MINIMIZE' }> = []) {
    const project = await rpc.request(experimentsRpc.defineProject, { name: `project ${++projects} ${schema}`, problem: 'p', taskType: 'REGRESSION', target: 'y', successCriteria }, { headers });
    const experiment = await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'e' }, { headers });
    return { projectId: project.projectId, experimentId: experiment.experimentId };
  }

  let shared: { projectId: string; experimentId: string };
  const experiment = async () => (shared ??= await newExperiment());

  /** A label only this test's agents carry. */
  const newPool = () => ({ pool: randomUUID().slice(0, 8) });

  async function submit(labels: Record<string, string>, request: Partial<RpcRequest<typeof schedulerRpc.submitJob>> = {}, extraHeaders: { commandId?: string } = {}): Promise<JobView> {
    const { experimentId } = await experiment();
    const { resources, ...rest } = request;
    return rpc.request(
      schedulerRpc.submitJob,
      { experimentId, command: ['python', 'train.py'], resources: { gpus: 1, ...resources, labels: { ...labels, ...resources?.labels } }, ...rest },
      { headers: { ...headers, ...extraHeaders } },
    );
  }

  const job = async (jobId: string): Promise<JobView> => {
    const { items } = await rpc.request(schedulerRpc.getJobs, { jobIds: [jobId] }, { headers });
    if (!items[0]) throw new Error(`job ${jobId} not found`);
    return items[0];
  };

  const statusOf = async (jobId: string, status: JobView['status'], timeoutMs = 10_000) =>
    eventually(
      async () => {
        const view = await job(jobId);
        expect(view.status).toBe(status);
        return view;
      },
      { timeoutMs },
    );

  async function agent(spec: SimulatedAgentSpec, options: { autoStart?: boolean } = {}): Promise<SimulatedAgent> {
    const a = new SimulatedAgent(rpc, caller.nc, schema, spec);
    if (options.autoStart ?? true) a.whenAssigned((assignment) => void a.start(assignment.jobId).catch(() => undefined));
    agents.push(a);
    await a.register();
    return a.live(200);
  }

  async function failure(promise: Promise<unknown>): Promise<Error> {
    const outcome = await promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    if (!outcome) throw new Error('expected the request to fail');
    return outcome;
  }

  function versionReply(datasetVersionId: string, datasetId: string): DatasetVersionReply {
    return {
      datasetVersionId,
      datasetId,
      version: 1,
      uri: 'file:///data/churn.csv',
      format: 'CSV',
      digest: 'c'.repeat(64),
      size: 10,
      rows: 1,
      schema: null,
      profile: null,
      profiled: false,
      parentVersionIds: [],
      transform: null,
      registeredAt: '2026-11-01T00:00:00.000Z',
      registeredBy: 'ada@example.com',
    };
  }

  /** A RetrainRequested event as the monitoring service appends it, its job trained on `datasetVersions`. */
  function retrainRequested(job: Partial<RetrainRequestedV1['job']> & Pick<RetrainRequestedV1['job'], 'experimentId'>): RetrainRequestedV1 {
    return {
      retrainId: randomUUID(),
      monitorId: randomUUID(),
      deploymentId: randomUUID(),
      modelId: randomUUID(),
      modelVersionId: randomUUID(),
      alertId: randomUUID(),
      policy: 'AUTO',
      job: {
        jobId: randomUUID(),
        command: ['python', 'train.py'],
        env: {},
        workingDir: null,
        resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
        priority: 0,
        maxRetries: 2,
        timeoutSeconds: null,
        cancelGraceSeconds: 10,
        params: {},
        datasetVersions: [],
        ...job,
      },
      datasetChanges: [],
      requestedAt: new Date().toISOString(),
    };
  }

  /** Appends a RetrainRequested event (as monitoring would) and waits for the reactor to have reacted to it. */
  async function requestRetrain(data: RetrainRequestedV1, id = randomUUID()): Promise<{ id: string; position: number }> {
    const { position } = await store.append(
      `monitor-${data.monitorId}`,
      [{ id, type: 'monitoring.RetrainRequested.v1', data, metadata: { actor: 'grace@example.com', correlationId: `corr-retrain-${data.retrainId}` } }],
      { expectedRevision: 'any' },
    );
    await scheduler.get(SchedulerReactor).waitFor(position);
    return { id, position };
  }

  const run = async (runId: string) => (await rpc.request(experimentsRpc.getRuns, { runIds: [runId] }, { headers })).items[0];
  const placement = () => scheduler.get(PlacementLoop);

  /** Every GPU held by an ASSIGNED or RUNNING job of these, by uuid: a GPU held twice throws. */
  async function heldGpus(jobIds: string[]): Promise<Map<string, string>> {
    const { items } = await rpc.request(schedulerRpc.getJobs, { jobIds }, { headers });
    const held = new Map<string, string>();
    for (const j of items.filter((v) => v.status === 'ASSIGNED' || v.status === 'RUNNING')) {
      for (const gpu of j.gpus) {
        if (held.has(gpu.uuid)) throw new Error(`GPU ${gpu.uuid} is held by ${held.get(gpu.uuid)} and ${j.jobId}`);
        held.set(gpu.uuid, j.jobId);
      }
    }
    return held;
  }

  // -------------------------------------------------------------------------------------------

  it('queues a job into a new run the experiments service starts with its params, idempotently per command id, and a cancel while queued never assigns it', async () => {
    const { experimentId, projectId } = await experiment();
    const commandId = `submit-${randomUUID()}`;
    const request = { params: { lr: 0.01, epochs: 3 }, workingDir: '/srv/jobs/churn/../churn', resources: { gpus: 0, cpus: 1, memoryMb: 1_024 }, priority: 3 };
    const queued = await submit(newPool(), request, { commandId });
    expect(queued).toMatchObject({
      jobId: commandScopedId(commandId, 'job'),
      status: 'QUEUED',
      projectId,
      experimentId,
      runId: jobRunId(queued.jobId),
      startsRun: true,
      workingDir: '/srv/jobs/churn',
      priority: 3,
      attempt: 1,
      fencingToken: null,
      submittedBy: 'ada@example.com',
      revision: 0,
    });
    expect(await run(queued.runId)).toMatchObject({ status: 'Running', experimentId, params: { lr: 0.01, epochs: 3 }, tags: [`job:${queued.jobId}`] });

    // The same Mt-Command-Id again: the same job, not a second one.
    await expect(submit(newPool(), request, { commandId })).resolves.toMatchObject({ jobId: queued.jobId, revision: 0 });
    expect(await store.streamRevision(jobStream(queued.jobId))).toBe(0);

    const cancelled = await rpc.request(schedulerRpc.cancelJob, { jobId: queued.jobId, reason: 'wrong dataset' }, { headers });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', reason: 'wrong dataset', fencingToken: null, assignedAt: null, agentId: null });
    // The reactor fails the run, naming the outcome.
    await eventually(async () => expect(await run(queued.runId)).toMatchObject({ status: 'Failed', failureReason: `job ${queued.jobId} cancelled: wrong dataset` }));
  });

  it('refuses bad input with the contract error naming the problem, appending nothing', async () => {
    const labels = newPool();
    const noStream = async (jobId: string) => {
      expect(await store.streamRevision(jobStream(jobId))).toBe('no_stream');
      expect(await store.streamRevision(`run-${jobRunId(jobId)}`)).toBe('no_stream');
    };

    const unknownExperiment = randomUUID();
    let jobId = randomUUID();
    const e1 = await failure(rpc.request(schedulerRpc.submitJob, { jobId, experimentId: unknownExperiment, command: ['python', 'train.py'] }, { headers }));
    expect(e1).toBeInstanceOf(NotFoundError);
    expect(e1.message).toBe(`experiment ${unknownExperiment} does not exist`);
    await noStream(jobId);

    const unknownRun = randomUUID();
    jobId = randomUUID();
    const e2 = await failure(rpc.request(schedulerRpc.submitJob, { jobId, runId: unknownRun, command: ['python', 'train.py'] }, { headers }));
    expect(e2).toBeInstanceOf(NotFoundError);
    expect(e2.message).toBe(`run ${unknownRun} does not exist`);
    await noStream(jobId);

    const { experimentId } = await experiment();
    const ended = await rpc.request(experimentsRpc.startRun, { experimentId }, { headers });
    await rpc.request(experimentsRpc.completeRun, { runId: ended.runId }, { headers });
    // The run's status is read from the experiments read model.
    await eventually(async () => expect(await run(ended.runId)).toMatchObject({ status: 'Completed' }));
    jobId = randomUUID();
    const e3 = await failure(rpc.request(schedulerRpc.submitJob, { jobId, runId: ended.runId, command: ['python', 'train.py'] }, { headers }));
    expect(e3).toBeInstanceOf(ConflictError);
    expect(e3.message).toMatch(`run ${ended.runId} is completed: a job cannot train into it`);
    await noStream(jobId);

    jobId = randomUUID();
    const e4 = await failure(submit(labels, { jobId, command: [] }));
    expect(e4).toBeInstanceOf(ValidationError);
    expect(e4.message).toMatch(/command.*must hold at least the program to run/);
    await noStream(jobId);

    jobId = randomUUID();
    const e5 = await failure(submit(labels, { jobId, resources: { gpus: -1 } }));
    expect(e5).toBeInstanceOf(ValidationError);
    expect(e5.message).toMatch(/resources\.gpus.*must not be negative/);
    await noStream(jobId);

    jobId = randomUUID();
    const e6 = await failure(submit(labels, { jobId, workingDir: '/srv/jobs/../../etc' }));
    expect(e6).toBeInstanceOf(ValidationError);
    expect(e6.message).toBe('workingDir "/srv/jobs/../../etc" resolves to /etc, which is outside the allowed roots /srv/jobs');
    await noStream(jobId);

    const sweepId = randomUUID();
    const e7 = await failure(
      rpc.request(
        schedulerRpc.submitSweep,
        { sweepId, experimentId, strategy: 'GRID', space: { a: { values: [1, 2, 3, 4] }, b: { values: [1, 2, 3, 4] } }, objective: { metric: 'loss', direction: 'MINIMIZE' }, command: ['python', 'train.py'] },
        { headers },
      ),
    );
    expect(e7).toBeInstanceOf(ValidationError);
    expect(e7.message).toMatch('the grid has 16 points (a 4 x b 4), more than the limit of 10 trials');
    expect(await store.streamRevision(sweepStream(sweepId))).toBe('no_stream');

    // A shape no agent can ever take is accepted, and waits with the reason in the queue.
    await agent({ labels, gpus: [16_384] });
    const impossible = await submit(labels, { resources: { gpus: 8, gpuMemoryMb: 80_000 } });
    await placement().settle();
    expect(await job(impossible.jobId)).toMatchObject({ status: 'QUEUED' });
    const queue = await rpc.request(schedulerRpc.getQueue, { projectId: impossible.projectId, first: 200 }, { headers });
    const entry = queue.items.find((e) => e.jobId === impossible.jobId);
    expect(entry).toMatchObject({ reasonCode: 'NEVER_FITS', reason: expect.stringMatching(/needs 8 GPUs with >= 80000 MB each; the largest agent with labels pool=\w+ has 0 free of 0/) });
    expect(queue.totalPending).toBeGreaterThanOrEqual(1);
  });

  it('places by priority then age, bin-packing on a 2x80GB and a 4x16GB agent, never giving a GPU twice across ticks', async () => {
    const labels = newPool();
    const a = await agent({ labels, hostname: `a80-${labels.pool}`, gpus: [81_920, 81_920] });
    const b = await agent({ labels, hostname: `b16-${labels.pool}`, gpus: [16_384, 16_384, 16_384, 16_384] });
    for (const x of [a, b]) await rpc.request(schedulerRpc.drainAgent, { agentId: x.agentId, reason: 'maintenance' }, { headers });

    const s1 = await submit(labels, { priority: 0 });
    const tiny = await submit(labels, { priority: 5 });
    const big = await submit(labels, { priority: 10, resources: { gpus: 2, gpuMemoryMb: 40_000 } });
    await placement().settle();
    const queue = await rpc.request(schedulerRpc.getQueue, { first: 200 }, { headers });
    const ours = queue.items.filter((e) => [s1.jobId, tiny.jobId, big.jobId].includes(e.jobId));
    expect(ours.map((e) => e.jobId)).toEqual([big.jobId, tiny.jobId, s1.jobId]);
    expect(ours[1].position).toBeGreaterThan(ours[0].position);
    for (const e of ours) expect(e).toMatchObject({ reasonCode: 'WAITING_FOR_CAPACITY', reason: expect.stringContaining('draining') });

    for (const x of [a, b]) await rpc.request(schedulerRpc.resumeAgent, { agentId: x.agentId }, { headers });
    const placedBig = await statusOf(big.jobId, 'RUNNING');
    expect(placedBig).toMatchObject({ agentId: a.agentId, gpus: a.gpus.map((g) => ({ index: g.index, uuid: g.uuid })), fencingToken: 1 });
    for (const small of [tiny, s1]) expect(await statusOf(small.jobId, 'RUNNING')).toMatchObject({ agentId: b.agentId });

    // More jobs than GPUs: 2 of B's GPUs are left; across many ticks nothing is given twice.
    const more = await Promise.all(Array.from({ length: 6 }, () => submit(labels)));
    const all = [s1, tiny, big, ...more].map((j) => j.jobId);
    await eventually(async () => expect((await heldGpus(all)).size).toBe(6));
    for (let i = 0; i < 5; i++) {
      await placement().settle();
      expect((await heldGpus(all)).size).toBe(6);
    }
    // Freed GPUs go to waiting jobs, one holder each.
    await a.finish(big.jobId);
    await eventually(async () => expect((await heldGpus(all)).size).toBe(6));
    for (const j of [...b.held.keys()].slice(0, 2)) await b.finish(j);
    await eventually(async () => expect((await heldGpus(all)).size).toBe(6));
    for (let i = 0; i < 3; i++) {
      await placement().settle();
      expect((await heldGpus(all)).size).toBe(6);
    }

    // Bin packing: with A's two GPUs and B's four free, a 1-GPU job goes to A (fewest free GPUs).
    for (const x of [a, b]) for (const j of [...x.held.keys()]) await x.finish(j);
    await eventually(async () => {
      const views = (await rpc.request(schedulerRpc.getJobs, { jobIds: all }, { headers })).items;
      for (const x of [a, b]) for (const j of [...x.held.keys()]) await x.finish(j);
      expect(views.every((v) => v.status === 'SUCCEEDED')).toBe(true);
    });
    const packed = await submit(labels);
    expect(await statusOf(packed.jobId, 'RUNNING')).toMatchObject({ agentId: a.agentId });
    const packedToo = await submit(labels, { resources: { gpus: 1, gpuMemoryMb: 12_000 } });
    expect(await statusOf(packedToo.jobId, 'RUNNING')).toMatchObject({ agentId: a.agentId });
    const spills = await submit(labels, { resources: { gpus: 1, gpuMemoryMb: 12_000 } });
    expect(await statusOf(spills.jobId, 'RUNNING')).toMatchObject({ agentId: b.agentId });
    for (const x of [a, b]) for (const j of [...x.held.keys()]) await x.finish(j);
  });

  it('drains an agent (its running job finishes, nothing new is assigned) and resumes it', async () => {
    const labels = newPool();
    const c = await agent({ labels, gpus: [24_576] });
    const first = await submit(labels);
    await statusOf(first.jobId, 'RUNNING');
    const drained = await rpc.request(schedulerRpc.drainAgent, { agentId: c.agentId, reason: 'kernel update' }, { headers });
    expect(drained).toMatchObject({ status: 'DRAINING', drainReason: 'kernel update', runningJobIds: [first.jobId] });
    expect(drained.gpus[0]).toMatchObject({ jobId: first.jobId });

    const second = await submit(labels);
    await expect(c.finish(first.jobId)).resolves.toMatchObject({ status: 'SUCCEEDED' });
    for (let i = 0; i < 3; i++) await placement().settle();
    expect(await job(second.jobId)).toMatchObject({ status: 'QUEUED', agentId: null });
    const queue = await rpc.request(schedulerRpc.getQueue, { first: 200 }, { headers });
    expect(queue.items.find((e) => e.jobId === second.jobId)).toMatchObject({ reasonCode: 'WAITING_FOR_CAPACITY', reason: expect.stringContaining('draining') });

    await expect(rpc.request(schedulerRpc.resumeAgent, { agentId: c.agentId }, { headers })).resolves.toMatchObject({ status: 'ACTIVE', drainReason: null });
    expect(await statusOf(second.jobId, 'RUNNING')).toMatchObject({ agentId: c.agentId });
    await c.finish(second.jobId);
  });

  it('cancels an assigned or running job through the heartbeat reply, and refuses to cancel a finished one', async () => {
    const labels = newPool();
    const d = await agent({ labels, gpus: [16_384, 16_384] }, { autoStart: false });
    const assigned = await submit(labels);
    const running = await submit(labels);
    await eventually(() => expect(d.held.has(assigned.jobId) && d.held.has(running.jobId)).toBe(true));
    await d.start(running.jobId);

    for (const j of [assigned, running]) {
      const view = await rpc.request(schedulerRpc.cancelJob, { jobId: j.jobId, reason: 'not needed' }, { headers });
      expect(view).toMatchObject({ status: j === assigned ? 'ASSIGNED' : 'RUNNING', cancelReason: 'not needed', cancelRequestedAt: expect.any(String) });
    }
    await eventually(() => expect(d.cancels.map((c) => c.jobId).sort()).toEqual([assigned.jobId, running.jobId].sort()));
    expect(d.cancels[0]).toMatchObject({ reason: 'not needed', graceSeconds: 10 });
    await expect(d.finish(assigned.jobId, 'CANCELLED', { exitCode: null })).resolves.toMatchObject({ status: 'CANCELLED' });
    await expect(d.finish(running.jobId, 'CANCELLED', { exitCode: null, reason: 'stopped by SIGTERM' })).resolves.toMatchObject({ status: 'CANCELLED', reason: 'not needed' });
    const events = await store.readStream(jobStream(assigned.jobId));
    expect(events.at(-1)).toMatchObject({ type: 'scheduler.JobCancelled.v1', data: { neverStarted: true } });

    const done = await submit(labels);
    await eventually(() => expect(d.held.has(done.jobId)).toBe(true));
    await d.finish(done.jobId);
    const revision = await store.streamRevision(jobStream(done.jobId));
    const error = await failure(rpc.request(schedulerRpc.cancelJob, { jobId: done.jobId, reason: 'too late' }, { headers }));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error.message).toBe(`job ${done.jobId} has already ended (SUCCEEDED): it cannot be cancelled`);
    expect(await store.streamRevision(jobStream(done.jobId))).toBe(revision);
  });

  it('requeues the job of a lost agent within 30 s, places it on another agent, and refuses the lost agent late report', async () => {
    const labels = newPool();
    const x = await agent({ labels, gpus: [16_384] });
    const lostJob = await submit(labels, { maxRetries: 2 });
    expect(await statusOf(lostJob.jobId, 'RUNNING')).toMatchObject({ agentId: x.agentId, fencingToken: 1 });
    const y = await agent({ labels, gpus: [16_384] });

    // A heartbeat that lists the job, then none: the agent is lost, not the assignment untaken.
    await x.beat();
    const killedAt = Date.now();
    await x.die();
    const requeued = await eventually(
      async () => {
        const view = await job(lostJob.jobId);
        expect(view.lostCount).toBe(1);
        return view;
      },
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(Date.now() - killedAt).toBeLessThanOrEqual(30_000);
    expect(requeued).toMatchObject({ attempt: 2, reason: expect.stringMatching(/^attempt 1 lost: agent .* was lost: no heartbeat for \d+ s \(lease 3 s\)$/) });
    const [lostAgent] = (await rpc.request(schedulerRpc.getAgents, { agentIds: [x.agentId] }, { headers })).items;
    expect(lostAgent).toMatchObject({ status: 'LOST', lostReason: expect.stringContaining('no heartbeat') });

    // After the backoff, the other agent takes it under a new token.
    const moved = await statusOf(lostJob.jobId, 'RUNNING', 20_000);
    expect(moved).toMatchObject({ agentId: y.agentId, fencingToken: 2, attempt: 2 });

    // The lost session is told to register again, and to abandon the process it still holds.
    expect(await x.beat()).toMatchObject({ reregister: true, abandon: [{ jobId: lostJob.jobId, fencingToken: 1, reason: expect.stringContaining('token 1 is stale') }] });
    const late = await failure(x.finish(lostJob.jobId, 'SUCCEEDED', { fencingToken: 1 }));
    expect(late).toBeInstanceOf(ConflictError);
    expect(late.message).toMatch(`report from agent ${x.agentId} on job ${lostJob.jobId} refused: token 1 is stale`);
    // Its late log lines too; and its heartbeats listing the job again are recorded only once.
    expect(await failure(x.logs(lostJob.jobId, [{ seq: 0, line: 'late line' }], 1))).toBeInstanceOf(ConflictError);
    await x.beat();
    const refused = (await store.readStream(jobStream(lostJob.jobId))).filter((e) => e.type === 'scheduler.StaleReportRefused.v1');
    const stale = { agentId: x.agentId, staleToken: 1, currentToken: 2, currentAgentId: y.agentId };
    expect(refused.map((e) => e.data)).toEqual([
      expect.objectContaining({ ...stale, reported: { kind: 'HEARTBEAT' } }),
      expect.objectContaining({ ...stale, reported: expect.objectContaining({ kind: 'FINISHED', outcome: 'SUCCEEDED' }) }),
      expect.objectContaining({ ...stale, reported: { kind: 'LOGS', lines: 1 } }),
    ]);
    await eventually(async () => expect(await job(lostJob.jobId)).toMatchObject({ status: 'RUNNING', staleReportsRefused: 3 }));

    await y.finish(lostJob.jobId);
    await eventually(async () => expect(await run(lostJob.runId)).toMatchObject({ status: 'Completed' }));
  });

  it('marks an agent that stops cleanly STOPPED and requeues the job it still held without waiting out the lease', async () => {
    const labels = newPool();
    const leaving = await agent({ labels, gpus: [16_384] });
    const held = await submit(labels, { maxRetries: 2 });
    await statusOf(held.jobId, 'RUNNING');
    await leaving.beat();
    const stoppedAt = Date.now();
    expect(await leaving.stop('kernel upgrade')).toMatchObject({ agentId: leaving.agentId, status: 'STOPPED' });
    const requeued = await eventually(
      async () => {
        const view = await job(held.jobId);
        expect(view.attempt).toBe(2);
        return view;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    // Within a liveness check (every 750 ms with this 3 s lease), not a lease.
    expect(Date.now() - stoppedAt).toBeLessThan(3_000);
    expect(requeued.reason).toMatch(/is no longer online/);
    // A second stop of the same session, or of a session it no longer has, changes nothing.
    expect(await leaving.stop()).toMatchObject({ status: 'STOPPED' });
  });

  it('fails a job lost more often than its maxRetries, and fails its run naming the outcome', async () => {
    const labels = newPool();
    const z = await agent({ labels, gpus: [16_384] });
    const fragile = await submit(labels, { maxRetries: 0 });
    await statusOf(fragile.jobId, 'RUNNING');
    await z.beat();
    await z.die();
    const failed = await statusOf(fragile.jobId, 'FAILED', 30_000);
    expect(failed).toMatchObject({ lostCount: 1, reason: expect.stringMatching(/^lost once \(maxRetries 0\); last: agent .* was lost: no heartbeat/) });
    await eventually(async () => expect(await run(fragile.runId)).toMatchObject({ status: 'Failed', failureReason: expect.stringMatching(`^job ${fragile.jobId} failed: lost once`) }));
  });

  it('loses an assignment no heartbeat takes up within the lease', async () => {
    const labels = newPool();
    const n = await agent({ labels, gpus: [16_384] }, { autoStart: false });
    n.whenAssigned((assignment) => n.held.delete(assignment.jobId)); // it never holds what it is given
    const ignored = await submit(labels, { maxRetries: 0 });
    await eventually(() => expect(n.received.map((a) => a.jobId)).toContain(ignored.jobId));
    const failed = await statusOf(ignored.jobId, 'FAILED', 30_000);
    expect(failed.reason).toMatch(`lost once (maxRetries 0); last: agent ${n.agentId} did not take up the assignment within its lease (3 s)`);
    expect((await rpc.request(schedulerRpc.getAgents, { agentIds: [n.agentId] }, { headers })).items[0]).toMatchObject({ status: 'ACTIVE' });
  });

  it('stores log lines per attempt, once per seq, paged in seq order and bounded in bytes; a stale token is refused', async () => {
    const labels = newPool();
    const l = await agent({ labels, gpus: [16_384] });
    const logged = await submit(labels);
    await statusOf(logged.jobId, 'RUNNING');
    await expect(l.logs(logged.jobId, [0, 1, 2].map((seq) => ({ seq, line: `epoch ${seq}` })))).resolves.toEqual({ jobId: logged.jobId, accepted: 3, lastSeq: 2 });
    await expect(l.logs(logged.jobId, [1, 2].map((seq) => ({ seq, line: `epoch ${seq}` })))).resolves.toEqual({ jobId: logged.jobId, accepted: 0, lastSeq: 2 });

    const page1 = await rpc.request(schedulerRpc.getJobLogs, { jobId: logged.jobId, first: 2 }, { headers });
    expect(page1.items.map((i) => [i.seq, i.line, i.attempt])).toEqual([
      [0, 'epoch 0', 1],
      [1, 'epoch 1', 1],
    ]);
    expect(page1.pageInfo.hasNextPage).toBe(true);
    const page2 = await rpc.request(schedulerRpc.getJobLogs, { jobId: logged.jobId, first: 2, after: page1.pageInfo.endCursor! }, { headers });
    expect(page2.items.map((i) => i.seq)).toEqual([2]);
    expect(page2.pageInfo.hasNextPage).toBe(false);

    // 100 lines of 100 bytes: at most 4096 bytes stay, the newest ones.
    for (let batch = 0; batch < 4; batch++) {
      await l.logs(logged.jobId, Array.from({ length: 25 }, (_, i) => ({ seq: 3 + batch * 25 + i, line: `${String(3 + batch * 25 + i).padStart(4, '0')}${'x'.repeat(96)}` })));
    }
    const kept = await rpc.request(schedulerRpc.getJobLogs, { jobId: logged.jobId, first: 5_000 }, { headers });
    const bytes = kept.items.reduce((sum, i) => sum + Buffer.byteLength(i.line), 0);
    expect(bytes).toBeLessThanOrEqual(4_096);
    expect(kept.items.at(-1)?.seq).toBe(102);
    expect(kept.items[0].seq).toBeGreaterThan(3);
    expect(kept.items.map((i) => i.seq)).toEqual(Array.from({ length: kept.items.length }, (_, i) => kept.items[0].seq + i));
    // A dropped line sent again is not stored again.
    await expect(l.logs(logged.jobId, [{ seq: 3, line: 'old' }])).resolves.toMatchObject({ accepted: 0, lastSeq: 102 });

    const stale = await failure(l.logs(logged.jobId, [{ seq: 200, line: 'from nowhere' }], 7));
    expect(stale).toBeInstanceOf(ConflictError);
    expect(stale.message).toMatch(/token 7 was never issued/);
    await l.finish(logged.jobId);
  });

  it('refuses a command whose actor is unsigned or forged, appending nothing', async () => {
    const { experimentId } = await experiment();
    const jobId = randomUUID();
    const body = { jobId, experimentId, command: ['python', 'train.py'], resources: { gpus: 0 } };
    for (const signature of [undefined, 'v1.1800000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']) {
      const natsHeaders = toNatsHeaders({ actor: 'platform-admin@example.com', correlationId: 'forged' });
      if (signature) natsHeaders.set('Mt-Signature', signature);
      const reply = await caller.nc.request(`${schema}.${schedulerRpc.submitJob.subject}`, encodeJson(body), { headers: natsHeaders, timeout: 5_000 });
      const envelope = decodeJson(reply.data) as RpcReplyEnvelope;
      expect(envelope).toMatchObject({ ok: false, error: { code: 'UNAUTHENTICATED', message: expect.stringMatching(signature ? /forged actor/ : /unsigned actor/) } });
    }
    expect(await store.readStream(jobStream(jobId))).toEqual([]);
    // The same request signed is taken.
    await expect(rpc.request(schedulerRpc.submitJob, body, { headers })).resolves.toMatchObject({ jobId });
    await rpc.request(schedulerRpc.cancelJob, { jobId, reason: 'test over' }, { headers });
  });

  it('lets an agent with its own credential act only for itself and report only on its own assignments', async () => {
    const labels = newPool();
    const ownId = randomUUID();
    const key = `mtk_${randomUUID().replace(/-/g, '')}_${'k'.repeat(43)}`;
    agentKeys.set(key, agentPrincipal(ownId));
    const keyed = new RpcClient(caller.nc, { credential: key, namespace: schema, timeoutMs: 15_000 });

    // Registers and heartbeats as itself: the handlers see agent:<ownId> whatever actor it claims.
    const own = new SimulatedAgent(keyed, caller.nc, schema, { agentId: ownId, labels, gpus: [16_384] });
    own.whenAssigned((assignment) => void own.start(assignment.jobId).catch(() => undefined));
    agents.push(own);
    await own.register();
    await own.live(200);
    const events = await store.readStream(`agent-${ownId}`);
    expect(events[0].metadata.actor).toBe(agentPrincipal(ownId));

    // Not as another agent.
    const impostor = new SimulatedAgent(keyed, caller.nc, schema, { agentId: randomUUID(), labels, gpus: [16_384] });
    await expect(impostor.register()).rejects.toBeInstanceOf(ForbiddenError);
    await expect(impostor.stop()).rejects.toBeInstanceOf(ForbiddenError);

    // Its own job: started and finished with its credential.
    const mine = await submit(labels);
    await statusOf(mine.jobId, 'RUNNING');
    await expect(own.logs(mine.jobId, [{ seq: 1, line: 'epoch 1' }])).resolves.toMatchObject({ accepted: 1 });

    // Another agent's job (a signed platform agent): the credentialed agent may not report on it, under either agent id.
    const otherLabels = newPool();
    const other = await agent({ labels: otherLabels, gpus: [16_384] });
    const theirs = await submit(otherLabels);
    await statusOf(theirs.jobId, 'RUNNING');
    const token = other.require(theirs.jobId).fencingToken;
    const before = (await store.readStream(jobStream(theirs.jobId))).length;
    const report = (agentId: string) =>
      keyed.request(schedulerRpc.reportJobFinished, { jobId: theirs.jobId, agentId, fencingToken: token, outcome: 'FAILED', exitCode: 1, durationMs: 1, reason: 'sabotage' }, { headers: own.headers });
    await expect(report(other.agentId)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(report(ownId)).rejects.toBeInstanceOf(ForbiddenError);
    await expect(keyed.request(schedulerRpc.appendJobLogs, { jobId: theirs.jobId, agentId: ownId, fencingToken: token, lines: [{ seq: 1, stream: 'stdout', time: new Date().toISOString(), line: 'x' }] }, { headers: own.headers })).rejects.toBeInstanceOf(ForbiddenError);
    expect(await store.readStream(jobStream(theirs.jobId))).toHaveLength(before);
    expect(await job(theirs.jobId)).toMatchObject({ status: 'RUNNING', agentId: other.agentId });

    // A credential does not open commands agents may not call, and an unknown one opens nothing.
    await expect(keyed.request(schedulerRpc.cancelJob, { jobId: theirs.jobId, reason: 'x' }, { headers: own.headers })).rejects.toBeInstanceOf(UnauthenticatedError);
    const unknown = new RpcClient(caller.nc, { credential: `mtk_${'0'.repeat(32)}_${'k'.repeat(43)}`, namespace: schema });
    await expect(unknown.request(schedulerRpc.agentHeartbeat, { agentId: ownId, sessionId: own.sessionId, running: [], gpuStatus: [], acceptAssignments: true }, { headers: own.headers })).rejects.toBeInstanceOf(UnauthenticatedError);

    await expect(own.finish(mine.jobId)).resolves.toMatchObject({ status: 'SUCCEEDED' });
    await other.finish(theirs.jobId);
  });

  it('runs a GRID 2x2 sweep two trials at a time and completes it with the best trial by the project objective', async () => {
    const labels = newPool();
    const { experimentId } = await newExperiment([{ metric: 'accuracy', threshold: 0.9, direction: 'MAXIMIZE' }]);
    const s = await agent({ labels, gpus: [16_384, 16_384, 16_384, 16_384] }, { autoStart: false });
    let maxHeld = 0;
    const table: Record<string, number> = { '0.1/2': 0.8, '0.01/2': 0.9, '0.1/4': 0.85, '0.01/4': 0.95 };
    const accuracy = (params: Record<string, unknown>) => table[`${params.lr}/${params.layers}`] ?? 0;
    s.whenAssigned((assignment) => {
      maxHeld = Math.max(maxHeld, s.held.size);
      void (async () => {
        await s.start(assignment.jobId);
        const params = (await run(assignment.runId))!.params;
        await rpc.request(experimentsRpc.logMetrics, { runId: assignment.runId, points: [{ key: 'accuracy', value: accuracy(params), step: 1 }] }, { headers: { ...s.headers, commandId: `m-${assignment.jobId}` } });
        await s.finish(assignment.jobId);
      })().catch(() => undefined);
    });

    const submitted = await rpc.request(
      schedulerRpc.submitSweep,
      { experimentId, strategy: 'GRID', space: { lr: { values: [0.1, 0.01] }, layers: { values: [2, 4] } }, maxConcurrent: 2, command: ['python', 'train.py'], resources: { gpus: 1, labels } },
      { headers },
    );
    expect(submitted).toMatchObject({ status: 'RUNNING', maxTrials: 4, maxConcurrent: 2, objective: { metric: 'accuracy', direction: 'MAXIMIZE', source: 'PROJECT' } });
    expect(submitted.trials.map((t) => t.params)).toEqual([
      { layers: 2, lr: 0.1 },
      { layers: 2, lr: 0.01 },
    ]);

    const done = await eventually(
      async () => {
        const [view] = (await rpc.request(schedulerRpc.getSweeps, { sweepIds: [submitted.sweepId] }, { headers })).items;
        expect(view.trials.filter((t) => !t.finishedAt).length).toBeLessThanOrEqual(2);
        expect(view.status).toBe('COMPLETED');
        return view;
      },
      { timeoutMs: 30_000 },
    );
    expect(maxHeld).toBeLessThanOrEqual(2);
    expect(done.trials.map((t) => [t.trial, t.status, t.objectiveValue])).toEqual([
      [0, 'SUCCEEDED', 0.8],
      [1, 'SUCCEEDED', 0.9],
      [2, 'SUCCEEDED', 0.85],
      [3, 'SUCCEEDED', 0.95],
    ]);
    expect(done).toMatchObject({ trialsFinished: 4, best: { trial: 3, jobId: done.trials[3].jobId, runId: done.trials[3].runId, value: 0.95 } });
    const { items: jobs } = await rpc.request(schedulerRpc.listJobs, { filter: { sweepId: submitted.sweepId }, first: 10 }, { headers });
    expect(jobs.map((j) => j.trial).sort()).toEqual([0, 1, 2, 3]);
    for (const t of done.trials) await eventually(async () => expect(await run(t.runId)).toMatchObject({ status: 'Completed', params: done.trials[t.trial].params }));
  });

  it('runs a RANDOM sweep: seeded draws within their ranges, the same draws the space expands to anywhere, the best trial by the given objective', async () => {
    const labels = newPool();
    const { experimentId } = await newExperiment([{ metric: 'accuracy', threshold: 0.9, direction: 'MAXIMIZE' }]);
    const s = await agent({ labels, gpus: [16_384, 16_384] }, { autoStart: false });
    // The loss a trial reports is a function of its draws, so the best trial is known in advance.
    const loss = (params: Record<string, unknown>) => Math.abs(Math.log10(params.lr as number) + 3) + (params.layers as number) / 100;
    s.whenAssigned((assignment) => {
      void (async () => {
        await s.start(assignment.jobId);
        const params = (await run(assignment.runId))!.params;
        await rpc.request(experimentsRpc.logMetrics, { runId: assignment.runId, points: [{ key: 'val/loss', value: loss(params), step: 1 }] }, { headers: { ...s.headers, commandId: `m-${assignment.jobId}` } });
        await s.finish(assignment.jobId);
      })().catch(() => undefined);
    });

    const space = { lr: { range: { min: 1e-5, max: 1e-1, log: true } }, layers: { range: { min: 2, max: 8, int: true } }, optimizer: { values: ['adam', 'sgd'] } };
    const submitted = await rpc.request(
      schedulerRpc.submitSweep,
      { experimentId, strategy: 'RANDOM', space, maxTrials: 5, maxConcurrent: 2, seed: 1234, objective: { metric: 'val/loss', direction: 'MINIMIZE' }, params: { epochs: 3 }, command: ['python', 'train.py'], resources: { gpus: 1, labels } },
      { headers },
    );
    expect(submitted).toMatchObject({ strategy: 'RANDOM', seed: 1234, maxTrials: 5, objective: { metric: 'val/loss', direction: 'MINIMIZE' } });

    const done = await eventually(
      async () => {
        const [view] = (await rpc.request(schedulerRpc.getSweeps, { sweepIds: [submitted.sweepId] }, { headers })).items;
        expect(view.status).toBe('COMPLETED');
        return view;
      },
      { timeoutMs: 30_000 },
    );
    const draws = done.trials.map((t) => t.params);
    expect(draws).toEqual(expandSpace('RANDOM', SweepSpace.parse(space), 1234, 5));
    for (const p of draws) {
      expect(p.lr as number).toBeGreaterThanOrEqual(1e-5);
      expect(p.lr as number).toBeLessThanOrEqual(1e-1);
      expect(Number.isInteger(p.layers) && (p.layers as number) >= 2 && (p.layers as number) <= 8).toBe(true);
      expect(['adam', 'sgd']).toContain(p.optimizer);
    }
    expect(new Set(draws.map((p) => p.lr)).size).toBe(5);
    const best = done.trials.reduce((a, b) => (loss(b.params) < loss(a.params) ? b : a));
    expect(done).toMatchObject({ trialsFinished: 5, best: { trial: best.trial, runId: best.runId, value: loss(best.params) } });
    // Each run has the sweep's fixed params with the trial's draws laid over them.
    for (const t of done.trials) await eventually(async () => expect(await run(t.runId)).toMatchObject({ status: 'Completed', params: { epochs: 3, ...t.params } }));
  });

  it('publishes STATUS telemetry for every state change and completes the run when the job succeeds', async () => {
    const labels = newPool();
    const t = await agent({ labels, gpus: [16_384] });
    const jobId = randomUUID();
    const follow = await followJobTelemetry(caller.nc, {
      streamName: telemetryStream,
      subjectPrefix: withNamespace(schema, DEFAULT_JOB_TELEMETRY_PREFIX),
      jobId,
      replayLast: 100,
      decode: (item) => {
        const parsed = JobProgressItem.safeParse(item);
        return parsed.success ? parsed.data : null;
      },
    });
    try {
      const submitted = await submit(labels, { jobId });
      await statusOf(jobId, 'RUNNING');
      await t.finish(jobId);
      const items = await take(follow, 4);
      // Each item keeps its own kind; the subject it came on is beside it.
      const statuses = items as unknown as Array<{ kind: string; subject: string; status: string; attempt: number; agentId: string | null }>;
      expect(statuses.every((i) => i.kind === 'STATUS' && i.subject === 'status')).toBe(true);
      expect(statuses.map((i) => [i.status, i.attempt, i.agentId])).toEqual([
        ['QUEUED', 1, null],
        ['ASSIGNED', 1, t.agentId],
        ['RUNNING', 1, t.agentId],
        ['SUCCEEDED', 1, t.agentId],
      ]);
      await eventually(async () => expect(await run(submitted.runId)).toMatchObject({ status: 'Completed' }));
    } finally {
      await follow.return?.();
    }
  });

  it('changes the priority of a waiting job, and cancels a sweep with its open trial jobs', async () => {
    const labels = newPool();
    const waiting = await submit(labels, { priority: 1 });
    await expect(rpc.request(schedulerRpc.changeJobPriority, { jobId: waiting.jobId, priority: 7 }, { headers })).resolves.toMatchObject({ priority: 7, revision: 1 });
    const events = await store.readStream(jobStream(waiting.jobId));
    expect(events.at(-1)).toMatchObject({ type: 'scheduler.JobPriorityChanged.v1', data: { priority: 7, previousPriority: 1 } });
    await rpc.request(schedulerRpc.cancelJob, { jobId: waiting.jobId, reason: 'done with it' }, { headers });
    const ended = await failure(rpc.request(schedulerRpc.changeJobPriority, { jobId: waiting.jobId, priority: 2 }, { headers }));
    expect(ended).toBeInstanceOf(ConflictError);

    const { experimentId } = await experiment();
    const sweep = await rpc.request(
      schedulerRpc.submitSweep,
      { experimentId, strategy: 'RANDOM', space: { lr: { range: { min: 0.001, max: 0.1, log: true } } }, maxTrials: 3, maxConcurrent: 1, seed: 7, objective: { metric: 'loss', direction: 'MINIMIZE' }, command: ['python', 'train.py'], resources: { gpus: 1, labels } },
      { headers },
    );
    expect(sweep).toMatchObject({ seed: 7, maxTrials: 3, objective: { source: 'GIVEN' } });
    const trialJob = sweep.trials[0].jobId;
    await statusOf(trialJob, 'QUEUED'); // the reactor queued the trial's job (no agent carries the label)
    const cancelled = await rpc.request(schedulerRpc.cancelSweep, { sweepId: sweep.sweepId, reason: 'wrong space' }, { headers });
    expect(cancelled).toMatchObject({ status: 'CANCELLED', cancelReason: 'wrong space', trials: [{ trial: 0, status: 'CANCELLED' }] });
    expect(await job(trialJob)).toMatchObject({ status: 'CANCELLED', reason: `sweep ${sweep.sweepId} cancelled: wrong space` });
    await eventually(async () => expect(await run(jobRunId(trialJob))).toMatchObject({ status: 'Failed' }));
  });

  it('lists jobs newest first with filters and cursors, and agents by host name', async () => {
    const labels = newPool();
    const { experimentId } = await newExperiment();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await rpc.request(schedulerRpc.submitJob, { experimentId, command: ['python', 'train.py'], resources: { gpus: 0, labels } }, { headers })).jobId);
    const first = await rpc.request(schedulerRpc.listJobs, { filter: { experimentId }, first: 2 }, { headers });
    expect(first.items.map((j) => j.jobId)).toEqual([ids[2], ids[1]]);
    const second = await rpc.request(schedulerRpc.listJobs, { filter: { experimentId }, first: 2, after: first.pageInfo.endCursor! }, { headers });
    expect(second.items.map((j) => j.jobId)).toEqual([ids[0]]);
    expect(second.pageInfo.hasNextPage).toBe(false);

    const listed = await rpc.request(schedulerRpc.listAgents, { status: 'ACTIVE', first: 200 }, { headers });
    const hostnames = listed.items.map((a) => a.hostname);
    expect(hostnames).toEqual([...hostnames].sort());
    expect(listed.items.every((a) => a.status === 'ACTIVE' && a.lastSeenAt !== null)).toBe(true);
  });

  it('queues the job of a RetrainRequested event once, in a new run with its params and dataset versions, with the request as its causation; a job it cannot queue is recorded as refused', async () => {
    const { experimentId, projectId } = await experiment();
    const datasetId = randomUUID();
    const train = randomUUID();
    const test = randomUUID();
    knownVersions.set(train, datasetId).set(test, datasetId);
    const labels = newPool();
    const datasetVersions = [
      { datasetVersionId: train, role: 'TRAIN' as const },
      { datasetVersionId: test, role: 'TEST' as const },
    ];
    const request = retrainRequested({ experimentId, params: { lr: 0.01, epochs: 3 }, datasetVersions, workingDir: '/srv/jobs/churn', resources: { gpus: 1, gpuMemoryMb: 0, cpus: 2, memoryMb: 2_048, labels }, priority: 5 });
    const jobId = request.job.jobId;
    const requested = await requestRetrain(request);

    const queued = await statusOf(jobId, 'QUEUED');
    expect(queued).toMatchObject({ projectId, experimentId, runId: jobRunId(jobId), startsRun: true, workingDir: '/srv/jobs/churn', priority: 5, resources: { gpus: 1, cpus: 2, memoryMb: 2_048, labels }, submittedBy: 'grace@example.com' });
    const events = await store.readStream(jobStream(jobId));
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'scheduler.JobQueued.v1',
      data: { jobId, newRun: { params: { lr: 0.01, epochs: 3 }, datasetVersions } },
      metadata: { actor: 'grace@example.com', correlationId: `corr-retrain-${request.retrainId}`, causationId: requested.id },
    });
    expect(await run(jobRunId(jobId))).toMatchObject({ status: 'Running', experimentId, params: { lr: 0.01, epochs: 3 }, datasetVersions: [{ datasetVersionId: train, datasetId, role: 'TRAIN' }, { datasetVersionId: test, datasetId, role: 'TEST' }] });
    // The job that trained the run, found by the run.
    const byRun = await rpc.request(schedulerRpc.listJobs, { filter: { runId: jobRunId(jobId) }, first: 10 }, { headers });
    expect(byRun.items.map((j) => j.jobId)).toEqual([jobId]);

    // Delivered again (the same request appended again under another id) and replayed (the
    // reactor rewound to before it): nothing new is queued, the run is started once.
    await requestRetrain(request);
    const reactor = scheduler.get(SchedulerReactor);
    await reactor.stop();
    await pool.query(`UPDATE ${ident(schema)}.reactor_checkpoints SET position = $1 WHERE name = 'scheduler.reactor.v1'`, [requested.position - 1]);
    await reactor.start();
    await reactor.waitFor(await store.headPosition());
    expect(await store.streamRevision(jobStream(jobId))).toBe(0);
    expect(await store.streamRevision(`run-${jobRunId(jobId)}`)).toBe(0);
    expect(await store.streamRevision(jobRefusalStream(jobId))).toBe('no_stream');

    // Refused for good: recorded once with why, and the reactor goes on to the next request.
    const outside = retrainRequested({ experimentId, workingDir: '/etc/cron.d' });
    const gone = retrainRequested({ experimentId: randomUUID() });
    const refused = await requestRetrain(outside);
    await requestRetrain(gone);
    const after = retrainRequested({ experimentId, resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels } });
    await requestRetrain(after);
    await statusOf(after.job.jobId, 'QUEUED');
    for (const [request, code, words] of [
      [outside, 'VALIDATION', 'outside the allowed roots'],
      [gone, 'NOT_FOUND', `experiment ${gone.job.experimentId}`],
    ] as const) {
      expect(await store.streamRevision(jobStream(request.job.jobId))).toBe('no_stream');
      const [recorded, ...more] = await store.readStream(jobRefusalStream(request.job.jobId));
      expect(more).toHaveLength(0);
      expect(recorded).toMatchObject({
        type: 'scheduler.RetrainJobRefused.v1',
        data: { jobId: request.job.jobId, retrainId: request.retrainId, experimentId: request.job.experimentId, code },
        metadata: { actor: SCHEDULER_ACTOR, correlationId: `corr-retrain-${request.retrainId}` },
      });
      expect((recorded.data as { reason: string }).reason).toContain(words);
    }
    // A refusal is made once: replayed, the request finds it and refuses nothing more.
    await reactor.stop();
    await pool.query(`UPDATE ${ident(schema)}.reactor_checkpoints SET position = $1 WHERE name = 'scheduler.reactor.v1'`, [refused.position - 1]);
    await reactor.start();
    await reactor.waitFor(await store.headPosition());
    expect(await store.streamRevision(jobRefusalStream(outside.job.jobId))).toBe(0);
  });

  it('hands leadership to another replica when the leader stops, losing no live agent and no running job', async () => {
    const labels = newPool();
    const live = await agent({ labels, gpus: [16_384, 16_384] });
    const kept = await submit(labels);
    expect(await statusOf(kept.jobId, 'RUNNING')).toMatchObject({ agentId: live.agentId, fencingToken: 1 });
    const dead = await agent({ labels: newPool(), gpus: [16_384] });

    replica = await boot(schedulerModule(), 'scheduler-test-replica');
    const next = replica.get(SchedulerLeadership);
    expect(next.isLeader).toBe(false);
    await dead.die();
    await scheduler.close();
    schedulerClosed = true;
    await next.whenLeader();
    const since = Date.parse(next.since!);

    // The new leader places and judges leases: a job submitted now runs on the live agent ...
    const placed = await submit(labels);
    expect(await statusOf(placed.jobId, 'RUNNING')).toMatchObject({ agentId: live.agentId });
    // ... the agent that stopped heartbeating is lost one lease after the new leader started ...
    await eventually(async () => expect((await rpc.request(schedulerRpc.getAgents, { agentIds: [dead.agentId] }, { headers })).items[0]).toMatchObject({ status: 'LOST' }), { timeoutMs: 15_000 });
    // ... and once it has judged leases for longer than a lease, the live agent and its job,
    // still running under their first token, are not.
    const monitor = replica.get(LivenessMonitor);
    await eventually(() => expect(Date.parse(monitor.lastCheckedAt ?? next.since!) - since).toBeGreaterThan(3_000), { timeoutMs: 15_000 });
    expect((await rpc.request(schedulerRpc.getAgents, { agentIds: [live.agentId] }, { headers })).items[0]).toMatchObject({ status: 'ACTIVE' });
    expect(await job(kept.jobId)).toMatchObject({ status: 'RUNNING', fencingToken: 1, lostCount: 0 });
    for (const j of [...live.held.keys()]) await live.finish(j);
    await eventually(async () => expect(await run(kept.runId)).toMatchObject({ status: 'Completed' }));
  });
});
