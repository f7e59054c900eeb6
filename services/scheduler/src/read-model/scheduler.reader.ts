import type { Pool } from 'pg';
import type { AgentGpu, AgentStatus, AgentView, GpuStatus, JobView, SweepView } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { rowDecoder } from '@modeltrail/readmodel';
import type { PendingJob } from '../placement/placement';
import type { AgentSnapshot, HeldJob } from '../placement/placement.input';
import { type AgentRow, agentsTable, type JobRow, jobsTable, type SweepRow, sweepsTable, type SweepTrialRow, sweepTrialsTable } from './scheduler.entities';

/** A heartbeat as `agent_heartbeats` keeps it. */
export interface StoredHeartbeat {
  agentId: string;
  sessionId: string;
  lastSeenAt: Date;
  running: Array<{ jobId: string; fencingToken: number }>;
  gpuStatus: Array<{ uuid: string; status: GpuStatus }>;
  accepting: boolean;
}

/** A held job as the liveness monitor judges it. */
export interface HeldJobLease {
  jobId: string;
  agentId: string;
  fencingToken: number;
  assignedAt: Date;
}

/**
 * Reads the scheduler's read model with plain SQL where a view joins several tables (an agent
 * with the jobs holding its GPUs and its last heartbeat, a sweep with its trials' job states,
 * the placement snapshot), one statement per table.
 */
