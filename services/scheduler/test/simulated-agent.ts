import { randomUUID } from 'node:crypto';
import type { Subscription } from 'nats';
import { type AgentGpu, type JobAssignment, type JobOutcome, type RpcReply, schedulerRpc, subjects, withNamespace } from '@modeltrail/contracts';
import type { MessageBus, RpcClient } from '@modeltrail/messaging';

export interface SimulatedAgentSpec {
  agentId?: string;
  hostname?: string;
  labels?: Record<string, string>;
  /** GPU memory in MB per GPU (indexes 0, 1, ...), or whole GPUs. */
  gpus?: Array<number | Partial<AgentGpu>>;
  cpus?: number;
  memoryMb?: number;
}

type HeartbeatReply = RpcReply<typeof schedulerRpc.agentHeartbeat>;

/**
 * A GPU agent as the scheduler sees one, driven by a test: it registers, heartbeats (on a timer
 * and at once when woken), keeps the jobs it is assigned, and reports what the test tells it
 * to. No processes run; everything goes through the agent-facing RPCs over the bus.
 */
export class SimulatedAgent {
  readonly agentId: string;
  sessionId = randomUUID();
  readonly hostname: string;
  readonly labels: Record<string, string>;
  readonly gpus: AgentGpu[];
  /** Jobs this agent holds, with their assignment. */
  readonly held = new Map<string, JobAssignment>();
  readonly cancels: HeartbeatReply['cancel'] = [];
  readonly abandons: HeartbeatReply['abandon'] = [];
  /** Every assignment ever received, in order. */
  readonly received: JobAssignment[] = [];
  lastReply: HeartbeatReply | null = null;
  acceptAssignments = true;
  private timer: NodeJS.Timeout | undefined;
  private wake: Subscription | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private onAssignment: ((assignment: JobAssignment) => void) | undefined;

  constructor(
    private readonly rpc: RpcClient,
    private readonly nc: MessageBus,
    private readonly namespace: string,
    private readonly spec: SimulatedAgentSpec = {},
  ) {
    this.agentId = spec.agentId ?? randomUUID();
    this.hostname = spec.hostname ?? `node-${this.agentId.slice(0, 8)}`;
    this.labels = spec.labels ?? {};
    this.gpus = (spec.gpus ?? []).map((g, index) =>
      typeof g === 'number'
        ? { index, uuid: `GPU-${randomUUID()}`, name: `Sim ${g / 1024} GB`, memoryMb: g, status: 'AVAILABLE' as const }
        : { index, uuid: `GPU-${randomUUID()}`, name: 'Sim', memoryMb: 16_384, status: 'AVAILABLE' as const, ...g },
    );
  }

  get headers() {
    return { actor: `agent:${this.agentId}`, correlationId: `agent-${this.agentId}` };
  }

  /** Called for every new assignment (e.g. to start it at once). */
  whenAssigned(handler: (assignment: JobAssignment) => void): this {
    this.onAssignment = handler;
    return this;
  }

  async register(options: { replaceSession?: boolean; newSession?: boolean } = {}) {
    if (options.newSession) this.sessionId = randomUUID();
    return this.rpc.request(
      schedulerRpc.registerAgent,
      {
        agentId: this.agentId,
        sessionId: this.sessionId,
        hostname: this.hostname,
        labels: this.labels,
        gpus: this.gpus,
        cpus: this.spec.cpus ?? 64,
        memoryMb: this.spec.memoryMb ?? 512_000,
        gpuProbe: { status: this.gpus.length ? 'OK' : 'ABSENT', message: '' },
        agentVersion: 'sim-1',
        replaceSession: options.replaceSession ?? false,
      },
      { headers: this.headers },
    );
  }

