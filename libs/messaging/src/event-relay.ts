import type { JetStreamClient, JetStreamManager, NatsConnection, PubAck } from 'nats';
import type { Pool } from 'pg';
import { type AllSubscription, type EventStore, PositionWatch, type RecordedEvent, RetryPause } from '@modeltrail/eventstore';
import { ident, migrate, type Migration } from '@modeltrail/postgres';
import { ensureEventsStream, DEFAULT_EVENT_SUBJECT_PREFIX, publishRecordedEvent } from './jetstream';
import { defaultLogger, errorMessage, type MessagingLogger } from './logger';

export const relayMigrations: ReadonlyArray<Migration> = [
  {
    id: '0001_relay_checkpoints',
    up: async (client, schema) => {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${schema}.relay_checkpoints (
           name text PRIMARY KEY,
           position bigint NOT NULL,
           updated_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
    },
  },
];

export interface EventRelayOptions {
  store: EventStore;
  nc: NatsConnection;
  pool: Pool;
  /** Schema of the `relay_checkpoints` table. */
  schema: string;
  /** Checkpoint name. Run one relay per name (a second one is harmless — dedupe — but wasted). */
  name: string;
  /** JetStream stream (default `MT_EVENTS`). */
  streamName?: string;
  /** Events go to `<prefix>.<event type>` (default `mt.evt`). */
  subjectPrefix?: string;
  /** Dedupe window of the stream (default 2 min): a restart must happen within it to publish no duplicate. */
  duplicateWindowMs?: number;
  /** Copies of the stream in a clustered NATS (JETSTREAM_REPLICAS) and the most bytes it keeps (EVENTS_STREAM_MAX_BYTES); see EventsStreamOptions. */
  replicas?: number;
  maxBytes?: number;
  /** Publishes awaiting their ack at once, sent in position order on one connection (default 64). */
  maxInFlight?: number;
  /** Write the checkpoint after this many acked events... (default 100) */
  checkpointEvery?: number;
  /** ...or this long after the first event not yet checkpointed (default 1000 ms). */
  checkpointIntervalMs?: number;
  publishTimeoutMs?: number;
  /** Pause before resuming after a failure (default 1000 ms). */
  retryDelayMs?: number;
  logger?: MessagingLogger;
  /** Called for every PubAck, duplicates included (metrics, tests). */
  onPublished?: (event: RecordedEvent, ack: PubAck) => void;
}

export interface EventRelayStats {
  /** PubAcks received, duplicates included. */
  published: number;
  /** PubAcks with `duplicate: true`: events JetStream already held (re-published after a restart). */
  duplicates: number;
  checkpointWrites: number;
  /** Every event up to this position is acked by JetStream. */
  position: number;
  /** Last checkpoint written to PostgreSQL. */
  checkpoint: number;
}

interface Pending {
  event: RecordedEvent;
  done: boolean;
  settled: Promise<void>;
}

/**
 * Follows the event store from a checkpoint kept in PostgreSQL and publishes every event to
 * JetStream (docs/architecture.md: Messaging). The checkpoint moves only over events whose publish was acked, and is
 * written in batches, so after a crash the relay re-publishes what came after the last
 * checkpoint — and JetStream drops those copies by their Nats-Msg-Id (= event id).
 *
 * Order: publishes are pipelined (`maxInFlight`). When one fails while later ones succeed, the
 * retry re-publishes it after them, so a consumer can see an event after a later one. Consumers
 * that need a stream's order compare `revision` with the last they handled; projections that
 * must be exact follow the event store itself (ProjectionRunner), not JetStream.
 */
export class EventRelay {
  private readonly s: string;
  private readonly logger: MessagingLogger;
  private readonly prefix: string;
  private jsm: JetStreamManager | undefined;
  private js: JetStreamClient | undefined;
  private subscription: AllSubscription | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private aborted = false;
  private readonly acked = new PositionWatch(() => `relay ${this.options.name}`);
  private uncheckpointed = 0;
  private stored = 0;
  private checkpointTimer: NodeJS.Timeout | undefined;
  private checkpointChain: Promise<void> = Promise.resolve();
  private readonly pause = new RetryPause();
  private readonly counters = { published: 0, duplicates: 0, checkpointWrites: 0 };

  constructor(private readonly options: EventRelayOptions) {
    this.s = ident(options.schema);
    this.prefix = options.subjectPrefix ?? DEFAULT_EVENT_SUBJECT_PREFIX;
    this.logger = options.logger ?? defaultLogger(`EventRelay(${options.name})`);
  }

  get stats(): EventRelayStats {
    return { ...this.counters, position: this.acked.current, checkpoint: this.stored };
  }

  /** Creates the checkpoint table when missing (idempotent; `start` runs it too). */
  async migrate(): Promise<string[]> {
    return migrate(this.options.pool, { schema: this.options.schema, component: 'messaging-relay', migrations: relayMigrations });
  }

  /** Ensures the stream and the checkpoint table, reads the checkpoint, and starts following the store. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`relay ${this.options.name} is already started`);
    await this.migrate();
    this.jsm = await this.options.nc.jetstreamManager();
    this.js = this.options.nc.jetstream();
    await this.ensureStream();
    this.stored = await this.readCheckpoint();
    this.acked.set(this.stored);
    this.logger.log(`relay ${this.options.name} starts after position ${this.acked.current}`);
    this.running = this.run();
  }

  /** Stops following, waits for the publishes in flight, and writes the final checkpoint. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.interrupt();
    await this.subscription?.close();
    await this.running;
    this.clearCheckpointTimer();
    if (!this.aborted) await this.flushCheckpoint();
    await this.checkpointChain;
  }

  /**
   * Stops as a crash would: no waiting for acks, no final checkpoint. Events published since
   * the last checkpoint will be published again by the next relay (and deduped by JetStream).
   */
  async abort(): Promise<void> {
    this.aborted = true;
    this.stopping = true;
    this.clearCheckpointTimer();
    this.pause.interrupt();
    await this.subscription?.close();
    await this.running;
  }

  /** Resolves once every event up to `position` is acked by JetStream. */
  waitUntilPublished(position: number, timeoutMs = 10_000): Promise<void> {
    return this.acked.reach(position, timeoutMs);
  }

  /** The stored checkpoint (0 when the relay never ran). */
  async readCheckpoint(): Promise<number> {
    const result = await this.options.pool.query<{ position: string }>(`SELECT position FROM ${this.s}.relay_checkpoints WHERE name = $1`, [this.options.name]);
    return result.rowCount ? Number(result.rows[0].position) : 0;
  }

  private async ensureStream(): Promise<void> {
    await ensureEventsStream(this.jsm!, {
      streamName: this.options.streamName,
      subjectPrefix: this.prefix,
      duplicateWindowMs: this.options.duplicateWindowMs,
      replicas: this.options.replicas,
      maxBytes: this.options.maxBytes,
    });
  }

  private async run(): Promise<void> {
    let first = true;
    while (!this.stopping) {
      try {
        if (!first) await this.ensureStream();
        first = false;
        await this.follow();
      } catch (error) {
        if (this.stopping) break;
        const delay = this.options.retryDelayMs ?? 1000;
        this.logger.error(`relay ${this.options.name} stopped after position ${this.acked.current}: ${errorMessage(error)}; resuming in ${delay} ms`);
        await this.pause.wait(delay);
      }
    }
  }

  /** One pass: subscribe after the acked position and publish until stopped or a publish fails. */
  private async follow(): Promise<void> {
    const maxInFlight = Math.max(1, this.options.maxInFlight ?? 64);
    const inFlight: Pending[] = [];
    let failure: unknown;
    const subscription = this.options.store.subscribeToAll({ fromPosition: this.acked.current });
    this.subscription = subscription;
    const advance = () => {
      while (inFlight.length > 0 && inFlight[0].done) this.onAcked(inFlight.shift()!.event.position);
    };
    try {
      for await (const event of subscription) {
        if (this.stopping || failure !== undefined) break;
        const pending: Pending = { event, done: false, settled: Promise.resolve() };
        pending.settled = publishRecordedEvent(this.js!, this.prefix, event, this.options.publishTimeoutMs).then(
          (ack) => {
            if (this.aborted) return;
            pending.done = true;
            this.counters.published += 1;
            if (ack.duplicate) this.counters.duplicates += 1;
            try {
              this.options.onPublished?.(event, ack);
            } catch (error) {
              this.logger.warn(`onPublished hook threw: ${errorMessage(error)}`);
            }
            advance();
          },
          (error: unknown) => {
            if (failure === undefined) failure = error;
            void subscription.close();
          },
        );
        inFlight.push(pending);
        // Backpressure: never more than maxInFlight publishes awaiting their ack.
        if (inFlight.length >= maxInFlight) await inFlight[0].settled;
      }
    } finally {
      await subscription.close();
      if (!this.aborted) await Promise.allSettled(inFlight.map((p) => p.settled));
    }
    if (failure !== undefined && !this.stopping) throw failure;
  }

  private onAcked(position: number): void {
    if (this.aborted) return;
    this.acked.set(position);
    // Checkpoint writes are batched: by count, or by time for a trickle of events.
    this.uncheckpointed += 1;
    if (this.uncheckpointed >= (this.options.checkpointEvery ?? 100)) {
      void this.flushCheckpoint();
    } else if (!this.checkpointTimer) {
      this.checkpointTimer = setTimeout(() => {
        this.checkpointTimer = undefined;
        void this.flushCheckpoint();
      }, this.options.checkpointIntervalMs ?? 1000);
      this.checkpointTimer.unref();
    }
  }

  /** Writes the acked position; writes are chained so they land in order. */
  private flushCheckpoint(): Promise<void> {
    this.clearCheckpointTimer();
    this.uncheckpointed = 0;
    this.checkpointChain = this.checkpointChain.then(async () => {
      const position = this.acked.current;
      if (position <= this.stored || this.aborted) return;
      try {
        await this.options.pool.query(
          `INSERT INTO ${this.s}.relay_checkpoints (name, position, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
           WHERE relay_checkpoints.position < EXCLUDED.position`,
          [this.options.name, position],
        );
        this.stored = Math.max(this.stored, position);
        this.counters.checkpointWrites += 1;
      } catch (error) {
        // The next flush retries; meanwhile a restart would only re-publish (deduped) events.
        this.logger.warn(`relay ${this.options.name} could not write its checkpoint ${position}: ${errorMessage(error)}`);
      }
    });
    return this.checkpointChain;
  }

  private clearCheckpointTimer(): void {
    if (this.checkpointTimer) clearTimeout(this.checkpointTimer);
    this.checkpointTimer = undefined;
  }
}
