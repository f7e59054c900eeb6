import { escapeLiteral, type Pool, type PoolClient } from 'pg';
import type { EventCatalog } from '@modeltrail/contracts';
import { type EventStore, PositionWatch, type RecordedEvent, StoreFollower } from '@modeltrail/eventstore';
import { observeProjection } from '@modeltrail/observability';
import { ident, type Migration, migrate, withTransaction } from '@modeltrail/postgres';
import { foldTable, numberRows, type Projection, type TableProjection, touchedKeys } from './set-projection';
import { TableSql } from './table';

export const projectionMigrations: ReadonlyArray<Migration> = [
  {
    id: '0001_projection_checkpoints',
    up: async (client, schema) => {
      await client.query(`
        CREATE TABLE ${schema}.projection_checkpoints (
          name        text PRIMARY KEY,
          position    bigint NOT NULL,
          updated_at  timestamptz NOT NULL DEFAULT now()
        )`);
    },
  },
];

/**
 * Creates a service's read-model schema: the projection checkpoints plus the service's own
 * tables (`component` names its migrations). Plain SQL migrations, never ORM synchronisation.
 */
export async function migrateReadModel(pool: Pool, schema: string, component: string, migrations: ReadonlyArray<Migration>): Promise<string[]> {
  const applied = await migrate(pool, { schema, component: 'projections', migrations: projectionMigrations });
  return [...applied, ...(await migrate(pool, { schema, component, migrations }))];
}

/** Events the runner may pass over (none read by the projection) before it writes the checkpoint anyway. */
const SKIPPED_EVENTS_PER_CHECKPOINT = 10_000;

/** Events per batch at most: a full page while catching up, whatever has arrived once live. */
export const DEFAULT_PROJECTION_BATCH = 2_000;

export interface ProjectionRunnerOptions {
  store: EventStore;
  /** Connections for the batches' transactions (the service's pool). */
  pool: Pool;
  /** Schema of the service's read models (and of projection_checkpoints). */
  schema: string;
  projection: Projection<any>;
  /** Events applied per transaction at most (default DEFAULT_PROJECTION_BATCH). */
  batchSize?: number;
  /** Upcasts events before they are folded, when the store does not already. */
  catalog?: EventCatalog;
  /** Pause before following again after a failure (default 1000 ms). */
  retryDelayMs?: number;
  /**
   * Once live, how long to let events gather after a batch before taking the next (default
   * 10 ms): under a stream of commands, one transaction then applies many events instead of one
   * each. The first event after a quiet spell is applied at once.
   */
  lingerMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Follows the event store and keeps one set-based projection up to date. Each batch is applied
 * in ONE transaction: the checkpoint row locked, one read per touched table, the fold in memory,
 * one write per changed table, the new checkpoint. A crash can neither skip an event nor apply
 * one twice; on restart the runner resumes after the committed checkpoint.
 */
export class ProjectionRunner {
  private readonly s: string;
  /** The checkpoint's name as an SQL literal, for the statements sent with BEGIN and COMMIT. */
  private readonly nameLiteral: string;
  private readonly tables: ReadonlyArray<{ projection: TableProjection<RecordedEvent, any, any>; sql: TableSql<any> }>;
  private readonly follower: StoreFollower;
  private readonly applied = new PositionWatch(() => `projection ${this.options.projection.name}`);
  /** When the projection last moved (ms since the epoch), for the staleness gauge. */
  private lastAppliedAt = Date.now();
  private unobserve: (() => void) | undefined;
  /** Events passed over (none of them read by the projection) since the checkpoint was last written. */
  private skippedSinceCheckpoint = 0;

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.s = ident(options.schema);
    this.nameLiteral = escapeLiteral(options.projection.name);
    this.tables = options.projection.tables.map((projection) => ({ projection, sql: new TableSql(projection.table, options.schema) }));
    // The runner shares its process with the service's command handlers: between two batches,
    // whatever else is ready runs first; once live, events gather a little (lingerMs).
    this.follower = new StoreFollower({
      store: options.store,
      from: () => this.applied.current,
      apply: (batch) => this.applyBatch(batch),
      batchSize: options.batchSize ?? DEFAULT_PROJECTION_BATCH,
      lingerMs: options.lingerMs ?? 10,
      retryDelayMs: options.retryDelayMs,
      onError: options.onError,
    });
  }

  get name(): string {
    return this.options.projection.name;
  }

  /** The position up to which the read model reflects the store. */
  get position(): number {
    return this.applied.current;
  }

  async start(): Promise<void> {
    if (this.follower.started) throw new Error(`projection ${this.name} is already running`);
    this.applied.set(await this.readCheckpoint());
    this.lastAppliedAt = Date.now();
    this.follower.start();
    // modeltrail_projection_lag_positions and _stale_seconds while it runs (docs/observability.md).
    this.unobserve?.();
    this.unobserve = observeProjection({ schema: this.options.schema, projection: this.name, position: () => this.applied.current, lastAppliedAt: () => this.lastAppliedAt, head: storeHead(this.options.store) });
  }

  async stop(): Promise<void> {
    this.unobserve?.();
    this.unobserve = undefined;
    await this.follower.stop();
  }

  /**
   * Empties the projection's tables and replays the whole store into them. Replicas running
   * the same projection must be stopped first (or the new logic deployed under a new name).
   */
  async rebuild(): Promise<void> {
    const wasRunning = this.follower.started;
    if (wasRunning) await this.stop();
    await withTransaction(this.options.pool, async (client) => {
      for (const { sql } of [...this.tables].reverse()) await client.query(`DELETE FROM ${sql.table}`);
      await client.query(`DELETE FROM ${this.s}.projection_checkpoints WHERE name = $1`, [this.name]);
    });
    this.applied.set(0);
    if (wasRunning) await this.start();
  }

