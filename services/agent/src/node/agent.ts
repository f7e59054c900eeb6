import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Subscription } from 'nats';
import { ArtifactStore } from '@modeltrail/artifacts';
import {
  agentPrincipal,
  ConflictError,
  ForbiddenError,
  type GpuStatus,
  type JobAssignment,
  type Labels,
  type MessageHeaders,
  NotFoundError,
  type RpcReply,
  schedulerRpc,
  subjects,
  UnauthenticatedError,
  withNamespace,
} from '@modeltrail/contracts';
import { DEFAULT_JOB_TELEMETRY_PREFIX, defaultLogger, ensureTelemetryStream, type MessageBus, type MessagingLogger, RpcClient, TELEMETRY_STREAM } from '@modeltrail/messaging';
import { DEFAULT_PROBE_TIMEOUT_MS, probeGpus } from '../gpu/probe';
import { processGroupMembers } from '../process/procfs';
import { stopProcessGroup } from '../process/group';
import { JobStateFile, recordedJobState } from '../process/state-file';
import type { JobUser } from '../process/user';
import { type AgentCapacity, describeCapacity, detectCapacity } from './capacity';
import { JobRun, type JobRunContext } from './job-run';
import { AgentStoppedError, DEFAULT_RETRY, describeError, RateLimitedLog, withRetries } from './retry';
import { AgentSessionFile, type AgentSessionRecord } from './session-file';

/**
 * The GPU-node agent: registers this node's capacity with the scheduler, heartbeats, and runs
 * the jobs it is assigned (JobRun), until it is stopped.
 *
 * Sessions. Each start is a new session (a fresh `sessionId`) under the node's stable agent id.
 * The scheduler refuses (CONFLICT) a second session while another one holds the id and is live:
 * when that session is this node's own previous process, recorded in the data directory's
 * session file and provably gone, the agent registers again with `replaceSession`; otherwise it
 * gives up with AgentIdConflictError, naming the id and what to do (another process uses the
 * id), instead of retrying for ever. Other registration failures (the scheduler not up yet) are
 * retried with backoff.
 *
 * Heartbeats. Every `heartbeatIntervalMs` (from the registration reply), and at once when the
 * scheduler publishes on `mt.agent.<agentId>.wake` (it does so when it assigns or cancels
 * something for this agent). A heartbeat lists every job the agent holds, with its fencing
 * token and pid, and whether it takes assignments. Its reply brings:
 * - `abandon`: kill those groups, report nothing;
 * - `cancel`: stop those jobs (SIGTERM, grace, SIGKILL) and report CANCELLED; a cancel of a job
 *   this agent does not hold (its assignment never arrived) is reported CANCELLED at once;
 * - `assignments`: start them (a repeated assignment of a job already held is ignored);
 * - `reregister`: the scheduler does not know this session any more (it was declared lost):
 *   every job held is killed without a report (the scheduler has requeued them already), and
 *   the agent registers a new session.
 * A heartbeat refused with NOT_FOUND or CONFLICT is taken as `reregister`; one that fails
 * (timeout, no scheduler) is tried again at the next interval.
 *
 * Drain. DrainAgent is the scheduler's business: it places nothing more here; the agent keeps
 * running what it holds.
 *
 * Stop (`stop()`, on SIGTERM/SIGINT in main). The agent stops taking assignments at once (a
 * heartbeat with `acceptAssignments: false`; an assignment that still arrives is handed back as
 * CANCELLED-without-a-request, which the scheduler records as a lost attempt and requeues).
 * Running jobs get up to `stopGraceMs` (default 30 s; there is no setting for it in the
 * configuration) to end by themselves, reported as usual, with heartbeats and cancels going on.
 * Then the remaining ones are stopped (SIGTERM, the job's cancel grace, SIGKILL) and not
 * reported, unless the scheduler had asked for their cancel: the scheduler finds them lost when
 * this session's lease runs out and requeues them. They are never reported SUCCEEDED.
 *
 * Restart mid-job. Jobs are recorded in the data directory's state file. A job whose process
 * group still runs after the agent that started it died cannot be taken back: its output pipes
 * went with the old agent, so its logs, metrics and exit status can no longer be read. At start
 * the agent therefore stops every recorded job that still runs (SIGTERM, 10 s, SIGKILL),
 * forgets those that are gone, and reports none of them: the scheduler finds the old session's
 * jobs lost (its lease runs out, or the new session replaces it) and requeues them. Nothing of
 * such a job is ever reported as a success.
 */

