import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { experimentsRpc, JobProgressItem, jobRunId, MAX_LOG_LINE_CHARS, withNamespace } from '@modeltrail/contracts';
import { connectBus, DEFAULT_JOB_TELEMETRY_PREFIX, followJobTelemetry, type ManagedBus, type MessagingLogger, NatsRpcTransport, RpcClient } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { describeOnTestBus, eventually, onTestBus, TEST_ACTOR_SIGNING_KEY, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { ExperimentsModule } from '../../../experiments/src/experiments.module';
import { FIXTURES, isRoot, killQuietly, NODE, REPO_ROOT, tempDirs } from '../../test/helpers';
import { SchedulerDouble } from '../../test/scheduler-double';
import { processAlive } from '../process/procfs';
import { JobStateFile } from '../process/state-file';
import { jobUserFor } from '../process/user';
import { Agent, AgentIdConflictError, type AgentOptions } from './agent';
import { AgentSessionFile } from './session-file';
import { pythonForAnyone } from '../../test/python';

/**
 * The agent against a scheduler on the test bus (NATS, or the in-process bus where no NATS server
 * answers; a test double of the remote scheduler service
 * that follows the schedulerRpc contracts: test/scheduler-double.ts) and the real experiments
 * service (in-process, on the real PostgreSQL), running real child processes.
 */

const namespace = uniqueName('agent');
const telemetryStream = uniqueName('MT_TELEMETRY_AGENT');
const telemetryPrefix = withNamespace(namespace, DEFAULT_JOB_TELEMETRY_PREFIX);
const H100 = ['GPU-5d0c1b2a-7f3e-4a51-9c1d-2b8e6f4a0001', 'GPU-5d0c1b2a-7f3e-4a51-9c1d-2b8e6f4a0002'];
const python = pythonForAnyone();
const headers = { actor: 'ada@example.com', correlationId: 'agent-spec' };

/** Node as a job: a script given inline. */
const nodeJob = (script: string) => [NODE, '-e', script];

describeOnTestBus('agent', () => {
  const dir = tempDirs('agent');
  const config = onTestBus(loadConfig({ SERVICE_NAME: 'experiments', DATABASE_URL: TEST_DATABASE_URL, NATS_NAMESPACE: namespace, EVENTSTORE_SCHEMA: namespace, READ_MODEL_SCHEMA: namespace }));
  const pool = createPool(TEST_DATABASE_URL, { max: 1 });
  let experiments: INestMicroservice;
  let bus: ManagedBus;
  let rpc: RpcClient;
  let scheduler: SchedulerDouble;
  let experimentId: string;
  const agents: Agent[] = [];
  const pids = new Set<number>();
  let logged: string[] = [];

  beforeAll(async () => {
    bus = await connectBus({ url: TEST_BUS_URL, name: 'agent-spec' });
    scheduler = new SchedulerDouble(bus.nc, namespace);
    // The jobs an agent holds are the double's: the experiments service asks it instead of a scheduler.
    experiments = await NestFactory.createMicroservice(ExperimentsModule.forRoot(config, undefined, { agentAssignments: scheduler.agentAssignments }), {
      strategy: new NatsRpcTransport({ nats: { url: TEST_BUS_URL, name: 'agent-spec-experiments' }, namespace }),
      logger: false,
    });
    await experiments.listen();
    rpc = new RpcClient(bus.nc, { signingKey: TEST_ACTOR_SIGNING_KEY, timeoutMs: 10_000, namespace });
    scheduler.start();
    const project = await rpc.request(experimentsRpc.defineProject, { name: `agent spec ${namespace}`, problem: 'p', taskType: 'BINARY_CLASSIFICATION', target: 'y' }, { headers });
    experimentId = (await rpc.request(experimentsRpc.createExperiment, { projectId: project.projectId, name: 'jobs' }, { headers })).experimentId;
  });

  afterAll(async () => {
    await scheduler?.stop();
    await experiments?.close();
    const jsm = await bus?.nc.jetstreamManager();
    await jsm?.streams.delete(telemetryStream).catch(() => undefined);
    await bus?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${ident(namespace)} CASCADE`);
    await pool.end();
  });

  beforeEach(() => {
    logged = [];
    scheduler.heartbeatIntervalMs = 500;
  });

  afterEach(async () => {
    await Promise.all(agents.splice(0).map((agent) => agent.stop({ graceMs: 0 }).catch(() => undefined)));
    killQuietly(pids);
    pids.clear();
  });

  const logger: MessagingLogger = {
    log: (message) => logged.push(message),
    warn: (message) => logged.push(`WARN ${message}`),
    error: (message) => logged.push(`ERROR ${message}`),
  };

  /** An agent with its own id, data directory and artifact store; the fake nvidia-smi `gpus` first on PATH. */
  function newAgent(gpus: string, options: Partial<AgentOptions> = {}): Agent {
    const agent = new Agent({
      signingKey: TEST_ACTOR_SIGNING_KEY,
      nc: bus.nc,
      namespace,
      agentId: randomUUID(),
      hostname: `node-${randomUUID().slice(0, 8)}`,
      labels: { zone: 'test' },
      cpus: 3,
      memoryMb: 4096,
      env: { PATH: `${join(FIXTURES, 'nvidia-smi', gpus)}:${process.env.PATH}` },
      nvidiaSmiTimeoutMs: 2_000,
      dataDir: join(dir(), 'agent'),
      artifactRoot: join(dir(), 'artifacts'),
      telemetryStream,
      jobBaseEnv: { PATH: process.env.PATH, PYTHONDONTWRITEBYTECODE: '1' },
      logFlushMs: 50,
      telemetryFlushMs: 20,
      metricFlushMs: 100,
      retry: { initialDelayMs: 50, maxDelayMs: 500 },
      logger,
      ...options,
    });
    agents.push(agent);
    return agent;
  }

  async function newRun(jobId: string): Promise<string> {
    const run = await rpc.request(experimentsRpc.startRun, { runId: jobRunId(jobId), experimentId, tags: [`job:${jobId}`] }, { headers });
    return run.runId;
  }

  /** The job's pid once the agent holds its process. */
  async function pidOf(agent: Agent, jobId: string): Promise<number> {
    const pid = await eventually(() => {
      const found = agent.runningJobs().find((j) => j.jobId === jobId)?.pid;
      if (!found) throw new Error(`job ${jobId} has no process yet`);
      return found;
    });
    pids.add(pid);
    return pid;
  }

  describe('registration', () => {
    it('registers the GPUs nvidia-smi lists (2x H100 80 GB), its configured CPUs, memory and labels', async () => {
      const agent = newAgent('h100-2x80gb');
      const reply = await agent.start();
      const registration = scheduler.registrations.find((r) => r.agentId === agent.agentId);
      expect(registration).toEqual({
        agentId: agent.agentId,
        sessionId: agent.sessionId,
        hostname: expect.stringMatching(/^node-/),
        labels: { zone: 'test' },
        gpus: [
          { index: 0, uuid: H100[0], name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559, status: 'AVAILABLE' },
          { index: 1, uuid: H100[1], name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559, status: 'AVAILABLE' },
        ],
        cpus: 3,
        memoryMb: 4096,
        gpuProbe: { status: 'OK', message: '' },
        agentVersion: expect.any(String),
        replaceSession: false,
      });
      expect(reply.heartbeatIntervalMs).toBe(500);
      expect(logged).toContain(`agent: ${agent.agentId} on ${registration?.hostname} offering 2 GPUs (NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3): OK`);
      await eventually(() => expect(scheduler.heartbeatsOf(agent.agentId)[0]).toMatchObject({ sessionId: agent.sessionId, running: [], acceptAssignments: true }));
    });

    it('registers CPU-only, saying why, when nvidia-smi hangs: killed at its time limit', async () => {
      const agent = newAgent('hang', { nvidiaSmiTimeoutMs: 300 });
      await agent.start();
      const registration = scheduler.registrations.find((r) => r.agentId === agent.agentId);
      expect(registration).toMatchObject({ gpus: [], cpus: 3, memoryMb: 4096, gpuProbe: { status: 'TIMEOUT', message: expect.stringMatching(/^nvidia-smi did not answer within 300 ms: killed/) } });
      expect(logged.find((line) => line.startsWith('agent: '))).toMatch(new RegExp(`^agent: ${agent.agentId} on node-\\S+ CPU-only \\(3 CPUs, 4096 MB\\): TIMEOUT: nvidia-smi did not answer within 300 ms`));
    });

    it('gives up with a clear message when a live session of another process holds its id', async () => {
      const agent = newAgent('h100-2x80gb');
      const other = randomUUID();
      scheduler.holdSession(agent.agentId, other, 'elsewhere');
      const failure = await agent.start().then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(AgentIdConflictError);
      expect((failure as Error).message).toContain(`agent id ${agent.agentId} is held by a live session (session ${other})`);
      expect((failure as Error).message).toMatch(/AGENT_ID.*--replace-session/s);
      await expect(agent.closed).rejects.toBeInstanceOf(AgentIdConflictError);
      expect(scheduler.registrations.some((r) => r.agentId === agent.agentId)).toBe(false);
    });

    it("replaces the session of this node's previous, dead agent process that the scheduler still counts as live", async () => {
      const agent = newAgent('h100-2x80gb');
      const previous = randomUUID();
      // The previous process wrote its session, then died (a pid that no longer runs).
      const sessionFile = new AgentSessionFile(join(dir(), 'agent'));
      await sessionFile.write(agent.agentId, previous);
      const record = JSON.parse(await readFile(sessionFile.path, 'utf8'));
      await writeFile(sessionFile.path, JSON.stringify({ ...record, pid: 2 ** 22 + 17 }));
      scheduler.holdSession(agent.agentId, previous, 'this-node');
      await agent.start();
      expect(scheduler.registrations.filter((r) => r.agentId === agent.agentId)).toEqual([expect.objectContaining({ sessionId: agent.sessionId, replaceSession: true })]);
    });

    it('probes its GPUs again and tells the scheduler when one is taken by another process, or the driver stops answering', async () => {
      // An nvidia-smi whose answer the test changes: two idle GPUs, then GPU 1 runs pid 1 (not the agent's), then it fails.
      const bin = join(dir(), 'smi');
      await mkdir(bin, { recursive: true });
      const mode = join(bin, 'mode');
      await writeFile(mode, 'idle');
      await writeFile(
        join(bin, 'nvidia-smi'),
        `#!/bin/sh
m=$(cat ${mode})
[ "$m" = broken ] && { echo "Unable to determine the device handle: Unknown Error"; exit 9; }
case "$*" in
  *--query-gpu=*) echo "0, ${H100[0]}, NVIDIA H100 80GB HBM3, 81559, 0, 0"; echo "1, ${H100[1]}, NVIDIA H100 80GB HBM3, 81559, 0, 0" ;;
  *--query-compute-apps=*) if [ "$m" = taken ]; then echo "${H100[1]}, 1, 4096"; fi ;;
esac
exit 0
`,
      );
      await chmod(join(bin, 'nvidia-smi'), 0o755);
      const agent = newAgent('h100-2x80gb', { env: { PATH: `${bin}:${process.env.PATH}` }, gpuProbeIntervalMs: 100 });
      await agent.start();
      const latest = () => scheduler.heartbeatsOf(agent.agentId).at(-1);
      await eventually(() => expect(latest()?.gpuStatus).toEqual([]));
      expect(scheduler.registrations.find((r) => r.agentId === agent.agentId)?.gpus.map((g) => g.status)).toEqual(['AVAILABLE', 'AVAILABLE']);
      await writeFile(mode, 'taken');
      await eventually(() => expect(latest()?.gpuStatus).toEqual([{ uuid: H100[1], status: 'BUSY_EXTERNAL' }]), { timeoutMs: 5_000 });
      await writeFile(mode, 'broken');
      await eventually(() => expect(latest()?.gpuStatus).toEqual([{ uuid: H100[0], status: 'UNKNOWN' }, { uuid: H100[1], status: 'UNKNOWN' }]), { timeoutMs: 5_000 });
      await writeFile(mode, 'idle');
      await eventually(() => expect(latest()?.gpuStatus).toEqual([]), { timeoutMs: 5_000 });
      expect(logged.some((line) => line.includes(`GPU status ${H100[1]} BUSY_EXTERNAL`))).toBe(true);
    });

    it('heartbeats at once when woken on mt.agent.<id>.wake', async () => {
      scheduler.heartbeatIntervalMs = 60_000;
      const agent = newAgent('h100-2x80gb');
      await agent.start();
      // The loop's first heartbeat is due a minute after registration: any heartbeat now came from a nudge.
      expect(scheduler.heartbeatsOf(agent.agentId)).toHaveLength(0);
      scheduler.wake(agent.agentId);
      await eventually(() => expect(scheduler.heartbeatsOf(agent.agentId)).toHaveLength(1), { timeoutMs: 5_000 });
      scheduler.wake(agent.agentId);
      await eventually(() => expect(scheduler.heartbeatsOf(agent.agentId)).toHaveLength(2), { timeoutMs: 5_000 });
    });
  });

  (python ? it : it.skip)(
    'runs examples/training/train.py: metrics and params on the run, the model logged with its digest, LOG and METRIC telemetry, SUCCEEDED with exit 0',
    async () => {
      await chmod(dir(), 0o755); // the job user (nobody, when the tests run as root) walks down to its directories
      const jobUser = await jobUserFor(undefined, isRoot ? 0 : 1000);
      const agent = newAgent('h100-2x80gb', { jobUser, gpuSampleIntervalMs: 10_000 });
      await agent.start();
      const jobId = randomUUID();
      const runId = await newRun(jobId);
      const telemetry = await followJobTelemetry(bus.nc, { streamName: telemetryStream, subjectPrefix: telemetryPrefix, jobId, replayLast: 10_000, decode: (item) => JobProgressItem.safeParse(item).data ?? null });

      scheduler.assign(agent.agentId, {
        jobId,
        runId,
        command: [python as string, join(REPO_ROOT, 'examples', 'training', 'train.py'), '--epochs', '2', '--steps-per-epoch', '5', '--step-delay', '0'],
        gpus: [{ index: 1, uuid: H100[1] }],
        timeoutSeconds: 60,
      });
      await eventually(() => expect(scheduler.finishedOf(jobId)).toBeDefined(), { timeoutMs: 20_000 });

      const started = scheduler.started.find((r) => r.jobId === jobId);
      expect(started).toEqual({ jobId, agentId: agent.agentId, fencingToken: 1, pid: expect.any(Number) });
      expect(scheduler.finishedOf(jobId)).toEqual({ jobId, agentId: agent.agentId, fencingToken: 1, outcome: 'SUCCEEDED', exitCode: 0, signal: null, durationMs: expect.any(Number), reason: null });

      // Metrics: the script's, in order, and the GPU's samples (its one GPU is device 0 to the job).
      const loss = await rpc.request(experimentsRpc.getRunMetrics, { runId, key: 'train/loss' }, { headers });
      expect(loss.points.map((p) => p.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(loss.keys).toEqual(expect.arrayContaining(['train/loss', 'val/accuracy', 'system/gpu.0.utilization', 'system/gpu.0.memory_used_mb']));
      const gpuMemory = await rpc.request(experimentsRpc.getRunMetrics, { runId, key: 'system/gpu.0.memory_used_mb' }, { headers });
      expect(gpuMemory.points[0]).toMatchObject({ step: 0, value: 1 }); // GPU 1 of the fake uses 1 MB

      // The model, stored in the artifact store and logged on the run with the digest of its bytes; the job's directory is gone.
      const artifacts = await eventually(async () => {
        const { items } = await rpc.request(experimentsRpc.listRunArtifacts, { runIds: [runId] }, { headers });
        expect(items).toHaveLength(1);
        return items;
      });
      const bytes = await readFile(fileURLToPath(artifacts[0].uri));
      expect(artifacts[0]).toMatchObject({ name: 'model', digest: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, loggedBy: `agent:${agent.agentId}` });
      expect(artifacts[0].uri.startsWith(`file://${join(dir(), 'artifacts')}`)).toBe(true);
      expect(JSON.parse(bytes.toString())).toMatchObject({ type: 'logistic-regression' });

      // Params the script reported, recorded on the run.
      await eventually(async () => {
        const { items } = await rpc.request(experimentsRpc.getRuns, { runIds: [runId] }, { headers });
        expect(items[0].params).toMatchObject({ model: 'logistic-regression', lr: 0.1, epochs: 2, steps_per_epoch: 5, seed: 7 });
      });

      // The job's log at the scheduler, in order, and the live telemetry.
      const lines = scheduler.logLines(jobId);
      expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i));
      expect(lines.map((l) => l.line)).toEqual(expect.arrayContaining(['training on 1600 rows, validating on 400', '[status] epoch 1 of 2', expect.stringMatching(/^model written to .*model\.json$/)]));
      expect(lines.filter((l) => l.stream === 'stderr')).toEqual([]);
      const seen = { log: false, metric: false };
      const deadline = Date.now() + 10_000;
      while (!(seen.log && seen.metric) && Date.now() < deadline) {
        let timer: NodeJS.Timeout | undefined;
        const next = await Promise.race([
          telemetry.next(),
          new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`telemetry: saw ${JSON.stringify(seen)}`)), Math.max(1, deadline - Date.now())))),
        ]).finally(() => clearTimeout(timer));
        if (next.done) break;
        // The subscription names each item by its subject's kind (logs, metrics).
        const item = next.value as JobProgressItem | { kind: string };
        if ('line' in item && item.line === 'training on 1600 rows, validating on 400') seen.log = true;
        if ('key' in item && item.key === 'train/loss' && item.step === 9) seen.metric = true;
      }
      await telemetry.return?.();
      expect(seen).toEqual({ log: true, metric: true });

      await eventually(async () => expect(await new JobStateFile(join(dir(), 'agent')).read()).toEqual([]));
      expect(agent.runningJobs()).toEqual([]);
      // Run once: the repeated assignment was not started again.
      expect(scheduler.started.filter((r) => r.jobId === jobId)).toHaveLength(1);
    },
  );

  it('stops a job cancelled through the heartbeat reply that ignores SIGTERM: SIGKILL after the grace, reported CANCELLED', async () => {
    const agent = newAgent('h100-2x80gb');
    await agent.start();
    const jobId = randomUUID();
    const runId = await newRun(jobId);
    scheduler.assign(agent.agentId, { jobId, runId, command: nodeJob("process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)") });
    const pid = await pidOf(agent, jobId);
    await eventually(() => expect(scheduler.logLines(jobId).map((l) => l.line)).toContain('ready'));
    await eventually(() => expect(scheduler.heartbeatsOf(agent.agentId).at(-1)?.running).toEqual([{ jobId, fencingToken: 1, pid }]));

    scheduler.cancel(agent.agentId, jobId, 1, 'cancelled by ada@example.com', 1);
    await eventually(() => expect(scheduler.finishedOf(jobId)).toBeDefined(), { timeoutMs: 10_000 });
    expect(scheduler.finishedOf(jobId)).toMatchObject({ outcome: 'CANCELLED', exitCode: null, signal: 'SIGKILL', reason: expect.stringMatching(/^cancelled by ada@example.com; killed with SIGKILL after the 1 s grace/) });
    expect(processAlive(pid)).toBe(false);
    expect(scheduler.logLines(jobId).map((l) => l.line)).toContain('ignoring SIGTERM');
  });

  it('stops a job at its time limit and reports TIMED_OUT', async () => {
    const agent = newAgent('h100-2x80gb');
    await agent.start();
    const jobId = randomUUID();
    const runId = await newRun(jobId);
    scheduler.assign(agent.agentId, { jobId, runId, command: nodeJob('setInterval(() => {}, 1000)'), timeoutSeconds: 1, cancelGraceSeconds: 1 });
    const pid = await pidOf(agent, jobId);
    await eventually(() => expect(scheduler.finishedOf(jobId)).toBeDefined(), { timeoutMs: 10_000 });
    expect(scheduler.finishedOf(jobId)).toMatchObject({ outcome: 'TIMED_OUT', exitCode: null, signal: 'SIGTERM', reason: 'timeout after 1 s' });
    expect(processAlive(pid)).toBe(false);
  });

  it('reports a job that cannot start FAILED, naming why', async () => {
    const agent = newAgent('h100-2x80gb');
    await agent.start();
    const jobId = randomUUID();
    const runId = await newRun(jobId);
    scheduler.assign(agent.agentId, { jobId, runId, command: ['no-such-program-anywhere'] });
    await eventually(() => expect(scheduler.finishedOf(jobId)).toBeDefined());
    expect(scheduler.finishedOf(jobId)).toMatchObject({ outcome: 'FAILED', exitCode: null, signal: null, durationMs: null, reason: expect.stringContaining('could not start "no-such-program-anywhere"') });
    expect(scheduler.started.some((r) => r.jobId === jobId)).toBe(false);
  });

  it('reports a failing job FAILED with its last stderr line; a line longer than the job log takes arrives in pieces', async () => {
    const agent = newAgent('h100-2x80gb');
    await agent.start();
    const jobId = randomUUID();
    const runId = await newRun(jobId);
    scheduler.assign(agent.agentId, { jobId, runId, command: nodeJob("console.log('x'.repeat(40000)); console.error('loss is NaN'); process.exit(3)") });
    await eventually(() => expect(scheduler.finishedOf(jobId)).toBeDefined());
    expect(scheduler.finishedOf(jobId)).toMatchObject({ outcome: 'FAILED', exitCode: 3, signal: null, reason: 'exit code 3; last stderr line: loss is NaN' });
    const lines = scheduler.logLines(jobId);
    expect(lines.map((l) => [l.stream, l.line.length])).toEqual([
      ['stdout', MAX_LOG_LINE_CHARS],
      ['stdout', MAX_LOG_LINE_CHARS],
      ['stdout', 40000 - 2 * MAX_LOG_LINE_CHARS],
      ['stderr', 'loss is NaN'.length],
    ]);
  });

  it('reports a job that exited 0 but whose outputs could not be stored at all as FAILED, naming why', async () => {
    const blocked = join(dir(), 'not-a-directory');
    await writeFile(blocked, 'a file where the artifact store should be');
    const agent = newAgent('h100-2x80gb', { artifactRoot: blocked });
    await agent.start();
    const jobId = randomUUID();
    const runId = await newRun(jobId);
    scheduler.assign(agent.agentId, { jobId, runId, command: nodeJob("require('fs').writeFileSync(process.env.MODELTRAIL_OUTPUT_DIR + '/model.bin', 'weights')") });
    await eventually(() => expect(scheduler.finishedOf(jobId)).toBeDefined());
    expect(scheduler.finishedOf(jobId)).toMatchObject({ outcome: 'FAILED', exitCode: 0, reason: expect.stringMatching(/^the job exited 0 but none of its outputs could be stored: the outputs could not be stored: .*ENOTDIR/) });
    // Kept where it was written, for an operator to recover.
    expect(await readFile(join(dir(), 'agent', 'jobs', jobId, '1', 'output', 'model.bin'), 'utf8')).toBe('weights');
  });

  it('stops a job whose report is refused as stale (CONFLICT) and reports nothing more about it', async () => {
    const agent = newAgent('h100-2x80gb');
    await agent.start();
    const jobId = randomUUID();
    const runId = await newRun(jobId);
    scheduler.revoke(jobId);
    scheduler.assign(agent.agentId, { jobId, runId, command: nodeJob("console.log('working'); setInterval(() => {}, 1000)"), cancelGraceSeconds: 1 });
    await eventually(() => expect(scheduler.refused.find((r) => r.jobId === jobId && r.kind === 'STARTED')).toBeDefined());
    const pid = scheduler.refused.find((r) => r.jobId === jobId)?.pid as number;
    pids.add(pid);
    await eventually(() => expect(agent.runningJobs()).toEqual([]), { timeoutMs: 10_000 });
    expect(processAlive(pid)).toBe(false);
    expect(scheduler.finishedOf(jobId)).toBeUndefined();
    expect(scheduler.refused.filter((r) => r.jobId === jobId && r.kind === 'FINISHED')).toEqual([]);
    expect(logged.some((line) => line.includes(`job ${jobId} (token 1) is no longer this agent's`))).toBe(true);
  });

  it('kills an abandoned job without a report, and a job it holds when the scheduler asks it to register again', async () => {
    const agent = newAgent('h100-2x80gb');
    await agent.start();
    const first = agent.sessionId;
    const [abandoned, held] = [randomUUID(), randomUUID()];
    scheduler.assign(agent.agentId, { jobId: abandoned, runId: await newRun(abandoned), command: nodeJob('setInterval(() => {}, 1000)') });
    scheduler.assign(agent.agentId, { jobId: held, runId: await newRun(held), command: nodeJob('setInterval(() => {}, 1000)') });
    const [pidA, pidB] = [await pidOf(agent, abandoned), await pidOf(agent, held)];

    scheduler.abandon(agent.agentId, abandoned, 1, 'the job was requeued');
    await eventually(() => expect(processAlive(pidA)).toBe(false));
    scheduler.forgetSession(agent.agentId);
    scheduler.wake(agent.agentId);
    await eventually(() => expect(scheduler.registrations.filter((r) => r.agentId === agent.agentId)).toHaveLength(2));
    expect(agent.sessionId).not.toBe(first);
    expect(processAlive(pidB)).toBe(false);
    expect(agent.runningJobs()).toEqual([]);
    expect(scheduler.finished.filter((r) => r.jobId === abandoned || r.jobId === held)).toEqual([]);
  });

  it('stops jobs a previous agent process left running, without reporting them', async () => {
    const leftover = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const pid = leftover.pid as number;
    pids.add(pid);
    const dataDir = join(dir(), 'agent');
    await mkdir(dataDir, { recursive: true });
    const jobId = randomUUID();
    await new JobStateFile(dataDir).put({ jobId, runId: randomUUID(), fencingToken: 3, pid, pgid: pid, startedAt: new Date().toISOString(), outputDir: join(dataDir, 'x'), identity: null });
    const agent = newAgent('h100-2x80gb', { orphanGraceMs: 500 });
    await agent.start();
    await new Promise<void>((resolve) => (leftover.exitCode !== null || leftover.signalCode !== null ? resolve() : leftover.once('exit', () => resolve())));
    expect(processAlive(pid)).toBe(false);
    expect(await new JobStateFile(dataDir).read()).toEqual([]);
    expect(logged.some((line) => line.includes(`job ${jobId} (token 3) still runs`))).toBe(true);
    expect(scheduler.finishedOf(jobId)).toBeUndefined();
  });

  it('on stop takes no more jobs, lets running ones end within the grace, then stops the rest without reporting them', async () => {
    const agent = newAgent('h100-2x80gb');
    await agent.start();
    const [quick, endless] = [randomUUID(), randomUUID()];
    scheduler.assign(agent.agentId, { jobId: quick, runId: await newRun(quick), command: nodeJob("setTimeout(() => console.log('done'), 700)") });
    scheduler.assign(agent.agentId, { jobId: endless, runId: await newRun(endless), command: nodeJob("process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000)"), cancelGraceSeconds: 1 });
    await pidOf(agent, quick);
    const endlessPid = await pidOf(agent, endless);

    const stopping = agent.stop({ graceMs: 2_000 });
    await eventually(() => expect(scheduler.heartbeatsOf(agent.agentId).at(-1)?.acceptAssignments).toBe(false));
    const late = randomUUID();
    scheduler.assign(agent.agentId, { jobId: late, runId: await newRun(late), command: nodeJob('') });
    await stopping;

    expect(scheduler.finishedOf(quick)).toMatchObject({ outcome: 'SUCCEEDED', exitCode: 0 });
    // Stopped by the agent itself: exit 0 after SIGTERM, yet not reported (never SUCCEEDED); the scheduler finds it lost.
    expect(scheduler.finishedOf(endless)).toBeUndefined();
    expect(processAlive(endlessPid)).toBe(false);
    expect(scheduler.logLines(endless).at(-1)?.line).toMatch(/^\[modeltrail-agent\] stopped because the agent is stopping: not reported/);
    expect(scheduler.started.some((r) => r.jobId === late)).toBe(false);
    expect(await new JobStateFile(join(dir(), 'agent')).read()).toEqual([]);
    // Its last word: the session is over (STOPPED now, rather than lost after the lease).
    expect(scheduler.stops).toContainEqual({ agentId: agent.agentId, sessionId: agent.sessionId, reason: 'the agent is stopping' });
    await expect(agent.closed).resolves.toBeUndefined();
  });
});