export class SchedulerReader {
  private readonly s: string;
  private readonly jobRow = rowDecoder(jobsTable);
  private readonly agentRow = rowDecoder(agentsTable);
  private readonly sweepRow = rowDecoder(sweepsTable);
  private readonly trialRow = rowDecoder(sweepTrialsTable);

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = ident(schema);
  }

  async jobRows(jobIds: ReadonlyArray<string>): Promise<JobRow[]> {
    if (jobIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.jobs WHERE job_id = ANY($1::uuid[])`, [jobIds]);
    return rows.map(this.jobRow);
  }

  async jobViews(jobIds: ReadonlyArray<string>): Promise<JobView[]> {
    return (await this.jobRows(jobIds)).map(jobView);
  }

  /** Revisions of the jobs the read model has, by id. */
  async jobRevisions(jobIds: ReadonlyArray<string>): Promise<Map<string, number>> {
    if (jobIds.length === 0) return new Map();
    const { rows } = await this.pool.query<{ job_id: string; revision: string }>(`SELECT job_id, revision FROM ${this.s}.jobs WHERE job_id = ANY($1::uuid[])`, [jobIds]);
    return new Map(rows.map((r) => [r.job_id, Number(r.revision)]));
  }

  /**
   * What a heartbeat needs of the read model, in one statement: the agent's current session and
   * status, and the jobs assigned to it and not started yet (oldest assignment first).
   */
  async heartbeatView(agentId: string): Promise<{ agent: { sessionId: string; status: AgentStatus } | null; assigned: JobRow[] }> {
    const { rows } = await this.pool.query(
      `SELECT a.session_id AS agent_session_id, a.status AS agent_status, j.*
         FROM ${this.s}.agents a LEFT JOIN ${this.s}.jobs j ON j.agent_id = a.agent_id AND j.status = 'ASSIGNED'
        WHERE a.agent_id = $1 ORDER BY j.assigned_at, j.job_id`,
      [agentId],
    );
    if (rows.length === 0) return { agent: null, assigned: [] };
    return {
      agent: { sessionId: rows[0].agent_session_id, status: rows[0].agent_status },
      assigned: rows.filter((r: Record<string, unknown>) => r.job_id !== null).map(this.jobRow),
    };
  }

  /** Every job an agent holds now (ASSIGNED or RUNNING). */
  async heldLeases(): Promise<HeldJobLease[]> {
    const { rows } = await this.pool.query<{ job_id: string; agent_id: string; fencing_token: number; assigned_at: Date }>(
      `SELECT job_id, agent_id, fencing_token, assigned_at FROM ${this.s}.jobs WHERE status IN ('ASSIGNED', 'RUNNING')`,
    );
    return rows.map((r) => ({ jobId: r.job_id, agentId: r.agent_id, fencingToken: r.fencing_token, assignedAt: r.assigned_at }));
  }

  async heldBy(agentId: string): Promise<Array<{ jobId: string; fencingToken: number }>> {
    const { rows } = await this.pool.query<{ job_id: string; fencing_token: number }>(
      `SELECT job_id, fencing_token FROM ${this.s}.jobs WHERE status IN ('ASSIGNED', 'RUNNING') AND agent_id = $1`,
      [agentId],
    );
    return rows.map((r) => ({ jobId: r.job_id, fencingToken: r.fencing_token }));
  }

  async agentRows(agentIds?: ReadonlyArray<string>): Promise<AgentRow[]> {
    const { rows } = agentIds ? await this.pool.query(`SELECT * FROM ${this.s}.agents WHERE agent_id = ANY($1::uuid[])`, [agentIds]) : await this.pool.query(`SELECT * FROM ${this.s}.agents`);
    return rows.map(this.agentRow);
  }

  async heartbeats(agentIds?: ReadonlyArray<string>): Promise<Map<string, StoredHeartbeat>> {
    const { rows } = agentIds
      ? await this.pool.query(`SELECT * FROM ${this.s}.agent_heartbeats WHERE agent_id = ANY($1::uuid[])`, [agentIds])
      : await this.pool.query(`SELECT * FROM ${this.s}.agent_heartbeats`);
    return new Map(
      rows.map((r: Record<string, any>) => [
        r.agent_id,
        { agentId: r.agent_id, sessionId: r.session_id, lastSeenAt: r.last_seen_at, running: r.running, gpuStatus: r.gpu_status, accepting: r.accepting },
      ]),
    );
  }

  /** Jobs queued and not placed yet (the modeltrail_scheduler_queued_jobs gauge). */
  async queuedJobCount(): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${this.s}.jobs WHERE status = 'QUEUED'`);
    return rows[0].n;
  }

  /** The read model as placement sees it: pending jobs, agents with their last heartbeat, held jobs. */
  async placementSnapshot(): Promise<{ pending: PendingJob[]; agents: AgentSnapshot[]; held: HeldJob[] }> {
    const [pending, agents, held] = await Promise.all([
      this.pool.query(`SELECT job_id, project_id, priority, queued_at, not_before, resources, attempt FROM ${this.s}.jobs WHERE status = 'QUEUED'`),
      this.pool.query(
        `SELECT a.agent_id, a.session_id, a.status, a.labels, a.gpus, a.cpus, a.memory_mb, h.session_id AS hb_session_id, h.accepting, h.gpu_status
           FROM ${this.s}.agents a LEFT JOIN ${this.s}.agent_heartbeats h ON h.agent_id = a.agent_id`,
      ),
      this.pool.query(`SELECT job_id, project_id, agent_id, gpus, resources FROM ${this.s}.jobs WHERE status IN ('ASSIGNED', 'RUNNING')`),
    ]);
    return {
      pending: pending.rows.map((r: Record<string, any>) => ({
        jobId: r.job_id,
        projectId: r.project_id,
        priority: r.priority,
        queuedAt: r.queued_at.toISOString(),
        notBefore: r.not_before ? r.not_before.toISOString() : null,
        resources: r.resources,
        attempt: r.attempt,
      })),
      agents: agents.rows.map((r: Record<string, any>) => ({
        agentId: r.agent_id,
        sessionId: r.session_id,
        status: r.status as AgentStatus,
        labels: r.labels,
        gpus: r.gpus as AgentGpu[],
        cpus: r.cpus,
        memoryMb: Number(r.memory_mb),
        heartbeat: r.hb_session_id ? { sessionId: r.hb_session_id, accepting: r.accepting, gpuStatus: r.gpu_status } : null,
      })),
      held: held.rows.map((r: Record<string, any>) => ({ jobId: r.job_id, projectId: r.project_id, agentId: r.agent_id, gpus: r.gpus, resources: r.resources })),
    };
  }

  /**
   * Agent views: the agent row, the jobs it holds (and which GPU each holds), and its last
   * heartbeat (`lastSeen` adds what this replica heard but has not written yet).
   */
  async agentViews(rows: ReadonlyArray<AgentRow>, lastSeen: (agentId: string, sessionId: string) => Date | null): Promise<AgentView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.agentId);
    const [held, heartbeats] = await Promise.all([
      this.pool.query(`SELECT job_id, agent_id, gpus, resources FROM ${this.s}.jobs WHERE status IN ('ASSIGNED', 'RUNNING') AND agent_id = ANY($1::uuid[]) ORDER BY assigned_at, job_id`, [ids]),
      this.heartbeats(ids),
    ]);
    const byAgent = new Map<string, Array<Record<string, any>>>();
    for (const job of held.rows as Array<Record<string, any>>) byAgent.set(job.agent_id, [...(byAgent.get(job.agent_id) ?? []), job]);
    return rows.map((row) => {
      const jobs = byAgent.get(row.agentId) ?? [];
      const holder = new Map<string, string>();
      for (const job of jobs) for (const gpu of job.gpus as Array<{ uuid: string }>) holder.set(gpu.uuid, job.job_id);
      const heartbeat = heartbeats.get(row.agentId);
      const stored = heartbeat && heartbeat.sessionId === row.sessionId ? heartbeat.lastSeenAt : null;
      const heard = lastSeen(row.agentId, row.sessionId);
      const seen = stored && heard ? (stored > heard ? stored : heard) : (stored ?? heard);
      const reported = new Map((heartbeat && heartbeat.sessionId === row.sessionId ? heartbeat.gpuStatus : []).map((g) => [g.uuid, g.status]));
      return {
        agentId: row.agentId,
        sessionId: row.sessionId,
        status: row.status,
        hostname: row.hostname,
        labels: row.labels,
        gpus: row.gpus.map((gpu) => ({ ...gpu, status: reported.get(gpu.uuid) ?? gpu.status, jobId: holder.get(gpu.uuid) ?? null })),
        cpus: row.cpus,
        memoryMb: row.memoryMb,
        cpusAllocated: jobs.reduce((sum, job) => sum + job.resources.cpus, 0),
        memoryMbAllocated: jobs.reduce((sum, job) => sum + job.resources.memoryMb, 0),
        gpuProbe: row.gpuProbe,
        agentVersion: row.agentVersion,
        runningJobIds: jobs.map((job) => job.job_id),
        drainReason: row.draining ? row.drainReason : null,
        lostReason: row.lostReason,
        registeredAt: row.registeredAt.toISOString(),
        lastSeenAt: seen ? seen.toISOString() : null,
        revision: row.revision,
      };
    });
  }

  /** Agents by host name (then id), optionally of one status, after a cursor. */
  async agentPage(status: AgentStatus | undefined, after: { hostname: string; agentId: string } | null, limit: number): Promise<AgentRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (status) where.push(`status = $${params.push(status)}`);
    if (after) where.push(`(hostname, agent_id) > ($${params.push(after.hostname)}, $${params.push(after.agentId)}::uuid)`);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.agents ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY hostname, agent_id LIMIT $${params.push(limit)}`,
      params,
    );
    return rows.map(this.agentRow);
  }

  async sweepRows(sweepIds: ReadonlyArray<string>): Promise<SweepRow[]> {
    if (sweepIds.length === 0) return [];
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.sweeps WHERE sweep_id = ANY($1::uuid[])`, [sweepIds]);
    return rows.map(this.sweepRow);
  }

  /** Sweep views with their trials in trial order, each with its job's status while open. */
  async sweepViews(rows: ReadonlyArray<SweepRow>): Promise<SweepView[]> {
    if (rows.length === 0) return [];
    const { rows: trials } = await this.pool.query(
      `SELECT t.*, j.status AS job_status FROM ${this.s}.sweep_trials t LEFT JOIN ${this.s}.jobs j ON j.job_id = t.job_id WHERE t.sweep_id = ANY($1::uuid[]) ORDER BY t.sweep_id, t.trial`,
      [rows.map((r) => r.sweepId)],
    );
    const bySweep = new Map<string, Array<SweepTrialRow & { jobStatus: JobView['status'] | null }>>();
    for (const raw of trials as Array<Record<string, any>>) {
      const trial = { ...this.trialRow(raw), jobStatus: raw.job_status };
      bySweep.set(trial.sweepId, [...(bySweep.get(trial.sweepId) ?? []), trial]);
    }
    return rows.map((row) => ({
      sweepId: row.sweepId,
      experimentId: row.experimentId,
      projectId: row.projectId,
      status: row.status,
      strategy: row.strategy,
      space: row.space,
      maxTrials: row.maxTrials,
      maxConcurrent: row.maxConcurrent,
      seed: row.seed,
      objective: row.objective,
      jobTemplate: row.jobTemplate,
      trials: (bySweep.get(row.sweepId) ?? []).map((t) => ({
        trial: t.trial,
        jobId: t.jobId,
        runId: t.runId,
        params: t.params,
        status: t.outcome ?? t.jobStatus ?? 'QUEUED',
        objectiveValue: t.objectiveValue,
        queuedAt: t.queuedAt.toISOString(),
        finishedAt: t.finishedAt ? t.finishedAt.toISOString() : null,
      })),
      trialsFinished: row.trialsFinished,
      best: row.best,
      cancelReason: row.cancelReason,
      submittedAt: row.submittedAt.toISOString(),
      endedAt: row.endedAt ? row.endedAt.toISOString() : null,
      submittedBy: row.submittedBy,
      revision: row.revision,
    }));
  }
}

