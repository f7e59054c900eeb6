import { Client, type Pool, type PoolClient } from 'pg';
import { type EventCatalog, UnavailableError } from '@modeltrail/contracts';
import { advisoryKey, ident, isConnectionError, migrate, sqlState, withTransaction } from '@modeltrail/postgres';
import { DuplicateEventIdError, WrongExpectedRevisionError } from './errors';
import { GENESIS_HASH } from './hashing';
import { eventStoreMigrations } from './postgres.migrations';
import { type ChainedEvent, checkExpectedRevision, hasCallerIds, type PreparedEvent, chainEvents, matchIdempotentAppend, prepareEvents, validateExpectedRevision, verifyChain } from './prepare';
import { ChangeSignal } from './signal';
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
  occurred_at: Date;
  prev_hash: string;
  hash: string;
}

const COLUMNS = 'position, event_id, stream_id, revision, type, data, actor, correlation_id, causation_id, occurred_at, prev_hash, hash';

/**
 * The default event store.
 *
 * Gap safety: global positions are drawn from a sequence while holding one transaction-scoped
 * advisory lock, which is released only when the appending transaction ends. So position order
 * is commit order: no reader can ever see position n+1 while n is still uncommitted, and a
 * catch-up reader that asks for "positions after p" never skips anything. The price is that
 * appends serialise for the short time between taking positions and committing — streams are
 * still checked and hashed in parallel, before the lock. (bench/ measures it.)
 */
