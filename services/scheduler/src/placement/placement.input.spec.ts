import { placeJobs } from './placement';
import { type AgentSnapshot, type HeldJob, placementInput } from './placement.input';

const now = '2026-11-22T12:00:00.000Z';
const project = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const agentA = 'a0000000-0000-4000-8000-00000000000a';
const agentB = 'b0000000-0000-4000-8000-00000000000b';
const session = 'c0000000-0000-4000-8000-00000000000c';

const gpu = (index: number, uuid: string, memoryMb = 16_384, status: 'AVAILABLE' | 'BUSY_EXTERNAL' | 'UNKNOWN' = 'AVAILABLE') => ({ index, uuid, name: 'GPU', memoryMb, status });
const agent = (agentId: string, gpus: AgentSnapshot['gpus'], extra: Partial<AgentSnapshot> = {}): AgentSnapshot => ({
  agentId,
  sessionId: session,
  status: 'ACTIVE',
  labels: {},
  gpus,
  cpus: 32,
  memoryMb: 256_000,
  heartbeat: null,
  ...extra,
});
const pending = (jobId: string, gpus = 1) => ({ jobId, projectId: project, priority: 0, queuedAt: now, notBefore: null, attempt: 1, resources: { gpus, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} } });
const held = (jobId: string, agentId: string, uuids: string[], cpus = 4, memoryMb = 8_000): HeldJob => ({ jobId, projectId: project, agentId, gpus: uuids.map((uuid, index) => ({ index, uuid })), resources: { cpus, memoryMb } });

describe('placement input from the read model', () => {
  it('marks GPUs held by assigned or running jobs as allocated and takes their CPUs and memory off the agent', () => {
    const input = placementInput([], [agent(agentA, [gpu(0, 'GPU-a0'), gpu(1, 'GPU-a1')])], [held('j1', agentA, ['GPU-a1'], 4, 8_000)], now);
    expect(input.agents[0]).toMatchObject({
      cpusFree: 28,
      memoryMbFree: 248_000,
      gpus: [
        { uuid: 'GPU-a0', state: 'FREE' },
        { uuid: 'GPU-a1', state: 'ALLOCATED' },
      ],
    });
    expect(input.runningByProject).toEqual({ [project]: 1 });
  });

  it('never offers a GPU a job holds, even when the read model lists its uuid under another agent', () => {
    const input = placementInput([pending('j2')], [agent(agentA, [gpu(0, 'GPU-x')]), agent(agentB, [gpu(0, 'GPU-x')])], [held('j1', agentA, ['GPU-x'])], now);
    expect(input.agents.flatMap((a) => a.gpus.map((g) => g.state))).toEqual(['ALLOCATED', 'ALLOCATED']);
    expect(placeJobs(input).assignments).toEqual([]);
  });

  it('honours GPUs registered or later reported BUSY_EXTERNAL or UNKNOWN, only from the current session', () => {
    const agents = [
      agent(agentA, [gpu(0, 'GPU-a0', 16_384, 'BUSY_EXTERNAL'), gpu(1, 'GPU-a1'), gpu(2, 'GPU-a2')], {
        heartbeat: { sessionId: session, accepting: true, gpuStatus: [{ uuid: 'GPU-a1', status: 'UNKNOWN' }] },
      }),
      agent(agentB, [gpu(0, 'GPU-b0')], { heartbeat: { sessionId: 'd0000000-0000-4000-8000-00000000000d', accepting: true, gpuStatus: [{ uuid: 'GPU-b0', status: 'BUSY_EXTERNAL' }] } }),
    ];
    const input = placementInput([], agents, [], now);
    expect(input.agents[0].gpus.map((g) => g.state)).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'FREE']);
    expect(input.agents[1].gpus.map((g) => g.state)).toEqual(['FREE']);
  });

  it('gives nothing to an agent whose heartbeat says it takes no assignments, and nothing to draining or lost ones', () => {
    const agents = [
      agent(agentA, [gpu(0, 'GPU-a0')], { heartbeat: { sessionId: session, accepting: false, gpuStatus: [] } }),
      agent(agentB, [gpu(0, 'GPU-b0')], { status: 'LOST' }),
    ];
    const input = placementInput([pending('j1')], agents, [], now);
    expect(input.agents.map((a) => a.status)).toEqual(['DRAINING', 'LOST']);
    const result = placeJobs(input);
    expect(result.assignments).toEqual([]);
    expect(result.waiting).toEqual([expect.objectContaining({ jobId: 'j1', reasonCode: 'WAITING_FOR_CAPACITY', reason: expect.stringContaining('draining or lost') })]);
  });
});
