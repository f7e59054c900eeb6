/**
 * Placement of pending jobs on agents: a pure function of the queue and the agents' free
 * capacity, called by the scheduler's placement loop (which turns each assignment into an
 * AssignJob command) and by GetQueue (which shows the waiting jobs with their reasons).
 *
 * Order. Higher priority first. Within one priority, fair share across projects: the next job
 * comes from the project with the fewest running jobs (those running before the call plus those
 * placed by it), ties going to the project whose oldest waiting job is older, then by job id;
 * a project's own jobs go oldest first (queuedAt, then job id). With one project, or projects
 * equally busy, this is plain priority-then-age order.
 *
 * Fit. A job fits an agent that is ACTIVE, carries every label the job asks for with the same
 * value, has at least `gpus` free GPUs with `gpuMemoryMb` or more each, and enough free CPUs and
 * memory. Among the agents it fits, bin packing: the one with the fewest free GPUs (so it is left
 * with the fewest), then the lowest agent id. On that agent it takes the smallest GPUs that are
 * large enough (then the lowest indexes), keeping large GPUs for jobs that need them.
 *
 * Guarantees. A GPU is given at most once per call (also when the input lists one uuid on two
 * agents: the agent first by id keeps it); draining, lost and stopped agents get nothing; a job
 * whose `notBefore` is after `now` is skipped. Nothing is reserved: a job that does not fit yet
 * does not hold back smaller jobs behind it (backfill), so a large job can wait long on a busy
 * cluster.
 *
 * Waiting reasons, for every job not placed, with its 1-based position among the waiting jobs:
 *   NEVER_FITS            no registered agent (any status, counting all its GPUs) could ever take it
 *   WAITING_FOR_CAPACITY  some agent could, but not now
 *   BACKING_OFF           requeued after a loss, not placeable before `notBefore`
 *
 * Cost: capacity only shrinks during a call, so a job shape (resources and labels) that fits no
 * agent once fits none for the rest of the call and is not searched again; agents are kept in
 * buckets by free GPU count, so the search for the best agent stops at the first bucket with a
 * fitting agent. 5,000 jobs on 500 agents take a few milliseconds to tens of milliseconds.
 */

export interface PlacementResources {
  gpus: number;
  /** Per GPU; 0 takes any GPU. */
  gpuMemoryMb: number;
  cpus: number;
  memoryMb: number;
  labels: Record<string, string>;
}

export interface PendingJob {
  jobId: string;
  projectId: string;
  priority: number;
  queuedAt: string;
  notBefore: string | null;
  resources: PlacementResources;
  attempt: number;
}

export type PlacementGpuState = 'FREE' | 'ALLOCATED' | 'UNAVAILABLE';

export interface PlacementAgent {
  agentId: string;
  status: 'ACTIVE' | 'DRAINING' | 'LOST' | 'STOPPED';
  labels: Record<string, string>;
  /** Totals, for "can never fit". */
  cpus: number;
  memoryMb: number;
  /** Not taken by the jobs it runs now. */
  cpusFree: number;
  memoryMbFree: number;
  gpus: Array<{ index: number; uuid: string; memoryMb: number; state: PlacementGpuState }>;
}

export interface PlacementInput {
  jobs: ReadonlyArray<PendingJob>;
  agents: ReadonlyArray<PlacementAgent>;
  now: string;
  /** Jobs each project has assigned or running now (fair share); absent projects have none. */
  runningByProject?: Readonly<Record<string, number>>;
}

export interface Assignment {
  jobId: string;
  agentId: string;
  /** Sorted by index. */
  gpus: Array<{ index: number; uuid: string }>;
}

export type WaitingReasonCode = 'BACKING_OFF' | 'WAITING_FOR_CAPACITY' | 'NEVER_FITS';

export interface WaitingJob {
  jobId: string;
  /** 1-based, among the jobs left waiting, in placement order. */
  position: number;
  reasonCode: WaitingReasonCode;
  reason: string;
}

export interface PlacementResult {
  /** In placement order. */
  assignments: Assignment[];
  /** Every job not placed, in placement order. */
  waiting: WaitingJob[];
}

interface FreeGpu {
  index: number;
  uuid: string;
  memoryMb: number;
}

interface AgentSlot {
  agent: PlacementAgent;
  accepting: boolean;
  /** Free GPUs by memory ascending, then index. */
  free: FreeGpu[];
  cpusFree: number;
  memoryMbFree: number;
}

interface Job {
  pending: PendingJob;
  queuedAtMs: number;
  labels: Array<[string, string]>;
  shape: string;
}