  /** Heartbeats every `intervalMs` and whenever the scheduler wakes it. */
  async live(intervalMs: number): Promise<this> {
    this.wake = this.nc.subscribe(withNamespace(this.namespace, subjects.agent(this.agentId, 'wake')), { callback: () => void this.beat() });
    await this.nc.flush();
    this.timer = setInterval(() => void this.beat(), intervalMs);
    await this.beat();
    return this;
  }

  /** Stops heartbeating (the process died, as far as the scheduler can tell). */
  async die(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.wake?.unsubscribe();
    this.wake = undefined;
    await this.chain;
  }

  /** Stops heartbeating and tells the scheduler its session is over (a clean stop). */
  async stop(reason = 'maintenance') {
    await this.die();
    return this.rpc.request(schedulerRpc.stopAgent, { agentId: this.agentId, sessionId: this.sessionId, reason }, { headers: this.headers });
  }

  /** One heartbeat now (after the one in flight); null when it failed. */
  beat(): Promise<HeartbeatReply | null> {
    const next = this.chain.then(() => this.heartbeat()).catch(() => null);
    this.chain = next;
    return next;
  }

  private async heartbeat(): Promise<HeartbeatReply> {
    const running = [...this.held.values()].map((a) => ({ jobId: a.jobId, fencingToken: a.fencingToken, pid: null }));
    const reply = await this.rpc.request(schedulerRpc.agentHeartbeat, { agentId: this.agentId, sessionId: this.sessionId, running, acceptAssignments: this.acceptAssignments }, { headers: this.headers });
    this.lastReply = reply;
    for (const a of reply.abandon) {
      this.abandons.push(a);
      this.held.delete(a.jobId);
    }
    for (const c of reply.cancel) if (!this.cancels.some((x) => x.jobId === c.jobId && x.fencingToken === c.fencingToken)) this.cancels.push(c);
    for (const a of reply.assignments) {
      if (this.held.has(a.jobId)) continue;
      this.held.set(a.jobId, a);
      this.received.push(a);
      this.onAssignment?.(a);
    }
    return reply;
  }

  async start(jobId: string, pid = 4242) {
    const a = this.require(jobId);
    return this.rpc.request(schedulerRpc.reportJobStarted, { jobId, agentId: this.agentId, fencingToken: a.fencingToken, pid }, { headers: this.headers });
  }

  /** Reports the end and forgets the job (the process is gone). */
  async finish(jobId: string, outcome: JobOutcome = 'SUCCEEDED', extra: { exitCode?: number | null; reason?: string; fencingToken?: number } = {}) {
    const a = this.held.get(jobId);
    const fencingToken = extra.fencingToken ?? a?.fencingToken;
    if (fencingToken === undefined) throw new Error(`agent ${this.agentId} holds no job ${jobId}`);
    try {
      return await this.rpc.request(
        schedulerRpc.reportJobFinished,
        { jobId, agentId: this.agentId, fencingToken, outcome, exitCode: extra.exitCode !== undefined ? extra.exitCode : outcome === 'SUCCEEDED' ? 0 : 1, durationMs: 1_000, reason: extra.reason ?? null },
        { headers: this.headers },
      );
    } finally {
      this.held.delete(jobId);
    }
  }

  async logs(jobId: string, lines: Array<{ seq: number; line: string; stream?: 'stdout' | 'stderr' }>, fencingToken?: number) {
    const token = fencingToken ?? this.require(jobId).fencingToken;
    const time = new Date().toISOString();
    return this.rpc.request(
      schedulerRpc.appendJobLogs,
      { jobId, agentId: this.agentId, fencingToken: token, lines: lines.map((l) => ({ seq: l.seq, stream: l.stream ?? 'stdout', time, line: l.line })) },
      { headers: this.headers },
    );
  }

  require(jobId: string): JobAssignment {
    const a = this.held.get(jobId);
    if (!a) throw new Error(`agent ${this.hostname} holds no job ${jobId} (holds ${[...this.held.keys()].join(', ') || 'none'})`);
    return a;
  }
}
