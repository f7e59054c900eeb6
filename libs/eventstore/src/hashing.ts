import { createHash } from 'node:crypto';

/** prevHash of a stream's first event. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * Deterministic JSON: object keys sorted, no whitespace. Storage may reorder keys (PostgreSQL
 * jsonb does), so the hash is taken over this form, never over the bytes as sent.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`cannot hash non-finite number ${value}`);
    const text = JSON.stringify(value);
    return text === undefined ? 'null' : text;
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

export interface HashableEvent {
  id: string;
  stream: string;
  revision: number;
  type: string;
  data: unknown;
  actor: string;
  correlationId: string;
  causationId: string | null;
  occurredAt: string;
}

/** SHA-256 (hex) over the canonical event and the previous event's hash. */
export function eventHash(event: HashableEvent, prevHash: string, canonicalData = canonicalJson(event.data)): string {
  return createHash('sha256').update(canonicalEvent(event, prevHash, canonicalData)).digest('hex');
}

/**
 * canonicalJson of the event with its prevHash, written out directly (the keys below are in
 * sorted order), so that data already in canonical form is not serialised again. A spec checks
 * it against canonicalJson of the whole object.
 */
export function canonicalEvent(event: HashableEvent, prevHash: string, canonicalData: string): string {
  if (!Number.isFinite(event.revision)) throw new Error(`cannot hash non-finite revision ${event.revision}`);
  return (
    `{"actor":${JSON.stringify(event.actor)},"causationId":${event.causationId === null || event.causationId === undefined ? 'null' : JSON.stringify(event.causationId)}` +
    `,"correlationId":${JSON.stringify(event.correlationId)},"data":${canonicalData},"id":${JSON.stringify(event.id)},"occurredAt":${JSON.stringify(event.occurredAt)}` +
    `,"prevHash":${JSON.stringify(prevHash)},"revision":${JSON.stringify(event.revision)},"stream":${JSON.stringify(event.stream)},"type":${JSON.stringify(event.type)}}`
  );
}