const EPSILON = 1e-9;

export function placeJobs(input: PlacementInput): PlacementResult {
  const nowMs = Date.parse(input.now);
  const slots = prepareAgents(input.agents);
  const buckets = new Buckets(slots.filter((s) => s.accepting));
  const running = new Map<string, number>(Object.entries(input.runningByProject ?? {}));

  const assignments: Assignment[] = [];
  const waitingJobs: Job[] = [];
  const unplaceable = new Set<string>();

  for (const job of placementOrder(input.jobs, running)) {
    const { pending } = job;
    if (pending.notBefore !== null && Date.parse(pending.notBefore) > nowMs) {
      waitingJobs.push(job);
      continue;
    }
    if (unplaceable.has(job.shape)) {
      waitingJobs.push(job);
      continue;
    }
    const slot = buckets.find(job);
    if (!slot) {
      unplaceable.add(job.shape);
      waitingJobs.push(job);
      continue;
    }
    const gpus = take(slot, pending.resources);
    buckets.moved(slot, slot.free.length + gpus.length);
    assignments.push({ jobId: pending.jobId, agentId: slot.agent.agentId, gpus: gpus.map(({ index, uuid }) => ({ index, uuid })).sort((a, b) => a.index - b.index) });
    running.set(pending.projectId, (running.get(pending.projectId) ?? 0) + 1);
  }

  const explain = new Explainer(slots);
  const waiting = waitingJobs.map((job, i): WaitingJob => {
    const ahead = i === 0 ? 'first in line' : `${i} job${i === 1 ? '' : 's'} ahead`;
    const { pending } = job;
    if (pending.notBefore !== null && Date.parse(pending.notBefore) > nowMs) {
      const lost = pending.attempt > 1 ? ` after attempt ${pending.attempt - 1} was lost` : '';
      return { jobId: pending.jobId, position: i + 1, reasonCode: 'BACKING_OFF', reason: `backing off until ${pending.notBefore}${lost}; ${ahead}` };
    }
    const { code, reason } = explain.why(job);
    return { jobId: pending.jobId, position: i + 1, reasonCode: code, reason: code === 'NEVER_FITS' ? reason : `${reason}; ${ahead}` };
  });
  return { assignments, waiting };
}

// ---------------------------------------------------------------------------------------------
// Order: priority, then fair share across projects, then age
// ---------------------------------------------------------------------------------------------

interface ProjectQueue {
  projectId: string;
  jobs: Job[];
  next: number;
}

/**
 * Yields the jobs in placement order. The order depends on what was placed (fair share): the
 * caller counts each placement in `running` before it takes the next job, and only the project
 * just taken from can have changed its count, so it is put back into the heap after that.
 */
function* placementOrder(pending: ReadonlyArray<PendingJob>, running: Map<string, number>): Generator<Job> {
  const byPriority = new Map<number, Map<string, ProjectQueue>>();
  for (const p of pending) {
    let projects = byPriority.get(p.priority);
    if (!projects) byPriority.set(p.priority, (projects = new Map()));
    let queue = projects.get(p.projectId);
    if (!queue) projects.set(p.projectId, (queue = { projectId: p.projectId, jobs: [], next: 0 }));
    queue.jobs.push(toJob(p));
  }
  const priorities = [...byPriority.keys()].sort((a, b) => b - a);
  for (const priority of priorities) {
    const queues = [...byPriority.get(priority)!.values()];
    for (const q of queues) q.jobs.sort(byAge);
    const before = (a: ProjectQueue, b: ProjectQueue): boolean => {
      const ra = running.get(a.projectId) ?? 0;
      const rb = running.get(b.projectId) ?? 0;
      if (ra !== rb) return ra < rb;
      const order = byAge(a.jobs[a.next], b.jobs[b.next]);
      return order !== 0 ? order < 0 : a.projectId < b.projectId;
    };
    const heap = new Heap(queues, before);
    for (let queue = heap.pop(); queue; queue = heap.pop()) {
      yield queue.jobs[queue.next];
      queue.next += 1;
      if (queue.next < queue.jobs.length) heap.push(queue);
    }
  }
}