export interface AgentOptions {
  nc: MessageBus;
  /** NATS subject namespace of the installation (config.natsNamespace). */
  namespace?: string;
  agentId: string;
  hostname: string;
  labels?: Labels;
  /** What to register; detected (nvidia-smi, the machine's CPUs and memory) when absent. */
  capacity?: AgentCapacity;
  /** nvidia-smi for detection and for sampling the jobs' GPUs (config.agent.nvidiaSmi, nvidiaSmiTimeoutMs). */
  nvidiaSmi?: string;
  nvidiaSmiTimeoutMs?: number;
  /** Configured CPUs and memory, used when `capacity` is absent (config.agent.cpus, memoryMb). */
  cpus?: number;
  memoryMb?: number;
  /** config.agent.dataDir: the state file, the session file and the jobs' directories. */
  dataDir: string;
  /** config.artifactRoot: where the jobs' outputs are stored. */
  artifactRoot: string;
  /** config.telemetryStream. */
  telemetryStream?: string;
  /** config.jetstreamReplicas: the telemetry stream's copies when the agent is the first to create it. */
  telemetryReplicas?: number;
  /** Jobs run as this user (jobUserFor: set when the agent is root); null: as the agent's user. */
  jobUser?: JobUser | null;
  /** The base environment of jobs; default PATH, LANG, LC_ALL and TZ of `env` (and HOME when jobs run as the agent's user). */
  jobBaseEnv?: Readonly<Record<string, string | undefined>>;
  /** The agent's own environment (nvidia-smi's PATH). Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Allowed roots of a job's working directory (config.scheduler.workingDirRoots), checked again on its real path; null: not checked. */
  workingDirRoots?: ReadonlyArray<string> | null;
  /**
   * The agent's own credential (config.agent.apiKey, an AGENT API key made for this agent id):
   * sent as `Mt-Credential` with every request, so the agent acts as `agent:<agentId>` and may
   * touch only its own assignments. Exactly one of `credential` and `signingKey`.
   */
  credential?: string;
  /**
   * Outside production only, an agent without a key signs its requests with the actor signing
   * key as a platform process does (the local development agent).
   */
  signingKey?: Buffer;
  /** Timeout of each request (config.rpcTimeoutMs). Default 5000. */
  rpcTimeoutMs?: number;
  /** How long `stop()` lets running jobs end by themselves. Default 30,000 ms. */
  stopGraceMs?: number;
  /** Time between GPU samples of a job; 0 turns sampling off. Default 10,000 ms. */
  gpuSampleIntervalMs?: number;
  /**
   * Time between probes of the node's GPUs after registration (default 30,000 ms; 0: never).
   * A GPU another process took, or a driver that stopped answering, reaches the scheduler in the
   * next heartbeat, so nothing new lands on a GPU that is not really free.
   */
  gpuProbeIntervalMs?: number;
  /** Batching delays: job log lines (default 200 ms), live telemetry (50 ms), metric points (1000 ms). */
  logFlushMs?: number;
  telemetryFlushMs?: number;
  metricFlushMs?: number;
  /** Backoff of retried reports. Default 250 ms doubling to 10 s. */
  retry?: { initialDelayMs: number; maxDelayMs: number };
  /** The operator says the session holding this agent id is gone: take the id over at the first registration. */
  replaceSession?: boolean;
  agentVersion?: string;
  /** Keep each job's directory after its report (default: removed once all its outputs are stored). */
  keepJobDirs?: boolean;
  /** Grace for jobs left running by a previous agent process. Default 10,000 ms. */
  orphanGraceMs?: number;
  logger?: MessagingLogger;
}

