import { randomUUID } from 'node:crypto';
import { chmod, mkdir, realpath, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ArtifactStore } from '@modeltrail/artifacts';
import {
  agentPrincipal,
  checkWorkingDir,
  commandScopedId,
  ConflictError,
  experimentsRpc,
  type JobAssignment,
  type JobOutcome,
  JOB_LIMITS,
  type LogStream,
  MAX_LOG_LINE_CHARS,
  MAX_LOG_LINES_PER_CALL,
  type MessageHeaders,
  type MetricPointInput,
  NotFoundError,
  type RpcDefinition,
  type RpcReply,
  type RpcRequest,
  schedulerRpc,
} from '@modeltrail/contracts';
import { type BusJetStream, jobTelemetrySubject, type MessagingLogger, type RpcClient } from '@modeltrail/messaging';
import { startGpuSampler, type GpuSampler } from '../gpu/probe';
import { collectOutputs, type OutputArtifact } from '../outputs/collect';
import { type JobExit, type JobProcess, startJobProcess } from '../process/job-process';
import type { JobStateFile } from '../process/state-file';
import { prepareOutputDir, type JobUser } from '../process/user';
import { MetricBatcher } from '../protocol/batcher';
import type { ParamValue } from '../protocol/parser';
import { JobOutputReader } from '../protocol/reader';
import { AgentStoppedError, describeError, isRetryable, RateLimitedLog, withRetries } from './retry';
import { SerialBatcher } from './serial-batcher';
import { TelemetryPublisher } from './telemetry-publisher';

/**
 * One assignment on this agent, from its directories to its report.
 *
 * 1. `<jobs dir>/<jobId>/<attempt>/` is made afresh, with `output/` (MODELTRAIL_OUTPUT_DIR) and,
 *    when the job names no working directory, `work/` to run in; both belong to the job user
 *    when the agent is root. A named working directory must exist and, when the agent knows the
 *    allowed roots, lie under one of them once links are resolved.
 * 2. The process starts (startJobProcess: own process group, GPUs in CUDA_VISIBLE_DEVICES, the
 *    job's time limit with its cancel grace); it is recorded in the state file and reported
 *    started. A job that cannot start is reported FAILED with the reason.
 * 3. While it runs, each output line goes to the scheduler's job log (AppendJobLogs, in order,
 *    lines cut into pieces of MAX_LOG_LINE_CHARS) and to the live telemetry as a LOG item;
 *    protocol records become metric points (LogMetrics through a MetricBatcher, whose batch id is
 *    the call's command id, and METRIC telemetry items), parameters (LogParams) and named
 *    artifacts. The job's GPUs are sampled every `gpuSampleIntervalMs` as `system/gpu.<n>.*`
 *    metrics. Warnings of the agent (a malformed record, dropped points, leftovers stopped) go
 *    to the job's log as stderr lines starting with `[modeltrail-agent]`.
 * 4. When it has ended: metrics, parameters and log lines are flushed; every file of the output
 *    directory is stored in the artifact store and logged on the run (LogArtifact, before the
 *    report); then ReportJobFinished with outcome, exit code, signal, duration and reason; then
 *    the record leaves the state file, and the job's directory is removed once everything in it
 *    was stored.
 *
 * Outputs and the outcome. A problem storing outputs is named in the report's reason and in the
 * job's log, and does not turn a success into a failure, except when the job left files and not
 * one of them could be stored and logged (an output limit passed, the store unwritable, the run
 * refusing them): a training whose results are lost did not succeed, so that is reported FAILED
 * (exit code 0, with the reason). A job that left no files succeeds with none.
 *
 * Who reports what:
 * - a cancel from the scheduler (`cancel`): SIGTERM to the group, SIGKILL after the grace,
 *   reported CANCELLED, outputs stored as for any end;
 * - an abandon (`abandon`: the scheduler says the job is no longer this agent's), and the
 *   agent re-registering: the group is killed at once, nothing more is sent or reported;
 * - a report answered CONFLICT or NOT_FOUND (a stale fencing token: the job was requeued, or
 *   it ended meanwhile): the job is no longer ours; its process is stopped (with its grace) if it
 *   runs, and nothing more is sent or reported;
 * - the agent stopping (`shutdown`): the process is stopped and nothing is reported, unless it
 *   ended by itself first or the scheduler had asked for a cancel: the scheduler finds the
 *   attempt lost and requeues it. A job stopped this way is never reported SUCCEEDED.
 *
 * Reports carry command ids derived from the job id and fencing token, and are retried with
 * backoff while the platform does not answer, so a retry is recorded once.
 */

