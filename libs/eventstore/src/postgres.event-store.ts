import { createHash } from 'node:crypto';
import { Client, type Pool, type PoolClient } from 'pg';
import { type EventCatalog, UnavailableError } from '@modeltrail/contracts';
import { ident, isConnectionError, migrate, sqlState } from '@modeltrail/postgres';
import { DuplicateEventIdError, WrongExpectedRevisionError } from './errors';
import { observeAppend } from './observe';
import { eventStoreMigrations, POSITIONS_PER_TRANSACTION } from './postgres.migrations';
import { type ChainedEvent, hasCallerIds, type PreparedEvent, chainEvents, matchIdempotentAppend, prepareEvents, toRecorded, validateExpectedRevision, verifyChain } from './prepare';
import { ChangeSignal } from './signal';
import { StreamCache } from './stream-cache';
import { PollingAllSubscription } from './subscription';
import type {
  AllSubscription,
  AppendOptions,
  AppendResult,
  EventStore,
  ExpectedRevision,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  RecordedEvent,
  StreamHead,
  StreamRevision,
  SubscribeToAllOptions,
  VerifyResult,
} from './types';

export interface PostgresEventStoreOptions {
  pool: Pool;
  /** Connection string for the LISTEN connection that wakes live subscriptions. */
  connectionString: string;
  /** Schema holding the store's tables (default `eventstore`). */
  schema?: string;
  catalog?: EventCatalog;
  now?: () => Date;
  /** Subscriptions re-read at least this often even without a notification (default 1000 ms). */
  pollIntervalMs?: number;
  subscriptionBatchSize?: number;
  /** Followers in other processes are notified at most once per this many ms (default 10). */
  notifyIntervalMs?: number;
}

interface EventRow {
  position: string;
  event_id: string;
  stream_id: string;
  revision: string;
  type: string;
  data: unknown;
  actor: string;
  correlation_id: string;
  causation_id: string | null;
  /** ISO-8601 in UTC with milliseconds, formatted by PostgreSQL (see COLUMNS). */
  occurred_at: string;
  prev_hash: string;
  hash: string;
}

// occurred_at comes back already in Date#toISOString() form: parsing a Date per row and
// formatting it again was a visible share of a replay's CPU.
const COLUMNS = `position, event_id, stream_id, revision, type, data, actor, correlation_id, causation_id, to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, prev_hash, hash`;

