import {
  DeliverPolicy,
  DiscardPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  nanos,
  type NatsConnection,
  type PubAck,
  RetentionPolicy,
  StorageType,
  type StreamInfo,
} from 'nats';
import { decodeJson, encodeJson } from './rpc.envelope';
import { isJetStreamNotFound } from './jetstream';

/**
 * Live progress of training jobs (DESIGN §4): metrics, log lines and status changes published by
 * agents and the scheduler at `<prefix>.<jobId>.<kind>` into a JetStream stream with limits, so a
 * subscriber that comes late first replays the last items of the job, then follows live ones.
 *
 * A message carries a batch of items of one kind; every item has a `seq` that its publisher
 * makes increase across all kinds of one job (the agent numbers its output, for instance), so
 * "the last N items" and "in order" mean the same for every subscriber.
 */

export const TELEMETRY_STREAM = 'MT_TELEMETRY';
/** `mt.telemetry.job`: a job's telemetry is at `mt.telemetry.job.<jobId>.<kind>`. */
export const DEFAULT_JOB_TELEMETRY_PREFIX = 'mt.telemetry.job';
export const JOB_TELEMETRY_KINDS = ['metrics', 'logs', 'status'] as const;
export type JobTelemetryKind = (typeof JOB_TELEMETRY_KINDS)[number];

export interface TelemetryStreamOptions {
  /** Default `MT_TELEMETRY`; tests use a unique name. */
  streamName?: string;
  /** Default `mt.telemetry.job` (with the installation's namespace in front, when it has one). */
  subjectPrefix?: string;
  /** Messages kept per job and kind (default 2,000); older ones are dropped first. */
  maxMessagesPerSubject?: number;
  /** How long telemetry is kept (default 7 days); the durable record is the event store and the metrics table. */
  maxAgeMs?: number;
  /** Bytes kept in all (default 1 GiB). */
  maxBytes?: number;
}

export interface TelemetryItem {
  /** Increases across every kind of one job. */
  seq: number;
}

/** What one telemetry message holds. */
export interface TelemetryMessage<T extends TelemetryItem> {
  jobId: string;
  kind: JobTelemetryKind;
  items: T[];
}

const JOB_ID = /^[A-Za-z0-9_-]+$/;

export function jobTelemetrySubject(prefix: string, jobId: string, kind: JobTelemetryKind | '>'): string {
  if (!JOB_ID.test(jobId)) throw new Error(`job id "${jobId}" cannot be a subject token`);
  return `${prefix}.${jobId}.${kind}`;
}

/**
 * Creates the telemetry stream when it is missing, or brings its subjects and limits in line.
 * Safe when several processes start at once.
 */
export async function ensureTelemetryStream(jsm: JetStreamManager, options: TelemetryStreamOptions = {}): Promise<StreamInfo> {
  const name = options.streamName ?? TELEMETRY_STREAM;
  const config = {
    subjects: [`${options.subjectPrefix ?? DEFAULT_JOB_TELEMETRY_PREFIX}.>`],
    max_msgs_per_subject: options.maxMessagesPerSubject ?? 2_000,
    max_age: nanos(options.maxAgeMs ?? 7 * 24 * 3_600_000),
    max_bytes: options.maxBytes ?? 1024 ** 3,
  };
  let existing: StreamInfo | undefined;
  try {
    existing = await jsm.streams.info(name);
  } catch (error) {
    if (!isJetStreamNotFound(error)) throw error;
  }
  if (!existing) {
    try {
      return await jsm.streams.add({ name, ...config, storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old, num_replicas: 1 });
    } catch (error) {
      // Another process created it in between: fall through to compare.
      existing = await jsm.streams.info(name).catch(() => {
        throw error;
      });
    }
  }
  const current = existing.config;
  const same =
    current.subjects?.length === 1 &&
    current.subjects[0] === config.subjects[0] &&
    current.max_msgs_per_subject === config.max_msgs_per_subject &&
    current.max_age === config.max_age &&
    current.max_bytes === config.max_bytes;
  return same ? existing : jsm.streams.update(name, { ...current, ...config });
}