export interface JobRunContext {
  agentId: string;
  rpc: RpcClient;
  js: Pick<BusJetStream, 'publish'>;
  telemetryPrefix: string;
  stateFile: JobStateFile;
  store: ArtifactStore;
  jobsDir: string;
  jobUser: JobUser | null;
  baseEnv: Readonly<Record<string, string | undefined>>;
  /** Allowed roots of a named working directory, checked again on the real path; null: not checked here. */
  workingDirRoots: ReadonlyArray<string> | null;
  gpuSampling: { intervalMs: number; program: string; timeoutMs: number; env: Readonly<Record<string, string | undefined>> } | null;
  logFlushMs: number;
  telemetryFlushMs: number;
  metricFlushMs: number;
  retry: { initialDelayMs: number; maxDelayMs: number };
  keepJobDirs: boolean;
  /** Ends every retry (the agent's final stop). */
  signal: AbortSignal;
  logger: MessagingLogger;
}

export type JobRunPhase = 'PREPARING' | 'RUNNING' | 'FINISHING' | 'DONE';

/** Why a job ends without a report from this agent. */
type Silence = { kind: 'ABANDONED' | 'NOT_OURS' | 'AGENT_STOPPING'; reason: string };

interface LogEntry {
  seq: number;
  stream: LogStream;
  time: string;
  line: string;
}

const AGENT_NOTE = '[modeltrail-agent]';
const LOG_BATCH_BYTES = 512 * 1024;
const LOG_BUFFER_LINES = 50_000;

export class JobRun {
  readonly jobId: string;
  readonly runId: string;
  readonly fencingToken: number;
  readonly attempt: number;
  /** Resolves when the job is over for this agent (reported, or given up); never rejects. */
  readonly done: Promise<void>;
  private phaseNow: JobRunPhase = 'PREPARING';
  private process: JobProcess | null = null;
  private cancelRequest: { reason: string; graceSeconds: number } | null = null;
  private silence: Silence | null = null;
  private readonly attemptDir: string;
  private readonly outputDir: string;
  private readonly telemetry: TelemetryPublisher;
  private readonly logs: SerialBatcher<LogEntry>;
  private readonly metrics: MetricBatcher;
  private readonly reader: JobOutputReader;
  private logSeq = 0;
  private lastStderr: string | null = null;
  private readonly dropped = { logLines: 0, telemetry: 0, metricPoints: 0, reasons: new Set<string>() };
  private pendingParams: Record<string, ParamValue> = {};
  private paramsChain: Promise<void> = Promise.resolve();
  private readonly trouble: RateLimitedLog;
  private startDone: Promise<unknown> = Promise.resolve();
  /** The end was reported and accepted. */
  private reported = false;
  private resolveDone!: () => void;

  constructor(
    readonly assignment: JobAssignment,
    private readonly ctx: JobRunContext,
  ) {
    this.jobId = assignment.jobId;
    this.runId = assignment.runId;
    this.fencingToken = assignment.fencingToken;
    this.attempt = assignment.attempt;
    this.attemptDir = join(ctx.jobsDir, assignment.jobId, String(assignment.attempt));
    this.outputDir = join(this.attemptDir, 'output');
    this.trouble = new RateLimitedLog((message) => ctx.logger.warn(message));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.telemetry = new TelemetryPublisher({
      js: ctx.js,
      subjectPrefix: ctx.telemetryPrefix,
      jobId: this.jobId,
      flushMs: ctx.telemetryFlushMs,
      signal: ctx.signal,
      onDrop: (count, reason) => this.countDrop('telemetry', count, `live telemetry: ${reason}`),
    });
    this.logs = new SerialBatcher<LogEntry>({
      send: (lines) => this.appendLogs(lines),
      sizeOf: (entry) => entry.line.length + 100,
      maxItems: Math.min(500, MAX_LOG_LINES_PER_CALL),
      maxBytes: LOG_BATCH_BYTES,
      flushMs: ctx.logFlushMs,
      maxBuffered: LOG_BUFFER_LINES,
      onDrop: (count, reason) => this.countDrop('logLines', count, `job log: ${reason}`),
    });
    this.metrics = new MetricBatcher({
      logMetrics: (points, batch) => this.logMetrics(points, batch.batchId),
      maxDelayMs: ctx.metricFlushMs,
      onDrop: ({ count, reason }) => this.countDrop('metricPoints', count, `metrics: ${reason}`),
    });
    this.reader = new JobOutputReader({
      metrics: {
        add: (points) => {
          if (this.silence !== null) return;
          this.metrics.add(points);
          for (const p of points) this.telemetry.metric({ key: p.key, value: p.value, step: p.step ?? 0, timestamp: p.timestamp ?? new Date().toISOString() });
        },
      },
      onLog: (line) => this.logLine(line.stream, line.time, line.text),
      onStatus: (status) => this.logLine('stdout', status.time, `[status] ${status.message}`),
      onWarning: (warning) => this.note(warning.message, warning.time),
      onParams: (params) => this.queueParams(params),
    });
  }

