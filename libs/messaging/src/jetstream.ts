import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager, type PubAck, type StreamInfo } from 'nats';
import { EVENTS_STREAM } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import { encodeJson } from './rpc.envelope';

/** `mt.evt`: domain events are published at `mt.evt.<event type>` (DESIGN §4). */
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
}

/**
 * Creates the events stream when it is missing, or brings its subjects and duplicate window
 * in line when they differ. Safe when several processes start at once.
 */
export async function ensureEventsStream(jsm: JetStreamManager, options: EventsStreamOptions = {}): Promise<StreamInfo> {
  const name = options.streamName ?? EVENTS_STREAM;
  const subjects = [`${options.subjectPrefix ?? DEFAULT_EVENT_SUBJECT_PREFIX}.>`];
  const duplicateWindow = nanos(options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS);
  let existing: StreamInfo | undefined;
  try {
    existing = await jsm.streams.info(name);
  } catch (error) {
    if (!isJetStreamNotFound(error)) throw error;
  }
  if (!existing) {
    return jsm.streams.add({
      name,
      subjects,
      duplicate_window: duplicateWindow,
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      num_replicas: 1,
    });
  }
  if (options.createOnly) return existing;
  const sameSubjects = existing.config.subjects?.length === 1 && existing.config.subjects[0] === subjects[0];
  if (sameSubjects && existing.config.duplicate_window === duplicateWindow) return existing;
  return jsm.streams.update(name, { ...existing.config, subjects, duplicate_window: duplicateWindow });
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
