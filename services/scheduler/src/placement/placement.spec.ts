import { type PendingJob, type PlacementAgent, type PlacementGpuState, placeJobs } from './placement';

const now = '2026-11-22T12:00:00.000Z';
const P1 = 'p1';
const P2 = 'p2';

let seq = 0;
function job(jobId: string, extra: Partial<Omit<PendingJob, 'resources'>> & { resources?: Partial<PendingJob['resources']> } = {}): PendingJob {
  seq += 1;
  const { resources, ...rest } = extra;
  return {
    jobId,
    projectId: P1,
    priority: 0,
    queuedAt: new Date(Date.parse('2026-11-22T10:00:00.000Z') + seq * 1_000).toISOString(),
    notBefore: null,
    attempt: 1,
    ...rest,
    resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_000, labels: {}, ...resources },
  };
}

function agent(agentId: string, gpuCount: number, extra: Partial<PlacementAgent> & { gpuMemoryMb?: number; busy?: number[]; gpuStates?: PlacementGpuState[] } = {}): PlacementAgent {
  const { gpuMemoryMb = 81_920, busy = [], gpuStates, ...rest } = extra;
  return {
    agentId,
    status: 'ACTIVE',
    labels: {},
    cpus: 64,
    memoryMb: 512_000,
    cpusFree: 64,
    memoryMbFree: 512_000,
    gpus: Array.from({ length: gpuCount }, (_, index) => ({
      index,
      uuid: `GPU-${agentId}-${index}`,
      memoryMb: gpuMemoryMb,
      state: gpuStates?.[index] ?? (busy.includes(index) ? 'ALLOCATED' : 'FREE'),
    })),
    ...rest,
  };
}

const placedOn = (result: ReturnType<typeof placeJobs>) => Object.fromEntries(result.assignments.map((a) => [a.jobId, a.agentId]));

