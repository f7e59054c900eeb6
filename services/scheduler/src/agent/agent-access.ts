import { agentIdOfPrincipal, ForbiddenError, type MessageHeaders } from '@modeltrail/contracts';
import type { JobState } from '../job/job.decider';

/**
 * An agent acts only on its own assignments. A request whose actor is an agent principal
 * (`agent:<agentId>`: an agent with its own credential, or the development agent) may name only
 * that agent; a platform process (a signed user or service actor) may act for any agent.
 */
export function assertActsForAgent(headers: MessageHeaders, agentId: string, what: string): void {
  const own = agentIdOfPrincipal(headers.actor);
  if (own === null) return;
  if (own.toLowerCase() !== agentId.toLowerCase()) {
    throw new ForbiddenError(`agent ${own} may not ${what} for agent ${agentId}: an agent acts only for itself`, { agentId, actor: headers.actor });
  }
}

/**
 * A job report of an agent principal must be about an attempt that agent was given. Once the
 * agent id is the actor's own (assertActsForAgent), the decider's fencing check already refuses
 * every report that is not the current holder's (CONFLICT, with StaleReportRefused recorded for
 * the audit): that is how an agent learns that a job it held was taken from it, or that a token
 * was never issued. What remains is one agent presenting another agent's token (the current
 * holder's, or the one that ended the job): FORBIDDEN, and nothing is appended.
 */
export function assertOwnAssignment(headers: MessageHeaders, state: JobState, agentId: string, fencingToken: number): void {
  const own = agentIdOfPrincipal(headers.actor);
  if (own === null || state.status === 'None') return; // a platform process; NOT_FOUND follows for a missing job
  const forbidden = (why: string) => new ForbiddenError(`agent ${own} may not report on job ${state.jobId}: ${why}`, { jobId: state.jobId, agentId, fencingToken });
  const holder =
    state.status === 'ASSIGNED' || state.status === 'RUNNING'
      ? { agentId: state.agentId, fencingToken: state.fencingToken }
      : 'endedBy' in state
        ? state.endedBy
        : null;
  if (holder && holder.fencingToken === fencingToken && holder.agentId.toLowerCase() !== agentId.toLowerCase()) throw forbidden(`token ${fencingToken} is agent ${holder.agentId}'s`);
}