/** Publishes a batch of one job's items of one kind; resolves when JetStream stored it. */
export function publishJobTelemetry<T extends TelemetryItem>(js: JetStreamClient, prefix: string, jobId: string, kind: JobTelemetryKind, items: T[], timeoutMs = 5_000): Promise<PubAck> {
  const message: TelemetryMessage<T> = { jobId, kind, items };
  return js.publish(jobTelemetrySubject(prefix, jobId, kind), encodeJson(message), { timeout: timeoutMs });
}

export interface FollowJobTelemetryOptions<T extends TelemetryItem> {
  streamName?: string;
  subjectPrefix?: string;
  jobId: string;
  /** Items from before the call to deliver first: the last N of the job (0: only new ones). */
  replayLast: number;
  /** Checks one item as it arrives; return null to drop it (a malformed item never ends the stream). */
  decode: (item: unknown, kind: JobTelemetryKind) => T | null;
}

/**
 * A job's telemetry items in publish order: with `replayLast` N, the last N items published
 * before the call first, then live ones; `return()` stops the consumer. The replay reads the
 * job's kept history (bounded by the stream's per-subject limit) and skips all but the last N.
 */
export async function followJobTelemetry<T extends TelemetryItem>(nc: NatsConnection, options: FollowJobTelemetryOptions<T>): Promise<AsyncIterableIterator<T & { kind: JobTelemetryKind }>> {
  const stream = options.streamName ?? TELEMETRY_STREAM;
  const prefix = options.subjectPrefix ?? DEFAULT_JOB_TELEMETRY_PREFIX;
  const js = nc.jetstream();
  let skipThrough = Number.NEGATIVE_INFINITY;
  if (options.replayLast > 0) {
    const last = await lastSeq(await nc.jetstreamManager(), stream, prefix, options.jobId);
    skipThrough = last === null ? Number.NEGATIVE_INFINITY : last - options.replayLast;
  }
  // Replay reads from the start of what the stream keeps (the ordered consumer's default). An
  // explicit DeliverPolicy.All is left out on purpose: with NATS 2.9 the ordered consumer of
  // nats.js then never delivers.
  const filterSubjects = jobTelemetrySubject(prefix, options.jobId, '>');
  const consumer = await js.consumers.get(stream, options.replayLast > 0 ? { filterSubjects } : { filterSubjects, deliver_policy: DeliverPolicy.New });
  const messages = await consumer.consume();
  const iterator = messages[Symbol.asyncIterator]();
  const pending: Array<T & { kind: JobTelemetryKind }> = [];
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    void messages.close().catch(() => undefined);
  };
  const unpack = (message: JsMsg) => {
    let body: TelemetryMessage<unknown & TelemetryItem> | undefined;
    try {
      body = decodeJson(message.data) as TelemetryMessage<unknown & TelemetryItem>;
    } catch {
      return;
    }
    if (!body || !Array.isArray(body.items) || !JOB_TELEMETRY_KINDS.includes(body.kind)) return;
    for (const raw of body.items) {
      const item = options.decode(raw, body.kind);
      if (item && item.seq > skipThrough) pending.push({ ...item, kind: body.kind });
    }
  };
  const result: AsyncIterableIterator<T & { kind: JobTelemetryKind }> = {
    async next() {
      while (pending.length === 0) {
        if (done) return { done: true, value: undefined };
        const message = await iterator.next();
        if (message.done) {
          done = true;
          return { done: true, value: undefined };
        }
        unpack(message.value);
      }
      return { done: false, value: pending.shift()! };
    },
    async return() {
      stop();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return result;
    },
  };
  return result;
}

/** The highest item seq the job has in the stream, from the last message of each kind. */
async function lastSeq(jsm: JetStreamManager, stream: string, prefix: string, jobId: string): Promise<number | null> {
  let highest: number | null = null;
  for (const kind of JOB_TELEMETRY_KINDS) {
    try {
      const stored = await jsm.streams.getMessage(stream, { last_by_subj: jobTelemetrySubject(prefix, jobId, kind) });
      const body = decodeJson(stored.data) as TelemetryMessage<TelemetryItem>;
      for (const item of body.items ?? []) if (typeof item?.seq === 'number' && (highest === null || item.seq > highest)) highest = item.seq;
    } catch (error) {
      if (!isJetStreamNotFound(error) && !/no message found/i.test(String((error as Error)?.message))) throw error;
    }
  }
  return highest;
}
