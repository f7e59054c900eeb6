/**
 * Naming conventions (docs/architecture.md: Inside a service, Messaging).
 * Event types: `<context>.<EventName>.v<N>`; subjects: `mt.cmd.*`, `mt.qry.*`, `mt.evt.*`, ...
 */
export const CONTEXTS = ['datasets', 'experiments', 'scheduler', 'registry', 'monitoring', 'gateway', 'agent'] as const;
export type Context = (typeof CONTEXTS)[number];

export type EventTypeName = `${string}.${string}.v${number}`;

const EVENT_TYPE = /^([a-z][a-z0-9-]*)\.([A-Z][A-Za-z0-9]*)\.v([1-9][0-9]*)$/;

export interface ParsedEventType {
  context: string;
  name: string;
  version: number;
}

export function parseEventType(type: string): ParsedEventType {
  const match = EVENT_TYPE.exec(type);
  if (!match) throw new Error(`event type "${type}" does not follow <context>.<EventName>.v<N>`);
  return { context: match[1], name: match[2], version: Number(match[3]) };
}

export function isEventTypeName(type: string): type is EventTypeName {
  return EVENT_TYPE.test(type);
}

/** JetStream stream holding copies of every domain event (docs/architecture.md: Messaging). */
export const EVENTS_STREAM = 'MT_EVENTS';

export const subjects = {
  command: (context: Context, command: string) => `mt.cmd.${context}.${command}` as const,
  query: (context: Context, query: string) => `mt.qry.${context}.${query}` as const,
  /** `mt.evt.datasets.DatasetRegistered.v1` for the stored type `datasets.DatasetRegistered.v1`. */
  event: (type: string) => `mt.evt.${type}` as const,
  allEvents: 'mt.evt.>' as const,
  contextEvents: (context: Context) => `mt.evt.${context}.>` as const,
  jobTelemetry: (jobId: string, kind: 'metrics' | 'logs' | 'status') => `mt.telemetry.job.${jobId}.${kind}` as const,
  /** Live metric points of a run (core NATS, published after each LogMetrics call that stored points). */
  runTelemetry: (runId: string) => `mt.telemetry.run.${runId}.metrics` as const,
  agent: (agentId: string, what: string) => `mt.agent.${agentId}.${what}` as const,
  agentHeartbeat: 'mt.agent.heartbeat' as const,
};

const NAMESPACE = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Subjects of one installation inside a shared NATS: `<namespace>.mt.cmd...`. Empty (the
 * default) in production; tests and side-by-side environments give each its own, so that two
 * of them never answer each other's requests.
 */
export function withNamespace(namespace: string | undefined, subject: string): string {
  if (!namespace) return subject;
  if (!NAMESPACE.test(namespace)) throw new Error(`NATS namespace "${namespace}" must be dot-separated tokens of letters, digits, _ and -`);
  return `${namespace}.${subject}`;
}

/** Stream ids are prefixed by aggregate: `dataset-<uuid>`. */
export function streamId(aggregate: string, id: string): string {
  return `${aggregate}-${id}`;
}

/**
 * The stream prefixes of every aggregate a person can look up by its id alone (history, audit):
 * the entity `<uuid>` is the stream `<prefix>-<uuid>` under exactly one of them.
 */
export const ENTITY_STREAM_PREFIXES = [
  'dataset',
  'dataset-version',
  'project',
  'experiment',
  'run',
  'job',
  'agent',
  'sweep',
  'model',
  'model-version',
  'deployment',
  'monitor',
] as const;
export type EntityStreamPrefix = (typeof ENTITY_STREAM_PREFIXES)[number];