/**
 * The default event store.
 *
 * Appends: one statement per append. The caller's events are prepared and hash-chained here,
 * after the stream head the caller saw (`AppendOptions.head`, as the command loop passes it) or
 * the head this store last wrote; the server-side function `append_events` locks the stream
 * row, checks the expectation and that the head is still the one chained from, inserts the
 * events and moves the head. A head that moved costs one more round trip with the head the
 * function returned, never a forked chain.
 *
 * Gap safety: a global position is the appending transaction's id (xid8) times 65,536 plus
 * the event's index in that transaction, and readers only read below the xmin of their
 * snapshot (`readable_below()`): every transaction with a smaller id has ended, so no event
 * can appear under that bound later. Position order is therefore the order readers see events
 * in, with no global lock: parallel appends commit in parallel. The price: a long transaction
 * that holds an xid anywhere in the cluster holds back readers (not writers) until it ends.
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly s: string;
  private readonly channel: string;
  // Named statements: each connection parses and plans them once.
  private readonly appendSql: { name: string; text: string };
  private readonly appendOneSql: { name: string; text: string };
  private readonly appendFirstSql: { name: string; text: string };
  private readonly readSql: { name: string; text: string };
  private readonly changes = new ChangeSignal();
  private readonly subscriptions = new Set<PollingAllSubscription>();
  /** The last head this store saw per stream: an append without a caller's head chains from it. */
  private readonly heads = new StreamCache<StreamHead>(10_000);
  private readonly notifier: CoalescedNotify;
  private listener: Client | undefined;
  private listenerStarting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.schema = options.schema ?? 'eventstore';
    this.s = ident(this.schema);
    this.channel = `mt_events_${this.schema}`.slice(0, 63);
    this.appendSql = namedStatement('append', `SELECT status, revision, hash, last_position FROM ${this.s}.append_events($1, $2, $3, $4, $5, $6, $7)`);
    // The usual append, one event after the head its caller saw, as one plain statement with
    // scalar parameters: append_events' decoding of a JSON array (jsonb_to_recordset) and its
    // plpgsql steps cost about a third of an append's throughput (bench/append.bench.ts).
    // The stream row moves only where the caller chained from, and positions only below 2^53;
    // otherwise no row is written and append_events answers why (moved, wrong expected
    // revision, positions exhausted).
    const position = `(SELECT (pg_current_xact_id()::text::bigint + xid_offset) * ${POSITIONS_PER_TRANSACTION} AS base FROM ${this.s}.position_clock WHERE (pg_current_xact_id()::text::bigint + xid_offset) * ${POSITIONS_PER_TRANSACTION} <= ${MAX_BASE_POSITION} LIMIT 1)`;
    const insertOne = `INSERT INTO ${this.s}.events (position, event_id, stream_id, revision, type, data, actor, correlation_id, causation_id, occurred_at, prev_hash, hash)
      SELECT c.base, $5, $1, h.revision, $6, $7, $8, $9, $10, $11, $12, $3 FROM h, c RETURNING position`;
    this.appendOneSql = namedStatement(
      'append_one',
      `WITH c AS ${position},
      h AS (UPDATE ${this.s}.streams s SET revision = $2::bigint + 1, last_hash = $3, updated_at = now()
             WHERE s.stream_id = $1 AND s.revision = $2 AND s.last_hash = $4 AND EXISTS (SELECT 1 FROM c) RETURNING s.revision)
      ${insertOne}`,
    );
    this.appendFirstSql = namedStatement(
      'append_first',
      `WITH c AS ${position},
      -- $2 and $4 (-1 and null here) keep the parameter list of append_one.
      h AS (INSERT INTO ${this.s}.streams (stream_id, revision, last_hash) SELECT $1, 0, $3 WHERE $2::bigint = -1 AND $4::text IS NULL AND EXISTS (SELECT 1 FROM c)
             ON CONFLICT (stream_id) DO NOTHING RETURNING revision)
      ${insertOne}`,
    );
    // Always one row: the readable bound and the highest committed position in range, with the
    // page's events (or nulls when there are none). The bound is readable_below()'s expression,
    // computed once in a materialised CTE: called as the SQL function, and twice (the planner
    // pulled the subquery up into the index condition), it made a live read cost two to three
    // times as much in PostgreSQL. LIMIT 1 tells the planner what the singleton table holds:
    // without it, it expected 2,200 rows, costed a page of 1,000 events over the JIT threshold
    // and compiled the query on every read (a catch-up ran at a tenth of its speed).
    this.readSql = namedStatement(
      'read',
      `WITH b AS MATERIALIZED (
        SELECT (pg_snapshot_xmin(pg_current_snapshot())::text::bigint + c.xid_offset) * ${POSITIONS_PER_TRANSACTION} AS bound,
               (SELECT max(position) FROM ${this.s}.events WHERE position <= $2) AS head
          FROM ${this.s}.position_clock c LIMIT 1)
      SELECT b.bound, b.head, e.* FROM b
      LEFT JOIN LATERAL (SELECT ${COLUMNS} FROM ${this.s}.events WHERE position >= $1 AND position <= $2 AND position < b.bound ORDER BY position LIMIT $3) e ON true
      ORDER BY e.position`,
    );
    this.notifier = new CoalescedNotify(options.pool, this.channel, options.notifyIntervalMs ?? 10);
  }

  /**
   * Creates the schema and tables when missing (idempotent), and keeps new positions above
   * every stored one: after a restore into another cluster, transaction ids start lower.
   */
  async migrate(): Promise<string[]> {
    const applied = await migrate(this.options.pool, { schema: this.schema, component: 'eventstore', migrations: eventStoreMigrations });
    await this.options.pool.query(
      `UPDATE ${this.s}.position_clock SET xid_offset = greatest(xid_offset, (SELECT coalesce(max(position), 0) FROM ${this.s}.events) / ${POSITIONS_PER_TRANSACTION} + 1 - pg_current_xact_id()::text::bigint)`,
    );
    return applied;
  }

  append(stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions = {}): Promise<AppendResult> {
    return observeAppend('postgres', stream, events.length, () => this.appendObserved(stream, events, options));
  }

  private async appendObserved(stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateExpectedRevision(expected);
    const prepared = prepareEvents(stream, events, this.options.catalog, this.options.now ?? (() => new Date()));
    const result = await this.guard(`append to "${stream}"`, async () => {
      try {
        return await this.appendPrepared(this.options.pool, stream, prepared, expected, options.head, hasCallerIds(events), false);
      } catch (error) {
        // The same event ids are stored already: the idempotent case when they are exactly this
        // append at the place it asks for (a retry, or two identical appends racing), otherwise
        // a real conflict.
        if (!isDuplicateEventId(error)) throw error;
        const settled = await this.findIdempotent(this.options.pool, stream, prepared, expected);
        if (settled) return settled;
        throw new DuplicateEventIdError(prepared[0].id, stream);
      }
    });
    // Followers in this process wake at once; other processes on a NOTIFY sent after commit
    // (outside the append's transaction, where it would serialise commits) and coalesced.
    this.changes.notify();
    this.notifier.request();
    return result;
  }

  /**
   * Appends inside a transaction the caller owns (the client must be in BEGIN), so that the
   * events and the caller's other writes commit or roll back together. Readers of the whole
   * store wait for that transaction to end: keep it short, and append to one stream per
   * transaction (two transactions appending to the same two streams in opposite orders would
   * deadlock: each holds one stream's row lock and waits for the other's).
   */
  appendInTransaction(client: PoolClient, stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions = {}): Promise<AppendResult> {
    return observeAppend('postgres', stream, events.length, () => this.appendInTransactionObserved(client, stream, events, options));
  }

  private async appendInTransactionObserved(client: PoolClient, stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateExpectedRevision(expected);
    const prepared = prepareEvents(stream, events, this.options.catalog, this.options.now ?? (() => new Date()));
    // A duplicate id would abort the caller's transaction: look for a repeat first.
    if (hasCallerIds(events)) {
      const idempotent = await this.findIdempotent(client, stream, prepared, expected);
      if (idempotent) return idempotent;
    }
    return this.appendPrepared(client, stream, prepared, expected, options.head, false, true);
  }

  private async appendPrepared(db: Queryable, stream: string, prepared: PreparedEvent[], expected: ExpectedRevision, head: StreamHead | undefined, callerIds: boolean, inCallerTransaction: boolean): Promise<AppendResult> {
    let from = startingHead(expected, head ?? this.heads.get(stream));
    if (prepared.length === 1 && !inCallerTransaction && fastPathApplies(expected, from)) {
      const [event] = chainEvents(stream, prepared, from.revision, from.hash);
      const { rows } = await db.query<{ position: string }>(
        withValues(from.revision === 'no_stream' ? this.appendFirstSql : this.appendOneSql, [
          stream,
          revisionCode(from.revision),
          event.hash,
          from.hash,
          event.id,
          event.type,
          event.dataJson,
          event.actor,
          event.correlationId,
          event.causationId,
          event.occurredAt,
          event.prevHash,
        ]),
      );
      if (rows.length === 1) {
        const position = Number(rows[0].position);
        this.heads.set(stream, { revision: event.revision, hash: event.hash });
        return { nextExpectedRevision: event.revision, position, recorded: [toRecorded(event, position)] };
      }
      // Nothing written: the head moved, the expectation fails, or positions ran out; the
      // function says which.
    }
    for (let attempt = 1; ; attempt++) {
      const chained = chainEvents(stream, prepared, from.revision, from.hash);
      const { rows } = await db.query<AppendRow>(
        withValues(this.appendSql, [
          stream,
          expectedCode(expected),
          revisionCode(from.revision),
          from.revision === 'no_stream' ? null : from.hash,
          appendJson(chained),
          // A statement of its own is a transaction of its own: no earlier append of it to number after.
          !inCallerTransaction,
          // In the caller's transaction, NOTIFY is delivered when (and only if) the caller commits.
          inCallerTransaction ? this.channel : null,
        ]),
      );
      const row = rows[0];
      const actual: StreamHead = { revision: Number(row.revision) < 0 ? 'no_stream' : Number(row.revision), hash: row.hash };
      this.heads.set(stream, actual);
      if (row.status === 'ok') {
        const last = Number(row.last_position);
        // Positions of one append are consecutive (see append_events).
        return { nextExpectedRevision: Number(row.revision), position: last, recorded: chained.map((event, i) => toRecorded(event, last - (chained.length - 1 - i))) };
      }
      if (row.status === 'wrong_expected') {
        // A retried append whose events are already in place is not a conflict.
        if (callerIds) {
          const idempotent = await this.findIdempotent(db, stream, prepared, expected);
          if (idempotent) return idempotent;
        }
        throw new WrongExpectedRevisionError(stream, expected, actual.revision);
      }
      // 'moved': the expectation holds but the events were chained from an old head.
      if (attempt >= MAX_RECHAIN_ATTEMPTS) throw new WrongExpectedRevisionError(stream, expected, actual.revision);
      from = actual;
    }
  }

  private async findIdempotent(db: Queryable, stream: string, prepared: PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult | null> {
    const stored = await db.query<{ event_id: string; stream_id: string; revision: string; position: string }>(
      `SELECT event_id, stream_id, revision, position FROM ${this.s}.events WHERE event_id = ANY($1::uuid[])`,
      [prepared.map((e) => e.id)],
    );
    const rows = stored.rows.map((r) => ({ id: r.event_id, stream: r.stream_id, revision: Number(r.revision), position: Number(r.position) }));
    const match = matchIdempotentAppend(stream, prepared, rows, expected);
    if (match === 'none') return null;
    if (match === 'partial') throw new DuplicateEventIdError(rows[0].id, stream);
    const last = rows.reduce((a, b) => (a.revision > b.revision ? a : b));
    return { nextExpectedRevision: last.revision, position: last.position };
  }

  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    return this.guard(`reading "${stream}"`, async () => (await this.readStreamRaw(stream, options)).map((e) => this.upcast(e)));
  }

  private async readStreamRaw(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const backwards = options.direction === 'backwards';
    const params: unknown[] = [stream];
    let where = 'stream_id = $1';
    if (options.fromRevision !== undefined) {
      params.push(options.fromRevision);
      where += backwards ? ` AND revision <= $2` : ` AND revision >= $2`;
    }
    let limit = '';
    if (options.maxCount !== undefined) {
      params.push(options.maxCount);
      limit = ` LIMIT $${params.length}`;
    }
    const result = await this.options.pool.query<EventRow>(`SELECT ${COLUMNS} FROM ${this.s}.events WHERE ${where} ORDER BY revision ${backwards ? 'DESC' : 'ASC'}${limit}`, params);
    return result.rows.map(toEvent);
  }

  async streamRevision(stream: string): Promise<StreamRevision> {
    return this.guard(`the revision of "${stream}"`, async () => {
      const result = await this.options.pool.query<{ revision: string }>(`SELECT revision FROM ${this.s}.streams WHERE stream_id = $1`, [stream]);
      const revision = result.rowCount ? Number(result.rows[0].revision) : -1;
      return revision < 0 ? 'no_stream' : revision;
    });
  }

  /**
   * Events in position order, and every event committed before the call within the range (up
   * to the limit): when a committed event lies beyond what is readable — an older transaction
   * somewhere in the cluster has not ended yet — it waits for the bound to pass it.
   */
  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.guard('reading all events', () => this.readReadable(options.fromPosition ?? 0, options.toPosition ?? Number.MAX_SAFE_INTEGER, options.limit ?? 1000, HELD_BACK_WAIT_MS));
  }

  /**
   * One page below `readable_below()`. `head` (the highest committed position in range) says
   * whether committed events are still held back by an open older transaction; if so, and the
   * page is not full, it reads again after a short pause (1, 2, 4 … 50 ms) until they are
   * readable or `maxWaitMs` has passed (then it returns what is readable: a correct prefix).
   */
  private async readReadable(from: number, to: number, limit: number, maxWaitMs: number): Promise<RecordedEvent[]> {
    const deadline = Date.now() + maxWaitMs;
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      const { rows } = await this.options.pool.query<EventRow & { bound: string; head: string | null }>(withValues(this.readSql, [from, to, limit]));
      const events = rows[0].position === null ? [] : rows.map((row) => this.upcast(toEvent(row)));
      const head = rows[0].head === null ? 0 : Number(rows[0].head);
      const held = events.length < limit && head >= from && head >= Number(rows[0].bound);
      if (!held || this.closed || Date.now() >= deadline) return events;
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    if (this.closed) throw new Error('event store is closed');
    void this.startListener();
    const subscription: PollingAllSubscription = new PollingAllSubscription(
      // Waits less than readAll for held-back events: the subscription polls again anyway.
      (after, limit) => this.guard('reading all events', () => this.readReadable(after + 1, Number.MAX_SAFE_INTEGER, limit, SUBSCRIPTION_HELD_BACK_WAIT_MS)),
      this.changes,
      { fromPosition: options.fromPosition ?? 0, batchSize: this.options.subscriptionBatchSize ?? 500, pollIntervalMs: this.options.pollIntervalMs ?? 1000 },
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  async verifyStream(stream: string): Promise<VerifyResult> {
    return this.guard(`verifying "${stream}"`, async () => {
      const head = await this.options.pool.query<{ revision: string; last_hash: string }>(`SELECT revision, last_hash FROM ${this.s}.streams WHERE stream_id = $1`, [stream]);
      const recorded = head.rowCount ? { revision: Number(head.rows[0].revision), hash: head.rows[0].last_hash } : undefined;
      return verifyChain(stream, await this.readStreamRaw(stream), recorded);
    });
  }

  async headPosition(): Promise<number> {
    return this.guard('the head position', async () => {
      const result = await this.options.pool.query<{ p: string | null }>(`SELECT max(position) AS p FROM ${this.s}.events`);
      return Number(result.rows[0].p ?? 0);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.subscriptions].map((s) => s.close()));
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.notifier.drain();
  }

  /** One LISTEN connection per store wakes every live subscription; polling covers its outages. */
  private startListener(): Promise<void> {
    if (this.listener || this.closed) return Promise.resolve();
    this.listenerStarting ??= (async () => {
      const client = new Client({ connectionString: this.options.connectionString, application_name: 'modeltrail-eventstore-listen' });
      client.on('notification', () => this.changes.notify());
      client.on('error', () => {
        if (this.listener === client) this.listener = undefined;
        client.end().catch(() => undefined);
        // Reconnect on the next subscribe or after a pause; subscriptions keep polling meanwhile.
        setTimeout(() => this.subscriptions.size > 0 && void this.startListener(), 1000).unref();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${ident(this.channel)}`);
        if (this.closed) await client.end();
        else this.listener = client;
        this.changes.notify();
      } catch {
        await client.end().catch(() => undefined);
      } finally {
        this.listenerStarting = undefined;
      }
    })();
    return this.listenerStarting;
  }

  /** Maps "cannot reach PostgreSQL" to UnavailableError; every other failure passes unchanged. */
  private async guard<T>(what: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isConnectionError(error)) {
        throw new UnavailableError(`event store (PostgreSQL) is unavailable for ${what}: ${error instanceof Error ? error.message : String(error)}`, { what });
      }
      throw error;
    }
  }

  private upcast(event: RecordedEvent): RecordedEvent {
    return this.options.catalog ? this.options.catalog.upcast(event) : event;
  }
}

function toEvent(row: EventRow): RecordedEvent {
  return {
    id: row.event_id,
    stream: row.stream_id,
    revision: Number(row.revision),
    position: Number(row.position),
    type: row.type,
    data: row.data,
    metadata: {
      actor: row.actor,
      correlationId: row.correlation_id,
      causationId: row.causation_id,
      occurredAt: row.occurred_at,
      prevHash: row.prev_hash,
      hash: row.hash,
    },
  };
}

/** A prepared statement named after its text, so that stores on other schemas sharing a connection never collide. */
function namedStatement(purpose: string, text: string): { name: string; text: string } {
  return { name: `mt_eventstore_${purpose}_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`, text };
}

/**
 * A named statement with its values. Not `{ ...statement, values }`: a spread followed by a
 * property the object lacks takes V8's slow path (about a microsecond each, per append).
 */
function withValues(statement: { name: string; text: string }, values: unknown[]): { name: string; text: string; values: unknown[] } {
  return { name: statement.name, text: statement.text, values };
}

/** A pool or a client inside the caller's transaction. */
type Queryable = Pick<Pool, 'query'> | PoolClient;

interface AppendRow {
  status: 'ok' | 'wrong_expected' | 'moved';
  revision: string;
  hash: string | null;
  last_position: string | null;
}

/** Re-chaining after a head that moved, at most this many times (only 'any' or stale heads get here). */
const MAX_RECHAIN_ATTEMPTS = 20;

/** How long readAll waits for events that an open older transaction holds back. */
const HELD_BACK_WAIT_MS = 10_000;
const SUBSCRIPTION_HELD_BACK_WAIT_MS = 1_000;

/** Highest base position append_events accepts: positions stay exact in a JavaScript number. */
const MAX_BASE_POSITION = 9_007_199_254_675_456;

/** Whether the one-statement append can apply: the head the caller chained from is complete and meets the expectation. */
function fastPathApplies(expected: ExpectedRevision, from: StreamHead): boolean {
  if (from.revision === 'no_stream') return expected === 'no_stream' || expected === 'any';
  if (from.hash === null || expected === 'no_stream') return false;
  return typeof expected !== 'number' || expected === from.revision;
}

/** Where to chain from before anything is known from the server: the caller's head, or where the expectation says the stream is. */
function startingHead(expected: ExpectedRevision, known: StreamHead | undefined): StreamHead {
  if (expected === 'no_stream') return { revision: 'no_stream', hash: null };
  if (known && (typeof expected !== 'number' || known.revision === expected)) return known;
  // An exact expectation without its hash: the function answers 'moved' with the hash.
  return typeof expected === 'number' ? { revision: expected, hash: null } : { revision: 'no_stream', hash: null };
}

function expectedCode(expected: ExpectedRevision): number {
  switch (expected) {
    case 'no_stream':
      return -1;
    case 'any':
      return -2;
    case 'stream_exists':
      return -3;
    default:
      return expected;
  }
}

function revisionCode(revision: StreamRevision): number {
  return revision === 'no_stream' ? -1 : revision;
}

/**
 * The events as append_events reads them (jsonb_to_recordset), written with the data's
 * canonical JSON from prepareEvents rather than serialising the data once more.
 */
function appendJson(events: ReadonlyArray<ChainedEvent>): string {
  const parts = events.map(
    (e) =>
      `{"id":${JSON.stringify(e.id)},"revision":${e.revision},"type":${JSON.stringify(e.type)},"data":${e.dataJson},"actor":${JSON.stringify(e.actor)}` +
      `,"correlationId":${JSON.stringify(e.correlationId)},"causationId":${e.causationId === null ? 'null' : JSON.stringify(e.causationId)}` +
      `,"occurredAt":${JSON.stringify(e.occurredAt)},"prevHash":${JSON.stringify(e.prevHash)},"hash":${JSON.stringify(e.hash)}}`,
  );
  return `[${parts.join(',')}]`;
}

function isDuplicateEventId(error: unknown): boolean {
  return sqlState(error) === '23505' && ((error as { constraint?: string }).constraint?.includes('event_id') ?? false);
}

/**
 * NOTIFY after commit for followers in other processes. The first append after a quiet spell
 * notifies at once; appends during the next `intervalMs` share one notification sent at its
 * end, so a busy store sends at most one per interval (a NOTIFY per append cost as much as
 * the append). A lost notification costs a follower one poll interval, nothing more.
 */
class CoalescedNotify {
  private inFlight: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly pool: Pool,
    private readonly channel: string,
    private readonly intervalMs: number,
  ) {}

  request(): void {
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.send();
  }

  async drain(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private async send(): Promise<void> {
    try {
      do {
        this.again = false;
        await this.pool.query("SELECT pg_notify($1, '')", [this.channel]).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, this.intervalMs));
      } while (this.again);
    } finally {
      this.inFlight = undefined;
    }
  }
}
