import { hash } from 'node:crypto';

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
  // Written with loops and one string rather than filter/sort/map/join: this runs once per
  // appended event and was the largest part of preparing it.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      const item: unknown = value[i];
      out += item === undefined ? 'null' : canonicalJson(item);
    }
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ',';
    out += JSON.stringify(key) + ':' + canonicalJson(item);
  }
  return out + '}';
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
  // The one-shot hash: a Hash object per event (createHash) cost twice as much for events this small.
  return hash('sha256', canonicalEvent(event, prevHash, canonicalData), 'hex');
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