/** The agent id is held by a live session of another process: this one must not run. */
export class AgentIdConflictError extends Error {
  constructor(
    readonly agentId: string,
    readonly heldBy: string | null,
    schedulerMessage: string,
  ) {
    super(
      `agent id ${agentId} is held by a live session${heldBy ? ` (${heldBy})` : ''} of another agent process: ${schedulerMessage}. ` +
        'Stop the other agent, or give this one its own id (AGENT_ID; two hosts with the same host name derive the same id). ' +
        'If the other process is gone for good, wait for its lease to run out, or start this agent with --replace-session.',
    );
    this.name = 'AgentIdConflictError';
  }
}

export const AGENT_VERSION = '0.1.0';
export const DEFAULT_STOP_GRACE_MS = 30_000;
export const DEFAULT_GPU_SAMPLE_INTERVAL_MS = 10_000;
/** How often the node's GPUs are probed again after registration. */
export const DEFAULT_GPU_PROBE_INTERVAL_MS = 30_000;
const MAX_REMEMBERED_ASSIGNMENTS = 10_000;

type HeartbeatReply = RpcReply<typeof schedulerRpc.agentHeartbeat>;
type RegisterReply = RpcReply<typeof schedulerRpc.registerAgent>;

export class Agent {
  readonly agentId: string;
  /** Resolves when the agent has stopped; rejects when it had to stop on its own (AgentIdConflictError). */
  readonly closed: Promise<void>;
  private currentSession = '';
  private capacityNow: AgentCapacity | null = null;
  private readonly rpc: RpcClient;
  private readonly logger: MessagingLogger;
  private readonly trouble: RateLimitedLog;
  private readonly stateFile: JobStateFile;
  private readonly sessionFile: AgentSessionFile;
  private readonly abort = new AbortController();
  private readonly runs = new Map<string, JobRun>();
  /** Assignments taken in this process (job id and token), oldest first. */
  private readonly taken = new Set<string>();
  /** Cancels of jobs not held here, reported once each. */
  private readonly cancelsReported = new Set<string>();
  private previousSession: string | null = null;
  private intervalMs = 3_000;
  private leaseExpiresAt: string | null = null;
  private wake: Subscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private beatAgain = false;
  private loopStopped = true;
  private stopping = false;
  private stopPromise: Promise<void> | null = null;
  private started = false;
  private resolveClosed!: () => void;
  private rejectClosed!: (error: Error) => void;
  private heartbeatCount = 0;
  /** GPUs whose status differs from the registration's, as the last probe found them. */
  private gpuChanges: Array<{ uuid: string; status: GpuStatus }> = [];
  private gpuProbeTimer: NodeJS.Timeout | null = null;
  private probing = false;

  constructor(private readonly options: AgentOptions) {
    this.agentId = options.agentId;
    if (!options.credential === !options.signingKey) throw new Error('an agent needs exactly one of its own credential (AGENT_API_KEY) or, outside production, the actor signing key');
    this.rpc = new RpcClient(options.nc, {
      timeoutMs: options.rpcTimeoutMs ?? 5_000,
      namespace: options.namespace,
      ...(options.credential ? { credential: options.credential } : { signingKey: options.signingKey }),
    });
    this.logger = options.logger ?? defaultLogger('Agent');
    this.trouble = new RateLimitedLog((message) => this.logger.warn(message));
    this.stateFile = new JobStateFile(resolve(options.dataDir));
    this.sessionFile = new AgentSessionFile(options.dataDir);
    this.closed = new Promise<void>((resolvePromise, reject) => {
      this.resolveClosed = resolvePromise;
      this.rejectClosed = reject;
    });
    this.closed.catch(() => undefined); // awaited by whoever cares
  }

  get sessionId(): string {
    return this.currentSession;
  }

  get capacity(): AgentCapacity | null {
    return this.capacityNow;
  }

  /** Heartbeats sent so far (replies received or not). */
  get heartbeats(): number {
    return this.heartbeatCount;
  }

  /** The jobs held now, as the heartbeat lists them. */
  runningJobs(): Array<{ jobId: string; fencingToken: number; pid: number | null }> {
    return [...this.runs.values()].flatMap((run) => run.heartbeatEntry() ?? []);
  }

