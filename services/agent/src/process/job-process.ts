import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { buildJobEnv } from './env';
import { signalGroup } from './group';
import { LineSplitter } from './line-splitter';
import { processGroupAlive, processIdentity } from './procfs';
import { prepareOutputDir, type JobUser } from './user';

/**
 * Runs one job's process on this node.
 *
 * The argv is executed directly, never through a shell (`; rm -rf /` is one literal argument),
 * as the leader of a new process group (and session), so that stopping the job reaches every
 * process it started. Its stdin is /dev/null; stdout and stderr are read line by line.
 *
 * Stopping (cancel or timeout): SIGTERM to the whole group, then, if any member is still alive
 * after the grace period, SIGKILL to the whole group. When the main process ends by itself while
 * other members of its group still run (a background worker, a data loader), those are stopped
 * too, with a short grace: a job leaves nothing running behind it. The exit is reported once
 * the group has no live member and both streams are read to their end.
 */

export type OutputStream = 'stdout' | 'stderr';

/** One line the job wrote. */
export interface OutputLine {
  stream: OutputStream;
  /** 0, 1, 2, ... across both streams, in the order the agent read the lines. */
  seq: number;
  /** When the agent read the line, ISO-8601 UTC. */
  time: string;
  /** The line without its newline (and without a `\r` before it). */
  text: string;
  /** The line was longer than `maxLineBytes`: `text` is its beginning, the rest was dropped. */
  truncated: boolean;
}

export type JobOutcome = 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export interface JobExit {
  /** The main process's exit code; null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended the main process, if one did. */
  signal: NodeJS.Signals | null;
  /** From the start to the main process's end. */
  durationMs: number;
  /**
   * TIMED_OUT when the agent stopped it at its time limit, CANCELLED when `stop` was called
   * (whatever the exit code), otherwise SUCCEEDED for exit code 0 and FAILED for anything else.
   */
  outcome: JobOutcome;
  /** The reason given to `stop` (or `timeout after <n> s`); null when the job ended by itself. */
  stopReason: string | null;
  /** SIGKILL was sent to the group (something outlived SIGTERM and the grace). */
  killed: boolean;
  startedAt: string;
  endedAt: string;
  /** Things worth a line in the run's log: leftover processes stopped, platform variables the job's env tried to set, ... */
  warnings: string[];
}

export interface JobProcessSpec {
  jobId: string;
  runId: string;
  /** Program and arguments; the program is looked up on the PATH of the job's environment unless it holds a `/`. */
  argv: readonly string[];
  /** The job's own environment variables. */
  jobEnv?: Readonly<Record<string, string>>;
  /** The agent's base environment for jobs (PATH, HOME, LANG, ...), from its configuration. */
  baseEnv?: Readonly<Record<string, string | undefined>>;
  /** UUIDs of the GPUs assigned to the job (CUDA_VISIBLE_DEVICES); empty for a CPU job. */
  gpuUuids: readonly string[];
  /** Absolute path; created (and handed to `user`) before the start. */
  outputDir: string;
  workingDir: string;
  /** Run as this user (see jobUserFor); null or absent: as the agent's user. */
  user?: JobUser | null;
  telemetrySubject?: string | null;
  /** Stop the job (TIMED_OUT) after this many seconds; null or absent: no limit. */
  timeoutSeconds?: number | null;
  /** Grace between SIGTERM and SIGKILL at the time limit. Default 10. */
  timeoutGraceSeconds?: number;
  /** Grace for processes of the group still running when the main process has ended. Default 2. */
  leftoverGraceSeconds?: number;
  /** Longest line kept whole, in bytes. Default 64 KiB. */
  maxLineBytes?: number;
  /** Called for each line, in `seq` order. Should not throw: an error it throws is caught and noted in the exit's warnings. */
  onLine: (line: OutputLine) => void;
  /** Clock for line times (tests). */
  now?: () => Date;
}

export interface JobProcess {
  readonly jobId: string;
  readonly runId: string;
  readonly pid: number;
  /** The job's process group (the pid: the job leads its own group). */
  readonly pgid: number;
  readonly startedAt: string;
  /** `<boot id>/<start ticks>` of the process, for the state file (tells it from a later process with the same pid); null without /proc. */
  readonly identity: string | null;
  /** Resolves once, when the job has ended and its group is gone; never rejects. */
  readonly exited: Promise<JobExit>;
  /**
   * SIGTERM to the group now, SIGKILL after `graceSeconds` if any member lives. Resolves with the
   * exit. Calling it again only ever brings the SIGKILL earlier; the first reason is the one
   * reported. After the end, resolves with the exit as it was.
   */
  stop(reason: string, graceSeconds: number): Promise<JobExit>;
}