  get phase(): JobRunPhase {
    return this.phaseNow;
  }

  get cancelRequested(): boolean {
    return this.cancelRequest !== null;
  }

  get pid(): number | null {
    return this.process?.pid ?? null;
  }

  /** This job as the heartbeat's `running` lists it; null once its end is reported (the scheduler holds it no more). */
  heartbeatEntry(): { jobId: string; fencingToken: number; pid: number | null } | null {
    if (this.reported) return null;
    return { jobId: this.jobId, fencingToken: this.fencingToken, pid: this.pid };
  }

  /** Starts the work; `done` resolves when it is over. */
  start(): void {
    this.run()
      .catch((error: unknown) => this.ctx.logger.error(`job ${this.jobId}: ${describeError(error)}`, error instanceof Error ? error.stack : undefined))
      .finally(() => {
        this.phaseNow = 'DONE';
        this.resolveDone();
      });
  }

  /** The scheduler asks for a cancel: stop the group (SIGTERM, SIGKILL after `graceSeconds`), then report CANCELLED. */
  cancel(reason: string, graceSeconds: number): void {
    if (this.silence !== null) return;
    if (this.cancelRequest === null) this.cancelRequest = { reason, graceSeconds };
    else this.cancelRequest.graceSeconds = Math.min(this.cancelRequest.graceSeconds, graceSeconds);
    void this.process?.stop(reason, graceSeconds);
  }

  /** Not this agent's any more (abandoned, or re-registering): kill the group now, send and report nothing. */
  abandon(reason: string): void {
    this.goSilent({ kind: 'ABANDONED', reason }, 0);
  }

  /** The agent is stopping: stop the process with the job's grace; report only what the job did by itself or what was asked. */
  shutdown(reason: string): void {
    if (this.silence !== null) return;
    if (this.cancelRequest !== null) return; // asked for: reported CANCELLED as usual
    this.silence = { kind: 'AGENT_STOPPING', reason };
    void this.process?.stop(reason, this.assignment.cancelGraceSeconds);
  }

  /** Read through a method: the field changes while `run` awaits. */
  private currentSilence(): Silence | null {
    return this.silence;
  }

  private currentCancel(): { reason: string; graceSeconds: number } | null {
    return this.cancelRequest;
  }

  private goSilent(silence: Silence, graceSeconds: number): void {
    if (this.silence !== null && this.silence.kind !== 'AGENT_STOPPING') return;
    this.silence = silence;
    this.logs.discard();
    this.telemetry.discard();
    void this.process?.stop(silence.reason, graceSeconds);
  }

  // -------------------------------------------------------------------------------------------

