import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithNatsServerBinary, natsServerBinary } from '@modeltrail/testing';
import { AckPolicy, connect, ErrorCode, Events, NatsError, nanos, StringCodec, type NatsConnection, type Status } from 'nats';

/**
 * infra/nats/nats.conf: the server accepts it, and the per-component users on a live server from
 * that very file can do what docs/architecture.md: Messaging needs and nothing the header comment forbids.
 * Needs the `nats-server` binary (Debian package nats-server; or point NATS_SERVER_BIN at one);
 * without it both suites are skipped, saying so in their names.
 */

const CONFIG = join(__dirname, 'nats.conf');
const DEV_CONFIG = join(__dirname, 'nats.dev.conf');
const COMPONENTS = ['datasets', 'experiments', 'scheduler', 'registry', 'monitoring', 'access', 'lineage', 'gateway', 'agent', 'relay', 'admin'] as const;
type User = (typeof COMPONENTS)[number];

const passwordVar = (user: User) => `NATS_${user.toUpperCase()}_PASSWORD`;
/** Starts with a letter, as the config header requires (an all-digit env value is misparsed). */
const passwords = Object.fromEntries(COMPONENTS.map((u) => [u, `mt_${randomBytes(12).toString('hex')}`])) as Record<User, string>;
const passwordEnv = Object.fromEntries(COMPONENTS.map((u) => [passwordVar(u), passwords[u]]));

/** `NATS_SERVER_BIN` (if set, the only candidate), else `nats-server` on PATH, else the usual install paths. */
/** Environment without any NATS_*_PASSWORD, so each test states exactly which it sets. */
function baseEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^NATS_.*_PASSWORD$/.test(k)));
}

function checkConfig(file: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync(natsServerBinary(), ['-t', '-c', file], { env, encoding: 'utf8', timeout: 10_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describeWithNatsServerBinary('infra/nats/nats.conf', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'mt-nats-conf-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('declares one user per component, each with a password from its own environment variable', () => {
    const text = readFileSync(CONFIG, 'utf8')
      .split('\n')
      .filter((line) => !line.trimStart().startsWith('#'))
      .join('\n');
    const users = [...text.matchAll(/^\s*user:\s*(\w+)\s*$/gm)].map((m) => m[1]);
    expect(users.sort()).toEqual([...COMPONENTS].sort());
    const vars = [...text.matchAll(/password:\s*\$(\w+)/g)].map((m) => m[1]);
    expect(vars.sort()).toEqual(COMPONENTS.map(passwordVar).sort());
  });

  it('is valid when every password variable is set', () => {
    const { status, output } = checkConfig(CONFIG, { ...baseEnv(), ...passwordEnv });
    expect(output).toContain('is valid');
    expect(status).toBe(0);
  });

  it('is refused when a password variable is missing', () => {
    const { NATS_AGENT_PASSWORD: _omitted, ...env } = passwordEnv;
    const { status, output } = checkConfig(CONFIG, { ...baseEnv(), ...env });
    expect(status).not.toBe(0);
    expect(output).toMatch(/NATS_AGENT_PASSWORD/);
    expect(output).not.toContain('is valid');
  });

  it.each([
    ['a misspelt permissions key', (conf: string) => conf.replace('publish: {', 'publsh: {')],
    ['an unterminated block', (conf: string) => conf.slice(0, conf.lastIndexOf('}'))],
  ])('reports a copy with %s as invalid', (_what, breakIt) => {
    const original = readFileSync(CONFIG, 'utf8');
    const broken = breakIt(original);
    expect(broken).not.toEqual(original);
    const file = join(scratch, 'broken.conf');
    writeFileSync(file, broken);
    const { status, output } = checkConfig(file, { ...baseEnv(), ...passwordEnv });
    expect(status).not.toBe(0);
    expect(output).not.toContain('is valid');
  });

  it('has a valid no-auth development variant', () => {
    const { status, output } = checkConfig(DEV_CONFIG, baseEnv());
    expect(output).toContain('is valid');
    expect(status).toBe(0);
  });
});