describe('placement', () => {
  it('places by priority, then age', () => {
    const jobs = [job('old-low', { priority: 0 }), job('new-high', { priority: 5 }), job('old-high', { priority: 5, queuedAt: '2026-11-22T09:00:00.000Z' }), job('new-low')];
    const result = placeJobs({ jobs, agents: [agent('a', 2)], now });
    expect(result.assignments.map((a) => a.jobId)).toEqual(['old-high', 'new-high']);
    expect(result.waiting.map((w) => [w.jobId, w.position])).toEqual([
      ['old-low', 1],
      ['new-low', 2],
    ]);
  });

  it('bin-packs: the fitting agent with the fewest free GPUs, then the lowest id', () => {
    const agents = [agent('big', 8), agent('half', 8, { busy: [0, 1, 2, 3] }), agent('b-two', 2), agent('a-two', 2)];
    const result = placeJobs({ jobs: [job('two', { resources: { gpus: 2 } })], agents, now });
    expect(result.assignments).toEqual([{ jobId: 'two', agentId: 'a-two', gpus: [{ index: 0, uuid: 'GPU-a-two-0' }, { index: 1, uuid: 'GPU-a-two-1' }] }]);
    const three = placeJobs({ jobs: [job('three', { resources: { gpus: 3 } })], agents, now });
    expect(three.assignments[0].agentId).toBe('half');
    expect(three.assignments[0].gpus.map((g) => g.index)).toEqual([4, 5, 6]);
  });

  it('sends CPU-only jobs to agents without free GPUs first', () => {
    const result = placeJobs({ jobs: [job('cpu', { resources: { gpus: 0 } })], agents: [agent('gpu', 4), agent('full', 2, { busy: [0, 1] })], now });
    expect(result.assignments).toEqual([{ jobId: 'cpu', agentId: 'full', gpus: [] }]);
  });

  it('fits per-GPU memory and takes the smallest GPUs large enough', () => {
    const mixed: PlacementAgent = {
      ...agent('mixed', 0),
      gpus: [
        { index: 0, uuid: 'big-0', memoryMb: 81_920, state: 'FREE' },
        { index: 1, uuid: 'small-1', memoryMb: 24_576, state: 'FREE' },
        { index: 2, uuid: 'mid-2', memoryMb: 40_960, state: 'FREE' },
        { index: 3, uuid: 'small-3', memoryMb: 24_576, state: 'FREE' },
      ],
    };
    const result = placeJobs({ jobs: [job('any'), job('mid', { resources: { gpuMemoryMb: 30_000 } }), job('huge', { resources: { gpuMemoryMb: 80_000 } }), job('more', { resources: { gpuMemoryMb: 30_000 } })], agents: [mixed], now });
    expect(result.assignments.map((a) => [a.jobId, a.gpus[0].uuid])).toEqual([
      ['any', 'small-1'],
      ['mid', 'mid-2'],
      ['huge', 'big-0'],
    ]);
    expect(result.waiting).toEqual([{ jobId: 'more', position: 1, reasonCode: 'WAITING_FOR_CAPACITY', reason: 'insufficient free GPUs: needs 1 GPU with >= 30000 MB each, at most 0 free on any agent; first in line' }]);
  });

  it('requires every job label with the same value on the agent', () => {
    const agents = [agent('a', 1, { labels: { gpu: 'v100', zone: 'eu' } }), agent('b', 1, { labels: { gpu: 'a100', zone: 'us' } }), agent('c', 1, { labels: { gpu: 'a100', zone: 'eu', spot: 'yes' } })];
    const result = placeJobs({ jobs: [job('eu-a100', { resources: { labels: { gpu: 'a100', zone: 'eu' } } }), job('h100', { resources: { labels: { gpu: 'h100' } } })], agents, now });
    expect(placedOn(result)).toEqual({ 'eu-a100': 'c' });
    expect(result.waiting).toEqual([{ jobId: 'h100', position: 1, reasonCode: 'NEVER_FITS', reason: 'needs labels gpu=h100; no registered agent has them all' }]);
  });

  it('checks free CPUs and memory', () => {
    const agents = [agent('a', 2, { cpusFree: 4, memoryMbFree: 8_000 })];
    const result = placeJobs({ jobs: [job('cpus', { resources: { cpus: 8 } }), job('memory', { resources: { memoryMb: 16_000 } }), job('ok', { resources: { cpus: 2.5, memoryMb: 8_000 } })], agents, now });
    expect(placedOn(result)).toEqual({ ok: 'a' });
    expect(result.waiting.map((w) => w.reason)).toEqual([
      'insufficient free CPUs: needs 8, at most 1.5 free on any agent; first in line',
      'insufficient free memory: needs 16000 MB, at most 0 MB free on any agent; 1 job ahead',
    ]);
  });

  it('never gives a GPU twice, also when the input lists one uuid on two agents', () => {
    const twin = agent('b', 2);
    twin.gpus = twin.gpus.map((g, i) => ({ ...g, uuid: `GPU-a-${i}` }));
    const jobs = Array.from({ length: 10 }, (_, i) => job(`j${i}`));
    const result = placeJobs({ jobs, agents: [agent('a', 2), twin, agent('c', 3, { busy: [1] })], now });
    const given = result.assignments.flatMap((a) => a.gpus.map((g) => g.uuid));
    expect(new Set(given).size).toBe(given.length);
    expect(given.sort()).toEqual(['GPU-a-0', 'GPU-a-1', 'GPU-c-0', 'GPU-c-2']);
    expect(result.waiting).toHaveLength(6);
  });

  it('gives draining, lost and stopped agents nothing, and says so', () => {
    const agents = [agent('d', 4, { status: 'DRAINING' }), agent('l', 4, { status: 'LOST' }), agent('s', 4, { status: 'STOPPED' })];
    const result = placeJobs({ jobs: [job('j')], agents, now });
    expect(result.assignments).toEqual([]);
    expect(result.waiting).toEqual([{ jobId: 'j', position: 1, reasonCode: 'WAITING_FOR_CAPACITY', reason: 'every agent that can take it is draining or lost or stopped; first in line' }]);
  });

  it('tells a job that can never fit from one waiting for capacity, and counts the jobs ahead', () => {
    const agents = [agent('a', 2, { gpuMemoryMb: 81_920 }), agent('b', 2, { gpuMemoryMb: 24_576, busy: [0] })];
    const jobs = [job('fill-a', { resources: { gpus: 2 } }), job('w1'), job('w2', { resources: { gpus: 2 } }), job('w3', { resources: { gpus: 2 } }), job('never', { resources: { gpus: 4, gpuMemoryMb: 80_000 } }), job('w4', { resources: { gpus: 2 } })];
    const result = placeJobs({ jobs, agents, now });
    expect(placedOn(result)).toEqual({ 'fill-a': 'a', w1: 'b' });
    expect(result.waiting).toEqual([
      { jobId: 'w2', position: 1, reasonCode: 'WAITING_FOR_CAPACITY', reason: 'insufficient free GPUs: needs 2 GPUs, at most 0 free on any agent; first in line' },
      { jobId: 'w3', position: 2, reasonCode: 'WAITING_FOR_CAPACITY', reason: 'insufficient free GPUs: needs 2 GPUs, at most 0 free on any agent; 1 job ahead' },
      { jobId: 'never', position: 3, reasonCode: 'NEVER_FITS', reason: 'needs 4 GPUs with >= 80000 MB each; the largest agent has 0 free of 2' },
      { jobId: 'w4', position: 4, reasonCode: 'WAITING_FOR_CAPACITY', reason: 'insufficient free GPUs: needs 2 GPUs, at most 0 free on any agent; 3 jobs ahead' },
    ]);
    const nobody = placeJobs({ jobs: [job('x', { resources: { cpus: 128 } }), job('y', { resources: { memoryMb: 1_000_000 } })], agents, now });
    expect(nobody.waiting.map((w) => w.reason)).toEqual(['needs 128 CPUs; the largest agent has 64', 'needs 1000000 MB of memory; the largest agent has 512000 MB']);
    expect(placeJobs({ jobs: [job('z')], agents: [], now }).waiting[0]).toMatchObject({ reasonCode: 'NEVER_FITS', reason: 'no agent is registered' });
    const split = [agent('gpus', 4, { cpus: 8, cpusFree: 8 }), agent('cpus', 0)];
    expect(placeJobs({ jobs: [job('both', { resources: { gpus: 4, cpus: 32 } })], agents: split, now }).waiting[0]).toMatchObject({
      reasonCode: 'NEVER_FITS',
      reason: 'no single agent has 4 GPUs, 32 CPUs and 1000 MB of memory together',
    });
  });

  it('skips a job backing off until its notBefore, and places it after', () => {
    const backingOff = job('requeued', { priority: 9, attempt: 2, notBefore: '2026-11-22T12:00:05.000Z' });
    const result = placeJobs({ jobs: [backingOff, job('other')], agents: [agent('a', 1)], now });
    expect(placedOn(result)).toEqual({ other: 'a' });
    expect(result.waiting).toEqual([{ jobId: 'requeued', position: 1, reasonCode: 'BACKING_OFF', reason: 'backing off until 2026-11-22T12:00:05.000Z after attempt 1 was lost; first in line' }]);
    expect(placedOn(placeJobs({ jobs: [backingOff, job('other')], agents: [agent('a', 1)], now: '2026-11-22T12:00:05.000Z' }))).toEqual({ requeued: 'a' });
  });

  it('shares fairly among projects of equal priority: the project with fewer running jobs goes first', () => {
    const jobs = [job('p1-a', { projectId: P1 }), job('p1-b', { projectId: P1 }), job('p1-c', { projectId: P1 }), job('p2-a', { projectId: P2 }), job('p2-b', { projectId: P2 })];
    const result = placeJobs({ jobs, agents: [agent('a', 4)], now });
    expect(result.assignments.map((a) => a.jobId)).toEqual(['p1-a', 'p2-a', 'p1-b', 'p2-b']);
    const busy = placeJobs({ jobs, agents: [agent('a', 3)], now, runningByProject: { [P1]: 5 } });
    expect(busy.assignments.map((a) => a.jobId)).toEqual(['p2-a', 'p2-b', 'p1-a']);
    // Priority still comes first.
    const urgent = placeJobs({ jobs: [...jobs, job('p1-urgent', { projectId: P1, priority: 1 })], agents: [agent('a', 1)], now, runningByProject: { [P1]: 5 } });
    expect(urgent.assignments.map((a) => a.jobId)).toEqual(['p1-urgent']);
  });

  it('places 5,000 jobs on 500 agents well under a second', () => {
    const agents = Array.from({ length: 500 }, (_, i) =>
      agent(`agent-${String(i).padStart(3, '0')}`, 8, { gpuMemoryMb: i % 3 === 0 ? 81_920 : 40_960, busy: i % 4 === 0 ? [0, 1, 2] : [], labels: { zone: i % 2 ? 'eu' : 'us', gpu: i % 3 === 0 ? 'a100' : 'l40' } }),
    );
    const jobs = Array.from({ length: 5_000 }, (_, i) =>
      job(`job-${i}`, {
        projectId: `p${i % 7}`,
        priority: i % 5,
        resources: { gpus: [0, 1, 1, 2, 4, 8][i % 6], gpuMemoryMb: i % 11 === 0 ? 60_000 : 0, cpus: 2, memoryMb: 8_000, labels: i % 13 === 0 ? { gpu: 'a100' } : i % 17 === 0 ? { zone: 'mars' } : {} },
        notBefore: i % 97 === 0 ? '2026-11-22T13:00:00.000Z' : null,
      }),
    );
    placeJobs({ jobs: jobs.slice(0, 100), agents, now }); // warm up
    const started = process.hrtime.bigint();
    const result = placeJobs({ jobs, agents, now });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(result.assignments.length + result.waiting.length).toBe(5_000);
    const given = result.assignments.flatMap((a) => a.gpus.map((g) => g.uuid));
    expect(new Set(given).size).toBe(given.length);
    expect(ms).toBeLessThan(500);
  });
});
