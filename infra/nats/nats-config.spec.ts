import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accessRpc, datasetsRpc, experimentsRpc, lineageRpc, logRpc, monitoringRpc, registryRpc, schedulerRpc, subjects, webhooksRpc } from '@modeltrail/contracts';
import { DEFAULT_JOB_TELEMETRY_PREFIX, ensureEventsStream, ensureTelemetryStream, followJobTelemetry, publishJobTelemetry } from '@modeltrail/messaging';
import { describeWithNatsServerBinary, natsServerBinary } from '@modeltrail/testing';
import { connect, ErrorCode, Events, NatsError, StringCodec, type NatsConnection, type Status } from 'nats';
import { PLACEMENT_KICK_SUBJECT } from '../../services/scheduler/src/signals';

/**
 * infra/nats/nats.conf: the server accepts it, and the per-component users on a live server from
 * that very file can publish and subscribe what each component's code sends and listens on (the
 * subjects taken from the contracts and the code's own constants, the telemetry and event streams
 * driven by the libs/messaging functions the components call) and nothing the header comment forbids.
 * Needs the `nats-server` binary (Debian package nats-server; or point NATS_SERVER_BIN at one);
 * without it both suites are skipped, saying so in their names.
 */

const CONFIG = join(__dirname, 'nats.conf');
const DEV_CONFIG = join(__dirname, 'nats.dev.conf');
const COMPONENTS = ['datasets', 'experiments', 'scheduler', 'registry', 'monitoring', 'access', 'lineage', 'webhooks', 'gateway', 'agent', 'relay', 'admin'] as const;
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

  // What each component's code sends and listens on (the header of nats.conf says where each comes from).
  const SENDS: Record<Exclude<User, 'admin'>, string[]> = {
    datasets: [],
    access: [],
    lineage: [],
    webhooks: [],
    // DatasetVersionDirectory, AgentAssignments, agent credentials, RunTelemetryPublisher
    experiments: [datasetsRpc.getDatasetVersions.subject, schedulerRpc.getJobs.subject, accessRpc.authenticateApiKey.subject, subjects.runTelemetry('r1')],
    // NatsExperimentsClient, agent credentials, SchedulerSignals, JobStatusPublisher
    scheduler: [
      experimentsRpc.startRun.subject,
      experimentsRpc.completeRun.subject,
      experimentsRpc.failRun.subject,
      experimentsRpc.getRuns.subject,
      experimentsRpc.getExperiments.subject,
      experimentsRpc.getProjects.subject,
      accessRpc.authenticateApiKey.subject,
      subjects.agent('agent-1', 'wake'),
      PLACEMENT_KICK_SUBJECT,
      subjects.jobTelemetry('j1', 'status'),
    ],
    // SourcesClient
    registry: [experimentsRpc.getRuns.subject, experimentsRpc.listRunArtifacts.subject, experimentsRpc.getProjects.subject, datasetsRpc.listValidations.subject],
    // PlatformClients
    monitoring: [
      registryRpc.getModelVersions.subject,
      experimentsRpc.getProjects.subject,
      datasetsRpc.getDatasetVersions.subject,
      datasetsRpc.listDatasetVersions.subject,
      schedulerRpc.listJobs.subject,
    ],
    // every command and query (a sample of each context)
    gateway: [
      datasetsRpc.registerDataset.subject,
      experimentsRpc.startRun.subject,
      schedulerRpc.submitJob.subject,
      registryRpc.approvePromotion.subject,
      monitoringRpc.deployModel.subject,
      accessRpc.createApiKey.subject,
      logRpc.publishCheckpoint.subject,
      registryRpc.getModelVersions.subject,
      lineageRpc.lineage.subject,
      accessRpc.listApiKeys.subject,
      webhooksRpc.createWebhook.subject,
      webhooksRpc.listWebhookDeliveries.subject,
    ],
    // Agent and JobRun (libs/contracts: callers ['agent']), TelemetryPublisher
    agent: [
      schedulerRpc.registerAgent.subject,
      schedulerRpc.agentHeartbeat.subject,
      schedulerRpc.stopAgent.subject,
      schedulerRpc.reportJobStarted.subject,
      schedulerRpc.reportJobFinished.subject,
      schedulerRpc.appendJobLogs.subject,
      experimentsRpc.logMetrics.subject,
      experimentsRpc.logParams.subject,
      experimentsRpc.logArtifact.subject,
      subjects.jobTelemetry('j1', 'metrics'),
      subjects.jobTelemetry('j1', 'logs'),
    ],
    relay: [subjects.event('registry.ModelRegistered.v1'), subjects.event('datasets.DatasetRegistered.v1')],
  };

  const FORBIDDEN_SENDS: Array<[User, string]> = [
    // nobody but the relay publishes events
    ['datasets', 'mt.evt.datasets.DatasetRegistered.v1'],
    ['scheduler', 'mt.evt.scheduler.JobQueued.v1'],
    ['gateway', 'mt.evt.datasets.DatasetRegistered.v1'],
    ['agent', 'mt.evt.scheduler.JobSucceeded.v1'],
    // commands only where the code sends them: no other cross-context command, none to its own context
    ['scheduler', experimentsRpc.logMetrics.subject],
    ['scheduler', experimentsRpc.createExperiment.subject],
    ['scheduler', accessRpc.createApiKey.subject],
    ['scheduler', schedulerRpc.submitJob.subject],
    ['monitoring', schedulerRpc.submitJob.subject],
    ['monitoring', registryRpc.createModelVersion.subject],
    ['experiments', schedulerRpc.cancelJob.subject],
    ['experiments', experimentsRpc.startRun.subject],
    ['registry', experimentsRpc.startRun.subject],
    ['access', schedulerRpc.submitJob.subject],
    ['lineage', registryRpc.approvePromotion.subject],
    ['relay', datasetsRpc.registerDataset.subject],
    ['webhooks', datasetsRpc.registerDataset.subject],
    ['webhooks', 'mt.evt.webhooks.WebhookCreated.v1'],
    ['webhooks', webhooksRpc.createWebhook.subject],
    // queries only to what the code asks
    ['registry', accessRpc.authenticateApiKey.subject],
    ['monitoring', accessRpc.authenticateApiKey.subject],
    ['datasets', experimentsRpc.getRuns.subject],
    ['access', schedulerRpc.getJobs.subject],
    ['lineage', registryRpc.getModelVersions.subject],
    ['webhooks', accessRpc.authenticateApiKey.subject],
    ['webhooks', '_INBOX.someone-elses-reply'],
    // responders answer only requests they received
    ['datasets', '_INBOX.someone-elses-reply'],
    ['scheduler', '_INBOX.someone-elses-reply'],
    // the agent: only the commands agents may call, its jobs' metrics and logs, its own wake is not its to send
    ['agent', schedulerRpc.submitJob.subject],
    ['agent', schedulerRpc.drainAgent.subject],
    ['agent', schedulerRpc.getJobs.subject],
    ['agent', experimentsRpc.startRun.subject],
    ['agent', experimentsRpc.completeRun.subject],
    ['agent', accessRpc.authenticateApiKey.subject],
    ['agent', 'mt.cmd.registry.X'],
    ['agent', subjects.jobTelemetry('j1', 'status')],
    ['agent', subjects.agent('agent-2', 'wake')],
    ['agent', subjects.agentHeartbeat],
    ['agent', PLACEMENT_KICK_SUBJECT],
    // telemetry and signals from their one publisher only
    ['gateway', subjects.jobTelemetry('j1', 'metrics')],
    ['gateway', subjects.runTelemetry('r1')],
    ['experiments', subjects.jobTelemetry('j1', 'metrics')],
    ['scheduler', subjects.jobTelemetry('j1', 'metrics')],
    ['scheduler', subjects.runTelemetry('r1')],
    ['scheduler', subjects.agent('agent-1', 'cancel')],
    ['monitoring', PLACEMENT_KICK_SUBJECT],
    ['gateway', subjects.agent('agent-1', 'wake')],
    // stream maintenance is for operators
    ['scheduler', '$JS.API.STREAM.DELETE.MT_TELEMETRY'],
    ['relay', '$JS.API.STREAM.PURGE.MT_EVENTS'],
    ['gateway', '$JS.API.STREAM.CREATE.MT_X'],
    ['gateway', '$JS.API.STREAM.MSG.DELETE.MT_EVENTS'],
    ['agent', '$JS.API.STREAM.CREATE.MT_TELEMETRY'],
    ['agent', '$JS.API.CONSUMER.CREATE.MT_TELEMETRY'],
    ['datasets', '$JS.API.INFO'],
    ['experiments', '$JS.API.STREAM.CREATE.MT_X'],
  ];

  const publishCases: Array<[User, string, boolean]> = [
    ...Object.entries(SENDS).flatMap(([user, sent]) => sent.map((subject): [User, string, boolean] => [user as User, subject, true])),
    ...FORBIDDEN_SENDS.map(([user, subject]): [User, string, boolean] => [user, subject, false]),
  ];

  // publish: the admin observer (subscribed to everything) sees the message exactly when it is allowed
  it.each<[User, string, boolean]>(publishCases)('%s may publish %s: %s', async (user, subject, allowed) => {
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
    // each service: its own commands and queries (as NatsRpcTransport subscribes, one subject each)
    ['datasets', 'mt.cmd.datasets.>', datasetsRpc.registerDataset.subject, true],
    ['datasets', datasetsRpc.getDataset.subject, datasetsRpc.getDataset.subject, true],
    ['experiments', experimentsRpc.startRun.subject, experimentsRpc.startRun.subject, true],
    ['experiments', experimentsRpc.getRuns.subject, experimentsRpc.getRuns.subject, true],
    ['scheduler', schedulerRpc.agentHeartbeat.subject, schedulerRpc.agentHeartbeat.subject, true],
    ['scheduler', schedulerRpc.listJobs.subject, schedulerRpc.listJobs.subject, true],
    ['registry', registryRpc.createModelVersion.subject, registryRpc.createModelVersion.subject, true],
    ['registry', registryRpc.getModelVersions.subject, registryRpc.getModelVersions.subject, true],
    ['monitoring', monitoringRpc.ingestPredictions.subject, monitoringRpc.ingestPredictions.subject, true],
    ['monitoring', monitoringRpc.listAlerts.subject, monitoringRpc.listAlerts.subject, true],
    ['access', accessRpc.createApiKey.subject, accessRpc.createApiKey.subject, true],
    ['access', accessRpc.authenticateApiKey.subject, accessRpc.authenticateApiKey.subject, true],
    ['lineage', logRpc.publishCheckpoint.subject, logRpc.publishCheckpoint.subject, true],
    ['lineage', lineageRpc.lineage.subject, lineageRpc.lineage.subject, true],
    ['webhooks', webhooksRpc.createWebhook.subject, webhooksRpc.createWebhook.subject, true],
    ['webhooks', webhooksRpc.listWebhookDeliveries.subject, webhooksRpc.listWebhookDeliveries.subject, true],
    // replies for the components that send requests (RpcClient listens on `_INBOX.<id>.*`)
    ...(['experiments', 'scheduler', 'registry', 'monitoring', 'gateway', 'agent', 'relay'] as const).map((user): [User, string, string, boolean] => [user, '_INBOX.abc.*', '_INBOX.abc.1', true]),
    // those that only answer have no inbox
    ['datasets', '_INBOX.>', '_INBOX.abc.1', false],
    ['access', '_INBOX.>', '_INBOX.abc.1', false],
    ['lineage', '_INBOX.>', '_INBOX.abc.1', false],
    ['webhooks', '_INBOX.>', '_INBOX.abc.1', false],
    // the scheduler's placement kick, the agent's wake
    ['scheduler', PLACEMENT_KICK_SUBJECT, PLACEMENT_KICK_SUBJECT, true],
    ['agent', subjects.agent('agent-1', 'wake'), subjects.agent('agent-1', 'wake'), true],
    // the gateway's live views: core status changes of every job or one, and run metrics
    ['gateway', 'mt.telemetry.job.*.status', subjects.jobTelemetry('j1', 'status'), true],
    ['gateway', subjects.jobTelemetry('j1', 'status'), subjects.jobTelemetry('j1', 'status'), true],
    ['gateway', subjects.runTelemetry('r1'), subjects.runTelemetry('r1'), true],
    // nobody else listens to what is not theirs
    ['datasets', 'mt.cmd.registry.>', registryRpc.createModelVersion.subject, false],
    ['experiments', 'mt.cmd.scheduler.>', schedulerRpc.submitJob.subject, false],
    ['scheduler', 'mt.cmd.experiments.>', experimentsRpc.startRun.subject, false],
    ['scheduler', 'mt.telemetry.job.>', subjects.jobTelemetry('j1', 'metrics'), false],
    ['scheduler', 'mt.agent.>', subjects.agent('agent-1', 'wake'), false],
    ['experiments', 'mt.telemetry.job.>', subjects.jobTelemetry('j1', 'metrics'), false],
    ['monitoring', PLACEMENT_KICK_SUBJECT, PLACEMENT_KICK_SUBJECT, false],
    ['gateway', 'mt.cmd.>', datasetsRpc.registerDataset.subject, false],
    ['gateway', 'mt.telemetry.job.>', subjects.jobTelemetry('j1', 'metrics'), false],
    ['access', 'mt.cmd.datasets.>', datasetsRpc.registerDataset.subject, false],
    ['relay', 'mt.evt.>', 'mt.evt.registry.ModelRegistered.v1', false],
    ['webhooks', 'mt.evt.>', 'mt.evt.registry.PromotionApproved.v1', false],
    ['webhooks', 'mt.cmd.registry.>', registryRpc.approvePromotion.subject, false],
    // no platform process reads MT_EVENTS
    ['registry', 'mt.evt.>', 'mt.evt.experiments.RunCompleted.v1', false],
    ['gateway', 'mt.evt.>', 'mt.evt.experiments.RunCompleted.v1', false],
    // the agent: its wake only, not other traffic
    ['agent', 'mt.agent.*.assign', 'mt.agent.agent-1.assign', false],
    ['agent', subjects.agentHeartbeat, subjects.agentHeartbeat, false],
    ['agent', 'mt.cmd.scheduler.>', schedulerRpc.agentHeartbeat.subject, false],
    ['agent', 'mt.cmd.datasets.>', datasetsRpc.registerDataset.subject, false],
    ['agent', 'mt.evt.>', 'mt.evt.registry.ModelRegistered.v1', false],
    ['agent', 'mt.qry.access.>', accessRpc.authenticateApiKey.subject, false],
    ['agent', 'mt.telemetry.job.>', subjects.jobTelemetry('j1', 'status'), false],
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

  // request/reply end to end: the owning service answers (allow_responses), as each caller's code asks
  it.each<[User, string, User]>([
    ['gateway', datasetsRpc.registerDataset.subject, 'datasets'],
    ['gateway', logRpc.publishCheckpoint.subject, 'lineage'],
    ['gateway', accessRpc.createApiKey.subject, 'access'],
    ['gateway', webhooksRpc.createWebhook.subject, 'webhooks'],
    ['gateway', webhooksRpc.listWebhookDeliveries.subject, 'webhooks'],
    ['scheduler', experimentsRpc.startRun.subject, 'experiments'],
    ['scheduler', experimentsRpc.completeRun.subject, 'experiments'],
    ['scheduler', experimentsRpc.failRun.subject, 'experiments'],
    ['scheduler', accessRpc.authenticateApiKey.subject, 'access'],
    ['experiments', accessRpc.authenticateApiKey.subject, 'access'],
    ['experiments', schedulerRpc.getJobs.subject, 'scheduler'],
    ['experiments', datasetsRpc.getDatasetVersions.subject, 'datasets'],
    ['registry', experimentsRpc.listRunArtifacts.subject, 'experiments'],
    ['registry', datasetsRpc.listValidations.subject, 'datasets'],
    ['monitoring', schedulerRpc.listJobs.subject, 'scheduler'],
    ['monitoring', registryRpc.getModelVersions.subject, 'registry'],
    ['agent', schedulerRpc.agentHeartbeat.subject, 'scheduler'],
    ['agent', schedulerRpc.reportJobFinished.subject, 'scheduler'],
    ['agent', experimentsRpc.logMetrics.subject, 'experiments'],
  ])('%s sends %s and %s answers', async (caller, subject, responder) => {
    const context = subject.split('.')[2];
    const sub = conns[responder].subscribe(`mt.${subject.split('.')[1]}.${context}.>`, {
      queue: responder,
      callback: (err, msg) => {
        if (!err) msg.respond(sc.encode(`ok:${sc.decode(msg.data)}`));
      },
    });
    await conns[responder].flush();
    const reply = await conns[caller].request(subject, sc.encode('x-1'), { timeout: 2_000 });
    expect(sc.decode(reply.data)).toBe('ok:x-1');
    expect(violated(responder, 'publish', reply.subject)).toBe(false);
    sub.unsubscribe();
  });

  it('fails a request from the agent to another context with a permissions violation', async () => {
    await expect(conns.agent.request('mt.cmd.registry.X', sc.encode('{}'), { timeout: 2_000 })).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    await expect(conns.agent.request(experimentsRpc.startRun.subject, sc.encode('{}'), { timeout: 2_000 })).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    expect(conns.agent.isClosed()).toBe(false);
  });

  it('carries domain events through JetStream: the relay creates MT_EVENTS and publishes, services may not, nobody deletes', async () => {
    const stream = `MT_EVENTS_${randomBytes(3).toString('hex').toUpperCase()}`;
    const relayJsm = await conns.relay.jetstreamManager();
    await ensureEventsStream(relayJsm, { streamName: stream }); // as EventRelay.start
    await ensureEventsStream(relayJsm, { streamName: stream, duplicateWindowMs: 60_000 }); // and brings it in line

    const js = conns.relay.jetstream();
    const ack = await js.publish('mt.evt.datasets.DatasetRegistered.v1', sc.encode('{"datasetId":"d1"}'), { msgID: 'event-1' });
    expect(ack.seq).toBe(1);
    const again = await js.publish('mt.evt.datasets.DatasetRegistered.v1', sc.encode('{"datasetId":"d1"}'), { msgID: 'event-1' });
    expect(again.duplicate).toBe(true);
    await expect(conns.datasets.jetstream().publish('mt.evt.datasets.DatasetRegistered.v2', sc.encode('{}'))).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });

    await expect(relayJsm.streams.purge(stream)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    await expect(relayJsm.streams.delete(stream)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    const gatewayJsm = await conns.gateway.jetstreamManager();
    await expect(gatewayJsm.streams.delete(stream)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    await expect(gatewayJsm.streams.purge(stream)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });

    const adminJsm = await conns.admin.jetstreamManager();
    expect((await adminJsm.streams.info(stream)).state.messages).toBe(1);
    await adminJsm.streams.delete(stream); // operators can
  });

  it('carries job telemetry: the scheduler creates the stream and publishes status, the agent metrics and logs, the gateway follows', async () => {
    const stream = `MT_TELEMETRY_${randomBytes(3).toString('hex').toUpperCase()}`;
    const jobId = `j${randomBytes(4).toString('hex')}`;
    const agentJsm = await conns.agent.jetstreamManager(); // read-only API calls are allowed
    // the agent cannot create the stream (its start fails until the scheduler has)
    await expect(ensureTelemetryStream(agentJsm, { streamName: stream })).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });

    await ensureTelemetryStream(await conns.scheduler.jetstreamManager(), { streamName: stream }); // JobStatusPublisher.create
    await ensureTelemetryStream(await conns.scheduler.jetstreamManager(), { streamName: stream, maxMessagesPerSubject: 1_000 }); // brought in line
    await ensureTelemetryStream(agentJsm, { streamName: stream, maxMessagesPerSubject: 1_000 }); // Agent.start: finds it as it wants it

    const statuses: string[] = [];
    const statusSub = conns.gateway.subscribe(`${DEFAULT_JOB_TELEMETRY_PREFIX}.*.status`, { callback: (_err, msg) => statuses.push(msg.subject) });
    await conns.gateway.flush();

    await publishJobTelemetry(conns.scheduler.jetstream(), DEFAULT_JOB_TELEMETRY_PREFIX, jobId, 'status', [{ seq: 1 }]);
    await publishJobTelemetry(conns.agent.jetstream(), DEFAULT_JOB_TELEMETRY_PREFIX, jobId, 'logs', [{ seq: 1 }]);
    await publishJobTelemetry(conns.agent.jetstream(), DEFAULT_JOB_TELEMETRY_PREFIX, jobId, 'metrics', [{ seq: 1 }, { seq: 2 }]);
    await expect(publishJobTelemetry(conns.agent.jetstream(), DEFAULT_JOB_TELEMETRY_PREFIX, jobId, 'status', [{ seq: 9 }], 2_000)).rejects.toMatchObject({
      code: ErrorCode.PermissionsViolation,
    });
    await until(() => statuses.length === 1, 'the status change on the gateway');
    expect(statuses).toEqual([subjects.jobTelemetry(jobId, 'status')]);
    statusSub.unsubscribe();

    // the gateway's jobProgress: replays what is stored, then follows (an ordered pull consumer)
    const items = await followJobTelemetry(conns.gateway, { streamName: stream, jobId, replayLast: 10, decode: (item) => item as { seq: number } });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) {
      const next = await items.next();
      seen.push(`${next.value.subject}:${next.value.seq}`);
    }
    expect(seen).toEqual(['status:1', 'logs:1', 'metrics:1', 'metrics:2']);
    await publishJobTelemetry(conns.agent.jetstream(), DEFAULT_JOB_TELEMETRY_PREFIX, jobId, 'metrics', [{ seq: 3 }]);
    const live = await items.next();
    expect(`${live.value.subject}:${live.value.seq}`).toBe('metrics:3');
    await items.return!();

    await expect(agentJsm.streams.update(stream, { max_msgs_per_subject: 5 })).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    await expect((await conns.scheduler.jetstreamManager()).streams.delete(stream)).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    await expect((await conns.gateway.jetstreamManager()).streams.add({ name: `${stream}_X`, subjects: ['mt.x.>'] })).rejects.toMatchObject({ code: ErrorCode.PermissionsViolation });
    expect(violations.gateway.filter((v) => v.subject.startsWith('$JS.API.CONSUMER'))).toEqual([]);
    await (await conns.admin.jetstreamManager()).streams.delete(stream);
  });
});
