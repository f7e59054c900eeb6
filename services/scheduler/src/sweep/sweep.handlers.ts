import { randomInt, randomUUID } from 'node:crypto';
import { Controller, Inject, Logger } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { commandScopedId, type MessageHeaders, ModelTrailError, schedulerRpc, sweepStream, type SweepView, type z } from '@modeltrail/contracts';
import { CommandHandler, commandContextOf } from '@modeltrail/decider';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { EXPERIMENTS_CLIENT, type ExperimentsClient } from '../experiments.client';
import { JobCommands } from '../job/job.commands';
import { requestedJobSpec } from '../job/job-spec';
import { SchedulerViews } from '../read-model/scheduler.views';
import type { SweepCommand, SweepEvent, SweepState } from './sweep.decider';

type Req<K extends keyof typeof schedulerRpc> = z.output<(typeof schedulerRpc)[K]['request']>;

/** Injection token of the sweeps' command loop (shared by these handlers and the reactor). */
export const SWEEP_COMMANDS = Symbol('SWEEP_COMMANDS');
export type SweepCommands = CommandHandler<SweepCommand, SweepEvent, SweepState>;

/**
 * NATS adapters of the Sweep aggregate. The sweep queues its trials itself (SweepTrialQueued);
 * the reactor submits each trial's job, records each finished trial and so queues the next.
 */
@Controller()
export class SweepHandlers {
  private readonly logger = new Logger('Sweeps');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SWEEP_COMMANDS) private readonly sweeps: SweepCommands,
    @Inject(EXPERIMENTS_CLIENT) private readonly experiments: ExperimentsClient,
    private readonly jobs: JobCommands,
    private readonly views: SchedulerViews,
  ) {}

  /** The objective, when not given, is taken from the project's success criteria; the seed, when not given, is drawn and recorded. */
  @RpcPattern(schedulerRpc.submitSweep)
  async submit(@Payload() req: Req<'submitSweep'>, @RpcHeaders() headers: MessageHeaders): Promise<SweepView> {
    const spec = requestedJobSpec(req, this.config.scheduler.workingDirRoots);
    const sweepId = req.sweepId ?? (headers.commandId ? commandScopedId(headers.commandId, 'sweep') : randomUUID());
    const { items: experiments } = await this.experiments.getExperiments({ experimentIds: [req.experimentId] }, headers);
    const experiment = experiments.find((e) => e.experimentId === req.experimentId);
    const project = experiment ? (await this.experiments.getProjects({ projectIds: [experiment.projectId] }, headers)).items[0] : undefined;
    const command: SweepCommand = {
      type: 'SubmitSweep',
      sweepId,
      experimentId: req.experimentId,
      experiment: experiment ? { projectId: experiment.projectId, successCriteria: project?.successCriteria ?? [] } : null,
      strategy: req.strategy,
      space: req.space,
      maxTrials: req.maxTrials ?? null,
      maxConcurrent: req.maxConcurrent,
      seed: req.seed ?? randomInt(0, 2 ** 32),
      objective: req.objective ? { metric: req.objective.metric, direction: req.objective.direction ?? null } : null,
      jobTemplate: { ...spec, params: req.params, datasetVersions: req.datasetVersions },
      trialLimit: this.config.scheduler.sweepTrialLimit,
      at: this.clock.now(),
    };
    const result = await this.sweeps.handle(sweepStream(sweepId), command, commandContextOf(headers));
    return this.views.sweep(sweepId, result.position);
  }

  /** Stops queueing and cancels the open trial jobs (the reactor repeats the cancels after a crash; each is idempotent). */
  @RpcPattern(schedulerRpc.cancelSweep)
  async cancel(@Payload() req: Req<'cancelSweep'>, @RpcHeaders() headers: MessageHeaders): Promise<SweepView> {
    const at = this.clock.now();
    const result = await this.sweeps.handle(sweepStream(req.sweepId), { type: 'CancelSweep', sweepId: req.sweepId, reason: req.reason, at }, commandContextOf(headers));
    const cancelled = result.events.find((e) => e.type === 'scheduler.SweepCancelled.v1');
    let position = result.position;
    for (const jobId of (cancelled?.data as { openJobIds: string[] } | undefined)?.openJobIds ?? []) {
      try {
        const done = await this.jobs.handle(jobId, { type: 'CancelJob', jobId, reason: `sweep ${req.sweepId} cancelled: ${req.reason}`, at }, { ...commandContextOf(headers), commandId: undefined });
        position = Math.max(position ?? 0, done.position ?? 0);
      } catch (error) {
        // Not queued yet (the reactor cancels it when it gets there) or already ended.
        if (!(error instanceof ModelTrailError)) throw error;
        this.logger.debug(`trial job ${jobId} of sweep ${req.sweepId} not cancelled: ${error.message}`);
      }
    }
    return this.views.sweep(req.sweepId, position);
  }
}
