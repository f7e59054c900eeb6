import { type AgentGpu, agentStream, type AgentStatus, ConflictError, type GpuProbe, type Labels, NotFoundError, type TypedEvent } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The Agent aggregate (stream `agent-<uuid>`): a GPU node's worker process, its capacity and
 * whether the scheduler may place jobs on it.
 *
 * Sessions. An agent process picks a fresh `sessionId` when it starts; its agent id stays the
 * same across restarts. A registration with the stored session id is the same process again:
 * with the same capacity it decides nothing (idempotent); with changed capacity (a GPU gone
 * busy) it records the new registration. A registration with another session id is a second
 * process claiming the id, and is refused (ConflictError) while the stored session is live,
 * unless the caller says the old session is gone (`replaceSession`).
 *
 * Liveness is judged purely, from what the command carries: heartbeats are not events (they
 * would flood the store), so the service keeps the last heartbeat time per session in memory
 * and passes it as `lastSeenAt`, with `livenessSeconds` (its lease) and `at` (now). The stored
 * session is live when it is not Lost or Stopped and
 *     max(lastSeenAt, the time it registered) + livenessSeconds > at.
 * A service that has just started has heard no heartbeat yet: it passes its own start time as
 * `lastSeenAt` for every known session, so that a restart of the scheduler gives live agents
 * one lease to be heard before another process may take their id.
 *
 * A replaced session that was still counted as online is recorded as lost (AgentLost, then
 * AgentRegistered, in one append), so the jobs it held are requeued like those of any lost
 * agent. Draining is an operator's intent and outlives sessions: a drained agent that restarts
 * stays DRAINING until ResumeAgent.
 */

export interface AgentCapacity {
  hostname: string;
  labels: Labels;
  gpus: AgentGpu[];
  cpus: number;
  memoryMb: number;
  gpuProbe: GpuProbe;
  agentVersion: string;
}

export type AgentCommand =
  | ({
      type: 'RegisterAgent';
      agentId: string;
      sessionId: string;
      /** The operator says the stored session is gone: replace it even if it looks live. */
      replaceSession: boolean;
      /** Last heartbeat of the stored session as the service remembers it (see the header); null when none. */
      lastSeenAt: string | null;
      livenessSeconds: number;
      at: string;
    } & AgentCapacity)
  | { type: 'DrainAgent'; agentId: string; reason: string; at: string }
  | { type: 'ResumeAgent'; agentId: string; at: string }
  /** From the service's liveness monitor: `sessionId` sent no heartbeat for a whole lease. */
  | { type: 'MarkAgentLost'; agentId: string; sessionId: string; lastSeenAt: string | null; reason: string; at: string }
  /** From the agent itself, shutting down cleanly after its jobs ended. */
  | { type: 'StopAgent'; agentId: string; sessionId: string; reason: string; at: string };

export type AgentEvent = TypedEvent<
  'scheduler.AgentRegistered.v1' | 'scheduler.AgentDrainRequested.v1' | 'scheduler.AgentResumed.v1' | 'scheduler.AgentLost.v1' | 'scheduler.AgentStopped.v1'
>;

export interface AgentFacts extends AgentCapacity {
  agentId: string;
  sessionId: string;
  /** When the current session last registered. */
  registeredAt: string;
  online: boolean;
  draining: boolean;
  drainReason: string | null;
  lostReason: string | null;
}

export type AgentState = { status: 'None' } | ({ status: AgentStatus } & AgentFacts);
type Registered = Exclude<AgentState, { status: 'None' }>;

export { agentStream };