export class JobStartError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'JobStartError';
  }
}

const DEFAULT_MAX_LINE_BYTES = 64 * 1024;
const POLL_MS = 25;
/** How long the streams may stay open once the group is gone (a process that left the group with setsid holds them). */
const STREAM_DRAIN_MS = 1_000;
/** How long to wait for a group to vanish after SIGKILL before reporting anyway. */
const AFTER_KILL_MS = 5_000;

export async function startJobProcess(spec: JobProcessSpec): Promise<JobProcess> {
  checkArgv(spec.argv);
  checkSeconds('timeoutSeconds', spec.timeoutSeconds ?? null);
  const { env, overridden } = buildJobEnv({
    baseEnv: spec.baseEnv,
    jobEnv: spec.jobEnv,
    runId: spec.runId,
    jobId: spec.jobId,
    outputDir: spec.outputDir,
    gpuUuids: spec.gpuUuids,
    telemetrySubject: spec.telemetrySubject,
  });
  await prepareOutputDir(spec.outputDir, spec.user ?? null);
  const now = spec.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const startedMs = performance.now();

  const child = spawn(spec.argv[0], spec.argv.slice(1), {
    cwd: spec.workingDir,
    env,
    detached: true,
    shell: false,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(new JobStartError(`could not start ${JSON.stringify(spec.argv[0])} in ${spec.workingDir}: ${error.message}`, error.code));
    });
  });
  const pid = child.pid as number;
  const run = new RunningJob(spec, child, pid, startedAt, startedMs, now);
  for (const key of overridden) run.warnings.push(`the job's environment sets ${key}, which the platform sets: the job's value was dropped`);
  return {
    jobId: spec.jobId,
    runId: spec.runId,
    pid,
    pgid: pid,
    startedAt,
    identity: processIdentity(pid),
    exited: run.exited,
    stop: (reason, graceSeconds) => run.stop(reason, graceSeconds, 'CANCELLED'),
  };
}

class RunningJob {
  readonly warnings: string[] = [];
  readonly exited: Promise<JobExit>;
  private resolveExit!: (exit: JobExit) => void;
  private seq = 0;
  private stopping: { reason: string; outcome: 'CANCELLED' | 'TIMED_OUT' } | null = null;
  private killAt = Number.POSITIVE_INFINITY;
  private killTimer: NodeJS.Timeout | null = null;
  private timeoutTimer: NodeJS.Timeout | null = null;
  private killed = false;
  private mainExit: { code: number | null; signal: NodeJS.Signals | null; durationMs: number } | null = null;
  private openStreams = 2;
  private done = false;
  private lineHandlerFailed = false;

  constructor(
    private readonly spec: JobProcessSpec,
    private readonly child: ChildProcess,
    private readonly pgid: number,
    private readonly startedAt: string,
    private readonly startedMs: number,
    private readonly now: () => Date,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    const maxLineBytes = spec.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.capture(child.stdout as Readable, 'stdout', maxLineBytes);
    this.capture(child.stderr as Readable, 'stderr', maxLineBytes);
    child.once('exit', (code, signal) => this.onMainExit(code, signal));
    const timeout = spec.timeoutSeconds;
    if (timeout !== null && timeout !== undefined) {
      this.timeoutTimer = setTimeout(() => {
        void this.stop(`timeout after ${timeout} s`, spec.timeoutGraceSeconds ?? 10, 'TIMED_OUT');
      }, timeout * 1000);
    }
  }

  stop(reason: string, graceSeconds: number, outcome: 'CANCELLED' | 'TIMED_OUT'): Promise<JobExit> {
    if (this.done) return this.exited;
    checkSeconds('graceSeconds', graceSeconds);
    // A stop that comes after the main process ended (while its leftovers are being stopped)
    // does not change the outcome: the job ended by itself.
    if (this.stopping === null && this.mainExit === null) {
      this.stopping = { reason, outcome };
      this.signal('SIGTERM');
    }
    this.scheduleKill(Date.now() + graceSeconds * 1000);
    return this.exited;
  }

