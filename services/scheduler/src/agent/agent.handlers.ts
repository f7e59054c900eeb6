import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { agentStream, type AgentView, type JobAssignment, type MessageHeaders, ModelTrailError, type RpcReply, schedulerRpc, type z } from '@modeltrail/contracts';
import { CommandHandler, commandContextOf } from '@modeltrail/decider';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { JobCommands } from '../job/job.commands';
import { agentInstruction, checkFencing } from '../job/job.decider';
import { SchedulerReader } from '../read-model/scheduler.reader';
import { SchedulerViews } from '../read-model/scheduler.views';
import { SchedulerSignals } from '../signals';
import { assertActsForAgent } from './agent-access';
import { type AgentCommand, type AgentEvent, type AgentState } from './agent.decider';
import { LivenessTable } from './liveness';

type Req<K extends keyof typeof schedulerRpc> = z.output<(typeof schedulerRpc)[K]['request']>;

/** Injection token of the agents' command loop (shared by these handlers and the liveness monitor). */
export const AGENT_COMMANDS = Symbol('AGENT_COMMANDS');
export type AgentCommands = CommandHandler<AgentCommand, AgentEvent, AgentState>;

/** Injection token of the time this replica started: a session it has not heard of yet is given one lease from it. */
export const SERVICE_STARTED_AT = Symbol('SERVICE_STARTED_AT');

const iso = (ms: number) => new Date(ms).toISOString();

