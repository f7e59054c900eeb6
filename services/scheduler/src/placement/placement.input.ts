import type { AgentGpu, AgentStatus, GpuStatus, JobGpu, JobResources } from '@modeltrail/contracts';
import type { PendingJob, PlacementAgent, PlacementGpuState, PlacementInput } from './placement';

/**
 * What placement is given, built from the read model (pure, so the rules are tested without a
 * database):
 *   - every registered agent with its status; an ACTIVE agent whose last heartbeat said it takes
 *     no assignments (it is stopping) counts as DRAINING;
 *   - each GPU FREE only when the agent registered it AVAILABLE, no later heartbeat of the same
 *     session reported it BUSY_EXTERNAL or UNKNOWN, and no ASSIGNED or RUNNING job holds it (on
 *     any agent: a GPU uuid is never given twice);
 *   - CPUs and memory less what the agent's held jobs take;
 *   - the held jobs per project (fair share).
 */

export interface AgentSnapshot {
  agentId: string;
  sessionId: string;
  status: AgentStatus;
  labels: Record<string, string>;
  gpus: AgentGpu[];
  cpus: number;
  memoryMb: number;
  /** The agent's last heartbeat, when there was one. */
  heartbeat: { sessionId: string; accepting: boolean; gpuStatus: Array<{ uuid: string; status: GpuStatus }> } | null;
}

/** A job an agent holds (ASSIGNED or RUNNING). */
export interface HeldJob {
  jobId: string;
  projectId: string;
  agentId: string;
  gpus: JobGpu[];
  resources: Pick<JobResources, 'cpus' | 'memoryMb'>;
}

export function placementInput(pending: ReadonlyArray<PendingJob>, agents: ReadonlyArray<AgentSnapshot>, held: ReadonlyArray<HeldJob>, now: string): PlacementInput {
  const allocated = new Set<string>();
  const used = new Map<string, { cpus: number; memoryMb: number }>();
  const runningByProject: Record<string, number> = {};
  for (const job of held) {
    for (const gpu of job.gpus) allocated.add(gpu.uuid);
    const u = used.get(job.agentId) ?? { cpus: 0, memoryMb: 0 };
    used.set(job.agentId, { cpus: u.cpus + job.resources.cpus, memoryMb: u.memoryMb + job.resources.memoryMb });
    runningByProject[job.projectId] = (runningByProject[job.projectId] ?? 0) + 1;
  }
  const placementAgents = agents.map((agent): PlacementAgent => {
    const current = agent.heartbeat && agent.heartbeat.sessionId === agent.sessionId ? agent.heartbeat : null;
    const reported = new Map((current?.gpuStatus ?? []).map((g) => [g.uuid, g.status]));
    const status = agent.status === 'ACTIVE' && current && !current.accepting ? 'DRAINING' : agent.status;
    const u = used.get(agent.agentId) ?? { cpus: 0, memoryMb: 0 };
    return {
      agentId: agent.agentId,
      status,
      labels: agent.labels,
      cpus: agent.cpus,
      memoryMb: agent.memoryMb,
      cpusFree: Math.max(0, agent.cpus - u.cpus),
      memoryMbFree: Math.max(0, agent.memoryMb - u.memoryMb),
      gpus: agent.gpus.map((gpu) => {
        const gpuStatus = reported.get(gpu.uuid) ?? gpu.status;
        const state: PlacementGpuState = allocated.has(gpu.uuid) ? 'ALLOCATED' : gpuStatus === 'AVAILABLE' ? 'FREE' : 'UNAVAILABLE';
        return { index: gpu.index, uuid: gpu.uuid, memoryMb: gpu.memoryMb, state };
      }),
    };
  });
  return { jobs: pending, agents: placementAgents, now, runningByProject };
}
