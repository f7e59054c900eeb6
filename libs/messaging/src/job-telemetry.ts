import { DeliverPolicy, nanos, type PubAck } from 'nats';
import type { BusJetStream, BusJetStreamManager, BusJsMsg, BusStreamInfo, MessageBus } from './bus';
import { decodeJson, encodeJson } from './rpc.envelope';
import { ensureStream } from './jetstream';

/**
 * Live progress of training jobs (docs/architecture.md: Messaging): metrics, log lines and status changes published at
 * `<prefix>.<jobId>.<kind>` into a JetStream stream with limits, so a subscriber that comes late
 * first replays the last items of the job, then follows live ones.
 *
 * A message carries a batch of items of one kind. A job has several publishers (its agent sends
 * log lines and metrics, the scheduler status changes), so the order every subscriber sees is
 * the stream's own: the order JetStream stored the messages in, items in message order. Each
 * publisher numbers its items (`seq`) for its own purposes; that number orders nothing here.
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
  /** Copies of the stream in a clustered NATS (JETSTREAM_REPLICAS); unset: 1 when created, an existing stream's kept. */
  replicas?: number;
  /** Only create a missing stream; leave an existing one as it is (agents, whose NATS user may not update streams). */
  createOnly?: boolean;
}

export interface TelemetryItem {
  /** The publisher's own numbering of its items. */
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
export function ensureTelemetryStream(jsm: BusJetStreamManager, options: TelemetryStreamOptions = {}): Promise<BusStreamInfo> {
  return ensureStream(jsm, options.streamName ?? TELEMETRY_STREAM, {
    subjects: [`${options.subjectPrefix ?? DEFAULT_JOB_TELEMETRY_PREFIX}.>`],
    max_msgs_per_subject: options.maxMessagesPerSubject ?? 2_000,
    max_age: nanos(options.maxAgeMs ?? 7 * 24 * 3_600_000),
    max_bytes: options.maxBytes ?? 1024 ** 3,
    ...(options.replicas === undefined ? {} : { num_replicas: options.replicas }),
  }, { createOnly: options.createOnly });
}

/** Publishes a batch of one job's items of one kind; resolves when JetStream stored it. */
export function publishJobTelemetry<T extends TelemetryItem>(js: Pick<BusJetStream, 'publish'>, prefix: string, jobId: string, kind: JobTelemetryKind, items: T[], timeoutMs = 5_000): Promise<PubAck> {
  const message: TelemetryMessage<T> = { jobId, kind, items };
  return js.publish(jobTelemetrySubject(prefix, jobId, kind), encodeJson(message), { timeout: timeoutMs });
}

/** An iterator that can hand over, at once, the items it already holds (a subscriber's batch). */
export interface BufferedIterator<T> {
  /** Up to `max` items already received, without waiting; [] when none. */
  takeBuffered(max: number): T[];
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
 * A job's telemetry items in the stream's order: with `replayLast` N, the last N items stored
 * before the call first, then live ones; `return()` stops the consumer. The replay reads the
 * job's kept history (bounded by the stream's per-subject limit), keeping only the last N items,
 * and hands them over once it has caught up (the consumer has nothing pending, or a message
 * stored after the call arrives). Items stored after the call are never dropped.
 */
export async function followJobTelemetry<T extends TelemetryItem>(nc: MessageBus, options: FollowJobTelemetryOptions<T>): Promise<AsyncIterableIterator<T & { subject: JobTelemetryKind }> & BufferedIterator<T & { subject: JobTelemetryKind }>> {
  const stream = options.streamName ?? TELEMETRY_STREAM;
  const prefix = options.subjectPrefix ?? DEFAULT_JOB_TELEMETRY_PREFIX;
  const js = nc.jetstream();
  const filterSubjects = jobTelemetrySubject(prefix, options.jobId, '>');
  const replay = options.replayLast > 0;
  // What the stream held when the call was made: a message at or below it is history.
  const historyThrough = replay ? (await (await nc.jetstreamManager()).streams.info(stream)).state.last_seq : 0;
  // An explicit DeliverPolicy.All is left out on purpose: with NATS 2.9 the ordered consumer of
  // nats.js then never delivers (replay uses the default, which reads from the start).
  // The server drops a consumer nobody reads after 30 s (a follower that crashed); `return()`
  // deletes it at once.
  const consumer = await js.consumers.get(stream, replay ? { filterSubjects, inactive_threshold: 30_000 } : { filterSubjects, deliver_policy: DeliverPolicy.New, inactive_threshold: 30_000 });
  const messages = await consumer.consume();
  const iterator = messages[Symbol.asyncIterator]();
  /** Each item with the kind of subject it came on (`metrics`, `logs`, `status`), beside its own fields. */
  type Out = T & { subject: JobTelemetryKind };
  let history: Out[] | null = replay ? [] : null;
  const ready: Out[] = [];
  let done = false;
  const stop = async () => {
    if (done) return;
    done = true;
    await messages.close().catch(() => undefined);
    await consumer.delete().catch(() => undefined);
  };
  const itemsOf = (message: BusJsMsg): Out[] => {
    let body: TelemetryMessage<TelemetryItem> | undefined;
    try {
      body = decodeJson(message.data) as TelemetryMessage<TelemetryItem>;
    } catch {
      return [];
    }
    if (!body || !Array.isArray(body.items) || !JOB_TELEMETRY_KINDS.includes(body.kind)) return [];
    const out: Out[] = [];
    for (const raw of body.items) {
      const item = options.decode(raw, body.kind);
      // Object.assign, not `{ ...item, subject }`: a spread followed by a new property takes V8's
      // slow path, about a microsecond per item at thousands of items a second.
      if (item) out.push(Object.assign({}, item, { subject: body.kind }));
    }
    return out;
  };
  const endReplay = () => {
    if (!history) return;
    ready.push(...history.slice(-options.replayLast));
    history = null;
  };
  const take = (message: BusJsMsg) => {
    const items = itemsOf(message);
    if (history && message.info.streamSequence <= historyThrough) {
      history.push(...items);
      if (history.length > options.replayLast * 2) history = history.slice(-options.replayLast);
      if (message.info.pending === 0) endReplay();
      return;
    }
    endReplay();
    ready.push(...items);
  };
  const result: AsyncIterableIterator<Out> & BufferedIterator<Out> = {
    takeBuffered(max: number) {
      return ready.splice(0, max);
    },
    async next() {
      while (ready.length === 0) {
        if (done) return { done: true, value: undefined };
        const message = await iterator.next();
        if (message.done) {
          done = true;
          return { done: true, value: undefined };
        }
        take(message.value);
      }
      return { done: false, value: ready.shift()! };
    },
    async return() {
      await stop();
      return { done: true, value: undefined };
    },
    async throw(error?: unknown) {
      await stop();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return result;
    },
  };
  return result;
}
