import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import {
  commandScopedId,
  ConflictError,
  jobStream,
  type JobView,
  type MessageHeaders,
  NotFoundError,
  type RpcReply,
  schedulerRpc,
  type z,
} from '@modeltrail/contracts';
import { commandContextOf, type HandleResult } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { assertActsForAgent, assertOwnAssignment } from '../agent/agent-access';
import { CLOCK, type Clock } from '../clock';
import { EXPERIMENTS_CLIENT, type ExperimentsClient } from '../experiments.client';
import { SchedulerViews } from '../read-model/scheduler.views';
import { JobLogStore } from './job-log.store';
import { submitJob } from './job-submit';
import { JobCommands } from './job.commands';
import { checkFencing, type JobCommand, type JobState, staleReportError, type StaleReportRefused } from './job.decider';

type Req<K extends keyof typeof schedulerRpc> = z.output<(typeof schedulerRpc)[K]['request']>;

/** NATS adapters of the TrainingJob aggregate: the commands of people and the reports of agents. */
@Controller()
export class JobHandlers {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(EXPERIMENTS_CLIENT) private readonly experiments: ExperimentsClient,
    private readonly jobs: JobCommands,
    private readonly views: SchedulerViews,
    private readonly logs: JobLogStore,
  ) {}

  /**
   * The job id comes from the Mt-Command-Id when there is one, so a retried submit is the same
   * job (and the same run); `submitJob` says what is checked, and in which order.
   */
  @RpcPattern(schedulerRpc.submitJob)
  async submit(@Payload() req: Req<'submitJob'>, @RpcHeaders() headers: MessageHeaders): Promise<JobView> {
    const jobId = req.jobId ?? (headers.commandId ? commandScopedId(headers.commandId, 'job') : randomUUID());
    const submitter = { jobs: this.jobs, experiments: this.experiments, workingDirRoots: this.config.scheduler.workingDirRoots };
    return this.reply(jobId, await submitJob(submitter, jobId, req, headers, this.clock.now()));
  }

  @RpcPattern(schedulerRpc.cancelJob)
  async cancel(@Payload() req: Req<'cancelJob'>, @RpcHeaders() headers: MessageHeaders): Promise<JobView> {
    const result = await this.jobs.handle(req.jobId, { type: 'CancelJob', jobId: req.jobId, reason: req.reason, at: this.clock.now() }, commandContextOf(headers));
    return this.reply(req.jobId, result);
  }

  @RpcPattern(schedulerRpc.changeJobPriority)
  async changePriority(@Payload() req: Req<'changeJobPriority'>, @RpcHeaders() headers: MessageHeaders): Promise<JobView> {
    const result = await this.jobs.handle(req.jobId, { type: 'ChangeJobPriority', jobId: req.jobId, priority: req.priority, at: this.clock.now() }, commandContextOf(headers));
    return this.reply(req.jobId, result);
  }

  @RpcPattern(schedulerRpc.reportJobStarted)
  async started(@Payload() req: Req<'reportJobStarted'>, @RpcHeaders() headers: MessageHeaders): Promise<JobView> {
    await this.checkAgentReport(req, headers, 'report a job started');
    const command: JobCommand = { type: 'ReportJobStarted', jobId: req.jobId, agentId: req.agentId, fencingToken: req.fencingToken, pid: req.pid, at: this.clock.now() };
    return this.agentReport(req, await this.jobs.handle(req.jobId, command, commandContextOf(headers)));
  }

  /** A stale token appends StaleReportRefused (for the audit), then the agent gets CONFLICT. */
  @RpcPattern(schedulerRpc.reportJobFinished)
  async finished(@Payload() req: Req<'reportJobFinished'>, @RpcHeaders() headers: MessageHeaders): Promise<JobView> {
    await this.checkAgentReport(req, headers, 'report a job finished');
    const { jobId, agentId, fencingToken, outcome, exitCode, signal, durationMs, reason } = req;
    const command: JobCommand = { type: 'ReportJobFinished', jobId, agentId, fencingToken, outcome, exitCode, signal, durationMs, reason, at: this.clock.now() };
    return this.agentReport(req, await this.jobs.handle(jobId, command, commandContextOf(headers)));
  }

  /**
   * Lines of the holder's attempt only: the token is checked against the job's stream. Lines
   * under a stale token are refused (CONFLICT) and the refusal recorded for the audit; the
   * agent stops sending for that job at the first refusal.
   */
  @RpcPattern(schedulerRpc.appendJobLogs)
  async appendLogs(@Payload() req: Req<'appendJobLogs'>, @RpcHeaders() headers: MessageHeaders): Promise<RpcReply<typeof schedulerRpc.appendJobLogs>> {
    assertActsForAgent(headers, req.agentId, 'append job logs');
    const revision = await this.store.streamRevision(jobStream(req.jobId));
    if (revision === 'no_stream') throw new NotFoundError(`job ${req.jobId} does not exist`, { jobId: req.jobId });
    const state = await this.jobs.stateAt(req.jobId, revision);
    assertOwnAssignment(headers, state, req.agentId, req.fencingToken);
    const stale = checkFencing(state, req.agentId, req.fencingToken);
    if (stale || state.status === 'None') {
      await this.jobs.handle(
        req.jobId,
        { type: 'RecordStaleReport', jobId: req.jobId, agentId: req.agentId, fencingToken: req.fencingToken, reported: { kind: 'LOGS', lines: req.lines.length }, at: this.clock.now() },
        { ...commandContextOf(headers), commandId: undefined },
      );
      throw new ConflictError(`log lines from agent ${req.agentId} for job ${req.jobId} refused: ${stale}`, { jobId: req.jobId, agentId: req.agentId, fencingToken: req.fencingToken });
    }
    const { accepted, lastSeq } = await this.logs.append(req.jobId, state.attempt, req.lines, this.config.scheduler.jobLogMaxBytes);
    return { jobId: req.jobId, accepted, lastSeq };
  }

  /** An agent principal reports only as itself, and only on an attempt it could have been given (see agent-access). */
  private async checkAgentReport(req: { jobId: string; agentId: string; fencingToken: number }, headers: MessageHeaders, what: string): Promise<void> {
    assertActsForAgent(headers, req.agentId, what);
    if (headers.actor.startsWith('agent:')) assertOwnAssignment(headers, await this.jobs.stateAt(req.jobId, 0, true), req.agentId, req.fencingToken);
  }

  private async agentReport(req: { jobId: string; agentId: string; fencingToken: number }, result: HandleResult<JobState>): Promise<JobView> {
    const refused = result.events.find((e) => e.type === 'scheduler.StaleReportRefused.v1');
    if (refused) throw staleReportError({ type: 'scheduler.StaleReportRefused.v1', data: refused.data } as StaleReportRefused);
    if (result.events.length === 0) {
      // Nothing new: a repeat of a report already recorded, or of one refused before.
      const stale = checkFencing(result.state, req.agentId, req.fencingToken);
      if (stale) throw new ConflictError(`report from agent ${req.agentId} on job ${req.jobId} refused: ${stale}`, { jobId: req.jobId, agentId: req.agentId, staleToken: req.fencingToken });
    }
    return this.reply(req.jobId, result);
  }

  private reply(jobId: string, result: HandleResult<JobState>): Promise<JobView> {
    return this.views.job(jobId, result.position);
  }
}