  private moved(position: number): void {
    if (position > this.applied.current) this.lastAppliedAt = Date.now();
    this.applied.set(position);
  }

  /** Resolves once the read model reflects every event up to `position` (after an append, pass its position). */
  waitFor(position: number, timeoutMs = 10_000): Promise<void> {
    return this.applied.reach(position, timeoutMs);
  }

  async readCheckpoint(): Promise<number> {
    const { rows } = await this.options.pool.query<{ position: string }>(`SELECT position FROM ${this.s}.projection_checkpoints WHERE name = $1`, [this.name]);
    return rows.length ? Number(rows[0].position) : 0;
  }

  /**
   * Applies a batch with the checkpoint row locked, so that replicas of a service running the
   * same projection take turns: events at or below the committed checkpoint were applied by
   * another runner and are skipped, and the checkpoint never moves backwards.
   */
  private async applyBatch(batch: ReadonlyArray<RecordedEvent>): Promise<void> {
    const { projection, catalog } = this.options;
    // A batch of only events this projection does not read changes no row: it moves the
    // checkpoint in memory, and in the database with the next batch that writes (or after
    // SKIPPED_EVENTS_PER_CHECKPOINT of them, so that a restart does not re-read too many).
    if (batch.length > 0 && this.skippedSinceCheckpoint + batch.length < SKIPPED_EVENTS_PER_CHECKPOINT && !batch.some((event) => projection.handles.has((catalog ? catalog.upcast(event) : event).type))) {
      this.skippedSinceCheckpoint += batch.length;
      this.moved(Math.max(batch[batch.length - 1].position, this.applied.current));
      return;
    }
    this.skippedSinceCheckpoint = 0;
    // Four round trips per batch: BEGIN with the checkpoint's row locked, one read and one
    // write per touched table, and the checkpoint moved in the COMMIT's round trip. The lock
    // (an upsert that changes nothing) waits for a replica holding the row.
    const reached = await withTransaction(
      this.options.pool,
      async (client, begun) => {
        const committed = Number(begun[1].rows[0].position);
        const fresh = batch.filter((event) => event.position > committed);
        if (fresh.length === 0) return { position: committed, moved: false };
        const events: RecordedEvent[] = [];
        for (const stored of fresh) {
          const event = catalog ? catalog.upcast(stored) : stored;
          if (projection.handles.has(event.type)) events.push(event);
        }
        if (events.length > 0) await this.applyEvents(client, events);
        return { position: fresh[fresh.length - 1].position, moved: true };
      },
      {
        begin: `BEGIN; INSERT INTO ${this.s}.projection_checkpoints AS c (name, position) VALUES (${this.nameLiteral}, 0) ON CONFLICT (name) DO UPDATE SET position = c.position RETURNING position`,
        commit: ({ position, moved }) => (moved ? `UPDATE ${this.s}.projection_checkpoints SET position = ${Math.trunc(position)}, updated_at = now() WHERE name = ${this.nameLiteral}` : undefined),
      },
    );
    this.moved(Math.max(reached.position, this.applied.current));
  }

  /** One read per touched table, the fold in memory, then deletes (children first) and upserts (parents first). */
  private async applyEvents(client: PoolClient, events: ReadonlyArray<RecordedEvent>): Promise<void> {
    const keyOfs = this.tables.map(({ sql }) => (values: object) => sql.keyOf(values));
    const touched = touchedKeys(
      this.tables.map((t) => t.projection),
      events,
      keyOfs,
    );
    const outcomes = [];
    for (let i = 0; i < this.tables.length; i++) {
      const { projection: table, sql } = this.tables[i];
      if (touched[i].size === 0) {
        outcomes.push(undefined);
        continue;
      }
      const stored = new Map<string, unknown>();
      if (!table.appendOnly) for (const row of await sql.read(client, [...touched[i].values()])) stored.set(sql.keyOf(row), row);
      const outcome = foldTable(table, events, stored, keyOfs[i]);
      if (table.sequence && outcome.appeared.length > 0) {
        const { column, per } = table.sequence;
        const groups = [...new Set(outcome.appeared.map((row) => (row as Record<string, unknown>)[per as string]))];
        const highest = await sql.maxPerGroup(client, column, per, groups);
        const numbered = numberRows(outcome.appeared, column, (row) => sql.groupOf(per, (row as Record<string, unknown>)[per as string]), highest);
        outcome.upserts = outcome.upserts.map((row) => numbered.get(row) ?? row);
      }
      outcomes.push(outcome);
    }
    for (let i = this.tables.length - 1; i >= 0; i--) await this.tables[i].sql.delete(client, outcomes[i]?.deletes ?? []);
    for (let i = 0; i < this.tables.length; i++) {
      const { projection: table, sql } = this.tables[i];
      await (table.appendOnly ? sql.insertNew(client, outcomes[i]?.upserts ?? []) : sql.upsert(client, outcomes[i]?.upserts ?? []));
    }
  }
}

const heads = new WeakMap<EventStore, () => Promise<number>>();

/** One head reader per store, so a scrape asks each store once for all its projections. */
function storeHead(store: EventStore): () => Promise<number> {
  let head = heads.get(store);
  if (!head) heads.set(store, (head = () => store.headPosition()));
  return head;
}
