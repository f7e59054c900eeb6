import { randomUUID } from 'node:crypto';
import {
  type AgentView,
  ConflictError,
  NotFoundError,
  type JobAssignment,
  type JobStatus,
  type JobView,
  type RpcReply,
  schedulerRpc,
  subjects,
  withNamespace,
  type z,
} from '@modeltrail/contracts';
import { type MessageBus, type RpcServer, serveRpc } from '@modeltrail/messaging';
import { jobViewOf } from '@modeltrail/testing';

/**
 * A stand-in for the remote scheduler service in the agent's tests: it answers the agent-facing
 * requests of `schedulerRpc` on the bus (NATS or in process), following their contracts (the requests are
 * validated with the contracts' schemas by serveRpc, the replies are the contracts' shapes):
 *
 * - RegisterAgent: a second session while another one of the same id is live (heard from within
 *   `leaseMs`) is refused with CONFLICT naming the live session, unless `replaceSession`;
 * - AgentHeartbeat: an unknown session gets `reregister: true`; otherwise the reply carries the
 *   pending cancels (repeated until the job is reported), abandons (once) and assignments
 *   (repeated until a heartbeat lists the job, and only while the agent accepts them);
 * - ReportJobStarted, AppendJobLogs, ReportJobFinished: recorded; a job marked stale (its token
 *   revoked) is answered CONFLICT, as the scheduler answers a stale fencing token.
 *
 * `assign` and `cancel` publish the wake nudge on the bus, as the scheduler does.
 */

type Req<K extends keyof typeof schedulerRpc> = z.output<(typeof schedulerRpc)[K]['request']>;

interface Session {
  sessionId: string;
  hostname: string;
  lastSeenAt: number;
  registration: Req<'registerAgent'>;
}

export class SchedulerDouble {
  readonly registrations: Array<Req<'registerAgent'>> = [];
  /** Clean stops the agents announced. */
  readonly stops: Array<Req<'stopAgent'>> = [];
  readonly heartbeats: Array<Req<'agentHeartbeat'> & { receivedAt: number }> = [];
  readonly started: Array<Req<'reportJobStarted'>> = [];
  readonly finished: Array<Req<'reportJobFinished'>> = [];
  /** Reports answered CONFLICT because the job's token was revoked. */
  readonly refused: Array<{ kind: 'STARTED' | 'LOGS' | 'FINISHED'; jobId: string; fencingToken: number; pid?: number }> = [];
  /** What the heartbeat reply tells agents (from the lease and heartbeat settings of a scheduler). */
  heartbeatIntervalMs = 500;
  leaseMs = 5_000;
  private readonly logs = new Map<string, Map<number, Req<'appendJobLogs'>['lines'][number]>>();
  private readonly sessions = new Map<string, Session>();
  private readonly assignments = new Map<string, JobAssignment[]>();
  private readonly cancels = new Map<string, { agentId: string; entry: RpcReply<typeof schedulerRpc.agentHeartbeat>['cancel'][number] }>();
  private readonly abandons = new Map<string, RpcReply<typeof schedulerRpc.agentHeartbeat>['abandon']>();
  private readonly stale = new Set<string>();
  private servers: RpcServer[] = [];

  constructor(
    private readonly nc: MessageBus,
    private readonly namespace: string,
  ) {}

  start(): void {
    const options = { namespace: this.namespace, queue: `scheduler-double-${randomUUID()}` };
    this.servers = [
      serveRpc(this.nc, schedulerRpc.registerAgent, (req) => this.register(req), options),
      serveRpc(this.nc, schedulerRpc.agentHeartbeat, (req) => this.heartbeat(req), options),
      serveRpc(this.nc, schedulerRpc.reportJobStarted, (req) => this.reportStarted(req), options),
      serveRpc(this.nc, schedulerRpc.appendJobLogs, (req) => this.appendLogs(req), options),
      serveRpc(this.nc, schedulerRpc.reportJobFinished, (req) => this.reportFinished(req), options),
      serveRpc(this.nc, schedulerRpc.stopAgent, (req) => this.stopAgent(req), options),
    ];
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }

  /**
   * Which jobs an agent holds, as the scheduler would answer the experiments service (assigned
   * to it and not reported finished): the experiments module's AgentAssignments in agent specs.
   */
  readonly agentAssignments = {
    holdsAny: async (agentId: string, jobIds: ReadonlyArray<string>): Promise<boolean> =>
      jobIds.some((jobId) => this.assignedTo.get(jobId) === agentId && !this.finishedOf(jobId) && !this.stale.has(jobId)),
  };
  /** Job id -> the agent it was last assigned to. */
  private readonly assignedTo = new Map<string, string>();

