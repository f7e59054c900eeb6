import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import { loadConfig } from '@modeltrail/config';
import {
  type AgentView,
  ConflictError,
  commandScopedId,
  experimentsRpc,
  type JobProgressItem,
  type JobView,
  jobRunId,
  jobStream,
  type LogLine,
  type MessageHeaders,
  NotFoundError,
  type QueueEntry,
  type RpcDefinition,
  type RunView,
  schedulerRpc,
  type SweepView,
  sweepTrialJobId,
  withNamespace,
} from '@modeltrail/contracts';
import { type BusJetStream, connectBus, DEFAULT_JOB_TELEMETRY_PREFIX, ensureTelemetryStream, type JobTelemetryKind, type ManagedBus, type MessageBus, publishJobTelemetry, type RpcHandler, type RpcServer, serveRpc } from '@modeltrail/messaging';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, eventually, itWithNats, jobViewOf, natsAvailable, onTestBus, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { GraphQLHttpClient, SubscriptionQueue, webSocketClient } from '../../test/graphql-client';
import { GATEWAY_NATS } from '../experiments/run-telemetry';
import { createGatewayApp } from '../gateway.app';
import { GRAPHQL_PATH } from '../gateway.module';

const AT = '2026-11-22T12:00:00.000Z';
const LATER = '2026-11-22T12:05:00.000Z';

interface Seen {
  request: any;
  headers: MessageHeaders;
}

/**
 * The scheduler as the gateway sees it over the bus: a responder on the real `schedulerRpc`
 * subjects (requests validated by the contracts, typed errors as the service answers them) with
 * canned, contract-valid jobs, agents, sweeps, logs and queue, plus the experiments service's
 * GetRuns. Every request it answers is recorded.
 */
class SchedulerResponder {
  readonly projectId = randomUUID();
  readonly otherProjectId = randomUUID();
  readonly experimentId = randomUUID();
  readonly jobs = new Map<string, JobView>();
  readonly agents = new Map<string, AgentView>();
  readonly sweeps = new Map<string, SweepView>();
  readonly runs = new Map<string, RunView>();
  readonly logs = new Map<string, LogLine[]>();
  queue: QueueEntry[] = [];
  private readonly seen = new Map<string, Seen[]>();
  private readonly servers: RpcServer[] = [];

  constructor(
    private readonly nc: MessageBus,
    private readonly namespace: string,
  ) {}

  requests(def: RpcDefinition): Seen[] {
    return this.seen.get(def.subject) ?? [];
  }

  forget(): void {
    this.seen.clear();
  }