  private async run(): Promise<void> {
    const a = this.assignment;
    let workingDir: string;
    try {
      workingDir = await this.prepare();
    } catch (error) {
      return this.endWithoutProcess('FAILED', `the job could not be prepared on agent ${this.ctx.agentId}: ${describeError(error)}`);
    }
    if (this.silence !== null) return this.endSilently(null);
    if (this.cancelRequest !== null) return this.endWithoutProcess('CANCELLED', this.cancelRequest.reason);

    try {
      this.process = await startJobProcess({
        jobId: a.jobId,
        runId: a.runId,
        argv: a.command,
        jobEnv: a.env,
        baseEnv: this.ctx.baseEnv,
        gpuUuids: a.gpus.map((gpu) => gpu.uuid),
        outputDir: this.outputDir,
        workingDir,
        user: this.ctx.jobUser,
        telemetrySubject: jobTelemetrySubject(this.ctx.telemetryPrefix, a.jobId, 'metrics'),
        timeoutSeconds: a.timeoutSeconds,
        timeoutGraceSeconds: a.cancelGraceSeconds,
        onLine: this.reader.onLine,
      });
    } catch (error) {
      return this.endWithoutProcess('FAILED', describeError(error));
    }
    const proc = this.process;
    this.phaseNow = 'RUNNING';
    this.ctx.logger.log(`job ${a.jobId} (attempt ${a.attempt}, token ${a.fencingToken}) started: pid ${proc.pid}, ${a.gpus.length > 0 ? `GPUs ${a.gpus.map((g) => g.index).join(', ')}` : 'no GPUs'}`);
    // Asked to stop while it was starting.
    const silence = this.currentSilence();
    const cancel = this.currentCancel();
    if (silence !== null) void proc.stop(silence.reason, silence.kind === 'AGENT_STOPPING' ? a.cancelGraceSeconds : 0);
    else if (cancel !== null) void proc.stop(cancel.reason, cancel.graceSeconds);

    await this.ctx.stateFile
      .put({ jobId: a.jobId, runId: a.runId, fencingToken: a.fencingToken, pid: proc.pid, pgid: proc.pgid, startedAt: proc.startedAt, outputDir: this.outputDir, identity: proc.identity })
      .catch((error: unknown) => this.ctx.logger.warn(`job ${a.jobId}: could not record it in ${this.ctx.stateFile.path}: ${describeError(error)}`));
    this.startDone = this.report('ReportJobStarted', schedulerRpc.reportJobStarted, { jobId: a.jobId, agentId: this.ctx.agentId, fencingToken: a.fencingToken, pid: proc.pid }, 'started');

    const sampler = this.startSampler();
    const exit = await proc.exited;
    this.phaseNow = 'FINISHING';
    await sampler?.stop();
    for (const warning of exit.warnings) this.note(warning);
    await this.metrics.close();
    await this.flushParams();
    if (this.silence !== null) return this.endSilently(exit);
    await this.startDone;
    if (this.silence !== null) return this.endSilently(exit);
    await this.finish(exit);
  }

  /** Creates the attempt's directories; returns the working directory. */
  private async prepare(): Promise<string> {
    await rm(this.attemptDir, { recursive: true, force: true });
    await mkdir(this.attemptDir, { recursive: true, mode: 0o755 });
    if (this.ctx.jobUser !== null) {
      // The job user must be able to walk down to its directories.
      for (const dir of [this.ctx.jobsDir, join(this.ctx.jobsDir, this.jobId), this.attemptDir]) await chmod(dir, 0o755);
    }
    const named = this.assignment.workingDir;
    if (named === null) {
      const work = join(this.attemptDir, 'work');
      await prepareOutputDir(work, this.ctx.jobUser);
      return work;
    }
    let real: string;
    try {
      real = await realpath(named);
    } catch (error) {
      throw new Error(`the working directory ${named} does not exist on this node (${(error as NodeJS.ErrnoException).code ?? describeError(error)})`);
    }
    if (!(await stat(real)).isDirectory()) throw new Error(`the working directory ${named} is not a directory`);
    if (this.ctx.workingDirRoots !== null) checkWorkingDir(real, this.ctx.workingDirRoots);
    return real;
  }

  private startSampler(): GpuSampler | null {
    const sampling = this.ctx.gpuSampling;
    if (sampling === null || this.assignment.gpus.length === 0) return null;
    return startGpuSampler({
      uuids: this.assignment.gpus.map((gpu) => gpu.uuid),
      intervalMs: sampling.intervalMs,
      program: sampling.program,
      timeoutMs: sampling.timeoutMs,
      env: sampling.env,
      onPoints: (points) => {
        if (this.silence === null) this.addSystemMetrics(points);
      },
      onProblem: (sample) => this.trouble.note('gpu-sample', `job ${this.jobId}: GPU sample failed (${sample.status}): ${sample.message}`),
    });
  }