  /**
   * Claims the data directory, stops jobs left by a previous process, detects the capacity
   * (logging the start line), makes sure the telemetry stream exists, registers and starts
   * heartbeating. Rejects (having released everything) when the agent cannot run:
   * AgentIdConflictError, DataDirInUseError, or stop() called before registration succeeded.
   */
  async start(): Promise<RegisterReply> {
    if (this.started) throw new Error('the agent was started already');
    this.started = true;
    const previous = await this.sessionFile.claim();
    try {
      this.previousSession = previous !== null && previous.agentId === this.agentId ? previous.sessionId : null;
      await this.recoverLeftovers(previous);
      const env = this.options.env ?? process.env;
      this.capacityNow =
        this.options.capacity ??
        (await detectCapacity({ nvidiaSmi: this.options.nvidiaSmi, nvidiaSmiTimeoutMs: this.options.nvidiaSmiTimeoutMs, env, cpus: this.options.cpus, memoryMb: this.options.memoryMb }));
      this.logger.log(describeCapacity(this.agentId, this.options.hostname, this.capacityNow));
      if (this.options.jobUser) await this.checkJobUserCanReach(this.options.jobUser);
      await ensureTelemetryStream(await this.options.nc.jetstreamManager(), { streamName: this.telemetryStream, subjectPrefix: this.telemetryPrefix, replicas: this.options.telemetryReplicas, createOnly: true });
      this.wake = this.options.nc.subscribe(withNamespace(this.options.namespace, subjects.agent(this.agentId, 'wake')), { callback: () => this.heartbeatNow() });
      const reply = await this.register(this.options.replaceSession ?? false);
      if (this.stopping) throw new AgentStoppedError(`agent ${this.agentId} start`);
      this.loopStopped = false;
      this.schedule(this.intervalMs);
      this.scheduleGpuProbe();
      return reply;
    } catch (error) {
      await this.release();
      const failure = error instanceof Error ? error : new Error(String(error));
      if (this.stopping) this.resolveClosed();
      else this.rejectClosed(failure);
      throw failure;
    }
  }

