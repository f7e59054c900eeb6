import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { schedulerRpc } from '@modeltrail/contracts';
import { connectNats, type ManagedNatsConnection, RpcClient } from '@modeltrail/messaging';
import { describeWithNats, ensureBuilt, eventually, freePort, platformSandbox, signedRpcClient, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { GraphQLHttpClient, SubscriptionQueue, webSocketClient } from '../gateway/test/graphql-client';

/**
 * Training jobs end to end, with every process compiled and started on its own as in
 * production: experiments, scheduler, gateway and two GPU-node agents whose `nvidia-smi` is a
 * fake on PATH (agent A: 2 x H100 80 GB, agent B: 4 x V100 16 GB). Everything is driven through
 * GraphQL over HTTP and WebSocket; jobs are real child processes (the Python example included).
 * Leases are short here (heartbeat 500 ms, lease 3 s) so a lost agent is noticed quickly.
 */
/** Whether `pid` runs: it exists and is not a zombie waiting to be reaped. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describeWithNats('training jobs through GraphQL, on real agents', () => {
  const root = join(__dirname, '..');
  const fixtures = join(root, 'services/agent/test/fixtures/nvidia-smi');
  const sandbox = platformSandbox('jobs');
  const { namespace } = sandbox;
  const work = join(tmpdir(), uniqueName('mt-jobs')); // made in beforeAll: a skipped suite leaves nothing behind
  const agentA = randomUUID();
  const agentB = randomUUID();
  const processes = new Map<string, ChildProcess>();
  const outputs = new Map<string, string>();
  const strays: number[] = [];
  let http: GraphQLHttpClient;
  let url: string;
  let nats: ManagedNatsConnection;
  let env: NodeJS.ProcessEnv;

  function start(name: string, entry: string, extra: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(process.execPath, [join(root, 'dist', entry)], { cwd: root, env: { ...env, SERVICE_NAME: name.replace(/-[ab]$/, ''), ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    outputs.set(name, '');
    for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => outputs.set(name, outputs.get(name)! + chunk.toString()));
    processes.set(name, child);
    return child;
  }
  const output = (name: string) => outputs.get(name) ?? '';
  const startAgent = (name: 'agent-a' | 'agent-b', id: string, gpus: string) =>
    start(name, 'services/agent/src/main.js', { AGENT_ID: id, AGENT_DATA_DIR: join(work, name), PATH: `${join(fixtures, gpus)}:${process.env.PATH}` });

  beforeAll(async () => {
    mkdirSync(work);
    // Agents started as root run jobs as `nobody`, who must be able to reach the agents' data dirs.
    chmodSync(work, 0o755);
    ensureBuilt(root);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/graphql`;
    env = {
      ...process.env,
      ...sandbox.env,
      PORT: String(port),
      ARTIFACT_ROOT: join(work, 'artifacts'),
      API_TOKENS: 'ada-token=ada@example.com',
      AGENT_HEARTBEAT_MS: '500',
      AGENT_LEASE_MS: '3000',
      JOB_WORKING_DIR_ROOTS: `${root},${work}`,
      NODE_ENV: 'development',
      // The processes' start-up lines ("gateway: GraphQL on", "<service>: serving") are info records.
      LOG_LEVEL: 'info',
    };
    execFileSync(process.execPath, [join(root, 'dist/infra/scripts/migrate.js')], { cwd: root, env: { ...env, SERVICE_NAME: 'migrate' }, stdio: 'pipe', timeout: 60_000 });
    start('experiments', 'services/experiments/src/main.js');
    start('scheduler', 'services/scheduler/src/main.js');
    start('gateway', 'gateway/src/main.js');
    startAgent('agent-a', agentA, 'h100-2x80gb');
    startAgent('agent-b', agentB, 'v100-4x16gb');
    await eventually(() => expect(output('gateway')).toMatch(/gateway: GraphQL on/), { timeoutMs: 60_000, intervalMs: 100 });
    await eventually(() => expect(output('scheduler')).toMatch(/scheduler: serving/), { timeoutMs: 60_000, intervalMs: 100 });
    await eventually(() => expect(output('experiments')).toMatch(/experiments: serving/), { timeoutMs: 60_000, intervalMs: 100 });
    http = new GraphQLHttpClient(url, 'ada-token');
    nats = await connectNats({ url: TEST_NATS_URL, name: 'jobs-e2e' });
    await eventually(
      async () => {
        const { agents } = await http.data(`{ agents(first: 10) { nodes { id status gpus { uuid memoryMb } } } }`);
        expect(agents.nodes.map((a: any) => a.id).sort()).toEqual([agentA, agentB].sort());
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  }, 180_000);

  afterAll(async () => {
    await Promise.all(
      [...processes.values()].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        await new Promise((resolve) => {
          child.once('exit', resolve);
          setTimeout(() => {
            child.kill('SIGKILL');
            resolve(undefined);
          }, 15_000).unref();
        });
      }),
    );
    for (const pid of strays) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await nats?.close();
    await sandbox.remove();
    rmSync(work, { recursive: true, force: true });
  }, 60_000);

  // Events in the store: bad input must not add any.
  const storedEvents = () => sandbox.storedEvents();

  const JOB = 'id status attempt agentId exitCode signal reason fencingToken pid gpus { index uuid } staleReportsRefused runId';
  const job = async (id: string) => (await http.data(`query($id: ID!) { job(id: $id) { ${JOB} } }`, { id })).job;
  const waitFor = async (id: string, status: string, timeoutMs = 30_000) => {
    let last: any;
    await eventually(
      async () => {
        last = await job(id);
        // The whole job in the message when it ends otherwise (its reason says why).
        if (last?.status !== status) throw new Error(`job ${id} is ${JSON.stringify(last)}, waiting for ${status}`);
      },
      { timeoutMs, intervalMs: 200 },
    );
    return last;
  };
  const submit = async (input: Record<string, unknown>) => (await http.data(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { ${JOB} } }`, { input })).submitJob;
  const state: Record<string, string> = {};

  it('registered both agents with the GPUs their nvidia-smi reports', async () => {
    const { agentA: a, agentB: b } = await http.data(
      `query($a: ID!, $b: ID!) { agentA: agent(id: $a) { status gpus { index uuid name memoryMb status } } agentB: agent(id: $b) { status gpus { memoryMb } } }`,
      { a: agentA, b: agentB },
    );
    expect(a.status).toBe('ACTIVE');
    expect(a.gpus).toHaveLength(2);
    expect(a.gpus[0]).toMatchObject({ index: 0, memoryMb: 81_559, status: 'AVAILABLE' });
    expect(a.gpus[0].name).toMatch(/H100/);
    expect(b.gpus.map((g: any) => g.memoryMb)).toEqual([16_160, 16_160, 16_160, 16_160]);
    expect(output('agent-a')).toMatch(new RegExp(`agent: ${agentA} on .* offering 2 GPUs`));
  });

  it('runs the Python example on an 80 GB GPU: live metrics and logs over graphql-ws, the run completed with its model digested', async () => {
    const { defineProject } = await http.data(`mutation { defineProject(input: { name: "jobs-e2e", problem: "Does the example learn?", taskType: BINARY_CLASSIFICATION, target: "y",
      successCriteria: [{ metric: "val/accuracy", threshold: 0.6, direction: MAXIMIZE }] }) { id } }`);
    const { createExperiment } = await http.data(`mutation($p: ID!) { createExperiment(input: { projectId: $p, name: "logistic" }) { id } }`, { p: defineProject.id });
    state.experimentId = createExperiment.id;

    const ws = webSocketClient(url, { authorization: 'Bearer ada-token' });
    try {
      const jobId = randomUUID();
      const submitted = await submit({
        jobId,
        experimentId: state.experimentId,
        params: { lr: 0.1, epochs: 2 },
        command: ['python3', 'examples/training/train.py', '--epochs', '2', '--steps-per-epoch', '20'],
        workingDir: root,
        resources: { gpus: 1, gpuMemoryMb: 40_000, cpus: 1, memoryMb: 512 },
      });
      expect(submitted.status).toBe('QUEUED');
      // Subscribed once the job exists (an unknown job is NOT_FOUND); the replay brings what came before.
      const progress = new SubscriptionQueue(
        ws,
        `subscription($j: ID!) { jobProgress(jobId: $j, replayLast: 10000) { __typename seq at ... on JobMetric { key value step } ... on JobLogLine { stream line } ... on JobStatusChange { status exitCode } } }`,
        { j: jobId },
      );
      const done = await waitFor(jobId, 'SUCCEEDED', 60_000);
      expect(done).toMatchObject({ agentId: agentA, exitCode: 0, attempt: 1 });
      expect(done.gpus).toHaveLength(1);

      const seen = await progress.collectUntil('jobProgress', (items) => items.some((i) => i.__typename === 'JobStatusChange' && i.status === 'SUCCEEDED'), 15_000);
      const metrics = seen.filter((i) => i.__typename === 'JobMetric');
      expect(metrics.filter((m) => m.key === 'train/loss')).toHaveLength(40);
      expect(seen.some((i) => i.__typename === 'JobLogLine' && /epoch 2: val loss/.test(i.line))).toBe(true);
      const statuses = seen.filter((i) => i.__typename === 'JobStatusChange').map((i) => i.status);
      expect(statuses[0]).toBe('QUEUED');
      expect(statuses).toEqual(expect.arrayContaining(['ASSIGNED', 'RUNNING', 'SUCCEEDED']));
      progress.dispose();

      const { job: finished } = await http.data(
        `query($id: ID!) { job(id: $id) { run { id status params artifacts { name digest size uri } metrics(key: "val/accuracy") { step value } } logs(first: 200) { nodes { stream line } } } }`,
        { id: jobId },
      );
      await eventually(async () => expect((await http.data(`query($r: ID!) { run(id: $r) { status } }`, { r: done.runId })).run.status).toBe('COMPLETED'), { timeoutMs: 15_000 });
      expect(finished.run.params).toMatchObject({ lr: 0.1, model: 'logistic-regression' });
      const model = finished.run.artifacts.find((a: any) => a.name === 'model');
      expect(model.digest).toMatch(/^[0-9a-f]{64}$/);
      expect(model.size).toBeGreaterThan(0);
      expect(finished.run.metrics).toHaveLength(2);
      expect(finished.logs.nodes.some((l: any) => /training on \d+ rows/.test(l.line))).toBe(true);
    } finally {
      await ws.dispose();
    }
  }, 120_000);

  it('passes argv without a shell: "; rm -rf /" arrives as one literal argument', async () => {
    const jobId = (await submit({ experimentId: state.experimentId, command: ['echo', 'literal:', '; rm -rf /'], resources: { cpus: 1, memoryMb: 64 } })).id;
    await waitFor(jobId, 'SUCCEEDED');
    const { job: done } = await http.data(`query($id: ID!) { job(id: $id) { logs { nodes { line } } } }`, { id: jobId });
    expect(done.logs.nodes.map((l: any) => l.line)).toContain('literal: ; rm -rf /');
  });

  it('refuses bad jobs with a code and appends nothing', async () => {
    const cases: Array<[Record<string, unknown>, string, RegExp]> = [
      [{ experimentId: state.experimentId, command: [] }, 'BAD_USER_INPUT', /command/],
      [{ experimentId: state.experimentId, command: ['true'], resources: { gpus: -1, cpus: 1, memoryMb: 64 } }, 'BAD_USER_INPUT', /gpus/],
      [{ experimentId: randomUUID(), command: ['true'] }, 'NOT_FOUND', /experiment/],
      [{ experimentId: state.experimentId, command: ['true'], workingDir: '/etc' }, 'BAD_USER_INPUT', /workingDir|\/etc/],
      [{ experimentId: state.experimentId, command: ['true'], env: { MODELTRAIL_RUN_ID: 'x' } }, 'BAD_USER_INPUT', /MODELTRAIL_/],
    ];
    for (const [input, code, message] of cases) {
      const before = await storedEvents();
      const response = await http.request(`mutation($input: SubmitJobInput!) { submitJob(input: $input) { id } }`, { input });
      expect({ input, error: response.errors?.[0]?.extensions?.code }).toEqual({ input, error: code });
      expect(response.errors![0].message).toMatch(message);
      expect(await storedEvents()).toBe(before);
    }
  });

  it('keeps an impossible job queued with the reason, and bin-packs: two GPUs go to the agent left with none free', async () => {
    const impossible = await submit({ experimentId: state.experimentId, command: ['true'], resources: { gpus: 4, gpuMemoryMb: 80_000, cpus: 1, memoryMb: 64 } });
    state.impossible = impossible.id;
    await eventually(
      async () => {
        const { queue } = await http.data(`{ queue(first: 10) { totalPending nodes { jobId position reasonCode reason } } }`);
        const entry = queue.nodes.find((n: any) => n.jobId === impossible.id);
        expect(entry).toMatchObject({ reasonCode: 'NEVER_FITS' });
        expect(entry.reason).toMatch(/4 GPUs/);
      },
      { timeoutMs: 15_000 },
    );
    const pair = await submit({ experimentId: state.experimentId, command: ['true'], resources: { gpus: 2, gpuMemoryMb: 16_000, cpus: 1, memoryMb: 64 } });
    const done = await waitFor(pair.id, 'SUCCEEDED');
    expect(done.agentId).toBe(agentA);
    expect(done.gpus).toHaveLength(2);
    await http.data(`mutation($id: ID!) { cancelJob(input: { jobId: $id, reason: "cannot fit" }) { status } }`, { id: impossible.id });
    await waitFor(impossible.id, 'CANCELLED');
  });

  it('cancels a running job that ignores SIGTERM: the child and its grandchild are killed after the grace period', async () => {
    // The job runs as an unprivileged user when the agent is root: it tells its pids on stdout.
    const script = `trap '' TERM; sh -c "trap '' TERM; sleep 300" & echo "pids $$ $!"; wait`;
    const jobId = (await submit({ experimentId: state.experimentId, command: ['sh', '-c', script], cancelGraceSeconds: 1, resources: { cpus: 1, memoryMb: 64 } })).id;
    await waitFor(jobId, 'RUNNING');
    let pids: number[] = [];
    await eventually(
      async () => {
        const { job: now } = await http.data(`query($id: ID!) { job(id: $id) { logs { nodes { line } } } }`, { id: jobId });
        const line = now.logs.nodes.map((l: any) => l.line).find((l: string) => l.startsWith('pids '));
        expect(line).toBeDefined();
        pids = line.split(' ').slice(1).map(Number);
      },
      { timeoutMs: 10_000 },
    );
    strays.push(...pids);
    const cancelled = (await http.data(`mutation($id: ID!) { cancelJob(input: { jobId: $id, reason: "wrong params" }) { status } }`, { id: jobId })).cancelJob;
    expect(['RUNNING', 'CANCELLED']).toContain(cancelled.status);
    const ended = await waitFor(jobId, 'CANCELLED', 20_000);
    expect(ended.reason).toMatch(/wrong params/);
    // Killed processes may linger as zombies until this container's init reaps them: not alive.
    await eventually(() => expect(pids.filter(alive)).toEqual([]), { timeoutMs: 5_000 });
    const { job: again } = await http.data(`query($id: ID!) { job(id: $id) { status } }`, { id: jobId });
    expect(again.status).toBe('CANCELLED');
    const refused = await http.request(`mutation($id: ID!) { cancelJob(input: { jobId: $id, reason: "again" }) { status } }`, { id: jobId });
    expect(refused.errors?.[0]?.extensions?.code ?? 'none').toMatch(/none|CONFLICT/);
  });

  it('stops a job at its timeout and records TIMED_OUT', async () => {
    const jobId = (await submit({ experimentId: state.experimentId, command: ['sleep', '300'], timeoutSeconds: 1, cancelGraceSeconds: 1, resources: { cpus: 1, memoryMb: 64 } })).id;
    const ended = await waitFor(jobId, 'TIMED_OUT', 30_000);
    expect(ended.signal ?? ended.reason).toBeTruthy();
  });

  it('drains an agent: nothing new lands on it until it is resumed', async () => {
    await http.data(`mutation($a: ID!) { drainAgent(input: { agentId: $a, reason: "maintenance" }) { status } }`, { a: agentB });
    // Four GPUs fit only agent B.
    const quad = await submit({ experimentId: state.experimentId, command: ['true'], resources: { gpus: 4, gpuMemoryMb: 8_000, cpus: 1, memoryMb: 64 } });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect((await job(quad.id)).status).toBe('QUEUED');
    await http.data(`mutation($a: ID!) { resumeAgent(input: { agentId: $a }) { status } }`, { a: agentB });
    const done = await waitFor(quad.id, 'SUCCEEDED');
    expect(done.agentId).toBe(agentB);
  });

  it('requeues the job of a SIGKILLed agent within 30 s, finishes it on the other agent, and refuses the old agent\'s late result', async () => {
    // One GPU: bin-packing puts it on agent A (one GPU left there, three on B).
    const jobId = (await submit({ experimentId: state.experimentId, command: ['sh', '-c', 'sleep 3; echo finished'], resources: { gpus: 1, gpuMemoryMb: 8_000, cpus: 1, memoryMb: 64 } })).id;
    const running = await waitFor(jobId, 'RUNNING');
    expect(running.agentId).toBe(agentA);
    if (running.pid) strays.push(running.pid);
    const killedAt = Date.now();
    processes.get('agent-a')!.kill('SIGKILL');
    let requeuedAfterMs = Number.NaN;
    await eventually(
      async () => {
        const now = await job(jobId);
        expect(now.attempt).toBe(2);
        requeuedAfterMs = Date.now() - killedAt;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(requeuedAfterMs).toBeLessThanOrEqual(30_000);
    const done = await waitFor(jobId, 'SUCCEEDED', 30_000);
    expect(done).toMatchObject({ agentId: agentB, attempt: 2, exitCode: 0 });

    // The old agent comes back with its result under the first token: refused and recorded.
    const rpc = signedRpcClient(nats.nc, { namespace, timeoutMs: 5_000 });
    await expect(
      rpc.request(schedulerRpc.reportJobFinished, { jobId, agentId: agentA, fencingToken: running.fencingToken, outcome: 'SUCCEEDED', exitCode: 0 }, { headers: { actor: `agent:${agentA}`, correlationId: jobId } }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    await eventually(async () => expect((await job(jobId)).staleReportsRefused).toBe(1), { timeoutMs: 10_000 });
    expect((await job(jobId)).status).toBe('SUCCEEDED');
    process.stdout.write(`kill -> requeue: ${requeuedAfterMs} ms\n`);
  }, 90_000);
});