/** NATS adapters of the Agent aggregate: the operator's drain and resume, and the agents' own registration and heartbeats. */
@Controller()
export class AgentHandlers {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(AGENT_COMMANDS) private readonly agents: AgentCommands,
    @Inject(SERVICE_STARTED_AT) private readonly startedAt: string,
    private readonly jobs: JobCommands,
    private readonly liveness: LivenessTable,
    private readonly reader: SchedulerReader,
    private readonly views: SchedulerViews,
    private readonly signals: SchedulerSignals,
  ) {}

  /**
   * The decider judges whether the stored session is live from the last heartbeat this replica
   * or another heard of (or this replica's start, when none was heard since). A replaced session
   * that still counted as online is recorded lost, and the jobs it held are lost with it.
   */
  @RpcPattern(schedulerRpc.registerAgent)
  async register(@Payload() req: Req<'registerAgent'>, @RpcHeaders() headers: MessageHeaders): Promise<RpcReply<typeof schedulerRpc.registerAgent>> {
    assertActsForAgent(headers, req.agentId, 'register');
    const at = this.clock.now();
    const { state } = await this.agents.load(agentStream(req.agentId));
    const lastSeenAt = state.status === 'None' ? null : await this.lastHeard(req.agentId, state.sessionId);
    const command: AgentCommand = {
      type: 'RegisterAgent',
      agentId: req.agentId,
      sessionId: req.sessionId,
      replaceSession: req.replaceSession,
      lastSeenAt,
      livenessSeconds: this.config.scheduler.leaseMs / 1_000,
      at,
      hostname: req.hostname,
      labels: req.labels,
      gpus: req.gpus,
      cpus: req.cpus,
      memoryMb: req.memoryMb,
      gpuProbe: req.gpuProbe,
      agentVersion: req.agentVersion,
    };
    const result = await this.agents.handle(agentStream(req.agentId), command, commandContextOf(headers));
    await this.liveness.registered(req.agentId, req.sessionId, at);
    const lost = result.events.find((e) => e.type === 'scheduler.AgentLost.v1');
    if (lost) await this.loseJobsOf(req.agentId, (lost.data as { reason: string }).reason, headers);
    this.signals.kickPlacement();
    const agent = await this.views.agent(req.agentId, result.position);
    return { agent, leaseExpiresAt: iso(Date.parse(at) + this.config.scheduler.leaseMs), heartbeatIntervalMs: this.config.scheduler.heartbeatMs };
  }

  /**
   * Renews the agent's lease (memory and `agent_heartbeats`; no event) and answers with what the
   * agent must do: start its new assignments, stop the jobs with a cancel request, abandon the
   * processes whose token is stale, or register again when the session is not known.
   */
  @RpcPattern(schedulerRpc.agentHeartbeat)
  async heartbeat(@Payload() req: Req<'agentHeartbeat'>, @RpcHeaders() headers: MessageHeaders): Promise<RpcReply<typeof schedulerRpc.agentHeartbeat>> {
    assertActsForAgent(headers, req.agentId, 'heartbeat');
    const at = this.clock.now();
    const [view, instructions] = await Promise.all([this.reader.heartbeatView(req.agentId), this.instructions(req.agentId, req.running)]);
    const known = await this.sessionKnown(req.agentId, req.sessionId, view.agent);
    const cancel = instructions.flatMap((i) => (i.instruction.kind === 'CANCEL' ? [{ jobId: i.jobId, fencingToken: i.fencingToken, reason: i.instruction.reason, graceSeconds: i.instruction.graceSeconds }] : []));
    const abandon = instructions.flatMap((i) => (i.instruction.kind === 'ABANDON' ? [{ jobId: i.jobId, fencingToken: i.fencingToken, reason: i.instruction.reason }] : []));
    if (!known) return { leaseExpiresAt: at, cancel, abandon, assignments: [], reregister: true };

    const { previousRunning } = await this.liveness.heartbeat(req.agentId, req.sessionId, at, req.running, req.gpuStatus, req.acceptAssignments);
    // Capacity may have been freed (a job ended, a GPU came back): placement looks again.
    if (previousRunning === null || req.running.length < previousRunning || req.gpuStatus.length > 0) this.signals.kickPlacement();
    const leaseExpiresAt = iso(Date.parse(at) + this.config.scheduler.leaseMs);
    const holding = new Set(req.running.map((r) => `${r.jobId}/${r.fencingToken}`));
    const assignments: JobAssignment[] = req.acceptAssignments
      ? view.assigned
          .filter((row) => row.fencingToken !== null && !holding.has(`${row.jobId}/${row.fencingToken}`))
          .map((row) => ({
            jobId: row.jobId,
            runId: row.runId,
            fencingToken: row.fencingToken!,
            attempt: row.attempt,
            command: row.command,
            env: row.env,
            workingDir: row.workingDir,
            gpus: row.gpus,
            timeoutSeconds: row.timeoutSeconds,
            cancelGraceSeconds: row.cancelGraceSeconds,
            leaseExpiresAt,
          }))
      : [];
    return { leaseExpiresAt, cancel, abandon, assignments, reregister: false };
  }

  @RpcPattern(schedulerRpc.drainAgent)
  async drain(@Payload() req: Req<'drainAgent'>, @RpcHeaders() headers: MessageHeaders): Promise<AgentView> {
    const result = await this.agents.handle(agentStream(req.agentId), { type: 'DrainAgent', agentId: req.agentId, reason: req.reason, at: this.clock.now() }, commandContextOf(headers));
    return this.views.agent(req.agentId, result.position);
  }

  /**
   * An agent's session ends cleanly: STOPPED (a replaced or already lost session changes
   * nothing). The liveness monitor then treats the jobs it still held as held by an agent no
   * longer online, so they are requeued within a check instead of a lease.
   */
  @RpcPattern(schedulerRpc.stopAgent)
  async stop(@Payload() req: Req<'stopAgent'>, @RpcHeaders() headers: MessageHeaders): Promise<AgentView> {
    assertActsForAgent(headers, req.agentId, 'stop a session');
    const result = await this.agents.handle(
      agentStream(req.agentId),
      { type: 'StopAgent', agentId: req.agentId, sessionId: req.sessionId, reason: req.reason || 'stopped by its operator', at: this.clock.now() },
      commandContextOf(headers),
    );
    if (result.events.length > 0) this.signals.kickPlacement();
    return this.views.agent(req.agentId, result.position);
  }

  @RpcPattern(schedulerRpc.resumeAgent)
  async resume(@Payload() req: Req<'resumeAgent'>, @RpcHeaders() headers: MessageHeaders): Promise<AgentView> {
    const result = await this.agents.handle(agentStream(req.agentId), { type: 'ResumeAgent', agentId: req.agentId, at: this.clock.now() }, commandContextOf(headers));
    if (result.events.length > 0) this.signals.kickPlacement();
    return this.views.agent(req.agentId, result.position);
  }

  /** The latest time the session was heard of, here or by another replica, and never before this replica started. */
  private async lastHeard(agentId: string, sessionId: string): Promise<string> {
    const times = [Date.parse(this.startedAt)];
    const heard = this.liveness.lastSeen(agentId, sessionId);
    if (heard) times.push(heard.getTime());
    const stored = (await this.reader.heartbeats([agentId])).get(agentId);
    if (stored && stored.sessionId === sessionId) times.push(stored.lastSeenAt.getTime());
    return iso(Math.max(...times));
  }

  /** Whether the session is the agent's current online one: the read model answers, the store when it disagrees (a registration a moment ago). */
  private async sessionKnown(agentId: string, sessionId: string, row: { sessionId: string; status: string } | null): Promise<boolean> {
    if (row && row.sessionId === sessionId && (row.status === 'ACTIVE' || row.status === 'DRAINING')) return true;
    const { state } = await this.agents.load(agentStream(agentId));
    return state.status !== 'None' && state.online && state.sessionId === sessionId;
  }

  /**
   * What the agent must do with each job it holds. The read model's revisions say whether a kept
   * job state is current; anything but "keep running" is checked against the store first.
   */
  private async instructions(agentId: string, running: ReadonlyArray<{ jobId: string; fencingToken: number }>) {
    if (running.length === 0) return [];
    const revisions = await this.reader.jobRevisions(running.map((r) => r.jobId));
    return Promise.all(
      running.map(async ({ jobId, fencingToken }) => {
        let instruction = agentInstruction(await this.jobs.stateAt(jobId, revisions.get(jobId) ?? 0), agentId, fencingToken);
        if (instruction.kind !== 'KEEP') {
          const current = await this.jobs.stateAt(jobId, 0, true);
          instruction = agentInstruction(current, agentId, fencingToken);
          if (instruction.kind === 'ABANDON' && checkFencing(current, agentId, fencingToken) !== null) await this.recordStaleHeartbeat(agentId, jobId, fencingToken);
        }
        return { jobId, fencingToken, instruction };
      }),
    );
  }

  /** Stale holders whose heartbeat refusal this replica recorded already (bounded): once each, not once a heartbeat. */
  private readonly staleHeartbeats = new Set<string>();

  private async recordStaleHeartbeat(agentId: string, jobId: string, fencingToken: number): Promise<void> {
    const key = `${agentId}/${jobId}/${fencingToken}`;
    if (this.staleHeartbeats.has(key)) return;
    this.staleHeartbeats.add(key);
    if (this.staleHeartbeats.size > 10_000) this.staleHeartbeats.delete(this.staleHeartbeats.values().next().value as string);
    try {
      await this.jobs.handle(
        jobId,
        { type: 'RecordStaleReport', jobId, agentId, fencingToken, reported: { kind: 'HEARTBEAT' }, at: this.clock.now() },
        { actor: `agent:${agentId}`, correlationId: jobId },
      );
    } catch (error) {
      // The record is for the audit; the heartbeat's answer (abandon) stands without it.
      this.staleHeartbeats.delete(key);
      if (!(error instanceof ModelTrailError)) throw error;
    }
  }

  private async loseJobsOf(agentId: string, reason: string, headers: MessageHeaders): Promise<void> {
    const at = this.clock.now();
    for (const { jobId, fencingToken } of await this.reader.heldBy(agentId)) {
      await this.jobs.handle(jobId, { type: 'MarkJobLost', jobId, agentId, fencingToken, reason: `agent ${agentId} was lost: ${reason}`, at }, { ...commandContextOf(headers), commandId: undefined });
    }
  }
}
