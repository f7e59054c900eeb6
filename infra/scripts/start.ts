/**
 * `npm start`: the whole platform, in one of two ways, chosen from what answers (and said so):
 * - services: every ModelTrail process as its own child process, each with its own SERVICE_NAME,
 *   prefixing its output, talking over NATS (when a NATS server answers, or NATS_URL is set);
 * - one process: every service, the gateway and one agent composed in this process on the
 *   in-process bus (when NATS_URL is unset and nothing answers at the default address, or
 *   MODELTRAIL_MODE=one-process); see one-process.ts.
 * The database is DATABASE_URL when set, else the PostgreSQL answering at the default address,
 * else an embedded PostgreSQL started from node_modules with its data under
 * MODELTRAIL_DATA_DIR/postgres (./data/postgres), stopped when the platform stops.
 * Ctrl-C (or SIGTERM) stops everything; if one process exits, the rest are stopped and the exit
 * code says so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { type AppConfig, ConfigError, DEFAULTS, loadConfig } from '@modeltrail/config';
import { redactNatsUrl } from '@modeltrail/messaging';
import { chooseDatabase, type DatabaseChoice, portAnswers, redactUrl } from '@modeltrail/postgres';
import { prepareDatabase } from './prepare-database';

interface ProcessSpec {
  name: string;
  entry: string;
}

/** Every process of the platform, in start order. Extend as services land. */
export const PROCESSES: ProcessSpec[] = [
  { name: 'relay', entry: 'services/relay/src/main.js' },
  { name: 'datasets', entry: 'services/datasets/src/main.js' },
  { name: 'experiments', entry: 'services/experiments/src/main.js' },
  { name: 'scheduler', entry: 'services/scheduler/src/main.js' },
  { name: 'registry', entry: 'services/registry/src/main.js' },
  { name: 'monitoring', entry: 'services/monitoring/src/main.js' },
  { name: 'lineage', entry: 'services/lineage/src/main.js' },
  { name: 'access', entry: 'services/access/src/main.js' },
  { name: 'webhooks', entry: 'services/webhooks/src/main.js' },
  { name: 'gateway', entry: 'gateway/src/main.js' },
  // One local agent: its GPUs from nvidia-smi, or the machine's CPUs and memory when there is none.
  { name: 'agent', entry: 'services/agent/src/main.js' },
];

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];
const distRoot = join(__dirname, '..', '..');
const say = (line: string) => process.stdout.write(`ModelTrail: ${line}\n`);

interface MessagingChoice {
  oneProcess: boolean;
  reason: string;
}

/** An error of the start script itself: printed as it is, without a stack. */
class StartError extends Error {}

/**
 * Separate processes over NATS, or one process on the in-process bus: MODELTRAIL_MODE when it
 * says which; NATS_URL when set (it must answer); else whether a NATS server answers at the
 * default address.
 */
async function chooseMessaging(config: AppConfig, env: NodeJS.ProcessEnv): Promise<MessagingChoice> {
  if (config.mode === 'one-process') {
    if (config.env === 'production') throw new StartError('MODELTRAIL_MODE=one-process is for development and evaluation: production runs the services topology over NATS (NODE_ENV=production)');
    return { oneProcess: true, reason: 'MODELTRAIL_MODE=one-process: running in one process on the in-process bus' };
  }
  const configured = env.NATS_URL?.trim();
  const url = configured || DEFAULTS.NATS_URL;
  const { host, port } = natsAddress(url);
  if (await portAnswers(host, port, 1_500)) {
    return { oneProcess: false, reason: `NATS answers at ${redactNatsUrl(url)}${configured ? ' (NATS_URL)' : ''}: running every service as its own process` };
  }
  if (configured) throw new StartError(`NATS_URL is set to ${redactNatsUrl(url)}, but nothing answers there: start NATS (with JetStream), or unset NATS_URL to run everything in one process`);
  if (config.mode === 'services') throw new StartError(`MODELTRAIL_MODE=services, but no NATS answers at ${url}: start NATS (with JetStream), set NATS_URL, or unset MODELTRAIL_MODE`);
  return { oneProcess: true, reason: `no NATS at ${url} and NATS_URL unset: running in one process on the in-process bus` };
}

function natsAddress(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(parsed.port || 4222) };
}