export class PostgresEventStore implements EventStore {
  readonly kind = 'postgres' as const;
  readonly schema: string;
  private readonly s: string;
  private readonly lockKey: string;
  private readonly channel: string;
  private readonly changes = new ChangeSignal();
  private readonly subscriptions = new Set<PollingAllSubscription>();
  private listener: Client | undefined;
  private listenerStarting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: PostgresEventStoreOptions) {
    this.schema = options.schema ?? 'eventstore';
    this.s = ident(this.schema);
    this.lockKey = advisoryKey(`eventstore-append:${this.schema}`);
    this.channel = `mt_events_${this.schema}`.slice(0, 63);
  }

  /** Creates the schema and tables when missing (idempotent). */
  async migrate(): Promise<string[]> {
    return migrate(this.options.pool, { schema: this.schema, component: 'eventstore', migrations: eventStoreMigrations });
  }

  async append(stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions = {}): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateExpectedRevision(expected);
    const prepared = prepareEvents(stream, events, this.options.catalog, this.options.now ?? (() => new Date()));
    try {
      return await this.guard(`append to "${stream}"`, () => withTransaction(this.options.pool, (client) => this.appendPrepared(client, stream, prepared, expected, hasCallerIds(events))));
    } catch (error) {
      // Two identical appends raced: the loser hits the event_id key. If the winner wrote
      // exactly this append, it is the idempotent case; otherwise it is a real conflict.
      if (sqlState(error) === '23505' && (error as { constraint?: string }).constraint?.includes('event_id')) {
        const settled = await withTransaction(this.options.pool, (client) => this.findIdempotent(client, stream, prepared, expected));
        if (settled) return settled;
        throw new DuplicateEventIdError(prepared[0].id, stream);
      }
      throw error;
    }
  }

  /**
   * Appends inside a transaction the caller owns (the client must be in BEGIN), so that the
   * events and the caller's other writes commit or roll back together. Other appenders wait
   * for the global position lock until that transaction ends: keep it short, and append to one
   * stream per transaction (two transactions appending to the same two streams in opposite
   * orders would deadlock: each holds one stream's row lock and waits for the other's).
   */
  async appendInTransaction(client: PoolClient, stream: string, events: ReadonlyArray<NewEvent>, options: AppendOptions = {}): Promise<AppendResult> {
    const expected = options.expectedRevision ?? 'any';
    validateExpectedRevision(expected);
    const prepared = prepareEvents(stream, events, this.options.catalog, this.options.now ?? (() => new Date()));
    return this.appendPrepared(client, stream, prepared, expected, hasCallerIds(events));
  }

  private async appendPrepared(client: PoolClient, stream: string, prepared: PreparedEvent[], expected: ExpectedRevision, callerIds: boolean): Promise<AppendResult> {
    const { current, lastHash } = await this.lockStream(client, stream, expected);
    // Under the stream lock, so an identical append racing this one has either committed (and
    // is found here) or not started. Ids this store generated are fresh UUIDs: only
    // caller-chosen ids can be a repeat.
    if (callerIds) {
      const idempotent = await this.findIdempotent(client, stream, prepared, expected);
      if (idempotent) return idempotent;
    }
    checkExpectedRevision(stream, expected, current);
    const chained = chainEvents(stream, prepared, current, lastHash);

    // From here until COMMIT the global position lock is held (see the class comment).
    await client.query('SELECT pg_advisory_xact_lock($1)', [this.lockKey]);
    const positions = await client.query<{ p: string }>(`SELECT nextval('${this.s}.events_position_seq') AS p FROM generate_series(1, $1::int)`, [chained.length]);
    const numbers = positions.rows.map((r) => Number(r.p)).sort((a, b) => a - b);
    await this.insertEvents(client, chained, numbers);
    const last = chained[chained.length - 1];
    return { nextExpectedRevision: last.revision, position: numbers[numbers.length - 1] };
  }

  /** Row-locks the stream (creating it when the expectation allows) and returns where it is. */
  private async lockStream(client: PoolClient, stream: string, expected: ExpectedRevision): Promise<{ current: StreamRevision; lastHash: string | null }> {
    const select = `SELECT revision, last_hash FROM ${this.s}.streams WHERE stream_id = $1 FOR UPDATE`;
    let found = await client.query<{ revision: string; last_hash: string }>(select, [stream]);
    if (found.rowCount === 0) {
      if (typeof expected === 'number' || expected === 'stream_exists') throw new WrongExpectedRevisionError(stream, expected, 'no_stream');
      // Placeholder row at revision -1: a concurrent creator blocks here until we commit.
      const created = await client.query(`INSERT INTO ${this.s}.streams (stream_id, revision, last_hash) VALUES ($1, -1, $2) ON CONFLICT (stream_id) DO NOTHING`, [stream, GENESIS_HASH]);
      if (created.rowCount === 1) return { current: 'no_stream', lastHash: null };
      found = await client.query(select, [stream]);
    }
    const revision = Number(found.rows[0].revision);
    return revision < 0 ? { current: 'no_stream', lastHash: null } : { current: revision, lastHash: found.rows[0].last_hash };
  }

  private async insertEvents(client: PoolClient, events: ChainedEvent[], positions: number[]): Promise<void> {
    const last = events[events.length - 1];
    await client.query(
      `WITH inserted AS (
         INSERT INTO ${this.s}.events (${COLUMNS})
         SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[], $7::text[], $8::text[], $9::text[], $10::timestamptz[], $11::text[], $12::text[])
         RETURNING position
       ), moved AS (
         UPDATE ${this.s}.streams SET revision = $13, last_hash = $14, updated_at = now() WHERE stream_id = $15
       )
       SELECT pg_notify($16, max(position)::text) FROM inserted`,
      [
        positions,
        events.map((e) => e.id),
        events.map((e) => e.stream),
        events.map((e) => e.revision),
        events.map((e) => e.type),
        events.map((e) => JSON.stringify(e.data)),
        events.map((e) => e.actor),
        events.map((e) => e.correlationId),
        events.map((e) => e.causationId),
        events.map((e) => e.occurredAt),
        events.map((e) => e.prevHash),
        events.map((e) => e.hash),
        last.revision,
        last.hash,
        last.stream,
        this.channel,
      ],
    );
  }

  private async findIdempotent(client: PoolClient, stream: string, prepared: PreparedEvent[], expected: ExpectedRevision): Promise<AppendResult | null> {
    const stored = await client.query<{ event_id: string; stream_id: string; revision: string; position: string }>(
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

  async readAll(options: ReadAllOptions = {}): Promise<RecordedEvent[]> {
    return this.guard('reading all events', async () => {
      const result = await this.options.pool.query<EventRow>(
        `SELECT ${COLUMNS} FROM ${this.s}.events WHERE position >= $1 AND position <= $2 ORDER BY position LIMIT $3`,
        [options.fromPosition ?? 0, options.toPosition ?? Number.MAX_SAFE_INTEGER, options.limit ?? 1000],
      );
      return result.rows.map((row) => this.upcast(toEvent(row)));
    });
  }

  subscribeToAll(options: SubscribeToAllOptions = {}): AllSubscription {
    if (this.closed) throw new Error('event store is closed');
    void this.startListener();
    const subscription: PollingAllSubscription = new PollingAllSubscription(
      (after, limit) => this.readAll({ fromPosition: after + 1, limit }),
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
      occurredAt: row.occurred_at.toISOString(),
      prevHash: row.prev_hash,
      hash: row.hash,
    },
  };
}
