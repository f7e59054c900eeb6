import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { connectNats, type ManagedNatsConnection } from '@modeltrail/messaging';
import { describeWithNats, ensureBuilt, eventually, logMessages, TEST_NATS_URL, uniqueName } from '@modeltrail/testing';
import { FIXTURES, killQuietly, NODE, REPO_ROOT, tempDirs } from '../test/helpers';
import { SchedulerDouble } from '../test/scheduler-double';

/**
 * The agent as an operator runs it: `node dist/services/agent/src/main.js` configured through
 * the environment, against a scheduler on the real NATS (test/scheduler-double.ts stands in for
 * the remote service), stopped with SIGTERM.
 */

describeWithNats('agent process (dist/services/agent/src/main.js)', () => {
  const dir = tempDirs('main');
  const namespace = uniqueName('agentmain');
  let nats: ManagedNatsConnection;
  let scheduler: SchedulerDouble;
  const children: ChildProcess[] = [];
  const pids = new Set<number>();

  beforeAll(async () => {
    ensureBuilt(REPO_ROOT);
    nats = await connectNats({ url: TEST_NATS_URL, name: 'agent-main-spec' });
    scheduler = new SchedulerDouble(nats.nc, namespace);
    scheduler.start();
  }, 240_000);

  afterAll(async () => {
    await scheduler?.stop();
    const jsm = await nats?.nc.jetstreamManager();
    await jsm?.streams.delete(`${namespace}_TEL`).catch(() => undefined);
    await nats?.close();
  });

  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    killQuietly(pids);
  });

  function startAgent(agentId: string, extraEnv: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
    const env = {
      ...extraEnv,
      PATH: `${join(FIXTURES, 'nvidia-smi', 'h100-2x80gb')}:${process.env.PATH}`,
      NATS_URL: TEST_NATS_URL,
      NATS_NAMESPACE: namespace,
      TELEMETRY_STREAM: `${namespace}_TEL`,
      AGENT_ID: agentId,
      AGENT_DATA_DIR: join(dir(), 'agent'),
      AGENT_CPUS: '2',
      AGENT_MEMORY_MB: '2048',
      ARTIFACT_ROOT: join(dir(), 'artifacts'),
    };
    const child = spawn(NODE, [join(REPO_ROOT, 'dist/services/agent/src/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => text, exited };
  }

  it('prints its start line, registers, and on SIGTERM takes no more jobs, lets its running job end and report, then exits 0', async () => {
    await chmod(dir(), 0o755); // jobs of a root agent run as nobody
    const agentId = randomUUID();
    const agent = startAgent(agentId);
    await eventually(() => expect(scheduler.registrations.find((r) => r.agentId === agentId)).toMatchObject({ cpus: 2, memoryMb: 2048, gpus: [{ index: 0 }, { index: 1 }] }), { timeoutMs: 15_000 });
    expect(logMessages(agent.output())).toContainEqual(expect.stringMatching(new RegExp(`^agent: ${agentId} on \\S+ offering 2 GPUs \\(NVIDIA H100 80GB HBM3, NVIDIA H100 80GB HBM3\\): OK$`)));

    const jobId = randomUUID();
    scheduler.assign(agentId, { jobId, runId: randomUUID(), command: [NODE, '-e', "console.log('working'); setTimeout(() => console.log('finished'), 1500)"] });
    const started = await eventually(() => {
      const found = scheduler.started.find((r) => r.jobId === jobId);
      if (!found) throw new Error('not started yet');
      return found;
    });
    pids.add(started.pid);

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(scheduler.heartbeatsOf(agentId).some((h) => !h.acceptAssignments)).toBe(true);
    expect(scheduler.finishedOf(jobId)).toMatchObject({ outcome: 'SUCCEEDED', exitCode: 0 });
    expect(scheduler.logLines(jobId).map((l) => l.line)).toEqual(['working', 'finished']);
    expect(agent.output()).toContain('agent: SIGTERM: taking no more jobs');
  });

  it('exits with code 2, naming the id, when a live session of another process holds it', async () => {
    const agentId = randomUUID();
    scheduler.holdSession(agentId, randomUUID(), 'another-host');
    const agent = startAgent(agentId);
    expect(await agent.exited).toBe(2);
    expect(agent.output()).toContain(`agent failed: agent id ${agentId} is held by a live session`);
  });

  it('refuses to start in production without its own credential, naming AGENT_API_KEY', async () => {
    const agent = startAgent(randomUUID(), { NODE_ENV: 'production', DATABASE_URL: 'postgres://unused@127.0.0.1:5432/unused' });
    expect(await agent.exited).toBe(1);
    expect(agent.output()).toMatch(/AGENT_API_KEY: is required when NODE_ENV=production/);
  });
});