  /** Hands a job to an agent at its next heartbeat, and wakes the agent. */
  assign(agentId: string, job: Pick<JobAssignment, 'jobId' | 'runId' | 'command'> & Partial<JobAssignment>): JobAssignment {
    const assignment: JobAssignment = {
      fencingToken: 1,
      attempt: 1,
      env: {},
      workingDir: null,
      gpus: [],
      timeoutSeconds: null,
      cancelGraceSeconds: 10,
      leaseExpiresAt: new Date(Date.now() + this.leaseMs).toISOString(),
      ...job,
    };
    const list = this.assignments.get(agentId) ?? [];
    list.push(assignment);
    this.assignedTo.set(assignment.jobId, agentId);
    this.assignments.set(agentId, list);
    this.wake(agentId);
    return assignment;
  }

  /** Asks for a cancel (repeated in every heartbeat reply until the job is reported), and wakes the agent. */
  cancel(agentId: string, jobId: string, fencingToken: number, reason: string, graceSeconds: number): void {
    this.cancels.set(jobId, { agentId, entry: { jobId, fencingToken, reason, graceSeconds } });
    this.wake(agentId);
  }

  abandon(agentId: string, jobId: string, fencingToken: number, reason: string): void {
    const list = this.abandons.get(agentId) ?? [];
    list.push({ jobId, fencingToken, reason });
    this.abandons.set(agentId, list);
    this.wake(agentId);
  }

  /** Revokes a job's token: every later report about it is answered CONFLICT. */
  revoke(jobId: string): void {
    this.stale.add(jobId);
  }

  /** The scheduler declares the agent's session lost: its next heartbeat is told to register again. */
  forgetSession(agentId: string): void {
    this.sessions.delete(agentId);
  }

  /** Registers a session directly (another process holding the id). */
  holdSession(agentId: string, sessionId: string, hostname: string): void {
    this.sessions.set(agentId, { sessionId, hostname, lastSeenAt: Date.now(), registration: null as unknown as Req<'registerAgent'> });
  }

  wake(agentId: string): void {
    this.nc.publish(withNamespace(this.namespace, subjects.agent(agentId, 'wake')));
  }

  heartbeatsOf(agentId: string): Array<Req<'agentHeartbeat'> & { receivedAt: number }> {
    return this.heartbeats.filter((h) => h.agentId === agentId);
  }

  logLines(jobId: string): Array<Req<'appendJobLogs'>['lines'][number]> {
    return [...(this.logs.get(jobId)?.values() ?? [])].sort((a, b) => a.seq - b.seq);
  }

  finishedOf(jobId: string): Req<'reportJobFinished'> | undefined {
    return this.finished.find((r) => r.jobId === jobId);
  }

  // -- handlers ---------------------------------------------------------------------------------

  private register(req: Req<'registerAgent'>): RpcReply<typeof schedulerRpc.registerAgent> {
    const now = Date.now();
    const held = this.sessions.get(req.agentId);
    if (held && held.sessionId !== req.sessionId && now - held.lastSeenAt < this.leaseMs && !req.replaceSession) {
      throw new ConflictError(
        `agent ${req.agentId} is live with session ${held.sessionId} on ${held.hostname}: a second agent with that id is refused; stop the other process, wait ${this.leaseMs / 1000} s after its last heartbeat, or register with replaceSession if it is gone`,
        { agentId: req.agentId, sessionId: held.sessionId, lastSeenAt: new Date(held.lastSeenAt).toISOString() },
      );
    }
    this.registrations.push(req);
    this.sessions.set(req.agentId, { sessionId: req.sessionId, hostname: req.hostname, lastSeenAt: now, registration: req });
    return { agent: this.agentView(req, now), leaseExpiresAt: new Date(now + this.leaseMs).toISOString(), heartbeatIntervalMs: this.heartbeatIntervalMs };
  }

  /** A session's clean end, as the real scheduler records it (STOPPED); unknown sessions are NOT_FOUND. */
  private stopAgent(req: Req<'stopAgent'>): RpcReply<typeof schedulerRpc.stopAgent> {
    const held = this.sessions.get(req.agentId);
    if (!held) throw new NotFoundError(`agent ${req.agentId} does not exist`, { agentId: req.agentId });
    this.stops.push(req);
    if (held.sessionId === req.sessionId) this.sessions.delete(req.agentId);
    return { ...this.agentView(held.registration, Date.now()), status: 'STOPPED' };
  }