  private addSystemMetrics(points: MetricPointInput[]): void {
    this.metrics.add(points);
    for (const p of points) this.telemetry.metric({ key: p.key, value: p.value, step: p.step ?? 0, timestamp: p.timestamp ?? new Date().toISOString() });
  }

  /** The end of a job that ran: outputs, last lines, report. */
  private async finish(exit: JobExit): Promise<void> {
    const a = this.assignment;
    const stored = await this.storeOutputs();
    let outcome: JobOutcome = exit.outcome;
    const reasons: string[] = [];
    switch (exit.outcome) {
      case 'FAILED':
        reasons.push(`${describeExit(exit)}${this.lastStderr ? `; last stderr line: ${this.lastStderr}` : ''}`);
        break;
      case 'CANCELLED':
      case 'TIMED_OUT':
        reasons.push(`${exit.stopReason ?? (exit.outcome === 'CANCELLED' ? 'cancelled' : 'timed out')}${exit.killed ? `; killed with SIGKILL after the ${exit.outcome === 'CANCELLED' ? (this.cancelRequest?.graceSeconds ?? a.cancelGraceSeconds) : a.cancelGraceSeconds} s grace` : ''}`);
        break;
      case 'SUCCEEDED':
        break;
    }
    if (stored.problems.length > 0) {
      const summary = `outputs: ${stored.logged.length} stored, problems: ${stored.problems.join('; ')}`;
      if (outcome === 'SUCCEEDED' && stored.logged.length === 0 && stored.hadFiles) {
        outcome = 'FAILED';
        reasons.push(`the job exited 0 but none of its outputs could be stored: ${stored.problems.join('; ')}`);
      } else reasons.push(summary);
    }
    if (this.dropped.reasons.size > 0) this.note(`dropped on the way: ${this.dropSummary()}`);
    await this.logs.flush();
    await this.telemetry.flush();
    if (this.silence !== null) return this.endSilently(exit);
    const reason = reasons.length > 0 ? cut(reasons.join('. '), JOB_LIMITS.reasonChars) : null;
    const reported = await this.report(
      'ReportJobFinished',
      schedulerRpc.reportJobFinished,
      { jobId: a.jobId, agentId: this.ctx.agentId, fencingToken: a.fencingToken, outcome, exitCode: exit.exitCode, signal: exit.signal, durationMs: exit.durationMs, reason },
      'finished',
    );
    this.reported = reported !== null;
    this.ctx.logger.log(
      `job ${a.jobId} (attempt ${a.attempt}) ended ${outcome} (${describeExit(exit)}, ${exit.durationMs} ms)${reported === null ? '; not reported' : ''}${reason ? `: ${reason}` : ''}`,
    );
    await this.forget(stored.problems.length === 0 && reported !== null);
  }

  /** Stores every output file and logs it on the run. */
  private async storeOutputs(): Promise<{ logged: OutputArtifact[]; problems: string[]; hadFiles: boolean }> {
    let artifacts: OutputArtifact[];
    try {
      const collected = await collectOutputs({ outputDir: this.outputDir, store: this.ctx.store, declared: this.reader.declaredArtifacts });
      for (const warning of collected.warnings) this.note(warning);
      artifacts = collected.artifacts;
    } catch (error) {
      const problem = `the outputs could not be stored: ${describeError(error)}`;
      this.note(problem);
      return { logged: [], problems: [problem], hadFiles: true };
    }
    const logged: OutputArtifact[] = [];
    const problems: string[] = [];
    for (const artifact of artifacts) {
      if (this.silence !== null) break;
      try {
        await withRetries(
          `LogArtifact ${artifact.name} of job ${this.jobId}`,
          () => this.ctx.rpc.request(experimentsRpc.logArtifact, { runId: this.runId, name: artifact.name, uri: artifact.uri, digest: artifact.digest, size: artifact.size }, { headers: this.headers(`artifact/${artifact.name}`) }),
          { signal: this.ctx.signal, ...this.ctx.retry, maxAttempts: 8, onRetry: (error) => this.trouble.note('artifact', `job ${this.jobId}: LogArtifact failed, retrying: ${describeError(error)}`) },
        );
        logged.push(artifact);
      } catch (error) {
        const problem = `${JSON.stringify(artifact.name)} (sha256 ${artifact.digest}) was stored but not logged on run ${this.runId}: ${describeError(error)}`;
        this.note(problem);
        problems.push(problem);
      }
    }
    return { logged, problems, hadFiles: artifacts.length > 0 };
  }