async function main(): Promise<void> {
  const started = Date.now();
  const config = loadConfig(process.env, { serviceName: 'start' });
  // Every entry point must exist before anything starts: never leave a half-started platform.
  const missing = PROCESSES.map((spec) => join(distRoot, spec.entry)).filter((entry) => !existsSync(entry));
  if (missing.length) throw new StartError(`missing ${missing.join(', ')}; run npm run build`);

  const messaging = await chooseMessaging(config, process.env);
  say(messaging.reason);
  const database = await chooseDatabase(process.env, { dataDir: join(config.dataDir, 'postgres'), defaultUrl: DEFAULTS.DATABASE_URL });
  say(`PostgreSQL: ${database.reason}`);
  const shown = (path: string) => (relative(process.cwd(), path).startsWith('..') ? path : `./${relative(process.cwd(), path)}`);
  say(`data: artifacts in ${shown(config.artifactRoot)}, the agent's files in ${shown(config.agent.dataDir)}${database.source === 'embedded' ? `, PostgreSQL in ${shown(database.dataDir!)}` : ''}`);
  try {
    // Create the database and run migrations once, before anything connects.
    await prepareDatabase({ ...config, databaseUrl: database.url }).catch((error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      throw new StartError(database.source === 'DATABASE_URL' ? `DATABASE_URL (${redactUrl(database.url)}) cannot be used: ${message}` : `PostgreSQL at ${redactUrl(database.url)} cannot be used: ${message}`);
    });
    // People reading a terminal get one readable line per log record; a pipe (a log shipper) gets JSON.
    const env = { ...process.env, DATABASE_URL: database.url, LOG_FORMAT: process.env.LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json') };
    if (messaging.oneProcess) await runOneProcess(env, database, started);
    else await runServices(env, database, config);
  } catch (error) {
    await database.stop().catch(() => undefined);
    throw error;
  }
}

/** The one-process composition, stopped (database included) on SIGINT/SIGTERM or when its agent fails. */
async function runOneProcess(env: NodeJS.ProcessEnv, database: DatabaseChoice, started: number): Promise<void> {
  // Loaded only here: the services topology never pays for composing every module in this process.
  const { startOneProcess } = await import('./one-process');
  // The parts' lines go to the process's one JSON log (docs/observability.md).
  const platform = await startOneProcess({ env });
  const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);
  say(`GraphQL API at ${platform.graphqlUrl}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s, this process uses ${mib(process.memoryUsage().rss)} MiB`);
  let stopping = false;
  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    process.exitCode = code;
    say('stopping (running jobs get up to 30 s)');
    setTimeout(() => process.exit(code || 1), 45_000).unref();
    void platform
      .stop()
      .then(() => database.stop())
      .catch((error: unknown) => process.stderr.write(`ModelTrail: stopping failed: ${error instanceof Error ? error.message : String(error)}\n`))
      .finally(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  platform.agentStopped.then(
    () => stop(1),
    (error: unknown) => {
      say(`the agent stopped: ${error instanceof Error ? error.message : String(error)}; stopping the platform`);
      stop(1);
    },
  );
}

/** Every process as a child process; the embedded PostgreSQL, if any, stops after the last one. */
async function runServices(env: NodeJS.ProcessEnv, database: DatabaseChoice, config: AppConfig): Promise<void> {
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const exitWhenDone = () => {
    if (children.size > 0) return;
    void database
      .stop()
      .catch(() => undefined)
      .finally(() => process.exit());
  };
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    process.exitCode = code;
    say(`stopping ${[...children.keys()].join(', ')}`);
    for (const child of children.values()) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, 10_000).unref();
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  // Each process but the gateway (which serves them on its PORT) gets its own ops port for
  // /metrics, /health and /ready: OPS_PORT, OPS_PORT+1, ... when set, else free ports.
  const opsPorts = await opsPortsFor(PROCESSES.filter((spec) => spec.name !== 'gateway').map((spec) => spec.name), config);
  PROCESSES.forEach((spec, index) => {
    const entry = join(distRoot, spec.entry);
    const opsPort = opsPorts.get(spec.name);
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      env: { ...env, SERVICE_NAME: spec.name, ...(opsPort === undefined ? {} : { OPS_PORT: String(opsPort) }) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(spec.name, child);
    const prefix = `\u001b[${COLORS[index % COLORS.length]}m${spec.name.padEnd(12)}\u001b[0m|`;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix} ${line}\n`));
    }
    child.on('error', (error) => {
      process.stdout.write(`${prefix} could not run: ${error.message}; stopping the platform\n`);
      children.delete(spec.name);
      stopAll(1);
      exitWhenDone();
    });
    child.on('exit', (code, signal) => {
      children.delete(spec.name);
      if (!stopping) {
        process.stdout.write(`${prefix} exited (${signal ?? code}); stopping the platform\n`);
        stopAll(code || 1);
      }
      exitWhenDone();
    });
  });
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  say(`started ${PROCESSES.map((p) => p.name).join(', ')}; the GraphQL API will be at http://${host}:${config.port}/graphql once the gateway says so`);
  const opsHost = config.observability.opsHost.includes(':') ? `[${config.observability.opsHost}]` : config.observability.opsHost;
  say(`metrics (and /health, /ready): gateway http://${host}:${config.port}/metrics, ${[...opsPorts].map(([name, port]) => `${name} http://${opsHost}:${port}/metrics`).join(', ')}`);
}

/** An ops port per process: consecutive from OPS_PORT when set (not 0), else free ports of OPS_HOST. */
async function opsPortsFor(names: ReadonlyArray<string>, config: AppConfig): Promise<Map<string, number>> {
  const base = config.observability.opsPort;
  if (base) return new Map(names.map((name, index) => [name, base + index]));
  const ports = new Map<string, number>();
  for (const name of names) ports.set(name, await freeOpsPort(config.observability.opsHost, new Set(ports.values())));
  return ports;
}

function freeOpsPort(host: string, taken: ReadonlySet<number>): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => (taken.has(port) ? freeOpsPort(host, taken).then(resolve, reject) : resolve(port)));
    });
  });
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError || error instanceof StartError ? error.message : error instanceof Error ? error.message : String(error);
  process.stderr.write(`ModelTrail failed to start: ${message}\n`);
  process.exit(1);
});