  /** Heartbeats now (the wake nudge); a heartbeat in flight is followed by another at once. */
  heartbeatNow(): void {
    if (this.loopStopped) return;
    if (this.beating !== null) {
      this.beatAgain = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.beating = this.beat()
      .catch((error: unknown) => this.logger.error(`heartbeat: ${describeError(error)}`, error instanceof Error ? error.stack : undefined))
      .finally(() => {
        this.beating = null;
        if (this.loopStopped) return;
        if (this.beatAgain) {
          this.beatAgain = false;
          this.heartbeatNow();
        } else this.schedule(this.intervalMs);
      });
  }

  /**
   * Stops the agent (see the header): no new assignments, running jobs get `graceMs` (default
   * the `stopGraceMs` option) to end by themselves, the rest are stopped without a report
   * unless a cancel was asked. Resolves when everything is over; a second call returns the
   * first one's promise.
   */
  stop(options: { graceMs?: number; reason?: string } = {}): Promise<void> {
    if (this.stopPromise === null) this.stopPromise = this.stopNow(options.graceMs ?? this.options.stopGraceMs ?? DEFAULT_STOP_GRACE_MS, options.reason ?? 'the agent is stopping');
    return this.stopPromise;
  }

  private async stopNow(graceMs: number, reason: string): Promise<void> {
    this.stopping = true;
    if (!this.loopStopped) {
      this.logger.log(`agent ${this.agentId}: stopping; ${this.runs.size} job(s) running get up to ${graceMs} ms to end`);
      this.heartbeatNow(); // acceptAssignments: false
      await this.heartbeatSettled();
      await this.waitForRuns(graceMs);
      const left = [...this.runs.values()];
      for (const run of left) run.shutdown(reason);
      // Their process stops within their grace (plus the wait for a killed group), and what is left to send gets a little more.
      const bound = Math.max(0, ...left.map((run) => run.assignment.cancelGraceSeconds * 1_000)) + 10_000;
      await this.waitForRuns(bound);
    }
    this.abort.abort();
    await this.stopLoop();
    for (const run of this.runs.values()) run.abandon(reason);
    await this.waitForRuns(10_000);
    await this.signOff(reason);
    await this.release();
    this.logger.log(`agent ${this.agentId}: stopped`);
    this.resolveClosed();
  }

  // -- registration -----------------------------------------------------------------------------

  private get telemetryStream(): string {
    return this.options.telemetryStream ?? TELEMETRY_STREAM;
  }

  private get telemetryPrefix(): string {
    return withNamespace(this.options.namespace, DEFAULT_JOB_TELEMETRY_PREFIX);
  }

  private headers(): MessageHeaders {
    return { actor: agentPrincipal(this.agentId), correlationId: `agent-${this.agentId}` };
  }

  /** A new session, registered; retried while the scheduler does not answer. */
  private async register(replaceSession: boolean): Promise<RegisterReply> {
    const capacity = this.capacityNow as AgentCapacity;
    this.currentSession = randomUUID();
    await this.sessionFile.write(this.agentId, this.currentSession);
    let replace = replaceSession;
    for (;;) {
      const payload = {
        agentId: this.agentId,
        sessionId: this.currentSession,
        hostname: this.options.hostname,
        labels: this.options.labels ?? {},
        gpus: capacity.gpus,
        cpus: capacity.cpus,
        memoryMb: capacity.memoryMb,
        gpuProbe: capacity.gpuProbe,
        agentVersion: this.options.agentVersion ?? AGENT_VERSION,
        replaceSession: replace,
      };
      try {
        const reply = await withRetries('RegisterAgent', () => this.rpc.request(schedulerRpc.registerAgent, payload, { headers: { ...this.headers(), commandId: this.currentSession } }), {
          signal: this.abort.signal,
          ...(this.options.retry ?? { initialDelayMs: 500, maxDelayMs: 10_000 }),
          onRetry: (error) => this.trouble.note('register', `agent ${this.agentId}: registration failed, retrying: ${describeError(error)}`),
        });
        this.intervalMs = reply.heartbeatIntervalMs;
        this.leaseExpiresAt = reply.leaseExpiresAt;
        this.logger.log(`agent ${this.agentId}: registered session ${this.currentSession}${replace ? ' (replacing the previous one)' : ''}; heartbeat every ${reply.heartbeatIntervalMs} ms`);
        return reply;
      } catch (error) {
        if (error instanceof ConflictError) {
          const heldBy = typeof error.details?.sessionId === 'string' ? error.details.sessionId : null;
          if (!replace && heldBy !== null && heldBy === this.previousSession) {
            this.logger.log(`agent ${this.agentId}: the scheduler still counts session ${heldBy} of this node's previous agent process as live; that process is gone, so this one replaces it`);
            replace = true;
            continue;
          }
          throw new AgentIdConflictError(this.agentId, heldBy === null ? null : `session ${heldBy}`, error.message);
        }
        if (error instanceof AgentStoppedError) throw new Error(`agent ${this.agentId} was stopped before it could register`);
        if (error instanceof UnauthenticatedError) {
          throw new Error(`agent ${this.agentId}: the scheduler refused this agent's credential (${error.message}): check AGENT_API_KEY (an AGENT key, not revoked or expired)`);
        }
        if (error instanceof ForbiddenError) {
          throw new Error(`agent ${this.agentId}: the scheduler refused the registration (${error.message}): AGENT_API_KEY must be the AGENT key made for this agent id (set AGENT_ID to the key's agent id)`);
        }
        throw error;
      }
    }
  }

  /** The scheduler no longer knows this session: drop everything held and register anew. */
  private async reregister(why: string): Promise<void> {
    this.logger.warn(
      `agent ${this.agentId}: ${why}; killing the ${this.runs.size} job(s) held (the scheduler has requeued them)${this.stopping ? '' : ' and registering a new session'}`,
    );
    for (const run of this.runs.values()) run.abandon(`session ${this.currentSession} was dropped by the scheduler: ${why}`);
    await this.waitForRuns(15_000);
    if (this.stopping) return; // nothing left to stop for
    this.previousSession = this.currentSession;
    try {
      await this.register(false);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      await this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Stops everything after a failure the agent cannot go on with. */
  private async fail(error: Error): Promise<void> {
    this.logger.error(error.message);
    this.stopping = true;
    this.loopStopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.abort.abort();
    for (const run of this.runs.values()) run.abandon(error.message);
    await this.waitForRuns(10_000);
    await this.release();
    this.rejectClosed(error);
  }

  // -- heartbeats -------------------------------------------------------------------------------

  private schedule(delayMs: number): void {
    if (this.loopStopped) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.heartbeatNow();
    }, delayMs);
  }

  /** Waits for the heartbeat in flight, and the one queued after it. */
  private async heartbeatSettled(): Promise<void> {
    while (this.beating !== null) await this.beating;
  }

  private scheduleGpuProbe(): void {
    const interval = this.options.gpuProbeIntervalMs ?? DEFAULT_GPU_PROBE_INTERVAL_MS;
    if (interval <= 0 || this.options.capacity || !this.capacityNow || this.capacityNow.gpus.length === 0 || this.loopStopped) return;
    this.gpuProbeTimer = setTimeout(() => {
      this.gpuProbeTimer = null;
      void this.reprobeGpus().finally(() => this.scheduleGpuProbe());
    }, interval);
  }

  /**
   * Probes the GPUs again (the processes of this agent's jobs, children included, are its own)
   * and keeps what differs from the registration; a change is sent at once. A probe that fails
   * marks every GPU UNKNOWN until one succeeds: nothing is placed on a GPU nobody can see.
   */
  async reprobeGpus(): Promise<ReadonlyArray<{ uuid: string; status: GpuStatus }>> {
    const registered = this.capacityNow?.gpus ?? [];
    if (this.probing || registered.length === 0) return this.gpuChanges;
    this.probing = true;
    try {
      const owned = this.runningJobs().flatMap((job) => (job.pid === null ? [] : [job.pid, ...processGroupMembers(job.pid)]));
      const probe = await probeGpus({ program: this.options.nvidiaSmi, timeoutMs: this.options.nvidiaSmiTimeoutMs, env: this.options.env ?? process.env, ownedPids: owned });
      const found = new Map(probe.gpus.map((gpu) => [gpu.uuid, gpu.status]));
      const failed = probe.status === 'TIMEOUT' || probe.status === 'ERROR' || probe.status === 'ABSENT';
      const changes = registered.flatMap((gpu) => {
        const now: GpuStatus = failed ? 'UNKNOWN' : (found.get(gpu.uuid) ?? 'UNKNOWN');
        return now === gpu.status ? [] : [{ uuid: gpu.uuid, status: now }];
      });
      if (JSON.stringify(changes) !== JSON.stringify(this.gpuChanges)) {
        this.logger.log(`agent ${this.agentId}: GPU status ${changes.length ? changes.map((c) => `${c.uuid} ${c.status}`).join(', ') : 'as registered'}${failed ? ` (${probe.status}: ${probe.message})` : ''}`);
        this.gpuChanges = changes;
        this.heartbeatNow();
      }
      return changes;
    } finally {
      this.probing = false;
    }
  }

  private async stopLoop(): Promise<void> {
    if (this.gpuProbeTimer !== null) clearTimeout(this.gpuProbeTimer);
    this.gpuProbeTimer = null;
    this.loopStopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.beating;
  }

  private async beat(): Promise<void> {
    this.heartbeatCount += 1;
    let reply: HeartbeatReply;
    try {
      reply = await this.rpc.request(
        schedulerRpc.agentHeartbeat,
        { agentId: this.agentId, sessionId: this.currentSession, running: this.runningJobs(), gpuStatus: this.gpuChanges, acceptAssignments: !this.stopping },
        { headers: this.headers() },
      );
      this.trouble.clear('heartbeat');
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof ConflictError) return this.reregister(`the scheduler refused the heartbeat (${describeError(error)})`);
      const lease = this.leaseExpiresAt ? `; the lease runs to ${this.leaseExpiresAt}` : '';
      this.trouble.note('heartbeat', `agent ${this.agentId}: heartbeat failed: ${describeError(error)}${lease}`);
      return;
    }
    this.leaseExpiresAt = reply.leaseExpiresAt;
    if (reply.reregister) return this.reregister(`the scheduler does not know session ${this.currentSession} any more`);
    for (const entry of reply.abandon) {
      const run = this.runs.get(key(entry.jobId, entry.fencingToken));
      if (run) {
        this.logger.warn(`job ${entry.jobId} (token ${entry.fencingToken}) abandoned: ${entry.reason}; killing it`);
        run.abandon(entry.reason || 'abandoned by the scheduler');
      }
    }
    for (const entry of reply.cancel) {
      const run = this.runs.get(key(entry.jobId, entry.fencingToken));
      if (run) {
        if (!run.cancelRequested) this.logger.log(`job ${entry.jobId}: cancel requested (${entry.reason}); SIGTERM, SIGKILL after ${entry.graceSeconds} s`);
        run.cancel(entry.reason, entry.graceSeconds);
      } else this.reportCancelOfUnheld(entry);
    }
    for (const assignment of reply.assignments) this.take(assignment);
  }

