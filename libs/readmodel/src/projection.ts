import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';
import type { EventCatalog } from '@modeltrail/contracts';
import { type AllSubscription, type EventStore, PositionWatch, type RecordedEvent, RetryPause } from '@modeltrail/eventstore';
import type { Pool } from 'pg';
import { ident, type Migration, migrate } from '@modeltrail/postgres';
import { batched } from './batched';

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

/**
 * A read model as a fold over events (STYLE idea 5): `apply` changes rows through the entity
 * manager of the batch's transaction. It must be deterministic — a rebuild replays it.
 */
export interface Projection {
  /** Checkpoint name; change it (or rebuild) when the projection's logic changes. */
  readonly name: string;
  /** Event types it reads (current, upcast names); other events only move the checkpoint. */
  readonly handles: ReadonlySet<string>;
  /** Tables it owns, emptied by a rebuild (unqualified; they live in the runner's schema). */
  readonly tables: ReadonlyArray<string>;
  apply(em: EntityManager, event: RecordedEvent): Promise<void>;
}

export interface ProjectionRunnerOptions {
  store: EventStore;
  orm: MikroORM;
  /** Schema of the service's read models (and of projection_checkpoints). */
  schema: string;
  projection: Projection;
  /** Events applied per transaction at most (default 500). */
  batchSize?: number;
  /** Upcasts events before `apply`, when the store does not already. */
  catalog?: EventCatalog;
  /** Pause before following again after a failure (default 1000 ms). */
  retryDelayMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Follows the event store and keeps one projection up to date. Each batch of events is applied
 * in ONE transaction together with the new checkpoint, so a crash can neither skip an event nor
 * apply one twice; on restart the runner resumes after the committed checkpoint.
 */
export class ProjectionRunner {
  private readonly s: string;
  private subscription: AllSubscription | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private readonly applied = new PositionWatch(() => `projection ${this.options.projection.name}`);
  private readonly pause = new RetryPause();

  constructor(private readonly options: ProjectionRunnerOptions) {
    this.s = ident(options.schema);
  }

  get name(): string {
    return this.options.projection.name;
  }

  /** The position up to which the read model reflects the store. */
  get position(): number {
    return this.applied.current;
  }

  async start(): Promise<void> {
    if (this.running) throw new Error(`projection ${this.options.projection.name} is already running`);
    this.stopping = false;
    this.applied.set(await this.readCheckpoint());
    this.running = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.interrupt();
    await this.subscription?.close();
    await this.running;
    this.running = undefined;
  }

  /** Empties the projection's tables and replays the whole store into them. */
  async rebuild(): Promise<void> {
    const wasRunning = this.running !== undefined;
    if (wasRunning) await this.stop();
    const { projection } = this.options;
    await this.options.orm.em.fork().transactional(async (em) => {
      for (const table of projection.tables) await em.execute(`DELETE FROM ${this.s}.${ident(table)}`);
      await em.execute(`DELETE FROM ${this.s}.projection_checkpoints WHERE name = ?`, [projection.name]);
    });
    this.applied.set(0);
    if (wasRunning) await this.start();
  }

  /** Resolves once the read model reflects every event up to `position` (after an append, pass its position). */
  waitFor(position: number, timeoutMs = 10_000): Promise<void> {
    return this.applied.reach(position, timeoutMs);
  }

  async readCheckpoint(): Promise<number> {
    const rows = await this.options.orm.em.fork().execute<Array<{ position: string }>>(`SELECT position FROM ${this.s}.projection_checkpoints WHERE name = ?`, [this.options.projection.name]);
    return rows.length ? Number(rows[0].position) : 0;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      try {
        await this.follow(() => (failures = 0));
      } catch (error) {
        if (this.stopping) break;
        this.options.onError?.(error);
        failures += 1;
        // Backs off (up to 32x) so that an event the projection cannot apply does not spin.
        const delay = (this.options.retryDelayMs ?? 1000) * 2 ** Math.min(failures - 1, 5);
        await this.pause.wait(delay);
      }
    }
  }

  private async follow(onProgress: () => void): Promise<void> {
    const subscription = this.options.store.subscribeToAll({ fromPosition: this.applied.current });
    this.subscription = subscription;
    const batches = batched(subscription, this.options.batchSize ?? 500);
    try {
      for (let next = await batches.next(); !next.done && !this.stopping; next = await batches.next()) {
        await this.applyBatch(next.value);
        onProgress();
      }
    } finally {
      // Close the source first: it ends any read the batcher still has outstanding.
      await subscription.close();
      await batches.return(undefined);
    }
  }

  /**
   * Applies a batch with the checkpoint row locked, so that replicas of a service running the
   * same projection take turns: events at or below the committed checkpoint were applied by
   * another runner and are skipped, and the checkpoint never moves backwards.
   */
  private async applyBatch(batch: RecordedEvent[]): Promise<void> {
    const { projection, catalog } = this.options;
    const reached = await this.options.orm.em.fork().transactional(async (em) => {
      await em.execute(`INSERT INTO ${this.s}.projection_checkpoints (name, position) VALUES (?, 0) ON CONFLICT (name) DO NOTHING`, [projection.name]);
      const [locked] = await em.execute<Array<{ position: string }>>(`SELECT position FROM ${this.s}.projection_checkpoints WHERE name = ? FOR UPDATE`, [projection.name]);
      const committed = Number(locked.position);
      const fresh = batch.filter((event) => event.position > committed);
      if (fresh.length === 0) return committed;
      for (const stored of fresh) {
        const event = catalog ? catalog.upcast(stored) : stored;
        if (projection.handles.has(event.type)) await projection.apply(em, event);
      }
      await em.flush();
      const last = fresh[fresh.length - 1].position;
      await em.execute(`UPDATE ${this.s}.projection_checkpoints SET position = ?, updated_at = now() WHERE name = ?`, [last, projection.name]);
      return last;
    });
    this.applied.set(Math.max(reached, this.applied.current));
  }
}
