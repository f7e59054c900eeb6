import { ConflictError, NotFoundError, platformEventCatalog } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { acceptsJobs, type AgentCommand, agentDecider, type AgentEvent, type AgentState, isSessionLive } from './agent.decider';

const agentId = 'a0000000-0000-4000-8000-00000000000a';
const session1 = '51000000-0000-4000-8000-000000000001';
const session2 = '52000000-0000-4000-8000-000000000002';
const t0 = '2026-11-22T10:00:00.000Z';
const t10 = '2026-11-22T10:00:10.000Z';
const t60 = '2026-11-22T10:01:00.000Z';
const t120 = '2026-11-22T10:02:00.000Z';

const capacity = {
  hostname: 'gpu-node-1',
  labels: { gpu: 'a100', zone: 'eu-1' },
  gpus: [
    { index: 0, uuid: 'GPU-aaa', name: 'NVIDIA A100-SXM4-80GB', memoryMb: 81_920, status: 'AVAILABLE' as const },
    { index: 1, uuid: 'GPU-bbb', name: 'NVIDIA A100-SXM4-80GB', memoryMb: 81_920, status: 'BUSY_EXTERNAL' as const },
  ],
  cpus: 64,
  memoryMb: 512_000,
  gpuProbe: { status: 'OK' as const, message: '' },
  agentVersion: '0.1.0',
};
const register = (sessionId = session1, at = t0, extra: Partial<Extract<AgentCommand, { type: 'RegisterAgent' }>> = {}): AgentCommand => ({
  type: 'RegisterAgent',
  agentId,
  sessionId,
  replaceSession: false,
  lastSeenAt: null,
  livenessSeconds: 30,
  at,
  ...capacity,
  ...extra,
});
const registered = (sessionId = session1, at = t0, extra: Partial<typeof capacity> = {}): AgentEvent => ({
  type: 'scheduler.AgentRegistered.v1',
  data: { agentId, sessionId, ...capacity, ...extra, registeredAt: at },
});
const lost = (sessionId: string, reason: string, lastSeenAt: string | null, at: string): AgentEvent => ({ type: 'scheduler.AgentLost.v1', data: { agentId, sessionId, reason, lastSeenAt, lostAt: at } });
const drainRequested: AgentEvent = { type: 'scheduler.AgentDrainRequested.v1', data: { agentId, reason: 'driver upgrade', requestedAt: t10 } };
const stopped: AgentEvent = { type: 'scheduler.AgentStopped.v1', data: { agentId, sessionId: session1, reason: 'SIGTERM', stoppedAt: t60 } };

const fold = (events: AgentEvent[]): AgentState => events.reduce((s, e) => agentDecider.evolve(s, e), agentDecider.initialState());