  private take(assignment: JobAssignment): void {
    const id = key(assignment.jobId, assignment.fencingToken);
    // An assignment runs at most once here: the scheduler repeats it until a heartbeat lists it,
    // and may repeat it once more after its end (its read model catching up).
    if (this.runs.has(id) || this.taken.has(id)) return;
    this.taken.add(id);
    if (this.taken.size > MAX_REMEMBERED_ASSIGNMENTS) this.taken.delete(this.taken.values().next().value as string);
    const run = new JobRun(assignment, this.jobContext());
    if (this.stopping) {
      // Assigned while this agent stops: handed straight back (recorded as a lost attempt and requeued).
      this.logger.warn(`job ${assignment.jobId} was assigned while the agent stops: handing it back`);
      this.runs.set(id, run);
      run.cancel('the agent is stopping: the job was not started', 0);
      run.start();
      void run.done.then(() => this.runs.delete(id));
      return;
    }
    this.logger.log(`job ${assignment.jobId} assigned (attempt ${assignment.attempt}, token ${assignment.fencingToken}): ${assignment.command.map((a) => JSON.stringify(a)).join(' ').slice(0, 300)}`);
    this.runs.set(id, run);
    run.start();
    void run.done.then(() => this.runs.delete(id));
  }

  /** A cancel of a job this agent does not hold (its assignment never arrived): it never ran here. */
  private reportCancelOfUnheld(entry: { jobId: string; fencingToken: number; reason: string }): void {
    const id = key(entry.jobId, entry.fencingToken);
    if (this.cancelsReported.has(id)) return;
    this.cancelsReported.add(id);
    void withRetries(
      `ReportJobFinished (CANCELLED) of job ${entry.jobId}`,
      () =>
        this.rpc.request(
          schedulerRpc.reportJobFinished,
          { jobId: entry.jobId, agentId: this.agentId, fencingToken: entry.fencingToken, outcome: 'CANCELLED', reason: entry.reason || 'cancelled before it started' },
          { headers: { actor: agentPrincipal(this.agentId), correlationId: entry.jobId, commandId: randomUUID() } },
        ),
      { signal: this.abort.signal, ...(this.options.retry ?? DEFAULT_RETRY), maxAttempts: 10 },
    ).catch((error: unknown) => {
      this.cancelsReported.delete(id);
      if (!(error instanceof AgentStoppedError)) this.logger.warn(`job ${entry.jobId}: the cancel of a job not held here could not be reported: ${describeError(error)}`);
    });
  }