  start(): void {
    this.serve(schedulerRpc.submitJob, (request, headers) => {
      if (request.experimentId !== undefined && request.experimentId !== this.experimentId) throw new NotFoundError(`experiment ${request.experimentId} does not exist`, { id: request.experimentId });
      if (request.runId !== undefined && !this.runs.has(request.runId)) throw new NotFoundError(`run ${request.runId} does not exist`, { id: request.runId });
      const jobId = request.jobId ?? commandScopedId(headers.commandId ?? randomUUID(), 'job');
      const existing = this.jobs.get(jobId);
      if (existing) return existing;
      const runId = request.runId ?? jobRunId(jobId);
      if (!request.runId) this.runs.set(runId, this.run(runId, { params: request.params, datasetVersions: request.datasetVersions.map((v) => ({ ...v, datasetId: randomUUID() })), tags: [`job:${jobId}`] }));
      const job = this.job({
        jobId,
        runId,
        startsRun: request.runId === undefined,
        command: request.command,
        env: request.env,
        workingDir: request.workingDir,
        resources: request.resources,
        priority: request.priority,
        maxRetries: request.maxRetries,
        timeoutSeconds: request.timeoutSeconds,
        cancelGraceSeconds: request.cancelGraceSeconds,
        submittedBy: headers.actor,
      });
      this.jobs.set(jobId, job);
      return job;
    });
    this.serve(schedulerRpc.cancelJob, (request) => {
      const job = this.jobs.get(request.jobId);
      if (!job) throw new NotFoundError(`job ${request.jobId} does not exist`, { id: request.jobId });
      if (['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(job.status)) throw new ConflictError(`job ${request.jobId} has already ended (${job.status})`, { status: job.status });
      const cancelled: JobView = { ...job, status: 'CANCELLED', cancelRequestedAt: LATER, cancelReason: request.reason, reason: request.reason, endedAt: LATER, revision: job.revision + 1 };
      this.jobs.set(job.jobId, cancelled);
      return cancelled;
    });
    this.serve(schedulerRpc.changeJobPriority, (request) => {
      const job = this.jobs.get(request.jobId);
      if (!job) throw new NotFoundError(`job ${request.jobId} does not exist`, { id: request.jobId });
      if (job.status !== 'QUEUED') throw new ConflictError(`job ${request.jobId} is ${job.status}: only a queued job's priority can change`);
      const changed = { ...job, priority: request.priority, revision: job.revision + 1 };
      this.jobs.set(job.jobId, changed);
      return changed;
    });
    this.serve(schedulerRpc.submitSweep, (request, headers) => {
      if (request.experimentId !== this.experimentId) throw new NotFoundError(`experiment ${request.experimentId} does not exist`, { id: request.experimentId });
      const sweepId = request.sweepId ?? commandScopedId(headers.commandId ?? randomUUID(), 'sweep');
      const values = Object.entries(request.space).map(([name, p]) => [name, p.values ?? [p.range!.min]] as const);
      const [name, list] = values[0];
      const trials = list.slice(0, request.maxConcurrent).map((value, trial) => {
        const jobId = sweepTrialJobId(sweepId, trial);
        const params = { ...request.params, [name]: value };
        const job = this.job({ jobId, runId: jobRunId(jobId), sweepId, trial, command: request.command, env: request.env, resources: request.resources, submittedBy: headers.actor });
        this.jobs.set(jobId, job);
        this.runs.set(job.runId, this.run(job.runId, { params }));
        return { trial, jobId, runId: job.runId, params, status: 'QUEUED' as const, objectiveValue: null, queuedAt: AT, finishedAt: null };
      });
      const sweep: SweepView = {
        sweepId,
        experimentId: request.experimentId,
        projectId: this.projectId,
        status: 'RUNNING',
        strategy: request.strategy,
        space: request.space,
        maxTrials: request.maxTrials ?? list.length,
        maxConcurrent: request.maxConcurrent,
        seed: request.seed ?? 7,
        objective: { metric: request.objective?.metric ?? 'auc', direction: request.objective?.direction ?? 'MAXIMIZE', source: request.objective ? 'GIVEN' : 'PROJECT' },
        jobTemplate: {
          command: request.command,
          env: request.env,
          workingDir: request.workingDir,
          resources: request.resources,
          priority: request.priority,
          maxRetries: request.maxRetries,
          timeoutSeconds: request.timeoutSeconds,
          cancelGraceSeconds: request.cancelGraceSeconds,
          params: request.params,
          datasetVersions: request.datasetVersions,
        },
        trials,
        trialsFinished: 0,
        best: null,
        cancelReason: null,
        submittedAt: AT,
        endedAt: null,
        submittedBy: headers.actor,
        revision: 0,
      };
      this.sweeps.set(sweepId, sweep);
      return sweep;
    });
    this.serve(schedulerRpc.cancelSweep, (request) => {
      const sweep = this.sweeps.get(request.sweepId);
      if (!sweep) throw new NotFoundError(`sweep ${request.sweepId} does not exist`, { id: request.sweepId });
      if (sweep.status !== 'RUNNING') throw new ConflictError(`sweep ${request.sweepId} has already ended (${sweep.status})`);
      const cancelled: SweepView = { ...sweep, status: 'CANCELLED', cancelReason: request.reason, endedAt: LATER, revision: sweep.revision + 1 };
      this.sweeps.set(sweep.sweepId, cancelled);
      return cancelled;
    });
    this.serve(schedulerRpc.drainAgent, (request) => this.updateAgent(request.agentId, { status: 'DRAINING', drainReason: request.reason }));
    this.serve(schedulerRpc.resumeAgent, (request) => this.updateAgent(request.agentId, { status: 'ACTIVE', drainReason: null }));
    this.serve(schedulerRpc.getJobs, (request) => ({ items: request.jobIds.flatMap((id) => this.jobs.get(id) ?? []) }));
    this.serve(schedulerRpc.getAgents, (request) => ({ items: request.agentIds.flatMap((id) => this.agents.get(id) ?? []) }));
    this.serve(schedulerRpc.getSweeps, (request) => ({ items: request.sweepIds.flatMap((id) => this.sweeps.get(id) ?? []) }));
    this.serve(schedulerRpc.listJobs, (request) => {
      const f = request.filter;
      const matching = [...this.jobs.values()]
        .filter((j) => (!f.status || j.status === f.status) && (!f.projectId || j.projectId === f.projectId) && (!f.experimentId || j.experimentId === f.experimentId) && (!f.agentId || j.agentId === f.agentId) && (!f.sweepId || j.sweepId === f.sweepId))
        .reverse();
      return page(matching, request);
    });
    this.serve(schedulerRpc.getQueue, (request) => {
      const entries = this.queue.filter((entry) => !request.projectId || entry.projectId === request.projectId);
      return { ...page(entries, request), totalPending: entries.length };
    });
    this.serve(schedulerRpc.listAgents, (request) =>
      page(
        [...this.agents.values()].filter((agent) => !request.status || agent.status === request.status).sort((a, b) => a.hostname.localeCompare(b.hostname)),
        request,
      ),
    );
    this.serve(schedulerRpc.getJobLogs, (request) => {
      const job = this.jobs.get(request.jobId);
      if (!job) throw new NotFoundError(`job ${request.jobId} does not exist`, { id: request.jobId });
      const attempt = request.attempt ?? job.attempt;
      return page((this.logs.get(job.jobId) ?? []).filter((line) => line.attempt === attempt), request);
    });
    this.serve(experimentsRpc.getRuns, (request) => ({ items: request.runIds.flatMap((id) => this.runs.get(id) ?? []) }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  job(fields: Partial<JobView> & { jobId: string }): JobView {
    return jobViewOf({ projectId: this.projectId, experimentId: this.experimentId, queuedAt: AT, ...fields });
  }

  run(runId: string, fields: Partial<RunView> = {}): RunView {
    return {
      runId,
      experimentId: this.experimentId,
      projectId: this.projectId,
      status: 'Running',
      params: {},
      codeRef: null,
      datasetVersions: [],
      tags: [],
      startedAt: AT,
      endedAt: null,
      failureReason: null,
      summary: null,
      revision: 0,
      startedBy: 'ada@example.com',
      latestMetrics: [],
      ...fields,
    };
  }

  agent(fields: Partial<AgentView> & { agentId: string; hostname: string }): AgentView {
    return {
      sessionId: randomUUID(),
      status: 'ACTIVE',
      labels: { gpu: 'a100' },
      gpus: [],
      cpus: 32,
      memoryMb: 256_000,
      cpusAllocated: 0,
      memoryMbAllocated: 0,
      gpuProbe: { status: 'OK', message: '' },
      agentVersion: '0.1.0',
      runningJobIds: [],
      drainReason: null,
      lostReason: null,
      registeredAt: AT,
      lastSeenAt: LATER,
      revision: 0,
      ...fields,
    };
  }

  private updateAgent(agentId: string, change: Partial<AgentView>): AgentView {
    const agent = this.agents.get(agentId);
    if (!agent) throw new NotFoundError(`agent ${agentId} does not exist`, { id: agentId });
    const updated = { ...agent, ...change, revision: agent.revision + 1 };
    this.agents.set(agentId, updated);
    return updated;
  }

  private serve<D extends RpcDefinition>(def: D, handler: RpcHandler<D>): void {
    this.servers.push(
      serveRpc(
        this.nc,
        def,
        (request, headers) => {
          const list = this.seen.get(def.subject) ?? [];
          list.push({ request, headers });
          this.seen.set(def.subject, list);
          return handler(request, headers);
        },
        { namespace: this.namespace, queue: `fake-${def.subject}`, logger: { log: () => undefined, warn: () => undefined, error: () => undefined } },
      ),
    );
  }
}

/** A page of `items` after the cursor (the index of the next item). */
function page<T>(items: T[], request: { first: number; after?: string }): { items: T[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } } {
  const start = request.after ? Number(request.after) : 0;
  const slice = items.slice(start, start + request.first);
  return { items: slice, pageInfo: { endCursor: slice.length ? String(start + slice.length) : null, hasNextPage: start + slice.length < items.length } };
}

/**
 * Subscriptions the gateway's bus connection holds: nats.js keeps them in its protocol handler
 * (there its first JetStream call leaves a lasting reply subscription, and an ordered consumer
 * holds one while it lasts), the in-process bus in the connection (its JetStream calls and
 * consumers hold none).
 */
function subscriptionCount(nc: MessageBus): number {
  const natsJs = nc as unknown as { protocol?: { subscriptions: { size(): number } } };
  if (natsJs.protocol) return natsJs.protocol.subscriptions.size();
  return (nc as unknown as { subscriptions: Set<unknown> }).subscriptions.size;
}

describeOnTestBus('GraphQL gateway: training jobs, agents and sweeps (scheduler responder on the bus)', () => {
  const namespace = uniqueName('gwsched');
  const telemetryStream = uniqueName('MT_TELEMETRY_GWSCHED');
  const prefix = withNamespace(namespace, DEFAULT_JOB_TELEMETRY_PREFIX);
  let gateway: INestApplication;
  let gatewayNats: MessageBus;
  let http: GraphQLHttpClient;
  let nats: ManagedBus;
  let js: BusJetStream;
  let scheduler: SchedulerResponder;
  const pool = createPool(TEST_DATABASE_URL, { max: 1 });

  beforeAll(async () => {
    nats = await connectBus({ url: TEST_BUS_URL, name: 'gateway-scheduler-test' });
    js = nats.nc.jetstream();
    await ensureTelemetryStream(await nats.nc.jetstreamManager(), { streamName: telemetryStream, subjectPrefix: prefix });
    scheduler = new SchedulerResponder(nats.nc, namespace);
    scheduler.start();
    const config = onTestBus(
      loadConfig({
        SERVICE_NAME: 'gateway',
        DATABASE_URL: TEST_DATABASE_URL,
        NATS_NAMESPACE: namespace,
        EVENTSTORE_SCHEMA: namespace,
        READ_MODEL_SCHEMA: namespace,
        TELEMETRY_STREAM: telemetryStream,
        API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
      }),
    );
    gateway = await createGatewayApp(config, { logger: false });
    await gateway.listen(0, '127.0.0.1');
    gatewayNats = gateway.get<MessageBus>(GATEWAY_NATS);
    http = new GraphQLHttpClient(`http://127.0.0.1:${(gateway.getHttpServer().address() as AddressInfo).port}${GRAPHQL_PATH}`, 'ada-token');
  });
  afterAll(async () => {
    await gateway?.close();
    await scheduler?.stop();
    await (await nats?.nc.jetstreamManager())?.streams.delete(telemetryStream).catch(() => undefined);
    await nats?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(namespace)} CASCADE`);
    await pool.end();
  });

  const publish = (jobId: string, kind: JobTelemetryKind, items: JobProgressItem[]) => publishJobTelemetry(js, prefix, jobId, kind, items);
  const status = (seq: number, value: Partial<Extract<JobProgressItem, { kind: 'STATUS' }>>): JobProgressItem => ({ kind: 'STATUS', seq, at: AT, status: 'QUEUED', attempt: 1, agentId: null, exitCode: null, reason: null, ...value });
  const logLine = (seq: number, line: string): JobProgressItem => ({ kind: 'LOG', seq, at: AT, stream: 'stdout', line });
  const metric = (seq: number, key: string, value: number, step: number): JobProgressItem => ({ kind: 'METRIC', seq, at: AT, key, value, step });

  describe('mutations', () => {
    const SUBMIT = `mutation ($input: SubmitJobInput!) { submitJob(input: $input) {
      id status command env workingDir priority maxRetries timeoutSeconds cancelGraceSeconds submittedBy startsRun runId
      resources { gpus gpuMemoryMb cpus memoryMb labels }
      run { id status params tags datasetVersions { role } } } }`;

    it('submits a job: argv elements arrive as literal arguments, every field mapped to the contract, the user and correlation id in the headers', async () => {
      const correlationId = randomUUID();
      const datasetVersionId = randomUUID();
      const command = ['python', 'train.py', '; rm -rf /', '--name', '$(whoami) && echo `id`'];
      const { submitJob } = await http.data(
        SUBMIT,
        {
          input: {
            experimentId: scheduler.experimentId,
            command,
            env: { WANDB_MODE: 'offline', SEED: '7' },
            workingDir: '/srv/jobs/churn',
            resources: { gpus: 2, gpuMemoryMb: 40_000, memoryMb: 65_536, labels: { gpu: 'a100' } },
            priority: 5,
            maxRetries: 1,
            timeoutSeconds: 3_600,
            cancelGraceSeconds: 30,
            params: { lr: 0.01, booster: 'gbtree' },
            datasetVersions: [{ datasetVersionId, role: 'TRAIN' }],
          },
        },
        { headers: { 'x-correlation-id': correlationId } },
      );
      const [seen] = scheduler.requests(schedulerRpc.submitJob).slice(-1);
      expect(seen.request.command).toEqual(command);
      expect(seen.request.command[2]).toBe('; rm -rf /');
      expect(seen.request).toEqual({
        experimentId: scheduler.experimentId,
        command,
        env: { WANDB_MODE: 'offline', SEED: '7' },
        workingDir: '/srv/jobs/churn',
        resources: { gpus: 2, gpuMemoryMb: 40_000, cpus: 1, memoryMb: 65_536, labels: { gpu: 'a100' } },
        priority: 5,
        maxRetries: 1,
        timeoutSeconds: 3_600,
        cancelGraceSeconds: 30,
        params: { lr: 0.01, booster: 'gbtree' },
        datasetVersions: [{ datasetVersionId, role: 'TRAIN' }],
      });
      expect(seen.headers).toMatchObject({ actor: 'ada@example.com', correlationId, commandId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(submitJob).toEqual({
        id: expect.any(String),
        status: 'QUEUED',
        command,
        env: { WANDB_MODE: 'offline', SEED: '7' },
        workingDir: '/srv/jobs/churn',
        priority: 5,
        maxRetries: 1,
        timeoutSeconds: 3_600,
        cancelGraceSeconds: 30,
        submittedBy: 'ada@example.com',
        startsRun: true,
        runId: jobRunId(submitJob.id),
        resources: { gpus: 2, gpuMemoryMb: 40_000, cpus: 1, memoryMb: 65_536, labels: { gpu: 'a100' } },
        run: { id: jobRunId(submitJob.id), status: 'RUNNING', params: { lr: 0.01, booster: 'gbtree' }, tags: [`job:${submitJob.id}`], datasetVersions: [{ role: 'TRAIN' }] },
      });

      // A single string is coerced by GraphQL into a list of one: one literal argument, never a shell line.
      await http.data(SUBMIT, { input: { experimentId: scheduler.experimentId, command: 'python train.py; rm -rf /' } });
      expect(scheduler.requests(schedulerRpc.submitJob).at(-1)!.request.command).toEqual(['python train.py; rm -rf /']);
    });

    it('leaves out what the client did not give, so the contract defaults apply; trains into an existing run', async () => {
      const runId = randomUUID();
      scheduler.runs.set(runId, scheduler.run(runId, { params: { lr: 0.1 } }));
      const { submitJob } = await http.data(SUBMIT, { input: { runId, command: ['python', 'train.py'], env: null, resources: { gpus: 1 } } });
      expect(scheduler.requests(schedulerRpc.submitJob).at(-1)!.request).toEqual({
        runId,
        command: ['python', 'train.py'],
        env: {},
        workingDir: null,
        resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
        priority: 0,
        maxRetries: 2,
        timeoutSeconds: null,
        cancelGraceSeconds: 10,
        params: {},
        datasetVersions: [],
      });
      expect(submitJob).toMatchObject({ startsRun: false, runId, run: { id: runId, params: { lr: 0.1 } } });
    });

    it('refuses bad input with BAD_USER_INPUT naming each field, and maps the scheduler\'s NOT_FOUND and CONFLICT', async () => {
      const submit = (input: Record<string, unknown>) => http.request(SUBMIT, { input: { experimentId: scheduler.experimentId, command: ['python', 'train.py'], ...input } });
      const reserved = await submit({ env: { MODELTRAIL_RUN_ID: 'x', 'NOT-A-NAME': '1' } });
      expect(reserved.data).toBeNull();
      expect(reserved.errors?.[0]).toMatchObject({ path: ['submitJob'], extensions: { code: 'BAD_USER_INPUT' } });
      expect(reserved.errors?.[0].extensions?.details.issues).toEqual(
        expect.arrayContaining([
          { field: 'env.MODELTRAIL_RUN_ID', message: expect.stringMatching(/the agent sets the MODELTRAIL_\* variables itself/) },
          { field: 'env.NOT-A-NAME', message: expect.stringMatching(/letters, digits and underscores/) },
        ]),
      );
      expect((await submit({ command: [] })).errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'command', message: expect.stringMatching(/at least the program/) }] } });
      expect((await submit({ runId: randomUUID() })).errors?.[0].extensions?.details.issues).toEqual([expect.objectContaining({ field: 'runId', message: expect.stringMatching(/either runId .* or experimentId/) })]);
      expect((await submit({ resources: { gpus: 0, gpuMemoryMb: 1_000 } })).errors?.[0].extensions?.details.issues).toEqual([expect.objectContaining({ field: 'resources.gpuMemoryMb' })]);
      expect((await submit({ priority: 5_000 })).errors?.[0].extensions?.details.issues).toEqual([{ field: 'priority', message: 'must be between -1000 and 1000' }]);
      // Not even valid GraphQL: a number where the argv list of strings goes.
      expect((await submit({ command: [1, 2] })).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

      const missing = randomUUID();
      const unknownExperiment = await submit({ experimentId: missing });
      expect(unknownExperiment.errors?.[0]).toMatchObject({ message: `experiment ${missing} does not exist`, extensions: { code: 'NOT_FOUND', details: { id: missing } } });

      const { submitJob } = await http.data(SUBMIT, { input: { experimentId: scheduler.experimentId, command: ['python', 'train.py'] } });
      const CANCEL = 'mutation ($input: CancelJobInput!) { cancelJob(input: $input) { id status reason cancelReason endedAt } }';
      expect((await http.request(CANCEL, { input: { jobId: submitJob.id, reason: '   ' } })).errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'reason', message: 'must say why' }] } });
      expect((await http.data(CANCEL, { input: { jobId: submitJob.id, reason: 'wrong data' } })).cancelJob).toEqual({ id: submitJob.id, status: 'CANCELLED', reason: 'wrong data', cancelReason: 'wrong data', endedAt: LATER });
      expect(scheduler.requests(schedulerRpc.cancelJob).at(-1)!.request).toEqual({ jobId: submitJob.id, reason: 'wrong data' });
      const twice = await http.request(CANCEL, { input: { jobId: submitJob.id, reason: 'again' } });
      expect(twice.errors?.[0]).toMatchObject({ message: `job ${submitJob.id} has already ended (CANCELLED)`, extensions: { code: 'CONFLICT' } });
      expect((await http.request(CANCEL, { input: { jobId: missing, reason: 'x' } })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect((await http.request(CANCEL, { input: { jobId: 'nope', reason: 'x' } })).errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'jobId', message: 'must be a UUID' }] } });
    });

    it('sends a retried submit with the same Idempotency-Key as the same command', async () => {
      const headers = { 'idempotency-key': `submit-${randomUUID()}` };
      const input = { experimentId: scheduler.experimentId, command: ['python', 'train.py'] };
      const first = (await http.data(SUBMIT, { input }, { headers })).submitJob.id;
      const again = (await http.data(SUBMIT, { input }, { headers })).submitJob.id;
      const other = (await http.data(SUBMIT, { input })).submitJob.id;
      expect(again).toBe(first);
      expect(other).not.toBe(first);
      const ids = scheduler.requests(schedulerRpc.submitJob).slice(-3).map((seen) => seen.headers.commandId);
      expect(ids[1]).toBe(ids[0]);
      expect(ids[2]).not.toBe(ids[0]);
    });

    it('changes a queued job\'s priority', async () => {
      const { submitJob } = await http.data(SUBMIT, { input: { experimentId: scheduler.experimentId, command: ['python', 'train.py'] } });
      const { changeJobPriority } = await http.data('mutation ($id: ID!) { changeJobPriority(input: { jobId: $id, priority: -20 }) { id priority } }', { id: submitJob.id });
      expect(changeJobPriority).toEqual({ id: submitJob.id, priority: -20 });
      expect(scheduler.requests(schedulerRpc.changeJobPriority).at(-1)!.request).toEqual({ jobId: submitJob.id, priority: -20 });
    });

    it('submits and cancels a sweep; its trials resolve to their jobs and runs', async () => {
      const { submitSweep } = await http.data(
        `mutation ($input: SubmitSweepInput!) { submitSweep(input: $input) {
          id status strategy space maxTrials maxConcurrent seed submittedBy
          objective { metric direction source }
          jobTemplate { command env params resources { gpus } datasetVersions { role } }
          trials { trial params status job { id sweepId trial status command } run { id params } } } }`,
        {
          input: {
            experimentId: scheduler.experimentId,
            strategy: 'GRID',
            space: { lr: { values: [0.1, 0.01] } },
            maxConcurrent: 2,
            seed: 4_000_000_000,
            objective: { metric: 'val/auc', direction: 'MAXIMIZE' },
            params: { booster: 'gbtree' },
            command: ['python', 'train.py', '--lr', '{lr}'],
            resources: { gpus: 1 },
          },
        },
        { token: 'bob-token' },
      );
      expect(scheduler.requests(schedulerRpc.submitSweep).at(-1)!.request).toMatchObject({
        experimentId: scheduler.experimentId,
        strategy: 'GRID',
        space: { lr: { values: [0.1, 0.01], range: null } },
        maxConcurrent: 2,
        seed: 4_000_000_000,
        objective: { metric: 'val/auc', direction: 'MAXIMIZE' },
        params: { booster: 'gbtree' },
        command: ['python', 'train.py', '--lr', '{lr}'],
      });
      expect(submitSweep).toMatchObject({
        status: 'RUNNING',
        strategy: 'GRID',
        space: { lr: { values: [0.1, 0.01], range: null } },
        maxTrials: 2,
        seed: 4_000_000_000,
        submittedBy: 'bob@example.com',
        objective: { metric: 'val/auc', direction: 'MAXIMIZE', source: 'GIVEN' },
        jobTemplate: { command: ['python', 'train.py', '--lr', '{lr}'], env: {}, params: { booster: 'gbtree' }, resources: { gpus: 1 }, datasetVersions: [] },
      });
      expect(submitSweep.trials).toEqual(
        [0.1, 0.01].map((lr, trial) => ({
          trial,
          params: { booster: 'gbtree', lr },
          status: 'QUEUED',
          job: { id: sweepTrialJobId(submitSweep.id, trial), sweepId: submitSweep.id, trial, status: 'QUEUED', command: ['python', 'train.py', '--lr', '{lr}'] },
          run: { id: jobRunId(sweepTrialJobId(submitSweep.id, trial)), params: { booster: 'gbtree', lr } },
        })),
      );
      const random = await http.request('mutation ($input: SubmitSweepInput!) { submitSweep(input: $input) { id } }', {
        input: { experimentId: scheduler.experimentId, strategy: 'RANDOM', space: { lr: { range: { min: 0.001, max: 0.1, log: true } } }, command: ['python', 'train.py'] },
      });
      expect(random.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'maxTrials', message: 'is required for a RANDOM sweep (the number of draws)' }] } });

      const CANCEL = 'mutation ($id: ID!) { cancelSweep(input: { sweepId: $id, reason: "budget" }) { id status cancelReason endedAt } }';
      expect((await http.data(CANCEL, { id: submitSweep.id })).cancelSweep).toEqual({ id: submitSweep.id, status: 'CANCELLED', cancelReason: 'budget', endedAt: LATER });
      expect((await http.request(CANCEL, { id: submitSweep.id })).errors?.[0].extensions?.code).toBe('CONFLICT');
    });

    it('drains and resumes an agent; an unknown agent is NOT_FOUND', async () => {
      const agentId = randomUUID();
      scheduler.agents.set(agentId, scheduler.agent({ agentId, hostname: 'gpu-drain' }));
      const DRAIN = 'mutation ($id: ID!, $reason: String) { drainAgent(input: { agentId: $id, reason: $reason }) { id status drainReason } }';
      expect((await http.data(DRAIN, { id: agentId, reason: 'kernel update' })).drainAgent).toEqual({ id: agentId, status: 'DRAINING', drainReason: 'kernel update' });
      expect(scheduler.requests(schedulerRpc.drainAgent).at(-1)!.request).toEqual({ agentId, reason: 'kernel update' });
      await http.data(DRAIN, { id: agentId });
      expect(scheduler.requests(schedulerRpc.drainAgent).at(-1)!.request).toEqual({ agentId, reason: '' });
      const { resumeAgent } = await http.data('mutation ($id: ID!) { resumeAgent(input: { agentId: $id }) { id status drainReason } }', { id: agentId });
      expect(resumeAgent).toEqual({ id: agentId, status: 'ACTIVE', drainReason: null });
      const missing = randomUUID();
      expect((await http.request(DRAIN, { id: missing })).errors?.[0]).toMatchObject({ message: `agent ${missing} does not exist`, extensions: { code: 'NOT_FOUND' } });
    });
  });

  describe('queries', () => {
    const agentId = randomUUID();
    const idleAgentId = randomUUID();
    const runningId = randomUUID();
    const queuedIds = [randomUUID(), randomUUID(), randomUUID()];

    beforeAll(() => {
      scheduler.jobs.set(
        runningId,
        scheduler.job({
          jobId: runningId,
          status: 'RUNNING',
          agentId,
          attempt: 2,
          lostCount: 1,
          fencingToken: 3,
          gpus: [{ index: 1, uuid: 'GPU-1111' }],
          pid: 4242,
          leaseExpiresAt: LATER,
          assignedAt: AT,
          startedAt: AT,
          reason: 'agent lost: no heartbeat for 15 s',
          durationMs: 3_000_000_000,
        }),
      );
      scheduler.runs.set(jobRunId(runningId), scheduler.run(jobRunId(runningId), { params: { lr: 0.05 } }));
      scheduler.logs.set(runningId, [
        { jobId: runningId, attempt: 1, seq: 0, stream: 'stdout', time: AT, line: 'first attempt' },
        ...['epoch 1', 'epoch 2', 'oops'].map((line, seq) => ({ jobId: runningId, attempt: 2, seq, stream: line === 'oops' ? ('stderr' as const) : ('stdout' as const), time: AT, line })),
      ]);
      scheduler.agents.set(
        agentId,
        scheduler.agent({
          agentId,
          hostname: 'gpu-a',
          gpus: [
            { index: 0, uuid: 'GPU-0000', name: 'NVIDIA A100', memoryMb: 81_920, status: 'BUSY_EXTERNAL', jobId: null },
            { index: 1, uuid: 'GPU-1111', name: 'NVIDIA A100', memoryMb: 81_920, status: 'AVAILABLE', jobId: runningId },
          ],
          runningJobIds: [runningId],
          cpusAllocated: 1,
          memoryMbAllocated: 1_024,
        }),
      );
      scheduler.agents.set(idleAgentId, scheduler.agent({ agentId: idleAgentId, hostname: 'gpu-b', status: 'LOST', lostReason: 'no heartbeat', gpuProbe: { status: 'TIMEOUT', message: 'nvidia-smi hung' } }));
      queuedIds.forEach((jobId, i) => {
        const projectId = i === 2 ? scheduler.otherProjectId : scheduler.projectId;
        scheduler.jobs.set(jobId, scheduler.job({ jobId, projectId, resources: { gpus: 4 + i, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} } }));
        scheduler.runs.set(jobRunId(jobId), scheduler.run(jobRunId(jobId)));
      });
      scheduler.queue = [
        { jobId: queuedIds[0], projectId: scheduler.projectId, position: 1, priority: 0, attempt: 1, queuedAt: AT, notBefore: null, resources: scheduler.jobs.get(queuedIds[0])!.resources, reasonCode: 'WAITING_FOR_CAPACITY', reason: 'insufficient free GPUs: needs 4, at most 1 free on any agent' },
        { jobId: queuedIds[1], projectId: scheduler.projectId, position: 2, priority: 0, attempt: 2, queuedAt: AT, notBefore: LATER, resources: scheduler.jobs.get(queuedIds[1])!.resources, reasonCode: 'BACKING_OFF', reason: 'requeued after a lost agent: not before 12:05:00' },
        { jobId: queuedIds[2], projectId: scheduler.otherProjectId, position: 3, priority: 0, attempt: 1, queuedAt: AT, notBefore: null, resources: scheduler.jobs.get(queuedIds[2])!.resources, reasonCode: 'NEVER_FITS', reason: 'no agent has 6 GPUs' },
      ];
    });

    it('reads a job with its run, agent (GPUs and the jobs holding them) and logs page by page', async () => {
      const JOB = `query ($id: ID!, $after: String) { job(id: $id) {
        id status attempt lostCount fencingToken gpus { index uuid } pid reason durationMs leaseExpiresAt sweep { id }
        run { id params }
        agent { id hostname status gpus { index status job { id } } runningJobs { id } }
        logs(first: 2, after: $after) { nodes { attempt seq stream line } pageInfo { endCursor hasNextPage } }
        first: logs(attempt: 1) { nodes { line } } } }`;
      const { job } = await http.data(JOB, { id: runningId.toUpperCase() });
      expect(job).toEqual({
        id: runningId,
        status: 'RUNNING',
        attempt: 2,
        lostCount: 1,
        fencingToken: 3,
        gpus: [{ index: 1, uuid: 'GPU-1111' }],
        pid: 4242,
        reason: 'agent lost: no heartbeat for 15 s',
        durationMs: 3_000_000_000,
        leaseExpiresAt: LATER,
        sweep: null,
        run: { id: jobRunId(runningId), params: { lr: 0.05 } },
        agent: {
          id: agentId,
          hostname: 'gpu-a',
          status: 'ACTIVE',
          gpus: [
            { index: 0, status: 'BUSY_EXTERNAL', job: null },
            { index: 1, status: 'AVAILABLE', job: { id: runningId } },
          ],
          runningJobs: [{ id: runningId }],
        },
        logs: {
          nodes: [
            { attempt: 2, seq: 0, stream: 'STDOUT', line: 'epoch 1' },
            { attempt: 2, seq: 1, stream: 'STDOUT', line: 'epoch 2' },
          ],
          pageInfo: { endCursor: '2', hasNextPage: true },
        },
        first: { nodes: [{ line: 'first attempt' }] },
      });
      const next = (await http.data(JOB, { id: runningId, after: job.logs.pageInfo.endCursor })).job.logs;
      expect(next).toEqual({ nodes: [{ attempt: 2, seq: 2, stream: 'STDERR', line: 'oops' }], pageInfo: { endCursor: '3', hasNextPage: false } });
      expect(scheduler.requests(schedulerRpc.getJobLogs).map((seen) => seen.request)).toContainEqual({ jobId: runningId, first: 2, after: '2' });
      expect((await http.request('{ job(id: "x") { logs(first: 10000) { nodes { line } } } }')).errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
      const tooMany = await http.request('query ($id: ID!) { job(id: $id) { logs(first: 10000) { nodes { line } } } }', { id: runningId });
      expect(tooMany.errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'first', message: 'must be at most 5000' }] } });

      const missing = randomUUID();
      const unknown = await http.request('query ($id: ID!) { job(id: $id) { id } }', { id: missing });
      expect(unknown.data).toEqual({ job: null });
      expect(unknown.errors?.[0]).toMatchObject({ path: ['job'], message: `job ${missing} does not exist`, extensions: { code: 'NOT_FOUND', details: { id: missing } } });
    });

    it('lists jobs by filter with cursors, resolving their agents and runs in one batch each', async () => {
      scheduler.forget();
      const LIST = `query ($after: String) { jobs(filter: { status: QUEUED, projectId: "${scheduler.projectId}" }, first: 2, after: $after) {
        nodes { id status agent { id } run { id } project: projectId } pageInfo { endCursor hasNextPage } } }`;
      const first = (await http.data(LIST)).jobs;
      expect(scheduler.requests(schedulerRpc.listJobs)[0].request).toEqual({ filter: { status: 'QUEUED', projectId: scheduler.projectId }, first: 2 });
      expect(first.pageInfo).toEqual({ endCursor: '2', hasNextPage: true });
      expect(first.nodes).toHaveLength(2);
      expect(first.nodes.every((job: { status: string; project: string }) => job.status === 'QUEUED' && job.project === scheduler.projectId)).toBe(true);
      // Queued jobs have no agent; their runs are looked up in one GetRuns request.
      expect(scheduler.requests(experimentsRpc.getRuns).map((seen) => seen.request.runIds.length)).toEqual([2]);
      expect(scheduler.requests(schedulerRpc.getJobs)).toHaveLength(0);

      const { jobs } = await http.data('{ jobs(filter: { status: RUNNING }) { nodes { id agent { hostname } } } }');
      expect(jobs.nodes).toEqual([{ id: runningId, agent: { hostname: 'gpu-a' } }]);
      expect(scheduler.requests(schedulerRpc.getAgents).map((seen) => seen.request.agentIds)).toEqual([[agentId]]);
      expect((await http.request('{ jobs(first: 500) { nodes { id } } }')).errors?.[0].extensions?.details).toEqual({ issues: [{ field: 'first', message: 'must be at most 200' }] });
    });

    it('shows the queue in placement order with each job\'s position and why it waits', async () => {
      const QUEUE = `query ($projectId: ID) { queue(projectId: $projectId, first: 10) {
        totalPending pageInfo { hasNextPage }
        nodes { position jobId reasonCode reason notBefore attempt resources { gpus } job { id status } } } }`;
      const { queue } = await http.data(QUEUE);
      expect(queue.totalPending).toBe(3);
      expect(queue.nodes.map((e: { position: number; reasonCode: string }) => [e.position, e.reasonCode])).toEqual([
        [1, 'WAITING_FOR_CAPACITY'],
        [2, 'BACKING_OFF'],
        [3, 'NEVER_FITS'],
      ]);
      expect(queue.nodes[0]).toEqual({
        position: 1,
        jobId: queuedIds[0],
        reasonCode: 'WAITING_FOR_CAPACITY',
        reason: 'insufficient free GPUs: needs 4, at most 1 free on any agent',
        notBefore: null,
        attempt: 1,
        resources: { gpus: 4 },
        job: { id: queuedIds[0], status: 'QUEUED' },
      });
      expect(queue.nodes[1].notBefore).toBe(LATER);
      const mine = (await http.data(QUEUE, { projectId: scheduler.otherProjectId })).queue;
      expect(mine).toMatchObject({ totalPending: 1, nodes: [{ position: 3, jobId: queuedIds[2], reason: 'no agent has 6 GPUs' }] });
      expect(scheduler.requests(schedulerRpc.getQueue).at(-1)!.request).toEqual({ projectId: scheduler.otherProjectId, first: 10 });
    });

    it('lists agents by status, and reads one with its GPUs, probe and running jobs', async () => {
      const { agents } = await http.data('{ agents(status: LOST) { nodes { id hostname status lostReason gpuProbe { status message } } pageInfo { hasNextPage } } }');
      expect(agents).toEqual({ nodes: [{ id: idleAgentId, hostname: 'gpu-b', status: 'LOST', lostReason: 'no heartbeat', gpuProbe: { status: 'TIMEOUT', message: 'nvidia-smi hung' } }], pageInfo: { hasNextPage: false } });
      expect(scheduler.requests(schedulerRpc.listAgents).at(-1)!.request).toEqual({ status: 'LOST', first: 20 });
      const { agent } = await http.data(
        'query ($id: ID!) { agent(id: $id) { hostname labels cpus memoryMb cpusAllocated memoryMbAllocated lastSeenAt gpus { index uuid name memoryMb status jobId job { status run { id } } } runningJobIds } }',
        { id: agentId },
      );
      expect(agent).toEqual({
        hostname: 'gpu-a',
        labels: { gpu: 'a100' },
        cpus: 32,
        memoryMb: 256_000,
        cpusAllocated: 1,
        memoryMbAllocated: 1_024,
        lastSeenAt: LATER,
        gpus: [
          { index: 0, uuid: 'GPU-0000', name: 'NVIDIA A100', memoryMb: 81_920, status: 'BUSY_EXTERNAL', jobId: null, job: null },
          { index: 1, uuid: 'GPU-1111', name: 'NVIDIA A100', memoryMb: 81_920, status: 'AVAILABLE', jobId: runningId, job: { status: 'RUNNING', run: { id: jobRunId(runningId) } } },
        ],
        runningJobIds: [runningId],
      });
      const missing = randomUUID();
      expect((await http.request('query ($id: ID!) { agent(id: $id) { id } }', { id: missing })).errors?.[0].extensions).toEqual({ code: 'NOT_FOUND', details: { id: missing } });
    });

    it('reads a sweep with its trials, their jobs and the best trial', async () => {
      const sweepId = randomUUID();
      const trialJobs = [0, 1].map((trial) => sweepTrialJobId(sweepId, trial));
      trialJobs.forEach((jobId, trial) => scheduler.jobs.set(jobId, scheduler.job({ jobId, sweepId, trial, status: 'SUCCEEDED', exitCode: 0, endedAt: LATER })));
      scheduler.sweeps.set(sweepId, {
        sweepId,
        experimentId: scheduler.experimentId,
        projectId: scheduler.projectId,
        status: 'COMPLETED',
        strategy: 'GRID',
        space: { lr: { values: [0.1, 0.01], range: null } },
        maxTrials: 2,
        maxConcurrent: 2,
        seed: 1,
        objective: { metric: 'auc', direction: 'MAXIMIZE', source: 'PROJECT' },
        jobTemplate: { command: ['python', 'train.py'], env: {}, workingDir: null, resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} }, priority: 0, maxRetries: 2, timeoutSeconds: null, cancelGraceSeconds: 10, params: {}, datasetVersions: [] },
        trials: trialJobs.map((jobId, trial) => ({ trial, jobId, runId: jobRunId(jobId), params: { lr: [0.1, 0.01][trial] }, status: 'SUCCEEDED', objectiveValue: [0.71, 0.83][trial], queuedAt: AT, finishedAt: LATER })),
        trialsFinished: 2,
        best: { trial: 1, jobId: trialJobs[1], runId: jobRunId(trialJobs[1]), value: 0.83 },
        cancelReason: null,
        submittedAt: AT,
        endedAt: LATER,
        submittedBy: 'ada@example.com',
        revision: 6,
      });
      scheduler.forget();
      const { sweep } = await http.data(
        'query ($id: ID!) { sweep(id: $id) { id status trialsFinished objective { source } trials { trial status objectiveValue job { id exitCode sweep { id } } } best { trial value job { id } } bestTrial { trial params } } }',
        { id: sweepId },
      );
      expect(sweep).toEqual({
        id: sweepId,
        status: 'COMPLETED',
        trialsFinished: 2,
        objective: { source: 'PROJECT' },
        trials: [
          { trial: 0, status: 'SUCCEEDED', objectiveValue: 0.71, job: { id: trialJobs[0], exitCode: 0, sweep: { id: sweepId } } },
          { trial: 1, status: 'SUCCEEDED', objectiveValue: 0.83, job: { id: trialJobs[1], exitCode: 0, sweep: { id: sweepId } } },
        ],
        best: { trial: 1, value: 0.83, job: { id: trialJobs[1] } },
        bestTrial: { trial: 1, params: { lr: 0.01 } },
      });
      // The trial jobs came in one request; the sweep they point back to was known already.
      expect(scheduler.requests(schedulerRpc.getJobs).map((seen) => seen.request.jobIds)).toEqual([trialJobs]);
      expect(scheduler.requests(schedulerRpc.getSweeps)).toHaveLength(1);
    });
  });

  describe('subscriptions over graphql-ws', () => {
    const PROGRESS = `subscription ($jobId: ID!, $replayLast: Int) { jobProgress(jobId: $jobId, replayLast: $replayLast) {
      __typename jobId seq at
      ... on JobMetric { key value step }
      ... on JobLogLine { stream line }
      ... on JobStatusChange { status attempt agentId exitCode reason } } }`;

    /**
     * What the gateway's bus connection holds with no subscriber: its first request leaves one
     * lasting reply subscription, and on NATS its first JetStream call another, so both happen first.
     */
    let baseline: number;
    beforeAll(async () => {
      await http.data('{ agents { nodes { id } } }');
      const idle = subscriptionCount(gatewayNats);
      const jobId = randomUUID();
      scheduler.jobs.set(jobId, scheduler.job({ jobId }));
      await publish(jobId, 'logs', [logLine(0, 'warm-up')]);
      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      const first = new SubscriptionQueue(client, PROGRESS, { jobId, replayLast: 1 });
      expect((await first.next()).data).toMatchObject({ jobProgress: { line: 'warm-up' } });
      first.dispose();
      await client.dispose();
      const jetStreamReplies = natsAvailable ? 1 : 0;
      await eventually(() => expect(subscriptionCount(gatewayNats)).toBe(idle + jetStreamReplies));
      baseline = idle + jetStreamReplies;
    });

    it('replays the last N items of a job across kinds in the stream\'s order, then live ones; a late subscriber too; leaving closes the consumer', async () => {
      const jobId = randomUUID();
      const agentId = randomUUID();
      scheduler.jobs.set(jobId, scheduler.job({ jobId }));
      await publish(jobId, 'status', [status(1, {})]);
      await publish(jobId, 'logs', [logLine(1, 'loading data'), logLine(2, 'epoch 1')]);
      await publish(jobId, 'status', [status(2, { status: 'RUNNING', agentId })]);
      await publish(jobId, 'metrics', [metric(1, 'loss', 0.9, 1), metric(2, 'loss', 0.5, 2)]);
      await publish(randomUUID(), 'logs', [logLine(1, 'another job')]);

      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      try {
        const live = new SubscriptionQueue<{ jobProgress: Record<string, unknown> }>(client, PROGRESS, { jobId, replayLast: 4 });
        const received: Array<Record<string, unknown>> = [];
        const take = async (queue: SubscriptionQueue<{ jobProgress: Record<string, unknown> }>, count: number) => {
          const out: Array<Record<string, unknown>> = [];
          while (out.length < count) {
            const message = await queue.next();
            expect(message.errors).toBeUndefined();
            out.push(message.data!.jobProgress);
          }
          return out;
        };
        received.push(...(await take(live, 4)));
        expect(received).toEqual([
          { __typename: 'JobLogLine', jobId, seq: 2, at: AT, stream: 'STDOUT', line: 'epoch 1' },
          { __typename: 'JobStatusChange', jobId, seq: 2, at: AT, status: 'RUNNING', attempt: 1, agentId, exitCode: null, reason: null },
          { __typename: 'JobMetric', jobId, seq: 1, at: AT, key: 'loss', value: 0.9, step: 1 },
          { __typename: 'JobMetric', jobId, seq: 2, at: AT, key: 'loss', value: 0.5, step: 2 },
        ]);
        // The consumer exists now: what follows is live (on NATS it holds a subscription of the gateway's connection).
        if (natsAvailable) expect(subscriptionCount(gatewayNats)).toBeGreaterThan(baseline);
        await publish(jobId, 'logs', [logLine(3, 'epoch 2'), logLine(4, 'saving model')]);
        await publish(jobId, 'status', [status(3, { status: 'SUCCEEDED', agentId, exitCode: 0 })]);
        expect((await take(live, 3)).map((item) => item.line ?? item.status)).toEqual(['epoch 2', 'saving model', 'SUCCEEDED']);
        expect(live.pending).toBe(0);

        // A late subscriber starts from the last items kept.
        const late = new SubscriptionQueue<{ jobProgress: Record<string, unknown> }>(client, PROGRESS, { jobId, replayLast: 2 });
        expect((await take(late, 2)).map((item) => [item.__typename, item.line ?? item.status])).toEqual([
          ['JobLogLine', 'saving model'],
          ['JobStatusChange', 'SUCCEEDED'],
        ]);
        await publish(jobId, 'metrics', [metric(3, 'auc', 0.83, 2)]);
        expect((await take(late, 1))[0]).toMatchObject({ __typename: 'JobMetric', key: 'auc', value: 0.83 });
        expect((await take(live, 1))[0]).toMatchObject({ __typename: 'JobMetric', key: 'auc', value: 0.83 });

        live.dispose();
        late.dispose();
        await eventually(() => expect(subscriptionCount(gatewayNats)).toBe(baseline));
      } finally {
        await client.dispose();
      }
    });

    // On NATS only: it counts the stream's consumers, which the bus's JetStream manager does not report.
    itWithNats('lets live followers of one job share one JetStream consumer, each getting every item in order; the last to leave removes it', async () => {
      const consumers = async () => (await (await (nats.nc as NatsConnection).jetstreamManager()).streams.info(telemetryStream)).state.consumer_count;
      const before = await consumers();
      const jobId = randomUUID();
      scheduler.jobs.set(jobId, scheduler.job({ jobId }));
      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      try {
        const viewers = Array.from({ length: 3 }, () => new SubscriptionQueue<{ jobProgress: Record<string, unknown> }>(client, PROGRESS, { jobId }));
        await eventually(async () => expect(await consumers()).toBe(before + 1));
        // Give every subscription time to be attached before publishing (they share the consumer).
        await new Promise((resolve) => setTimeout(resolve, 200));
        await publish(jobId, 'logs', [logLine(1, 'a'), logLine(2, 'b')]);
        await publish(jobId, 'metrics', [metric(3, 'loss', 0.5, 1)]);
        for (const viewer of viewers) {
          const got: unknown[] = [];
          for (let i = 0; i < 3; i++) {
            const item = (await viewer.next()).data!.jobProgress;
            got.push(item.line ?? item.key);
          }
          expect(got).toEqual(['a', 'b', 'loss']);
        }
        viewers[0].dispose();
        viewers[1].dispose();
        await publish(jobId, 'logs', [logLine(4, 'c')]);
        expect((await viewers[2].next()).data!.jobProgress.line).toBe('c');
        expect(await consumers()).toBe(before + 1);
        viewers[2].dispose();
        await eventually(async () => expect(await consumers()).toBe(before));
      } finally {
        await client.dispose();
      }
    });

    it('delivers jobProgressBatches: one message per batch that arrived together, in order, replay first; an unknown job is NOT_FOUND', async () => {
      const BATCHES = `subscription ($jobId: ID!, $replayLast: Int) { jobProgressBatches(jobId: $jobId, replayLast: $replayLast) {
        jobId items { __typename seq ... on JobMetric { key value step } ... on JobLogLine { line } ... on JobStatusChange { status } } } }`;
      const jobId = randomUUID();
      scheduler.jobs.set(jobId, scheduler.job({ jobId }));
      await publish(jobId, 'status', [status(1, {})]);
      await publish(jobId, 'metrics', [metric(1, 'loss', 0.9, 1), metric(2, 'loss', 0.8, 2)]);
      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      try {
        const batches = new SubscriptionQueue<{ jobProgressBatches: { jobId: string; items: Array<Record<string, unknown>> } }>(client, BATCHES, { jobId, replayLast: 3 });
        const items: Array<Record<string, unknown>> = [];
        let messages = 0;
        const takeItems = async (count: number) => {
          while (items.length < count) {
            const message = await batches.next();
            expect(message.errors).toBeUndefined();
            expect(message.data!.jobProgressBatches.jobId).toBe(jobId);
            items.push(...message.data!.jobProgressBatches.items);
            messages += 1;
          }
        };
        await takeItems(3);
        expect(items.map((i) => i.status ?? i.value)).toEqual(['QUEUED', 0.9, 0.8]);
        // A live message of 500 points comes as one batch, not 500 messages.
        await publish(jobId, 'metrics', Array.from({ length: 500 }, (_, i) => metric(10 + i, 'loss', i, 10 + i)));
        const before = messages;
        await takeItems(503);
        expect(messages - before).toBe(1);
        expect(items.slice(3).map((i) => i.step)).toEqual(Array.from({ length: 500 }, (_, i) => 10 + i));
        batches.dispose();
        const unknown = new SubscriptionQueue(client, BATCHES, { jobId: randomUUID() });
        expect((await unknown.next()).errors?.[0].extensions?.code).toBe('NOT_FOUND');
        await eventually(() => expect(subscriptionCount(gatewayNats)).toBe(baseline));
      } finally {
        await client.dispose();
      }
    });

    it('refuses an unknown job (NOT_FOUND), a replayLast out of bounds and a malformed id (BAD_USER_INPUT), holding no consumer after', async () => {
      const client = webSocketClient(http.url, { authorization: 'Bearer bob-token' });
      try {
        const missing = randomUUID();
        const unknown = new SubscriptionQueue(client, PROGRESS, { jobId: missing });
        expect((await unknown.next()).errors).toEqual([expect.objectContaining({ message: `job ${missing} does not exist`, extensions: { code: 'NOT_FOUND', details: { id: missing } } })]);
        const known = randomUUID();
        scheduler.jobs.set(known, scheduler.job({ jobId: known }));
        for (const replayLast of [10_001, -1]) {
          const refused = new SubscriptionQueue(client, PROGRESS, { jobId: known, replayLast });
          expect((await refused.next()).errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'replayLast', message: expect.any(String) }] } });
        }
        const malformed = new SubscriptionQueue(client, PROGRESS, { jobId: 'nope' });
        expect((await malformed.next()).errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'jobId', message: 'must be a UUID' }] } });
        await eventually(() => expect(subscriptionCount(gatewayNats)).toBe(baseline));
      } finally {
        await client.dispose();
      }
    });

    it('takes a job the scheduler\'s read model does not have yet from its stream: jobProgress accepts it, jobUpdates finds its project', async () => {
      const jobId = randomUUID();
      const projectId = randomUUID();
      const store = gateway.get<EventStore>(EVENT_STORE);
      await store.append(jobStream(jobId), [
        {
          type: 'scheduler.JobQueued.v1',
          data: {
            jobId,
            projectId,
            experimentId: scheduler.experimentId,
            runId: jobRunId(jobId),
            newRun: { params: {}, datasetVersions: [] },
            command: ['python', 'train.py'],
            env: {},
            workingDir: null,
            resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
            priority: 0,
            maxRetries: 2,
            timeoutSeconds: null,
            cancelGraceSeconds: 10,
            sweep: null,
            queuedAt: AT,
          },
          metadata: { actor: 'scheduler', correlationId: randomUUID() },
        },
      ]);
      await publish(jobId, 'status', [status(1, {})]);
      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      try {
        const progress = new SubscriptionQueue<{ jobProgress: Record<string, unknown> }>(client, PROGRESS, { jobId, replayLast: 5 });
        const first = await progress.next();
        expect(first.errors).toBeUndefined();
        expect(first.data!.jobProgress).toMatchObject({ __typename: 'JobStatusChange', jobId, status: 'QUEUED' });
        progress.dispose();

        const updates = new SubscriptionQueue<{ jobUpdates: { jobId: string; reason: string | null } }>(
          client,
          'subscription ($filter: JobUpdatesFilter) { jobUpdates(filter: $filter) { jobId status reason } }',
          { filter: { projectId } },
        );
        await eventually(
          async () => {
            await publish(jobId, 'status', [status(2, { status: 'ASSIGNED', reason: 'warmup' })]);
            expect((await updates.next(250)).data?.jobUpdates.jobId).toBe(jobId);
          },
          { timeoutMs: 15_000 },
        );
        // The gateway asked the scheduler first.
        expect(scheduler.requests(schedulerRpc.getJobs).some((seen) => seen.request.jobIds.includes(jobId))).toBe(true);
      } finally {
        await client.dispose();
      }
      await eventually(() => expect(subscriptionCount(gatewayNats)).toBe(baseline));
    });

    it('jobUpdates delivers state changes of all jobs, filtered by job, project and status; a client that goes away drops the NATS subscription', async () => {
      const mine = randomUUID();
      const theirs = randomUUID();
      const unknown = randomUUID();
      scheduler.jobs.set(mine, scheduler.job({ jobId: mine }));
      scheduler.jobs.set(theirs, scheduler.job({ jobId: theirs, projectId: scheduler.otherProjectId }));
      const UPDATES = 'subscription ($filter: JobUpdatesFilter) { jobUpdates(filter: $filter) { __typename jobId status attempt agentId exitCode reason at } }';
      const WITH_JOB = 'subscription ($filter: JobUpdatesFilter) { jobUpdates(filter: $filter) { jobId status reason job { id projectId status } } }';
      const client = webSocketClient(http.url, { authorization: 'Bearer ada-token' });
      try {
        type Update = { jobUpdates: { jobId: string; status: string; reason: string | null } & Record<string, unknown> };
        const all = new SubscriptionQueue<Update>(client, UPDATES, {});
        const project = new SubscriptionQueue<Update>(client, WITH_JOB, { filter: { projectId: scheduler.projectId } });
        const failed = new SubscriptionQueue<Update>(client, UPDATES, { filter: { status: 'FAILED' } });
        const one = new SubscriptionQueue<Update>(client, WITH_JOB, { filter: { jobId: theirs } });
        const queues = [all, project, failed, one];
        // Live only: the subscriptions are in place once a warm-up change reaches each of them.
        let warmup = 0;
        await eventually(
          async () => {
            await publish(mine, 'status', [status(warmup++, { status: 'FAILED', reason: 'warmup' })]);
            await publish(theirs, 'status', [status(warmup++, { status: 'FAILED', reason: 'warmup' })]);
            for (const queue of queues) await queue.next(250);
          },
          { timeoutMs: 15_000 },
        );
        expect(subscriptionCount(gatewayNats)).toBe(baseline + queues.length);
        const next = async (queue: SubscriptionQueue<Update>) => {
          for (;;) {
            const message = await queue.next();
            expect(message.errors).toBeUndefined();
            if (message.data!.jobUpdates.reason !== 'warmup') return message.data!.jobUpdates;
          }
        };

        const agentId = randomUUID();
        await publish(theirs, 'status', [status(100, { status: 'RUNNING', agentId })]);
        await publish(unknown, 'status', [status(1, { status: 'RUNNING' })]);
        await publish(mine, 'logs', [logLine(1, 'not a status change')]);
        await publish(mine, 'status', [status(101, { status: 'ASSIGNED', agentId }), status(102, { status: 'RUNNING', agentId })]);
        await publish(mine, 'status', [status(103, { status: 'FAILED', agentId, exitCode: 3, reason: 'exit code 3' })]);

        expect(await next(all)).toEqual({ __typename: 'JobStatusChange', jobId: theirs, status: 'RUNNING', attempt: 1, agentId, exitCode: null, reason: null, at: AT });
        expect(await next(all)).toMatchObject({ jobId: unknown, status: 'RUNNING' });
        expect([await next(all), await next(all), await next(all)].map((u) => [u.jobId, u.status])).toEqual([
          [mine, 'ASSIGNED'],
          [mine, 'RUNNING'],
          [mine, 'FAILED'],
        ]);
        expect([await next(project), await next(project), await next(project)]).toEqual([
          { jobId: mine, status: 'ASSIGNED', reason: null, job: { id: mine, projectId: scheduler.projectId, status: 'QUEUED' } },
          { jobId: mine, status: 'RUNNING', reason: null, job: { id: mine, projectId: scheduler.projectId, status: 'QUEUED' } },
          { jobId: mine, status: 'FAILED', reason: 'exit code 3', job: { id: mine, projectId: scheduler.projectId, status: 'QUEUED' } },
        ]);
        expect(await next(failed)).toMatchObject({ jobId: mine, status: 'FAILED', exitCode: 3, reason: 'exit code 3' });
        expect(await next(one)).toEqual({ jobId: theirs, status: 'RUNNING', reason: null, job: { id: theirs, projectId: scheduler.otherProjectId, status: 'QUEUED' } });

        // Nothing else reached the filtered subscribers: the next thing each gets is a closing change.
        // Each change is resolved afresh: `job` is the job as the scheduler has it now.
        scheduler.jobs.set(mine, { ...scheduler.jobs.get(mine)!, status: 'FAILED', revision: 5 });
        await publish(theirs, 'status', [status(104, { status: 'FAILED', agentId, exitCode: 1, reason: 'closing' })]);
        await publish(mine, 'status', [status(104, { status: 'QUEUED', reason: 'closing' })]);
        expect(await next(one)).toMatchObject({ jobId: theirs, status: 'FAILED', reason: 'closing' });
        expect(await next(failed)).toMatchObject({ jobId: theirs, status: 'FAILED', reason: 'closing' });
        expect(await next(project)).toMatchObject({ jobId: mine, status: 'QUEUED', reason: 'closing', job: { status: 'FAILED' } });

        const badFilter = new SubscriptionQueue(client, UPDATES, { filter: { projectId: 'nope' } });
        expect((await badFilter.next()).errors?.[0].extensions).toEqual({ code: 'BAD_USER_INPUT', details: { issues: [{ field: 'filter.projectId', message: 'must be a UUID' }] } });
      } finally {
        // The client goes away without completing its subscriptions.
        await client.dispose();
      }
      await eventually(() => expect(subscriptionCount(gatewayNats)).toBe(baseline));
    });
  });
});