describe('Agent decider', () => {
  const spec = deciderSpec(agentDecider);

  it('registers an agent with its GPUs, labels, capacity, probe result and session', () => {
    spec.given([]).when(register()).then([registered()]);
    expect(fold([registered()])).toMatchObject({ status: 'ACTIVE', sessionId: session1, online: true });
  });

  it('takes the same session registering again with the same capacity as nothing new; changed capacity is recorded', () => {
    spec.given([registered()]).when(register(session1, t10, { labels: { zone: 'eu-1', gpu: 'a100' } })).thenNothingHappens();
    const freed = capacity.gpus.map((g) => ({ ...g, status: 'AVAILABLE' as const }));
    spec.given([registered()]).when(register(session1, t10, { gpus: freed })).then([registered(session1, t10, { gpus: freed })]);
  });

  it('refuses a second agent with a live id, saying who holds it', () => {
    spec
      .given([registered()])
      .when(register(session2, t60, { lastSeenAt: '2026-11-22T10:00:50.000Z' }))
      .thenThrows(ConflictError, `agent ${agentId} is live with session ${session1} on gpu-node-1 (last seen 2026-11-22T10:00:50.000Z, 10 s ago): a second agent with that id is refused`);
    // Just registered, no heartbeat yet: the registration counts as being heard of.
    spec.given([registered()]).when(register(session2, t10)).thenThrows(ConflictError, /is live with session/);
  });

  it('lets a new session replace one not heard of for a lease, recording the old one as lost', () => {
    spec
      .given([registered()])
      .when(register(session2, t120, { lastSeenAt: t60 }))
      .then([lost(session1, `replaced by session ${session2}: no heartbeat since ${t60}`, t60, t120), registered(session2, t120)]);
  });

  it('lets the operator replace a live session', () => {
    spec
      .given([registered()])
      .when(register(session2, t10, { replaceSession: true, lastSeenAt: t10 }))
      .then([lost(session1, `replaced by session ${session2}: the operator said the old session is gone`, t10, t10), registered(session2, t10)]);
  });

  it('registers a new session at once after the old one was lost or stopped', () => {
    spec.given([registered(), lost(session1, 'no heartbeat for 30 s', t0, t60)]).when(register(session2, t120)).then([registered(session2, t120)]);
    spec.given([registered(), stopped]).when(register(session2, t120)).then([registered(session2, t120)]);
    // The lost session itself comes back (a healed partition): a fresh registration.
    spec.given([registered(), lost(session1, 'no heartbeat for 30 s', t0, t60)]).when(register(session1, t120)).then([registered(session1, t120)]);
  });

  it('judges liveness from the last heartbeat or the registration, whichever is later', () => {
    const state = fold([registered()]);
    expect(isSessionLive(state, null, 30, '2026-11-22T10:00:29.999Z')).toBe(true);
    expect(isSessionLive(state, null, 30, '2026-11-22T10:00:30.000Z')).toBe(false);
    expect(isSessionLive(state, t60, 30, '2026-11-22T10:01:20.000Z')).toBe(true);
    expect(isSessionLive(fold([registered(), stopped]), t60, 30, t60)).toBe(false);
  });

  it('drains and resumes; each once; draining outlives a restart', () => {
    spec.given([registered()]).when({ type: 'DrainAgent', agentId, reason: 'driver upgrade', at: t10 }).then([drainRequested]);
    spec.given([registered(), drainRequested]).when({ type: 'DrainAgent', agentId, reason: 'again', at: t60 }).thenNothingHappens();
    spec.given([registered(), drainRequested]).when({ type: 'ResumeAgent', agentId, at: t60 }).then([{ type: 'scheduler.AgentResumed.v1', data: { agentId, resumedAt: t60 } }]);
    spec.given([registered()]).when({ type: 'ResumeAgent', agentId, at: t60 }).thenNothingHappens();
    const restarted = fold([registered(), drainRequested, stopped, registered(session2, t120)]);
    expect(restarted).toMatchObject({ status: 'DRAINING', drainReason: 'driver upgrade', sessionId: session2 });
    expect(acceptsJobs(restarted)).toBe(false);
    expect(acceptsJobs(fold([registered()]))).toBe(true);
  });

  it('marks the current session lost once; an old session or a lost agent changes nothing', () => {
    const markLost: AgentCommand = { type: 'MarkAgentLost', agentId, sessionId: session1, lastSeenAt: t10, reason: 'no heartbeat for 30 s', at: t60 };
    spec.given([registered()]).when(markLost).then([lost(session1, 'no heartbeat for 30 s', t10, t60)]);
    spec.given([registered(), lost(session1, 'x', t10, t60)]).when(markLost).thenNothingHappens();
    spec.given([registered(), registered(session2, t60)]).when(markLost).thenNothingHappens();
    expect(fold([registered(), lost(session1, 'no heartbeat for 30 s', t10, t60)])).toMatchObject({ status: 'LOST', lostReason: 'no heartbeat for 30 s' });
  });

  it('stops the current session cleanly; a replaced session stopping changes nothing', () => {
    spec.given([registered()]).when({ type: 'StopAgent', agentId, sessionId: session1, reason: 'SIGTERM', at: t60 }).then([stopped]);
    spec.given([registered(session2, t10)]).when({ type: 'StopAgent', agentId, sessionId: session1, reason: 'SIGTERM', at: t60 }).thenNothingHappens();
    expect(fold([registered(), stopped])).toMatchObject({ status: 'STOPPED' });
  });

  it('refuses commands on an agent never registered', () => {
    spec.given([]).when({ type: 'DrainAgent', agentId, reason: '', at: t0 }).thenThrows(NotFoundError, `agent ${agentId} is not registered`);
    spec.given([]).when({ type: 'ResumeAgent', agentId, at: t0 }).thenThrows(NotFoundError);
    spec.given([]).when({ type: 'MarkAgentLost', agentId, sessionId: session1, lastSeenAt: null, reason: 'x', at: t0 }).thenThrows(NotFoundError);
  });

  it('decides events that fit their schemas', () => {
    const catalog = platformEventCatalog();
    for (const event of [registered(), drainRequested, stopped, lost(session1, 'x', null, t60), ...agentDecider.decide(register(session2, t120, { lastSeenAt: t60 }), fold([registered()]))]) {
      expect(() => catalog.validate(event.type, event.data)).not.toThrow();
    }
  });
});