  private jobContext(): JobRunContext {
    const env = this.options.env ?? process.env;
    const jobUser = this.options.jobUser ?? null;
    const interval = this.options.gpuSampleIntervalMs ?? DEFAULT_GPU_SAMPLE_INTERVAL_MS;
    return {
      agentId: this.agentId,
      rpc: this.rpc,
      js: this.options.nc.jetstream(),
      telemetryPrefix: this.telemetryPrefix,
      stateFile: this.stateFile,
      store: new ArtifactStore(this.options.artifactRoot),
      jobsDir: join(resolve(this.options.dataDir), 'jobs'),
      jobUser,
      baseEnv: this.options.jobBaseEnv ?? defaultJobBaseEnv(env, jobUser !== null),
      workingDirRoots: this.options.workingDirRoots ?? null,
      gpuSampling: interval > 0 ? { intervalMs: interval, program: this.options.nvidiaSmi ?? 'nvidia-smi', timeoutMs: this.options.nvidiaSmiTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS, env } : null,
      logFlushMs: this.options.logFlushMs ?? 200,
      telemetryFlushMs: this.options.telemetryFlushMs ?? 50,
      metricFlushMs: this.options.metricFlushMs ?? 1_000,
      retry: this.options.retry ?? DEFAULT_RETRY,
      keepJobDirs: this.options.keepJobDirs ?? false,
      signal: this.abort.signal,
      logger: this.logger,
    };
  }