export const agentDecider: Decider<AgentCommand, AgentEvent, AgentState> = {
  initialState: () => ({ status: 'None' }),

  decide(command, state) {
    switch (command.type) {
      case 'RegisterAgent': {
        const registered: AgentEvent = {
          type: 'scheduler.AgentRegistered.v1',
          data: {
            agentId: command.agentId,
            sessionId: command.sessionId,
            hostname: command.hostname,
            labels: command.labels,
            gpus: command.gpus,
            cpus: command.cpus,
            memoryMb: command.memoryMb,
            gpuProbe: command.gpuProbe,
            agentVersion: command.agentVersion,
            registeredAt: command.at,
          },
        };
        if (state.status === 'None' || !state.online) return [registered];
        if (state.sessionId === command.sessionId) return sameCapacity(state, command) ? [] : [registered];
        const lastSeen = latest(command.lastSeenAt, state.registeredAt);
        if (!command.replaceSession && isSessionLive(state, command.lastSeenAt, command.livenessSeconds, command.at)) {
          const ago = Math.round((Date.parse(command.at) - Date.parse(lastSeen)) / 1_000);
          throw new ConflictError(
            `agent ${state.agentId} is live with session ${state.sessionId} on ${state.hostname} (last seen ${lastSeen}, ${ago} s ago): ` +
              `a second agent with that id is refused; stop the other process, wait ${command.livenessSeconds} s after its last heartbeat, or register with replaceSession if it is gone`,
            { agentId: state.agentId, sessionId: state.sessionId, lastSeenAt: lastSeen },
          );
        }
        const why = command.replaceSession
          ? `replaced by session ${command.sessionId}: the operator said the old session is gone`
          : `replaced by session ${command.sessionId}: no heartbeat since ${lastSeen}`;
        return [{ type: 'scheduler.AgentLost.v1', data: { agentId: state.agentId, sessionId: state.sessionId, reason: why, lastSeenAt: command.lastSeenAt, lostAt: command.at } }, registered];
      }
      case 'DrainAgent': {
        const agent = requireAgent(state, command.agentId);
        if (agent.draining) return [];
        return [{ type: 'scheduler.AgentDrainRequested.v1', data: { agentId: agent.agentId, reason: command.reason, requestedAt: command.at } }];
      }
      case 'ResumeAgent': {
        const agent = requireAgent(state, command.agentId);
        if (!agent.draining) return [];
        return [{ type: 'scheduler.AgentResumed.v1', data: { agentId: agent.agentId, resumedAt: command.at } }];
      }
      case 'MarkAgentLost': {
        const agent = requireAgent(state, command.agentId);
        // An old view of the monitor: that session already ended or was replaced.
        if (!agent.online || agent.sessionId !== command.sessionId) return [];
        return [{ type: 'scheduler.AgentLost.v1', data: { agentId: agent.agentId, sessionId: agent.sessionId, reason: command.reason, lastSeenAt: command.lastSeenAt, lostAt: command.at } }];
      }
      case 'StopAgent': {
        const agent = requireAgent(state, command.agentId);
        // A replaced (or already lost) session shutting down: nothing of the current one changes.
        if (!agent.online || agent.sessionId !== command.sessionId) return [];
        return [{ type: 'scheduler.AgentStopped.v1', data: { agentId: agent.agentId, sessionId: agent.sessionId, reason: command.reason, stoppedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'scheduler.AgentRegistered.v1': {
        const { registeredAt, ...facts } = event.data;
        const previous = state.status === 'None' ? null : state;
        return withStatus({ ...facts, registeredAt, online: true, draining: previous?.draining ?? false, drainReason: previous?.drainReason ?? null, lostReason: null });
      }
      case 'scheduler.AgentDrainRequested.v1':
        return state.status === 'None' ? state : withStatus({ ...state, draining: true, drainReason: event.data.reason });
      case 'scheduler.AgentResumed.v1':
        return state.status === 'None' ? state : withStatus({ ...state, draining: false, drainReason: null });
      case 'scheduler.AgentLost.v1':
        return state.status === 'None' ? state : { ...state, status: 'LOST', online: false, lostReason: event.data.reason };
      case 'scheduler.AgentStopped.v1':
        return state.status === 'None' ? state : { ...state, status: 'STOPPED', online: false };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

/**
 * Whether the stored session counts as live at `at`: online (not Lost or Stopped) and heard of
 * within `livenessSeconds`, counting its registration as being heard of.
 */
export function isSessionLive(state: AgentState, lastSeenAt: string | null, livenessSeconds: number, at: string): boolean {
  if (state.status === 'None' || !state.online) return false;
  return Date.parse(latest(lastSeenAt, state.registeredAt)) + livenessSeconds * 1_000 > Date.parse(at);
}

/** Whether placement may give the agent new jobs. */
export function acceptsJobs(state: AgentState): boolean {
  return state.status === 'ACTIVE';
}

function withStatus(facts: AgentFacts): Registered {
  const status: AgentStatus = facts.online ? (facts.draining ? 'DRAINING' : 'ACTIVE') : facts.lostReason !== null ? 'LOST' : 'STOPPED';
  return { status, ...facts };
}

function requireAgent(state: AgentState, agentId: string): Registered {
  if (state.status === 'None') throw new NotFoundError(`agent ${agentId} is not registered`, { agentId });
  return state;
}

function latest(a: string | null, b: string): string {
  return a !== null && Date.parse(a) > Date.parse(b) ? a : b;
}

function sameCapacity(state: AgentCapacity, command: AgentCapacity): boolean {
  const pick = (c: AgentCapacity) => canonical({ hostname: c.hostname, labels: c.labels, gpus: c.gpus, cpus: c.cpus, memoryMb: c.memoryMb, gpuProbe: c.gpuProbe, agentVersion: c.agentVersion });
  return pick(state) === pick(command);
}

/** JSON with object keys sorted, so that `{a, b}` and `{b, a}` compare equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