export function jobView(row: JobRow): JobView {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    jobId: row.jobId,
    status: row.status,
    projectId: row.projectId,
    experimentId: row.experimentId,
    runId: row.runId,
    startsRun: row.startsRun,
    sweepId: row.sweepId,
    trial: row.trial,
    command: row.command,
    env: row.env,
    workingDir: row.workingDir,
    resources: row.resources,
    priority: row.priority,
    maxRetries: row.maxRetries,
    timeoutSeconds: row.timeoutSeconds,
    cancelGraceSeconds: row.cancelGraceSeconds,
    attempt: row.attempt,
    lostCount: row.lostCount,
    fencingToken: row.fencingToken,
    agentId: row.agentId,
    gpus: row.gpus,
    leaseExpiresAt: iso(row.leaseExpiresAt),
    pid: row.pid,
    exitCode: row.exitCode,
    signal: row.signal,
    reason: row.reason,
    cancelRequestedAt: iso(row.cancelRequestedAt),
    cancelReason: row.cancelReason,
    queuedAt: row.queuedAt.toISOString(),
    notBefore: iso(row.notBefore),
    assignedAt: iso(row.assignedAt),
    startedAt: iso(row.startedAt),
    endedAt: iso(row.endedAt),
    durationMs: row.durationMs,
    staleReportsRefused: row.staleReportsRefused,
    submittedBy: row.submittedBy,
    revision: row.revision,
  };
}