function toJob(p: PendingJob): Job {
  const labels = Object.entries(p.resources.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const { gpus, gpuMemoryMb, cpus, memoryMb } = p.resources;
  return { pending: p, queuedAtMs: Date.parse(p.queuedAt), labels, shape: `${gpus}|${gpus > 0 ? gpuMemoryMb : 0}|${cpus}|${memoryMb}|${JSON.stringify(labels)}` };
}

function byAge(a: Job, b: Job): number {
  if (a.queuedAtMs !== b.queuedAtMs) return a.queuedAtMs - b.queuedAtMs;
  return a.pending.jobId < b.pending.jobId ? -1 : a.pending.jobId > b.pending.jobId ? 1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Agents and fitting
// ---------------------------------------------------------------------------------------------

function prepareAgents(agents: ReadonlyArray<PlacementAgent>): AgentSlot[] {
  const sorted = [...agents].sort((a, b) => (a.agentId < b.agentId ? -1 : a.agentId > b.agentId ? 1 : 0));
  const seen = new Set<string>();
  return sorted.map((agent) => {
    const free: FreeGpu[] = [];
    for (const gpu of agent.gpus) {
      if (seen.has(gpu.uuid)) continue;
      seen.add(gpu.uuid);
      if (gpu.state === 'FREE') free.push({ index: gpu.index, uuid: gpu.uuid, memoryMb: gpu.memoryMb });
    }
    free.sort((a, b) => a.memoryMb - b.memoryMb || a.index - b.index);
    return { agent, accepting: agent.status === 'ACTIVE', free, cpusFree: agent.cpusFree, memoryMbFree: agent.memoryMbFree };
  });
}

/** Index of the first free GPU with at least `memoryMb`. */
function firstLargeEnough(free: FreeGpu[], memoryMb: number): number {
  let lo = 0;
  let hi = free.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (free[mid].memoryMb < memoryMb) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hasLabels(agentLabels: Record<string, string>, wanted: Array<[string, string]>): boolean {
  for (const [key, value] of wanted) if (agentLabels[key] !== value) return false;
  return true;
}

function fits(slot: AgentSlot, job: Job): boolean {
  const r = job.pending.resources;
  if (slot.cpusFree + EPSILON < r.cpus || slot.memoryMbFree < r.memoryMb) return false;
  if (r.gpus > 0 && slot.free.length - firstLargeEnough(slot.free, r.gpuMemoryMb) < r.gpus) return false;
  return hasLabels(slot.agent.labels, job.labels);
}

function take(slot: AgentSlot, r: PlacementResources): FreeGpu[] {
  slot.cpusFree -= r.cpus;
  slot.memoryMbFree -= r.memoryMb;
  if (r.gpus === 0) return [];
  const start = firstLargeEnough(slot.free, r.gpuMemoryMb);
  return slot.free.splice(start, r.gpus);
}

/** Accepting agents by free GPU count; within a bucket by agent id. */
class Buckets {
  private readonly byFree: AgentSlot[][] = [];

  constructor(slots: AgentSlot[]) {
    for (const slot of slots) (this.byFree[slot.free.length] ??= []).push(slot); // slots come sorted by id
  }

  /** The accepting agent with the fewest free GPUs (then the lowest id) that the job fits. */
  find(job: Job): AgentSlot | null {
    for (let f = job.pending.resources.gpus; f < this.byFree.length; f += 1) {
      const bucket = this.byFree[f];
      if (!bucket) continue;
      for (const slot of bucket) if (fits(slot, job)) return slot;
    }
    return null;
  }

  moved(slot: AgentSlot, fromFree: number): void {
    if (fromFree === slot.free.length) return;
    const from = this.byFree[fromFree];
    from.splice(from.indexOf(slot), 1);
    const to = (this.byFree[slot.free.length] ??= []);
    let lo = 0;
    let hi = to.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (to[mid].agent.agentId < slot.agent.agentId) lo = mid + 1;
      else hi = mid;
    }
    to.splice(lo, 0, slot);
  }
}

class Heap<T> {
  private readonly items: T[] = [];

  constructor(
    items: T[],
    private readonly before: (a: T, b: T) => boolean,
  ) {
    for (const item of items) this.push(item);
  }

  push(item: T): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.before(a[l], a[m])) m = l;
        if (r < a.length && this.before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------
// Reasons
// ---------------------------------------------------------------------------------------------

/** Why a job shape is not placed, against the capacity left after the call (memoised per shape). */
class Explainer {
  private readonly memo = new Map<string, { code: WaitingReasonCode; reason: string }>();
  /** Per agent: every GPU's memory, ascending (what it could ever offer), and its slot (what is free now). */
  private readonly views: Array<{ agent: PlacementAgent; allMemory: number[]; slot: AgentSlot }>;

  constructor(slots: AgentSlot[]) {
    this.views = slots.map((slot) => ({ agent: slot.agent, allMemory: slot.agent.gpus.map((g) => g.memoryMb).sort((a, b) => a - b), slot }));
  }

  why(job: Job): { code: WaitingReasonCode; reason: string } {
    let answer = this.memo.get(job.shape);
    if (!answer) this.memo.set(job.shape, (answer = this.explain(job)));
    return answer;
  }

  /** One pass over the agents: what could ever take the job, and what is short now. */
  private explain(job: Job): { code: WaitingReasonCode; reason: string } {
    const r = job.pending.resources;
    const gpuText = `${r.gpus} GPU${r.gpus === 1 ? '' : 's'}${r.gpuMemoryMb > 0 ? ` with >= ${r.gpuMemoryMb} MB each` : ''}`;
    const labelText = job.labels.map(([k, v]) => `${k}=${v}`).join(', ');
    const withLabels = job.labels.length ? ` with labels ${labelText}` : '';
    const never = (reason: string) => ({ code: 'NEVER_FITS' as const, reason });
    const waiting = (reason: string) => ({ code: 'WAITING_FOR_CAPACITY' as const, reason });
    if (this.views.length === 0) return never('no agent is registered');

    let labelled = 0;
    let gpuCapable = false;
    let cpuCapable = false;
    let memoryCapable = false;
    let largest = { ever: -1, free: -1 };
    let maxCpus = 0;
    let maxMemory = 0;
    const idleStates = new Set<string>();
    let active = 0;
    let maxFreeGpus = 0;
    let maxCpusFree = 0;
    let maxMemoryFree = 0;
    for (const { agent, allMemory, slot } of this.views) {
      if (!hasLabels(agent.labels, job.labels)) continue;
      labelled += 1;
      const ever = r.gpus === 0 ? 0 : allMemory.length - lowerBound(allMemory, r.gpuMemoryMb);
      const free = r.gpus === 0 ? 0 : slot.free.length - firstLargeEnough(slot.free, r.gpuMemoryMb);
      if (ever > largest.ever || (ever === largest.ever && free > largest.free)) largest = { ever, free };
      maxCpus = Math.max(maxCpus, agent.cpus);
      maxMemory = Math.max(maxMemory, agent.memoryMb);
      const gpuOk = ever >= r.gpus;
      const cpuOk = agent.cpus + EPSILON >= r.cpus;
      const memoryOk = agent.memoryMb >= r.memoryMb;
      gpuCapable ||= gpuOk;
      cpuCapable ||= cpuOk;
      memoryCapable ||= memoryOk;
      if (!(gpuOk && cpuOk && memoryOk)) continue;
      if (agent.status !== 'ACTIVE') {
        idleStates.add(agent.status.toLowerCase());
        continue;
      }
      active += 1;
      maxFreeGpus = Math.max(maxFreeGpus, free);
      maxCpusFree = Math.max(maxCpusFree, slot.cpusFree);
      maxMemoryFree = Math.max(maxMemoryFree, slot.memoryMbFree);
    }

    if (labelled === 0) return never(`needs labels ${labelText}; no registered agent has them all`);
    if (!gpuCapable) return never(`needs ${gpuText}; the largest agent${withLabels} has ${largest.free} free of ${largest.ever}`);
    if (!cpuCapable) return never(`needs ${r.cpus} CPUs; the largest agent${withLabels} has ${maxCpus}`);
    if (!memoryCapable) return never(`needs ${r.memoryMb} MB of memory; the largest agent${withLabels} has ${maxMemory} MB`);
    if (active === 0 && idleStates.size === 0) return never(`no single agent${withLabels} has ${r.gpus > 0 ? `${gpuText}, ` : ''}${r.cpus} CPUs and ${r.memoryMb} MB of memory together`);
    if (active === 0) return waiting(`every agent that can take it is ${[...idleStates].sort().join(' or ')}`);
    if (r.gpus > 0 && maxFreeGpus < r.gpus) return waiting(`insufficient free GPUs: needs ${gpuText}, at most ${maxFreeGpus} free on any agent${withLabels}`);
    if (maxCpusFree + EPSILON < r.cpus) return waiting(`insufficient free CPUs: needs ${r.cpus}, at most ${round(maxCpusFree)} free on any agent${withLabels}`);
    if (maxMemoryFree < r.memoryMb) return waiting(`insufficient free memory: needs ${r.memoryMb} MB, at most ${maxMemoryFree} MB free on any agent${withLabels}`);
    return waiting(`no agent${withLabels} has ${r.gpus > 0 ? `${gpuText}, ` : ''}${r.cpus} CPUs and ${r.memoryMb} MB free at the same time`);
  }
}

function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function round(value: number): number {
  return Math.round(value * 1_000) / 1_000;
}