  private heartbeat(req: Req<'agentHeartbeat'>): RpcReply<typeof schedulerRpc.agentHeartbeat> {
    const now = Date.now();
    this.heartbeats.push({ ...req, receivedAt: now });
    const session = this.sessions.get(req.agentId);
    const leaseExpiresAt = new Date(now + this.leaseMs).toISOString();
    if (!session || session.sessionId !== req.sessionId) return { leaseExpiresAt, cancel: [], abandon: [], assignments: [], reregister: true };
    session.lastSeenAt = now;
    const cancel = [...this.cancels.values()].filter((c) => c.agentId === req.agentId).map((c) => c.entry);
    const abandon = this.abandons.get(req.agentId) ?? [];
    this.abandons.delete(req.agentId);
    // As the scheduler does: an assignment is repeated in every reply until a heartbeat lists it (or the job is reported).
    const holding = new Set(req.running.map((r) => `${r.jobId}/${r.fencingToken}`));
    const pending = (this.assignments.get(req.agentId) ?? []).filter((a) => !holding.has(`${a.jobId}/${a.fencingToken}`) && !this.finishedOf(a.jobId));
    this.assignments.set(req.agentId, pending);
    const assignments = req.acceptAssignments ? pending : [];
    return { leaseExpiresAt, cancel, abandon, assignments, reregister: false };
  }

  private reportStarted(req: Req<'reportJobStarted'>): JobView {
    if (this.stale.has(req.jobId)) {
      this.refused.push({ kind: 'STARTED', jobId: req.jobId, fencingToken: req.fencingToken, pid: req.pid });
      throw this.staleError(req.jobId, req.agentId, req.fencingToken);
    }
    if (!this.started.some((r) => r.jobId === req.jobId && r.fencingToken === req.fencingToken)) this.started.push(req);
    return jobView(req.jobId, 'RUNNING', { agentId: req.agentId, fencingToken: req.fencingToken, pid: req.pid });
  }

  private appendLogs(req: Req<'appendJobLogs'>): RpcReply<typeof schedulerRpc.appendJobLogs> {
    if (this.stale.has(req.jobId)) {
      this.refused.push({ kind: 'LOGS', jobId: req.jobId, fencingToken: req.fencingToken });
      throw this.staleError(req.jobId, req.agentId, req.fencingToken);
    }
    const lines = this.logs.get(req.jobId) ?? new Map();
    let accepted = 0;
    for (const line of req.lines) {
      if (lines.has(line.seq)) continue;
      lines.set(line.seq, line);
      accepted += 1;
    }
    this.logs.set(req.jobId, lines);
    return { jobId: req.jobId, accepted, lastSeq: lines.size > 0 ? Math.max(...lines.keys()) : null };
  }

  private reportFinished(req: Req<'reportJobFinished'>): JobView {
    if (this.stale.has(req.jobId)) {
      this.refused.push({ kind: 'FINISHED', jobId: req.jobId, fencingToken: req.fencingToken });
      throw this.staleError(req.jobId, req.agentId, req.fencingToken);
    }
    const earlier = this.finishedOf(req.jobId);
    if (earlier && earlier.outcome !== req.outcome) throw new ConflictError(`job ${req.jobId} has already ended (${earlier.outcome}): the report of ${req.outcome} is refused`, { jobId: req.jobId });
    if (!earlier) this.finished.push(req);
    this.cancels.delete(req.jobId);
    return jobView(req.jobId, req.outcome, { agentId: req.agentId, fencingToken: req.fencingToken, exitCode: req.exitCode, signal: req.signal, reason: req.reason });
  }

  private staleError(jobId: string, agentId: string, staleToken: number): ConflictError {
    return new ConflictError(`report from agent ${agentId} on job ${jobId} refused: token ${staleToken} is no longer the job's`, { jobId, agentId, staleToken, currentToken: staleToken + 1, currentAgentId: null });
  }

  private agentView(req: Req<'registerAgent'>, now: number): AgentView {
    return {
      agentId: req.agentId,
      sessionId: req.sessionId,
      status: 'ACTIVE',
      hostname: req.hostname,
      labels: req.labels,
      gpus: req.gpus.map((gpu) => ({ ...gpu, jobId: null })),
      cpus: req.cpus,
      memoryMb: req.memoryMb,
      cpusAllocated: 0,
      memoryMbAllocated: 0,
      gpuProbe: req.gpuProbe,
      agentVersion: req.agentVersion,
      runningJobIds: [],
      drainReason: null,
      lostReason: null,
      registeredAt: new Date(now).toISOString(),
      lastSeenAt: new Date(now).toISOString(),
      revision: 0,
    };
  }
}

function jobView(jobId: string, status: JobStatus, fields: Partial<JobView>): JobView {
  const now = new Date().toISOString();
  return jobViewOf({
    jobId,
    status,
    projectId: randomUUID(),
    experimentId: randomUUID(),
    runId: randomUUID(),
    command: ['true'],
    resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1024, labels: {} },
    queuedAt: now,
    assignedAt: now,
    startedAt: now,
    revision: 1,
    ...fields,
  });
}