  private capture(stream: Readable, name: OutputStream, maxLineBytes: number): void {
    const splitter = new LineSplitter(maxLineBytes, ({ text, truncated }) => {
      const line: OutputLine = { stream: name, seq: this.seq++, time: this.now().toISOString(), text, truncated };
      try {
        this.spec.onLine(line);
      } catch (error) {
        if (!this.lineHandlerFailed) this.warnings.push(`the line handler failed (line ${line.seq}): ${(error as Error).message}`);
        this.lineHandlerFailed = true;
      }
    });
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      splitter.end();
      this.openStreams -= 1;
    };
    stream.on('data', (chunk: Buffer) => splitter.push(chunk));
    stream.once('end', end);
    stream.once('close', end);
    stream.once('error', end);
  }

  private onMainExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.mainExit = { code, signal, durationMs: Math.round(performance.now() - this.startedMs) };
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    if (this.stopping === null && processGroupAlive(this.pgid)) {
      const grace = this.spec.leftoverGraceSeconds ?? 2;
      this.warnings.push(`processes of the job's group still ran after its main process ended: sent SIGTERM, SIGKILL after ${grace} s`);
      this.signal('SIGTERM');
      this.scheduleKill(Date.now() + grace * 1000);
    }
    void this.waitForEnd();
  }

  /** After the main exit: polls until the group is gone, then gives the streams a moment to drain. */
  private async waitForEnd(): Promise<void> {
    let goneAt: number | null = null;
    let killedAt: number | null = null;
    while (!this.done) {
      const alive = processGroupAlive(this.pgid);
      if (this.killed && killedAt === null) killedAt = Date.now();
      if (!alive && goneAt === null) goneAt = Date.now();
      if (!alive && this.openStreams === 0) return this.finish();
      if (goneAt !== null && Date.now() - goneAt > STREAM_DRAIN_MS) {
        this.warnings.push('the output streams stayed open after the job ended (a process left its group and still holds them): closed');
        (this.child.stdout as Readable).destroy();
        (this.child.stderr as Readable).destroy();
        return this.finish();
      }
      if (alive && killedAt !== null && Date.now() - killedAt > AFTER_KILL_MS) {
        this.warnings.push(`process group ${this.pgid} still has live members ${AFTER_KILL_MS / 1000} s after SIGKILL (stuck in the kernel?)`);
        return this.finish();
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** SIGKILL to the group at `at`, unless one is already due earlier. */
  private scheduleKill(at: number): void {
    if (at >= this.killAt) return;
    this.killAt = at;
    if (this.killTimer) clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => {
      this.killTimer = null;
      if (!this.done && processGroupAlive(this.pgid)) {
        this.killed = true;
        this.signal('SIGKILL');
      }
    }, Math.max(0, at - Date.now()));
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      signalGroup(this.pgid, signal);
    } catch (error) {
      this.warnings.push(`could not send ${signal} to process group ${this.pgid}: ${(error as Error).message}`);
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.timeoutTimer) clearTimeout(this.timeoutTimer);
    const main = this.mainExit as NonNullable<RunningJob['mainExit']>;
    const outcome: JobOutcome = this.stopping !== null ? this.stopping.outcome : main.code === 0 ? 'SUCCEEDED' : 'FAILED';
    this.resolveExit({
      exitCode: main.code,
      signal: main.signal,
      durationMs: main.durationMs,
      outcome,
      stopReason: this.stopping?.reason ?? null,
      killed: this.killed,
      startedAt: this.startedAt,
      endedAt: this.now().toISOString(),
      warnings: this.warnings,
    });
  }
}

function checkArgv(argv: readonly string[]): void {
  if (!Array.isArray(argv) || argv.length === 0) throw new Error('the job command must name a program');
  argv.forEach((arg, index) => {
    if (typeof arg !== 'string') throw new Error(`argument ${index} of the job command must be a string`);
    if (arg.includes('\0')) throw new Error(`argument ${index} of the job command must not hold a NUL character`);
  });
  if (argv[0] === '') throw new Error('the job command must name a program');
}

function checkSeconds(name: string, value: number | null): void {
  if (value === null) return;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number of seconds, got ${value}`);
}