  /** A job that never ran (it could not be prepared or started, or was cancelled first). */
  private async endWithoutProcess(outcome: 'FAILED' | 'CANCELLED', reason: string): Promise<void> {
    this.phaseNow = 'FINISHING';
    this.ctx.logger.warn(`job ${this.jobId} (attempt ${this.attempt}) did not start: ${reason}`);
    if (outcome === 'FAILED') this.note(`the job did not start: ${reason}`);
    await this.logs.flush();
    await this.telemetry.flush();
    if (this.silence === null) {
      const reported = await this.report(
        'ReportJobFinished',
        schedulerRpc.reportJobFinished,
        { jobId: this.jobId, agentId: this.ctx.agentId, fencingToken: this.fencingToken, outcome, exitCode: null, signal: null, durationMs: null, reason: cut(reason, JOB_LIMITS.reasonChars) },
        'finished',
      );
      this.reported = reported !== null;
    }
    await this.forget(true);
  }

  /** A job this agent no longer reports (abandoned, not ours, or stopped because the agent stops). */
  private async endSilently(exit: JobExit | null): Promise<void> {
    const silence = this.silence as Silence;
    if (silence.kind === 'AGENT_STOPPING') {
      // Still ours until the lease runs out: what it wrote is kept in its log.
      this.note(`stopped because ${silence.reason}: not reported; the scheduler requeues the attempt`);
      await this.logs.flush();
      await this.telemetry.flush();
    }
    this.ctx.logger.warn(
      `job ${this.jobId} (attempt ${this.attempt}, token ${this.fencingToken}) ${exit ? `ended (${describeExit(exit)})` : 'was not started'} without a report: ${silence.reason}`,
    );
    await this.forget(false);
  }

  /** Leaves the state file; removes the job's directory when nothing in it is still needed. */
  private async forget(removeDir: boolean): Promise<void> {
    await this.ctx.stateFile.remove(this.jobId).catch((error: unknown) => this.ctx.logger.warn(`job ${this.jobId}: could not update ${this.ctx.stateFile.path}: ${describeError(error)}`));
    if (removeDir && !this.ctx.keepJobDirs) await rm(this.attemptDir, { recursive: true, force: true }).catch(() => undefined);
  }

  // -- output plumbing --------------------------------------------------------------------------

  private logLine(stream: LogStream, time: string, text: string): void {
    if (this.silence !== null && this.silence.kind !== 'AGENT_STOPPING') return;
    if (stream === 'stderr' && text.trim() !== '' && !text.startsWith(AGENT_NOTE)) this.lastStderr = cut(text.trim(), 500);
    const pieces = text.length <= MAX_LOG_LINE_CHARS ? [text] : chunks(text, MAX_LOG_LINE_CHARS);
    for (const line of pieces) {
      this.logs.add({ seq: this.logSeq++, stream, time, line });
      this.telemetry.log(stream, time, line);
    }
  }

  /** A line of the agent's own in the job's log. */
  private note(message: string, time = new Date().toISOString()): void {
    this.logLine('stderr', time, `${AGENT_NOTE} ${message}`);
  }

  private countDrop(what: 'logLines' | 'telemetry' | 'metricPoints', count: number, reason: string): void {
    this.dropped[what] += count;
    this.dropped.reasons.add(reason);
    this.trouble.note(`drop-${what}`, `job ${this.jobId}: dropped ${count} ${what === 'logLines' ? 'log lines' : what === 'metricPoints' ? 'metric points' : 'telemetry items'}: ${reason}`);
  }

  private dropSummary(): string {
    return `${this.dropped.logLines} log lines, ${this.dropped.metricPoints} metric points, ${this.dropped.telemetry} telemetry items (${[...this.dropped.reasons].slice(0, 5).join('; ')})`;
  }

  private async appendLogs(lines: LogEntry[]): Promise<void> {
    const reply = await this.report(
      'AppendJobLogs',
      schedulerRpc.appendJobLogs,
      { jobId: this.jobId, agentId: this.ctx.agentId, fencingToken: this.fencingToken, lines },
      `logs/${lines[0].seq}-${lines[lines.length - 1].seq}`,
    );
    if (reply === null && this.silence === null) throw new Error('AppendJobLogs was not accepted');
  }

