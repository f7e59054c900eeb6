import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamClient, type PubAck, type StreamConfig } from 'nats';
import type { BusJetStreamManager, BusStreamInfo } from './bus';
import { EVENTS_STREAM } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import { encodeJson } from './rpc.envelope';

/** `mt.evt`: domain events are published at `mt.evt.<event type>` (docs/architecture.md: Messaging). */
export const DEFAULT_EVENT_SUBJECT_PREFIX = 'mt.evt';
/** How long JetStream remembers a Nats-Msg-Id to drop a re-published event (default 2 min). */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

export interface EventsStreamOptions {
  /** Default `MT_EVENTS`; tests use a unique name. */
  streamName?: string;
  /** Default `mt.evt`; the stream captures `<prefix>.>`. */
  subjectPrefix?: string;
  duplicateWindowMs?: number;
  /** Only create a missing stream; leave an existing one as configured (consumers use this). */
  createOnly?: boolean;
  /** Copies of the stream in a clustered NATS (JETSTREAM_REPLICAS); unset: 1 when created, an existing stream's kept. */
  replicas?: number;
  /** Bytes kept at most, the oldest dropped first (EVENTS_STREAM_MAX_BYTES); unset: no limit set. */
  maxBytes?: number;
}

/**
 * Creates the events stream when it is missing, or brings its subjects and duplicate window
 * in line when they differ. Safe when several processes start at once.
 */
export function ensureEventsStream(jsm: BusJetStreamManager, options: EventsStreamOptions = {}): Promise<BusStreamInfo> {
  return ensureStream(
    jsm,
    options.streamName ?? EVENTS_STREAM,
    {
      subjects: [`${options.subjectPrefix ?? DEFAULT_EVENT_SUBJECT_PREFIX}.>`],
      duplicate_window: nanos(options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS),
      ...(options.maxBytes === undefined ? {} : { max_bytes: options.maxBytes }),
      ...(options.replicas === undefined ? {} : { num_replicas: options.replicas }),
    },
    { createOnly: options.createOnly },
  );
}

/** What the platform sets on a stream it owns; everything else is JetStream's default. */
export type OwnedStreamConfig = { subjects: string[] } & Partial<Pick<StreamConfig, 'duplicate_window' | 'max_msgs_per_subject' | 'max_age' | 'max_bytes' | 'num_replicas'>>;

/**
 * A stream the platform owns: created with `config` (file storage, limits retention, oldest
 * dropped first, `num_replicas` copies, default one) when missing, updated when any setting of `config` differs
 * (unless `createOnly`), left alone otherwise. Safe when several processes start at once: one
 * that loses the race to create it compares with what the winner created.
 */
export async function ensureStream(jsm: BusJetStreamManager, name: string, config: OwnedStreamConfig, options: { createOnly?: boolean } = {}): Promise<BusStreamInfo> {
  let existing: BusStreamInfo | undefined;
  try {
    existing = await jsm.streams.info(name);
  } catch (error) {
    if (!isJetStreamNotFound(error)) throw error;
  }
  if (!existing) {
    try {
      return await jsm.streams.add({ name, num_replicas: 1, ...config, storage: StorageType.File, retention: RetentionPolicy.Limits, discard: DiscardPolicy.Old });
    } catch (error) {
      existing = await jsm.streams.info(name).catch(() => {
        throw error;
      });
    }
  }
  if (options.createOnly) return existing;
  const current = existing.config as unknown as Record<string, unknown>;
  const same = Object.entries(config).every(([key, value]) => JSON.stringify(current[key]) === JSON.stringify(value));
  return same ? existing : jsm.streams.update(name, { ...existing.config, ...config });
}

/** `<prefix>.<event type>`; characters a subject token cannot hold become `_`. */
export function eventSubject(prefix: string, type: string): string {
  const tokens = type
    .replace(/[\s*>]/g, '_')
    .split('.')
    .map((token) => token || '_');
  return `${prefix}.${tokens.join('.')}`;
}

/**
 * Publishes one stored event: payload = the RecordedEvent as JSON, `Nats-Msg-Id` = event id, so
 * JetStream drops a re-publish within the duplicate window (the PubAck then says `duplicate`).
 */
export function publishRecordedEvent(js: JetStreamClient, subjectPrefix: string, event: RecordedEvent, timeoutMs = 5000): Promise<PubAck> {
  const payload: RecordedEvent = {
    id: event.id,
    stream: event.stream,
    revision: event.revision,
    position: event.position,
    type: event.type,
    data: event.data,
    metadata: event.metadata,
  };
  return js.publish(eventSubject(subjectPrefix, event.type), encodeJson(payload), { msgID: event.id, timeout: timeoutMs });
}

/** A JetStream API "not found" (stream or consumer). */
export function isJetStreamNotFound(error: unknown): boolean {
  const apiError = (error as { api_error?: { code?: number } } | undefined)?.api_error;
  return apiError?.code === 404 || (error as { code?: unknown } | undefined)?.code === '404';
}
