import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import {
  type ArtifactReply,
  experimentsRpc,
  type MessageHeaders,
  type MetricPoint,
  type MetricSummary,
  NotFoundError,
  runIdForCommand,
  type RunReply,
  type RpcReply,
  type z,
} from '@modeltrail/contracts';
import { CommandHandler, type HandleResult, commandContextOf } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { type ExperimentCommand, experimentDecider, type ExperimentEvent, type ExperimentState, experimentStream } from '../experiment/experiment.decider';
import { MetricStore } from '../metrics/metric.store';
import { RunTelemetryPublisher } from '../metrics/run-telemetry.publisher';
import { AGENT_ASSIGNMENTS, type AgentAssignments, assertAgentMayLogInto } from './agent-assignments';
import { DATASET_VERSION_DIRECTORY, type DatasetVersionDirectory } from './dataset-version.directory';
import { assertAcceptsMetrics, type RunCommand, runDecider, type RunEvent, type RunState, runStream } from './run.decider';

type Req<K extends keyof typeof experimentsRpc> = z.output<(typeof experimentsRpc)[K]['request']>;

/** NATS adapters of the Run aggregate and of its metric points. */
@Controller()
export class RunHandlers {
  private readonly runs: CommandHandler<RunCommand, RunEvent, RunState>;
  /** Reads experiment streams (this adapter never writes them). */
  private readonly experiments: CommandHandler<ExperimentCommand, ExperimentEvent, ExperimentState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(DATASET_VERSION_DIRECTORY) private readonly datasetVersions: DatasetVersionDirectory,
    private readonly metrics: MetricStore,
    private readonly telemetry: RunTelemetryPublisher,
    @Inject(AGENT_ASSIGNMENTS) private readonly assignments: AgentAssignments,
  ) {
    this.runs = new CommandHandler(store, runDecider);
    this.experiments = new CommandHandler(store, experimentDecider);
  }

  @RpcPattern(experimentsRpc.startRun)
  async start(@Payload() req: Req<'startRun'>, @RpcHeaders() headers: MessageHeaders): Promise<RunReply> {
    const runId = req.runId ?? (headers.commandId ? runIdForCommand(headers.commandId) : randomUUID());
    const { state: experiment } = await this.experiments.load(experimentStream(req.experimentId));
    // Only an existing experiment is worth asking the datasets context about.
    const known = experiment.status === 'Created' ? await this.datasetVersions.resolve(req.datasetVersions.map((v) => v.datasetVersionId), headers) : new Map<string, string>();
    const command: RunCommand = {
      type: 'StartRun',
      runId,
      experimentId: req.experimentId,
      experiment: experiment.status === 'Created' ? { projectId: experiment.projectId } : null,
      params: req.params,
      codeRef: req.codeRef,
      datasetVersions: req.datasetVersions.map((v) => ({ ...v, datasetId: known.get(v.datasetVersionId) ?? null })),
      tags: req.tags,
      at: this.clock.now(),
    };
    return runReply(runId, await this.runs.handle(runStream(runId), command, commandContextOf(headers)));
  }

  /** Params the run did not have are added; a retry changes nothing; another value for a key is a CONFLICT. */
  @RpcPattern(experimentsRpc.logParams)
  async logParams(@Payload() req: Req<'logParams'>, @RpcHeaders() headers: MessageHeaders): Promise<RunReply> {
    await this.checkAgent(req.runId, headers);
    const command: RunCommand = { type: 'LogParams', runId: req.runId, params: req.params, at: this.clock.now() };
    return runReply(req.runId, await this.runs.handle(runStream(req.runId), command, commandContextOf(headers)));
  }

  @RpcPattern(experimentsRpc.logArtifact)
  async logArtifact(@Payload() req: Req<'logArtifact'>, @RpcHeaders() headers: MessageHeaders): Promise<ArtifactReply> {
    await this.checkAgent(req.runId, headers);
    const command: RunCommand = { type: 'LogArtifact', ...req, at: this.clock.now() };
    const { state } = await this.runs.handle(runStream(req.runId), command, commandContextOf(headers));
    const artifact = state.status === 'NotStarted' ? undefined : state.artifacts[req.name];
    if (!artifact) throw new NotFoundError(`run ${req.runId} does not exist`, { runId: req.runId });
    return { runId: req.runId, name: req.name, uri: artifact.uri, digest: artifact.digest, size: artifact.size, loggedAt: artifact.loggedAt };
  }

  /**
   * Stores the points in one transaction under the run's metrics lock, then publishes them for
   * live charts. Under the lock, the statement that records the batch and stores its points and
   * the read of the run's stream go out together; a run that is not running rolls the points
   * back. A batch whose Mt-Command-Id was stored before stores nothing again, even once the run
   * has ended.
   */
  @RpcPattern(experimentsRpc.logMetrics)
  async logMetrics(@Payload() req: Req<'logMetrics'>, @RpcHeaders() headers: MessageHeaders): Promise<RpcReply<typeof experimentsRpc.logMetrics>> {
    await this.checkAgent(req.runId, headers);
    const now = this.clock.now();
    const points: MetricPoint[] = req.points.map((p) => ({ key: p.key, value: p.value, step: p.step, timestamp: p.timestamp ?? now }));
    const stored = await this.metrics.withRunLock(req.runId, async (tx) => {
      const [outcome, run] = await Promise.allSettled([tx.store(headers.commandId, points), this.runs.load(runStream(req.runId))]);
      if (outcome.status === 'rejected') throw outcome.reason;
      if (outcome.value === 'recorded') return false;
      if (run.status === 'rejected') throw run.reason;
      assertAcceptsMetrics(run.value.state, req.runId);
      return true;
    });
    // Published before the reply, on the same connection: NATS keeps the order, so a caller
    // that subscribed before logging has the points live by the time it has the reply.
    if (stored) this.telemetry.publish(req.runId, points);
    return { runId: req.runId, accepted: stored ? points.length : 0, alreadyRecorded: !stored };
  }

  /** An agent (an `agent:<id>` actor) logs only into the run of a job it holds now (see assertAgentMayLogInto). */
  private async checkAgent(runId: string, headers: MessageHeaders): Promise<void> {
    if (!headers.actor.startsWith('agent:')) return;
    const { state } = await this.runs.load(runStream(runId));
    if (state.status === 'NotStarted') throw new NotFoundError(`run ${runId} does not exist`, { runId });
    await assertAgentMayLogInto(this.assignments, headers, runId, state.tags);
  }

  @RpcPattern(experimentsRpc.completeRun)
  async complete(@Payload() req: Req<'completeRun'>, @RpcHeaders() headers: MessageHeaders): Promise<RunReply> {
    return this.end(req.runId, headers, (summary, at) => ({ type: 'CompleteRun', runId: req.runId, summary, at }));
  }

  @RpcPattern(experimentsRpc.failRun)
  async fail(@Payload() req: Req<'failRun'>, @RpcHeaders() headers: MessageHeaders): Promise<RunReply> {
    return this.end(req.runId, headers, (summary, at) => ({ type: 'FailRun', runId: req.runId, reason: req.reason, summary, at }));
  }

  /** The summary is read and the end appended while the metrics lock is held: no point can land in between. */
  private async end(runId: string, headers: MessageHeaders, command: (summary: MetricSummary[], at: string) => RunCommand): Promise<RunReply> {
    const result = await this.metrics.withRunLock(runId, async (tx) => this.runs.handle(runStream(runId), command(await tx.summary(), this.clock.now()), commandContextOf(headers)));
    return runReply(runId, result);
  }
}

export function runReply(runId: string, result: Pick<HandleResult<RunState>, 'state' | 'revision'>): RunReply {
  const { state } = result;
  if (state.status === 'NotStarted' || result.revision === 'no_stream') throw new NotFoundError(`run ${runId} does not exist`, { runId });
  return {
    runId,
    experimentId: state.experimentId,
    projectId: state.projectId,
    status: state.status,
    params: state.params,
    codeRef: state.codeRef,
    datasetVersions: state.datasetVersions,
    tags: state.tags,
    startedAt: state.startedAt,
    endedAt: state.status === 'Running' ? null : state.endedAt,
    failureReason: state.status === 'Failed' ? state.reason : null,
    summary: state.summary,
    revision: result.revision,
  };
}
