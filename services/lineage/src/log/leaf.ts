import { canonicalEvent, canonicalJson, type RecordedEvent } from '@modeltrail/eventstore';
import { leafHash } from '@modeltrail/merkle';

/** The fields of an event that its leaf covers: everything the store's hash chain covers. */
export interface LeafEvent {
  id: string;
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  metadata: { actor: string; correlationId: string; causationId: string | null; occurredAt: string; prevHash: string };
}

/**
 * The bytes of an event as a leaf of the log: the canonical event with its stream's previous
 * hash (the same text whose SHA-256 is the event's own hash in its stream's chain), so a leaf
 * binds both the event and its place in its stream.
 */
export function eventLeafBytes(event: LeafEvent): Buffer {
  const m = event.metadata;
  const text = canonicalEvent(
    { id: event.id, stream: event.stream, revision: event.revision, type: event.type, data: event.data, actor: m.actor, correlationId: m.correlationId, causationId: m.causationId, occurredAt: m.occurredAt },
    m.prevHash,
    canonicalJson(event.data),
  );
  return Buffer.from(text, 'utf8');
}

/**
 * SHA-256(0x00 ‖ canonical event): the event's leaf hash in the log's Merkle tree.
 *
 * The store hands readers events upcast to their newest shape. No upcaster is registered today,
 * so an event as read is the event as stored; the day one is, the log (and audit reports) must
 * hash the stored form, which needs a raw read on the EventStore port — an upcast event would
 * otherwise no longer match its own stored hash, and the log would report it as ALTERED.
 */
export function eventLeafHash(event: LeafEvent | RecordedEvent): Buffer {
  return leafHash(eventLeafBytes(event));
}
