import type { EventStore } from '@modeltrail/eventstore';
import type { ProjectionRunner } from './projection';

export interface LookupByIds<Row> {
  ids: ReadonlyArray<string>;
  /** Reads the rows of `ids` from the read model. */
  find: () => Promise<Row[]>;
  idOf: (row: Row) => string;
  /** The stream of the aggregate an id names. */
  streamOf: (id: string) => string;
  store: EventStore;
  /** The service's runners; all of them are awaited. */
  runners: ReadonlyArray<ProjectionRunner>;
  /** How long to wait for the projections at most (default 5 s); then the rows found are returned. */
  timeoutMs?: number;
}

/**
 * Rows by id, read again once the service's projections have caught up when an id has a
 * stream but no row yet: it was created a moment ago, and a caller that uses it in its next
 * request (a nested field, a DataLoader) must find it. Ids without a stream stay missing, at
 * the cost of one stream lookup each; rows found at once cost nothing more.
 */
export async function findCaughtUp<Row>(lookup: LookupByIds<Row>): Promise<Row[]> {
  const rows = await lookup.find();
  const found = new Set(rows.map(lookup.idOf));
  const missing = [...new Set(lookup.ids)].filter((id) => !found.has(id));
  if (missing.length === 0) return rows;
  const revisions = await Promise.all(missing.map((id) => lookup.store.streamRevision(lookup.streamOf(id))));
  if (revisions.every((revision) => revision === 'no_stream')) return rows;
  const head = await lookup.store.headPosition();
  await Promise.all(lookup.runners.map((runner) => runner.waitFor(head, lookup.timeoutMs ?? 5_000))).catch(() => undefined);
  return lookup.find();
}
