import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's one Prometheus registry: every metric of every part of the process (the
 * one-process composition's eight apps included) is served from it at /metrics.
 * Labels hold names from a bounded set (subjects, operation types, outcome codes, projection
 * names, GPU indexes), never ids.
 */
export const metricsRegistry = new Registry();

let defaultsOn = false;

/** Node's process metrics (CPU, memory, event-loop lag, GC, handles) with the `modeltrail_` prefix; `service` labels every series. The first call of the process decides. */
export function enableProcessMetrics(service: string): void {
  if (defaultsOn) return;
  defaultsOn = true;
  metricsRegistry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: metricsRegistry, prefix: 'modeltrail_' });
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** GraphQL operations the gateway answered over HTTP, by operation name (bounded, see boundedOperationName), type and outcome. */
export const graphqlOperationDuration = new Histogram({
  name: 'modeltrail_graphql_operation_duration_seconds',
  help: 'GraphQL operations answered by the gateway, by operation name, type (query, mutation) and outcome (ok or the first error code)',
  labelNames: ['operation', 'type', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

/** Requests a service answered, by subject (without namespace) and outcome (ok or the error code). */
export const rpcServerDuration = new Histogram({
  name: 'modeltrail_rpc_server_duration_seconds',
  help: 'Requests (commands and queries) handled, by subject and outcome (ok or the error code)',
  labelNames: ['subject', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

/** Requests sent, by subject and outcome (ok, the reply's error code, or UNAVAILABLE for no responders and timeouts). */
export const rpcClientDuration = new Histogram({
  name: 'modeltrail_rpc_client_duration_seconds',
  help: 'Requests sent to services, by subject and outcome (ok or the error code)',
  labelNames: ['subject', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

export const eventStoreAppendDuration = new Histogram({
  name: 'modeltrail_eventstore_append_duration_seconds',
  help: 'Appends to the event store, by store kind and outcome (ok or the error name)',
  labelNames: ['store', 'outcome'] as const,
  buckets: LATENCY_BUCKETS,
  registers: [metricsRegistry],
});

export const eventStoreAppendedEvents = new Counter({
  name: 'modeltrail_eventstore_appended_events_total',
  help: 'Events appended to the event store, by store kind',
  labelNames: ['store'] as const,
  registers: [metricsRegistry],
});

/** A projection as the lag gauges see it. */
export interface ProjectionLagSource {
  /** The read model's schema (the service) and the projection's name. */
  schema: string;
  projection: string;
  /** Position up to which the read model reflects the store. */
  position(): number;
  /** When the projection last moved (ms since the epoch), or when it started. */
  lastAppliedAt(): number;
  /** The store's head position (the newest event). */
  head(): Promise<number>;
}

const projections = new Set<ProjectionLagSource>();

/** Follows a projection's lag until the returned function is called. */
export function observeProjection(source: ProjectionLagSource): () => void {
  projections.add(source);
  return () => void projections.delete(source);
}

interface LagReading {
  labels: { schema: string; projection: string };
  behind: number;
  staleSeconds: number;
}

/** One reading per scrape for both gauges: the store's head is read once per store. */
let reading: Promise<LagReading[]> | null = null;

function readLag(): Promise<LagReading[]> {
  reading ??= (async () => {
    const heads = new Map<ProjectionLagSource['head'], Promise<number | null>>();
    const out: LagReading[] = [];
    for (const source of projections) {
      let head = heads.get(source.head);
      if (!head) heads.set(source.head, (head = source.head().catch(() => null)));
      const headPosition = await head;
      if (headPosition === null) continue;
      const behind = Math.max(0, headPosition - source.position());
      out.push({ labels: { schema: source.schema, projection: source.projection }, behind, staleSeconds: behind === 0 ? 0 : Math.max(0, (Date.now() - source.lastAppliedAt()) / 1000) });
    }
    return out;
  })().finally(() => setImmediate(() => (reading = null)));
  return reading;
}

export const projectionLagPositions = new Gauge({
  name: 'modeltrail_projection_lag_positions',
  help: 'Store positions between the event store head and what a projection has applied (0: caught up)',
  labelNames: ['schema', 'projection'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const r of await readLag()) this.set(r.labels, r.behind);
  },
});

export const projectionStaleSeconds = new Gauge({
  name: 'modeltrail_projection_stale_seconds',
  help: 'Seconds since a projection that is behind the store head last applied an event (0 while caught up)',
  labelNames: ['schema', 'projection'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const r of await readLag()) this.set(r.labels, r.staleSeconds);
  },
});

const queueSources = new Map<string, () => Promise<number>>();

/** Counts a scheduler's queued jobs (its read model `schema`) at each scrape until the returned function is called. */
export function observeQueueDepth(schema: string, count: () => Promise<number>): () => void {
  queueSources.set(schema, count);
  return () => {
    if (queueSources.get(schema) === count) queueSources.delete(schema);
  };
}

export const schedulerQueuedJobs = new Gauge({
  name: 'modeltrail_scheduler_queued_jobs',
  help: 'Training jobs queued and not placed yet, by scheduler read model schema (absent outside the scheduler)',
  labelNames: ['schema'] as const,
  registers: [metricsRegistry],
  async collect() {
    this.reset();
    for (const [schema, count] of queueSources) {
      try {
        this.set({ schema }, await count());
      } catch {
        // The database did not answer: no value rather than a wrong one (/ready says why).
      }
    }
  },
});

export const agentGpus = new Gauge({ name: 'modeltrail_agent_gpus', help: 'GPUs nvidia-smi reports on this node, by status (AVAILABLE, BUSY_EXTERNAL, UNKNOWN)', labelNames: ['status'] as const, registers: [metricsRegistry] });
export const agentGpuUtilization = new Gauge({ name: 'modeltrail_agent_gpu_utilization_ratio', help: 'GPU utilisation (0 to 1) at the last probe, by GPU index', labelNames: ['gpu'] as const, registers: [metricsRegistry] });
export const agentGpuMemoryUsed = new Gauge({ name: 'modeltrail_agent_gpu_memory_used_bytes', help: 'GPU memory in use at the last probe, by GPU index', labelNames: ['gpu'] as const, registers: [metricsRegistry] });
export const agentGpuMemoryTotal = new Gauge({ name: 'modeltrail_agent_gpu_memory_total_bytes', help: 'GPU memory, by GPU index', labelNames: ['gpu'] as const, registers: [metricsRegistry] });

/** A GPU as the agent's probe reports it. */
export interface GpuReading {
  index: number;
  status: string;
  utilizationPct: number | null;
  memoryUsedMb: number | null;
  memoryMb: number;
}

/** Sets the GPU gauges from one probe (an empty list: no GPU, all gauges cleared). */
export function recordGpus(gpus: ReadonlyArray<GpuReading>): void {
  for (const gauge of [agentGpus, agentGpuUtilization, agentGpuMemoryUsed, agentGpuMemoryTotal]) gauge.reset();
  for (const status of ['AVAILABLE', 'BUSY_EXTERNAL', 'UNKNOWN']) agentGpus.set({ status }, gpus.filter((g) => g.status === status).length);
  const mib = 1024 * 1024;
  for (const gpu of gpus) {
    const labels = { gpu: String(gpu.index) };
    if (gpu.utilizationPct !== null) agentGpuUtilization.set(labels, gpu.utilizationPct / 100);
    if (gpu.memoryUsedMb !== null) agentGpuMemoryUsed.set(labels, gpu.memoryUsedMb * mib);
    if (gpu.memoryMb > 0) agentGpuMemoryTotal.set(labels, gpu.memoryMb * mib);
  }
}

/** Outcome label of an error: its ModelTrail/GraphQL code when it has one (a bounded set), else `error`. */
export function outcomeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z_]{1,40}$/.test(code) ? code : 'error';
}

const MAX_OPERATION_NAMES = 200;
const operationNames = new Set<string>();

/**
 * The `operation` label of a GraphQL operation: its name when it is a plain GraphQL name and one
 * of the first 200 seen, `other` past that (clients choose names: the label must stay bounded),
 * `anonymous` without a name.
 */
export function boundedOperationName(name: string | null | undefined): string {
  if (!name) return 'anonymous';
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) return 'other';
  if (operationNames.has(name)) return name;
  if (operationNames.size >= MAX_OPERATION_NAMES) return 'other';
  operationNames.add(name);
  return name;
}