  // -- housekeeping -----------------------------------------------------------------------------

  /** Jobs a previous agent process left in the state file: stopped when still running, forgotten either way (see the header). */
  private async recoverLeftovers(previous: AgentSessionRecord | null): Promise<void> {
    const records = await this.stateFile.read();
    for (const record of records) {
      const state = recordedJobState(record);
      if (state.state === 'RUNNING') {
        this.logger.warn(
          `job ${record.jobId} (token ${record.fencingToken}) still runs (process group ${record.pgid}) from the previous agent process${previous ? ` (pid ${previous.pid})` : ''}: ` +
            'its output cannot be read any more, so it is stopped and not reported; the scheduler requeues it',
        );
        const result = await stopProcessGroup(record.pgid, this.options.orphanGraceMs ?? 10_000);
        if (!result.gone) this.logger.error(`job ${record.jobId}: process group ${record.pgid} survived SIGKILL`);
      } else {
        this.logger.log(`job ${record.jobId} (token ${record.fencingToken}) of the previous agent process is gone (${state.reason}); the scheduler requeues it`);
      }
      await this.stateFile.remove(record.jobId);
    }
  }

  /** Jobs running as another user must be able to walk down to their directories: says which directory stops them. */
  private async checkJobUserCanReach(user: JobUser): Promise<void> {
    const dataDir = resolve(this.options.dataDir);
    const dirs = dataDir.split('/').slice(1).map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`);
    for (const dir of dirs) {
      const info = await stat(dir).catch(() => null);
      if (info === null) return; // created later, with mode 0755
      if ((info.mode & 0o001) === 0 && info.uid !== user.uid) {
        this.logger.warn(`jobs run as ${user.name} (uid ${user.uid}), who cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}): they will fail to start until it is searchable by others (chmod o+x) or AGENT_DATA_DIR lies elsewhere`);
        return;
      }
    }
  }

  /** Tells the scheduler this session is over (STOPPED, not lost later); best effort, it knows anyway after the lease. */
  private async signOff(reason: string): Promise<void> {
    if (!this.currentSession || this.capacityNow === null) return;
    try {
      await this.rpc.request(schedulerRpc.stopAgent, { agentId: this.agentId, sessionId: this.currentSession, reason }, { headers: this.headers(), timeoutMs: 2_000 });
    } catch (error) {
      this.logger.warn(`agent ${this.agentId}: could not tell the scheduler it stops (${describeError(error)}); it will notice when the lease runs out`);
    }
  }

  private async waitForRuns(ms: number): Promise<void> {
    if (this.runs.size === 0) return;
    const timeout = new AbortController();
    await Promise.race([Promise.all([...this.runs.values()].map((run) => run.done)), sleep(ms, undefined, { signal: timeout.signal }).catch(() => undefined)]);
    timeout.abort();
  }

  private async release(): Promise<void> {
    this.loopStopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.wake !== null && !this.wake.isClosed()) this.wake.unsubscribe();
    this.wake = null;
    this.sessionFile.release();
  }
}

function key(jobId: string, fencingToken: number): string {
  return `${jobId}#${fencingToken}`;
}

/** What a job gets of the agent's environment when no base environment is configured. */
export function defaultJobBaseEnv(env: Readonly<Record<string, string | undefined>>, otherUser: boolean): Record<string, string | undefined> {
  const names = ['PATH', 'LANG', 'LC_ALL', 'TZ', ...(otherUser ? [] : ['HOME'])];
  return Object.fromEntries(names.filter((name) => env[name] !== undefined).map((name) => [name, env[name]]));
}
