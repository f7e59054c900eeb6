import type { Pool } from 'pg';
import type { GpuStatus } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';

interface HeardAgent {
  sessionId: string;
  lastSeenMs: number;
  /** Jobs the last heartbeat said the agent holds (job id -> fencing token). */
  running: Map<string, number>;
  /** What was last written to `agent_heartbeats`, and when. */
  written: { key: string; atMs: number } | null;
}

/**
 * When each agent was last heard of. Heartbeats are not events (one per agent every few
 * seconds would flood the store and tell an auditor nothing): each renews the agent's lease in
 * memory here and in `agent_heartbeats` (one upsert), where the leader's liveness monitor reads
 * heartbeats that other replicas answered. A registration counts as being heard of.
 *
 * It also remembers, per job, when a heartbeat last mentioned it with its fencing token: an
 * assignment that no heartbeat takes up within a lease is lost like one whose agent is.
 *
 * The row is written when what the agent reports changed (jobs, GPU status, whether it takes
 * assignments), and otherwise at most every `writeEveryMs` (half the heartbeat interval): an
 * agent woken many times a second for new work costs one write, not one per heartbeat, and
 * the stored time is never more than half an interval behind the last regular heartbeat.
 */
export class LivenessTable {
  private readonly s: string;
  private readonly agents = new Map<string, HeardAgent>();
  private readonly mentions = new Map<string, { fencingToken: number; atMs: number }>();

  constructor(
    private readonly pool: Pool,
    schema: string,
    private readonly writeEveryMs = 0,
  ) {
    this.s = ident(schema);
  }

  /**
   * Records a heartbeat; returns how many jobs the previous heartbeat of the same session held
   * here (null when this replica heard none), so the caller can tell capacity was freed.
   */
  async heartbeat(agentId: string, sessionId: string, at: string, running: ReadonlyArray<{ jobId: string; fencingToken: number }>, gpuStatus: ReadonlyArray<{ uuid: string; status: GpuStatus }>, accepting: boolean): Promise<{ previousRunning: number | null }> {
    const atMs = Date.parse(at);
    const previous = this.agents.get(agentId);
    const key = JSON.stringify([sessionId, running.map((r) => [r.jobId, r.fencingToken]), gpuStatus, accepting]);
    const stale = !previous?.written || previous.written.key !== key || atMs - previous.written.atMs >= this.writeEveryMs;
    const heard: HeardAgent = { sessionId, lastSeenMs: atMs, running: new Map(running.map((r) => [r.jobId, r.fencingToken])), written: stale ? { key, atMs } : previous!.written };
    this.agents.set(agentId, heard);
    for (const r of running) this.mentions.set(r.jobId, { fencingToken: r.fencingToken, atMs });
    if (previous) for (const jobId of previous.running.keys()) if (!running.some((r) => r.jobId === jobId)) this.mentions.delete(jobId);
    if (stale) await this.write(agentId, sessionId, at, running, gpuStatus, accepting);
    return { previousRunning: previous && previous.sessionId === sessionId ? previous.running.size : null };
  }

  /** A registration: the session is heard of now, holding nothing yet. */
  async registered(agentId: string, sessionId: string, at: string): Promise<void> {
    const previous = this.agents.get(agentId);
    if (previous && previous.sessionId !== sessionId) for (const jobId of previous.running.keys()) this.mentions.delete(jobId);
    if (previous?.sessionId === sessionId) previous.lastSeenMs = Date.parse(at);
    else this.agents.set(agentId, { sessionId, lastSeenMs: Date.parse(at), running: new Map(), written: null });
    if (previous?.sessionId !== sessionId) await this.write(agentId, sessionId, at, [], [], true);
  }

  /** The last time this replica heard of the session, or null. */
  lastSeen(agentId: string, sessionId: string): Date | null {
    const heard = this.agents.get(agentId);
    return heard && heard.sessionId === sessionId ? new Date(heard.lastSeenMs) : null;
  }

  /** When a heartbeat heard here last mentioned the job under `fencingToken`, or null. */
  mentionedAt(jobId: string, fencingToken: number): Date | null {
    const mention = this.mentions.get(jobId);
    return mention && mention.fencingToken === fencingToken ? new Date(mention.atMs) : null;
  }

  private async write(agentId: string, sessionId: string, at: string, running: ReadonlyArray<{ jobId: string; fencingToken: number }>, gpuStatus: ReadonlyArray<{ uuid: string; status: GpuStatus }>, accepting: boolean): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.agent_heartbeats AS h (agent_id, session_id, last_seen_at, running, gpu_status, accepting) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (agent_id) DO UPDATE SET session_id = EXCLUDED.session_id, last_seen_at = EXCLUDED.last_seen_at, running = EXCLUDED.running, gpu_status = EXCLUDED.gpu_status, accepting = EXCLUDED.accepting
       WHERE h.last_seen_at <= EXCLUDED.last_seen_at`,
      [agentId, sessionId, at, JSON.stringify(running.map((r) => ({ jobId: r.jobId, fencingToken: r.fencingToken }))), JSON.stringify(gpuStatus), accepting],
    );
  }
}