describeWithNatsServerBinary('infra/nats/nats.conf on a live server', () => {
  const sc = StringCodec();
  let dir: string;
  let server: ChildProcess | undefined;
  let serverLog = '';
  let url: string;
  const conns = {} as Record<User, NatsConnection>;
  /** Permission violations the server reported to each connection. */
  const violations = {} as Record<User, { operation: string; subject: string }[]>;

  beforeAll(async () => {
    const bin = natsServerBinary();
    dir = mkdtempSync(join(tmpdir(), 'mt-nats-live-'));
    const original = readFileSync(CONFIG, 'utf8');
    const conf = original.replace(/store_dir:\s*"[^"]*"/, `store_dir: "${join(dir, 'store')}"`);
    expect(conf).not.toEqual(original);
    writeFileSync(join(dir, 'nats.conf'), conf);

    // Loopback only, random client and monitoring ports, the config otherwise unchanged.
    const child = spawn(bin, ['-c', join(dir, 'nats.conf'), '-a', '127.0.0.1', '-p', '-1', '-m', '-1'], {
      env: { ...baseEnv(), ...passwordEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server = child;
    url = await new Promise<string>((resolve, reject) => {
      let port: string | undefined;
      const timer = setTimeout(() => reject(new Error(`nats-server did not become ready:\n${serverLog}`)), 8_000);
      const onData = (chunk: Buffer) => {
        serverLog += chunk.toString();
        port ??= /Listening for client connections on [^\s]*:(\d+)/.exec(serverLog)?.[1];
        if (port && serverLog.includes('Server is ready')) {
          clearTimeout(timer);
          resolve(`nats://127.0.0.1:${port}`);
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}:\n${serverLog}`));
      });
    });

    for (const user of COMPONENTS) {
      const nc = await connect({ servers: url, user, pass: passwords[user], name: `spec-${user}`, reconnect: false });
      conns[user] = nc;
      violations[user] = [];
      void (async () => {
        for await (const status of nc.status() as AsyncIterable<Status & { permissionContext?: { operation: string; subject: string } }>) {
          if (status.type === Events.Error && status.data === ErrorCode.PermissionsViolation && status.permissionContext) {
            violations[user].push(status.permissionContext);
          }
        }
      })();
    }
  });

  afterAll(async () => {
    await Promise.all(Object.values(conns).map((nc) => nc.close().catch(() => undefined)));
    if (server && server.exitCode === null) {
      const child = server;
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3_000)))]);
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function until(check: () => boolean, what: string, timeoutMs = 2_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  const violated = (user: User, operation: string, subject: string) => violations[user].some((v) => v.operation === operation && v.subject === subject);

  it('rejects a wrong password', async () => {
    await expect(connect({ servers: url, user: 'agent', pass: 'mt_wrong', reconnect: false })).rejects.toMatchObject({ code: ErrorCode.AuthorizationViolation });
  });

  // publish: the admin observer (subscribed to everything) sees the message exactly when it is allowed
  it.each<[User, string, boolean]>([
    ['gateway', 'mt.cmd.datasets.RegisterDataset', true],
    ['gateway', 'mt.qry.registry.GetModelVersion', true],
    ['gateway', 'mt.evt.datasets.DatasetRegistered.v1', false],
    ['gateway', 'mt.telemetry.job.j1.metrics', false],
    ['gateway', 'mt.telemetry.run.r1.metrics', false],
    ['experiments', 'mt.telemetry.run.r1.metrics', true],
    ['experiments', 'mt.qry.datasets.GetDatasetVersions', true],
    ['datasets', 'mt.evt.datasets.DatasetRegistered.v1', true],
    ['datasets', 'mt.evt.registry.ModelRegistered.v1', false],
    ['datasets', 'mt.cmd.datasets.ValidateDataset', true],
    ['datasets', 'mt.cmd.registry.CreateModelVersion', false],
    ['datasets', 'mt.qry.experiments.GetRun', true],
    ['datasets', '_INBOX.someone-elses-reply', false],
    ['monitoring', 'mt.cmd.scheduler.QueueJob', false],
    ['monitoring', 'mt.evt.monitoring.AlertRaised.v1', true],
    ['lineage', 'mt.cmd.registry.ApprovePromotion', false],
    ['lineage', 'mt.evt.registry.ModelRegistered.v1', false],
    ['lineage', 'mt.qry.registry.GetModelVersions', false],
    ['scheduler', 'mt.agent.agent-1.assign', true],
    ['relay', 'mt.evt.registry.ModelRegistered.v1', true],
    ['relay', 'mt.cmd.datasets.RegisterDataset', false],
    ['agent', 'mt.cmd.registry.X', false],
    ['agent', 'mt.cmd.scheduler.ReportJobOutcome', true],
    ['agent', 'mt.telemetry.job.j1.metrics', true],
    ['agent', 'mt.agent.heartbeat', true],
    ['agent', 'mt.evt.scheduler.JobSucceeded.v1', false],
    // an agent logs into its jobs' runs, and nothing else of experiments
    ['agent', 'mt.cmd.experiments.LogMetrics', true],
    ['agent', 'mt.cmd.experiments.LogParams', true],
    ['agent', 'mt.cmd.experiments.LogArtifact', true],
    ['agent', 'mt.cmd.experiments.StartRun', false],
    ['agent', 'mt.qry.access.AuthenticateApiKey', false],
    // the services that take agent credentials ask the access service about them
    ['scheduler', 'mt.qry.access.AuthenticateApiKey', true],
    ['experiments', 'mt.qry.access.AuthenticateApiKey', true],
    ['scheduler', 'mt.cmd.access.CreateApiKey', false],
    // the access service: its own commands and events, queries anywhere
    ['access', 'mt.cmd.access.CreateApiKey', true],
    ['access', 'mt.evt.access.ApiKeyCreated.v1', true],
    ['access', 'mt.qry.scheduler.GetJobs', true],
    ['access', 'mt.cmd.scheduler.QueueJob', false],
    ['access', 'mt.evt.datasets.DatasetRegistered.v1', false],
    ['gateway', 'mt.cmd.access.CreateApiKey', true],
  ])('%s may publish %s: %s', async (user, subject, allowed) => {
    const token = randomBytes(8).toString('hex');
    const seen: string[] = [];
    const observer = conns.admin.subscribe(subject, { callback: (_err, msg) => seen.push(sc.decode(msg.data)) });
    await conns.admin.flush();

    conns[user].publish(subject, sc.encode(token));
    await conns[user].flush(); // the server handles the PUB (or sends -ERR) before this PONG
    await conns.admin.flush(); // and delivers to the observer before the observer's PONG
    if (allowed) {
      expect(seen).toEqual([token]);
      expect(violated(user, 'publish', subject)).toBe(false);
    } else {
      await until(() => violated(user, 'publish', subject), `a publish violation for ${user} on ${subject}`);
      expect(seen).toEqual([]);
      expect(conns[user].isClosed()).toBe(false); // a violation is reported, not fatal
    }
    observer.unsubscribe();
  });

  // subscribe: a denied subscription is closed with a permissions error and receives nothing
  it.each<[User, string, string, boolean]>([
    ['datasets', 'mt.cmd.datasets.>', 'mt.cmd.datasets.RegisterDataset', true],
    ['datasets', 'mt.qry.datasets.>', 'mt.qry.datasets.GetDataset', true],
    ['datasets', 'mt.cmd.registry.>', 'mt.cmd.registry.CreateModelVersion', false],
    ['registry', 'mt.evt.>', 'mt.evt.experiments.RunCompleted.v1', true],
    ['scheduler', 'mt.agent.heartbeat', 'mt.agent.heartbeat', true],
    ['scheduler', 'mt.telemetry.job.>', 'mt.telemetry.job.j1.status', true],
    ['gateway', 'mt.telemetry.job.*.metrics', 'mt.telemetry.job.j1.metrics', true],
    ['gateway', 'mt.telemetry.run.*.metrics', 'mt.telemetry.run.r1.metrics', true],
    ['datasets', 'mt.telemetry.run.>', 'mt.telemetry.run.r1.metrics', false],
    ['gateway', 'mt.cmd.>', 'mt.cmd.datasets.RegisterDataset', false],
    ['agent', 'mt.agent.agent-1.>', 'mt.agent.agent-1.assign', true],
    ['agent', 'mt.agent.heartbeat', 'mt.agent.heartbeat', false],
    ['agent', 'mt.cmd.datasets.>', 'mt.cmd.datasets.RegisterDataset', false],
    ['agent', 'mt.evt.>', 'mt.evt.registry.ModelRegistered.v1', false],
    ['access', 'mt.cmd.access.>', 'mt.cmd.access.CreateApiKey', true],
    ['access', 'mt.qry.access.>', 'mt.qry.access.AuthenticateApiKey', true],
    ['access', 'mt.evt.>', 'mt.evt.access.ApiKeyCreated.v1', true],
    ['access', 'mt.cmd.datasets.>', 'mt.cmd.datasets.RegisterDataset', false],
    ['agent', 'mt.qry.access.>', 'mt.qry.access.AuthenticateApiKey', false],
  ])('%s may subscribe to %s (probe %s): %s', async (user, pattern, probe, allowed) => {
    const token = randomBytes(8).toString('hex');
    const seen: string[] = [];
    let error: NatsError | undefined;
    const sub = conns[user].subscribe(pattern, {
      callback: (err, msg) => {
        if (err) error = err;
        else seen.push(sc.decode(msg.data));
      },
    });
    await conns[user].flush(); // the SUB is registered (or refused) before this PONG

    conns.admin.publish(probe, sc.encode(token));
    await conns.admin.flush();
    await conns[user].flush();
    if (allowed) {
      expect(error).toBeUndefined();
      expect(seen).toEqual([token]);
      sub.unsubscribe();
    } else {
      await until(() => error !== undefined, `a subscription violation for ${user} on ${pattern}`);
      expect(error?.code).toBe(ErrorCode.PermissionsViolation);
      expect(seen).toEqual([]);
    }
  });

  it('lets the gateway send a command that the owning service answers (allow_responses)', async () => {
    const sub = conns.datasets.subscribe('mt.cmd.datasets.>', {
      queue: 'datasets',
      callback: (err, msg) => {
        if (!err) msg.respond(sc.encode(`ok:${sc.decode(msg.data)}`));
      },
    });
    await conns.datasets.flush();
    const reply = await conns.gateway.request('mt.cmd.datasets.RegisterDataset', sc.encode('ds-1'), { timeout: 2_000 });
    expect(sc.decode(reply.data)).toBe('ok:ds-1');
    sub.unsubscribe();
  });

  it('fails a request from the agent to another context with a permissions violation', async () => {
    await expect(conns.agent.request('mt.cmd.registry.X', sc.encode('{}'), { timeout: 2_000 })).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    expect(conns.agent.isClosed()).toBe(false);
  });

  it('carries domain events through JetStream: a service publishes its own context, the gateway consumes, nobody deletes', async () => {
    const stream = `MT_EVENTS_${randomBytes(3).toString('hex').toUpperCase()}`;
    const jsm = await conns.datasets.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: ['mt.evt.>'], duplicate_window: nanos(120_000) });

    const js = conns.datasets.jetstream();
    const ack = await js.publish('mt.evt.datasets.DatasetRegistered.v1', sc.encode('{"datasetId":"d1"}'), { msgID: 'event-1' });
    expect(ack.seq).toBe(1);
    const again = await js.publish('mt.evt.datasets.DatasetRegistered.v1', sc.encode('{"datasetId":"d1"}'), { msgID: 'event-1' });
    expect(again.duplicate).toBe(true);
    await expect(js.publish('mt.evt.registry.ModelRegistered.v1', sc.encode('{}'))).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });

    const gatewayJsm = await conns.gateway.jetstreamManager();
    await gatewayJsm.consumers.add(stream, { durable_name: 'lineage', ack_policy: AckPolicy.Explicit });
    const consumer = await conns.gateway.jetstream().consumers.get(stream, 'lineage');
    const msg = await consumer.next({ expires: 2_000 });
    expect(msg?.subject).toBe('mt.evt.datasets.DatasetRegistered.v1');
    await msg!.ackAck();
    expect((await consumer.info()).ack_floor.stream_seq).toBe(1);

    await expect(gatewayJsm.streams.delete(stream)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    await expect(gatewayJsm.streams.purge(stream)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    expect((await jsm.streams.info(stream)).state.messages).toBe(1);
    await (await conns.admin.jetstreamManager()).streams.delete(stream); // operators can
  });

  it('lets the agent publish telemetry into a stream the scheduler created, but not create streams itself', async () => {
    const stream = `MT_TELEMETRY_${randomBytes(3).toString('hex').toUpperCase()}`;
    const jsm = await conns.scheduler.jetstreamManager();
    await jsm.streams.add({ name: stream, subjects: ['mt.telemetry.job.>'], max_msgs_per_subject: 1_000, max_age: nanos(3_600_000) });

    const ack = await conns.agent.jetstream().publish('mt.telemetry.job.j1.metrics', sc.encode('{"step":1,"loss":0.5}'));
    expect(ack.stream).toBe(stream);

    const agentJsm = await conns.agent.jetstreamManager(); // read-only API calls are allowed
    expect((await agentJsm.streams.info(stream)).state.messages).toBe(1);
    await expect(agentJsm.streams.add({ name: `${stream}_X`, subjects: ['mt.agent.x.>'] })).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    await (await conns.admin.jetstreamManager()).streams.delete(stream);
  });
});