  /**
   * One batch of the MetricBatcher, which retries what this rejects. An answer that will not
   * change (the run refuses the points) is not retried: the points are dropped and the job's
   * log says why.
   */
  private async logMetrics(points: MetricPointInput[], batchId: string): Promise<void> {
    if (this.silence !== null && this.silence.kind !== 'AGENT_STOPPING') return; // not ours: dropped quietly
    try {
      await this.ctx.rpc.request(experimentsRpc.logMetrics, { runId: this.runId, points }, { headers: { ...this.headers(null), commandId: batchId } });
    } catch (error) {
      if (isRetryable(error)) throw error;
      this.countDrop('metricPoints', points.length, `LogMetrics refused them: ${describeError(error)}`);
      this.note(`${points.length} metric points were refused by the run: ${describeError(error)}`);
    }
  }

  private queueParams(params: Record<string, ParamValue>): void {
    if (this.silence !== null) return;
    Object.assign(this.pendingParams, params);
    this.paramsChain = this.paramsChain.then(() => this.sendParams());
  }

  private flushParams(): Promise<void> {
    return this.paramsChain;
  }

  private async sendParams(): Promise<void> {
    const params = this.pendingParams;
    if (Object.keys(params).length === 0 || this.silence !== null) return;
    this.pendingParams = {};
    const commandId = randomUUID();
    try {
      await withRetries(`LogParams of job ${this.jobId}`, () => this.ctx.rpc.request(experimentsRpc.logParams, { runId: this.runId, params }, { headers: { ...this.headers(null), commandId } }), {
        signal: this.ctx.signal,
        ...this.ctx.retry,
        maxAttempts: 5,
      });
    } catch (error) {
      this.note(`parameters ${Object.keys(params).slice(0, 10).join(', ')} were not recorded on run ${this.runId}: ${describeError(error)}`);
    }
  }

  // -- reports ----------------------------------------------------------------------------------

  private headers(what: string | null): MessageHeaders {
    const headers: MessageHeaders = { actor: agentPrincipal(this.ctx.agentId), correlationId: this.jobId };
    if (what !== null) headers.commandId = commandScopedId(`agent-report/${this.jobId}/${this.fencingToken}`, what);
    return headers;
  }

  /**
   * A report to the scheduler, retried while the platform does not answer. CONFLICT or NOT_FOUND
   * means the job is no longer this agent's (a stale token): stop it, report nothing more.
   * Null when it was not accepted.
   */
  private async report<D extends RpcDefinition>(what: string, def: D, payload: RpcRequest<D>, commandWhat: string): Promise<RpcReply<D> | null> {
    if (this.silence !== null && this.silence.kind !== 'AGENT_STOPPING') return null;
    try {
      const reply = await withRetries(`${what} of job ${this.jobId}`, () => this.ctx.rpc.request(def, payload, { headers: this.headers(commandWhat) }), {
        signal: this.ctx.signal,
        ...this.ctx.retry,
        onRetry: (error) => this.trouble.note(what, `job ${this.jobId}: ${what} failed, retrying: ${describeError(error)}`),
      });
      this.trouble.clear(what);
      return reply;
    } catch (error) {
      if (error instanceof ConflictError || error instanceof NotFoundError) {
        this.ctx.logger.warn(`job ${this.jobId} (token ${this.fencingToken}) is no longer this agent's: ${what} was refused (${describeError(error)}); stopping it, reporting nothing more`);
        this.goSilent({ kind: 'NOT_OURS', reason: `${what} was refused: ${error.message}` }, this.assignment.cancelGraceSeconds);
      } else if (!(error instanceof AgentStoppedError)) {
        this.ctx.logger.error(`job ${this.jobId}: ${what} failed for good: ${describeError(error)}`);
      }
      return null;
    }
  }
}

export function describeExit(exit: Pick<JobExit, 'exitCode' | 'signal'>): string {
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  return `exit code ${exit.exitCode}`;
}

function chunks(text: string, size: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) {
    let end = Math.min(text.length, i + size);
    // Never split a surrogate pair.
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1])) end -= 1;
    out.push(text.slice(i, end));
    i = end - size;
  }
  return out;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}
