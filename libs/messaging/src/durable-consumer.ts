import { AckPolicy, DeliverPolicy, nanos, type ConsumerConfig, type ConsumerInfo, type ConsumerMessages, type JetStreamManager, type JsMsg, type NatsConnection } from 'nats';
import type { Pool, PoolClient } from 'pg';
import { EVENTS_STREAM, type EventCatalog } from '@modeltrail/contracts';
import { type RecordedEvent, RetryPause } from '@modeltrail/eventstore';
import { ident, migrate, withTransaction, type Migration } from '@modeltrail/postgres';
import { DEFAULT_EVENT_SUBJECT_PREFIX, ensureEventsStream, isJetStreamNotFound } from './jetstream';
import { defaultLogger, errorMessage, errorStack, type MessagingLogger } from './logger';
import { decodeJson } from './rpc.envelope';

export const consumerMigrations: ReadonlyArray<Migration> = [
  {
    id: '0001_processed_events',
    up: async (client, schema) => {
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${schema}.processed_events (
           consumer text NOT NULL,
           event_id uuid NOT NULL,
           position bigint,
           processed_at timestamptz NOT NULL DEFAULT now(),
           PRIMARY KEY (consumer, event_id)
         )`,
      );
    },
  },
];

/** Runs inside the transaction that records the event as processed: write only through `tx`. */
/** How many recently acked ids a consumer keeps in memory for waitUntilProcessed. */
const RECENT_IDS = 10_000;

export type EventHandler = (event: RecordedEvent, tx: PoolClient) => Promise<void>;

/**
 * handled: the handler ran and committed; skipped: this consumer had already processed the
 * event id (a redelivery or a re-publish); failed: the handler threw, the transaction rolled
 * back and the message was nak'ed for a later retry; rejected: undecodable, or failed on its
 * last allowed delivery, and terminated.
 */
export type ProcessOutcome = 'handled' | 'skipped' | 'failed' | 'rejected';

export interface ProcessReport {
  outcome: ProcessOutcome;
  event?: RecordedEvent;
  /** 1 on the first delivery. */
  deliveryCount: number;
  streamSequence: number;
  error?: unknown;
}

export interface DurableConsumerOptions {
  nc: NatsConnection;
  pool: Pool;
  /** Schema of the `processed_events` table (usually the service's read-model schema). */
  schema: string;
  /** Durable consumer name; also the `consumer` column of processed_events. */
  durable: string;
  handler: EventHandler;
  /**
   * Lifts stored shapes to current ones before the handler sees them. The relay publishes
   * events exactly as stored (their hashes verify), so consumers upcast, as store readers do.
   */
  catalog?: EventCatalog;
  /** Default `MT_EVENTS`. Created (not reconfigured) when missing, so consumers may start before the relay. */
  streamName?: string;
  /** Subject prefix of the stream, used only when the consumer has to create it (default `mt.evt`). */
  subjectPrefix?: string;
  /** e.g. `mt.evt.registry.>`; absent: every event of the stream. */
  filterSubject?: string;
  /** Redelivery after this long without an ack (default 30 s); long handlers are kept alive with `working()`. */
  ackWaitMs?: number;
  /** Deliveries before the message is terminated (default 10; -1 for no limit). */
  maxDeliver?: number;
  maxAckPending?: number;
  /** Messages pulled per request (default 16). */
  batchSize?: number;
  /** Delay before a failed message comes back (default: 1 s doubling per delivery, at most 30 s). */
  nakDelayMs?: number | ((deliveryCount: number) => number);
  logger?: MessagingLogger;
  /** Runs after the commit and before the ack (tests use it to stop right there, as a crash would). */
  beforeAck?: (event: RecordedEvent, deliveryCount: number) => Promise<void> | void;
  /** Called once per delivery with what happened to it. */
  onProcessed?: (report: ProcessReport) => void;
}

export interface DurableConsumerStats {
  handled: number;
  skipped: number;
  failed: number;
  rejected: number;
}

/**
 * A JetStream durable pull consumer whose handler runs exactly once per event id, even though
 * delivery is at least once: each event is handled inside a PostgreSQL transaction that also
 * records `(consumer, event_id)` in processed_events; an id already recorded skips the handler;
 * the ack is sent only after the commit; a failing handler rolls back and the message is nak'ed
 * with a delay.
 */
export class DurableConsumer {
  private readonly s: string;
  private readonly logger: MessagingLogger;
  private readonly streamName: string;
  private jsm: JetStreamManager | undefined;
  private messages: ConsumerMessages | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;
  private aborted = false;
  private inFlight = 0;
  private readonly pause = new RetryPause();
  /** Ids acked recently (bounded: older ones are looked up in processed_events). */
  private readonly processed = new Set<string>();
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly counters: DurableConsumerStats = { handled: 0, skipped: 0, failed: 0, rejected: 0 };

  constructor(private readonly options: DurableConsumerOptions) {
    this.s = ident(options.schema);
    this.streamName = options.streamName ?? EVENTS_STREAM;
    this.logger = options.logger ?? defaultLogger(`DurableConsumer(${options.durable})`);
  }

  get stats(): DurableConsumerStats {
    return { ...this.counters };
  }

  /** Creates processed_events when missing (idempotent; `start` runs it too). */
  async migrate(): Promise<string[]> {
    return migrate(this.options.pool, { schema: this.options.schema, component: 'messaging-consumer', migrations: consumerMigrations });
  }

  /** Ensures the table, the stream and the durable consumer, then starts pulling. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`consumer ${this.options.durable} is already started`);
    await this.migrate();
    this.jsm = await this.options.nc.jetstreamManager();
    await ensureEventsStream(this.jsm, { streamName: this.streamName, subjectPrefix: this.options.subjectPrefix ?? DEFAULT_EVENT_SUBJECT_PREFIX, createOnly: true });
    await this.ensureConsumer(this.jsm);
    this.running = this.run();
  }

  /** Stops pulling and waits for the message being handled; messages pulled but not started are nak'ed. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.pause.interrupt();
    await this.messages?.close();
    await this.running;
  }

  /**
   * Stops as a crash would: the message being handled is neither acked nor nak'ed, so JetStream
   * redelivers it after the ack wait. Close the connection afterwards.
   */
  abort(): void {
    this.aborted = true;
    this.stopping = true;
    this.pause.interrupt();
    // Not awaited: close() resolves only once the loop leaves the iterator, and a crashed
    // handler never returns. Closing the connection afterwards ends the pull subscription.
    void this.messages?.close();
  }

  /** Resolves when this instance has acked the event (handled or skipped). */
  async waitUntilProcessed(eventId: string, timeoutMs = 10_000): Promise<void> {
    const id = eventId.toLowerCase();
    if (this.processed.has(id)) return;
    const recorded = await this.options.pool.query(`SELECT 1 FROM ${this.s}.processed_events WHERE consumer = $1 AND event_id = $2`, [this.options.durable, id]);
    if (recorded.rowCount) return;
    if (this.processed.has(id)) return;
    return new Promise((resolve, reject) => {
      const waiters = this.waiters.get(id) ?? new Set<() => void>();
      this.waiters.set(id, waiters);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(done);
        reject(new Error(`consumer ${this.options.durable} did not process event ${eventId} within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.add(done);
    });
  }

  /** Resolves when JetStream has nothing pending or unacked for this consumer and nothing is being handled. */
  async waitUntilCaughtUp(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const info = await this.info();
      if (info.num_pending === 0 && info.num_ack_pending === 0 && this.inFlight === 0) return;
      if (Date.now() > deadline) {
        throw new Error(`consumer ${this.options.durable} not caught up within ${timeoutMs} ms (pending ${info.num_pending}, unacked ${info.num_ack_pending})`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async info(): Promise<ConsumerInfo> {
    if (!this.jsm) throw new Error(`consumer ${this.options.durable} is not started`);
    return this.jsm.consumers.info(this.streamName, this.options.durable);
  }

  private async ensureConsumer(jsm: JetStreamManager): Promise<void> {
    const wanted: Partial<ConsumerConfig> = {
      durable_name: this.options.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.options.ackWaitMs ?? 30_000),
      max_deliver: this.options.maxDeliver ?? 10,
      max_ack_pending: this.options.maxAckPending ?? 1000,
      ...(this.options.filterSubject ? { filter_subject: this.options.filterSubject } : {}),
    };
    let existing: ConsumerInfo | undefined;
    try {
      existing = await jsm.consumers.info(this.streamName, this.options.durable);
    } catch (error) {
      if (!isJetStreamNotFound(error)) throw error;
    }
    if (!existing) {
      await jsm.consumers.add(this.streamName, wanted);
      return;
    }
    const current = existing.config;
    if ((current.filter_subject ?? '') !== (wanted.filter_subject ?? '')) {
      throw new Error(
        `durable consumer ${this.options.durable} on ${this.streamName} filters "${current.filter_subject ?? ''}", not "${wanted.filter_subject ?? ''}": delete it to change its filter`,
      );
    }
    if (current.ack_wait !== wanted.ack_wait || current.max_deliver !== wanted.max_deliver || current.max_ack_pending !== wanted.max_ack_pending) {
      await jsm.consumers.update(this.streamName, this.options.durable, { ack_wait: wanted.ack_wait, max_deliver: wanted.max_deliver, max_ack_pending: wanted.max_ack_pending });
    }
  }

  private async run(): Promise<void> {
    const js = this.options.nc.jetstream();
    while (!this.stopping) {
      try {
        const consumer = await js.consumers.get(this.streamName, this.options.durable);
        const messages = await consumer.consume({ max_messages: this.options.batchSize ?? 16 });
        this.messages = messages;
        if (this.stopping) await messages.close();
        for await (const msg of messages) {
          if (this.stopping) {
            // Pulled but not started: hand it back at once rather than after the ack wait.
            if (!this.aborted) msg.nak();
            continue;
          }
          await this.process(msg);
        }
      } catch (error) {
        if (this.stopping) break;
        this.logger.error(`consumer ${this.options.durable} stopped pulling: ${errorMessage(error)}; resuming in 1000 ms`);
        await this.pause.wait(1000);
      }
    }
  }

  private async process(msg: JsMsg): Promise<void> {
    const deliveryCount = msg.info.deliveryCount;
    const streamSequence = msg.seq;
    let event: RecordedEvent;
    try {
      event = parseRecordedEvent(msg.data);
    } catch (error) {
      this.logger.error(`consumer ${this.options.durable}: message ${streamSequence} on ${msg.subject} is not a recorded event (${errorMessage(error)}); terminated`);
      // No reason argument: `+TERM <reason>` needs nats-server 2.10.4 and is ignored by older ones.
      msg.term();
      this.report({ outcome: 'rejected', deliveryCount, streamSequence, error });
      return;
    }
    this.inFlight += 1;
    const ackWaitMs = this.options.ackWaitMs ?? 30_000;
    // Keeps a long handler's message from being redelivered while it is still at work.
    const keepAlive = setInterval(() => msg.working(), Math.max(250, Math.floor(ackWaitMs / 2)));
    keepAlive.unref();
    try {
      let handled = false;
      try {
        handled = await withTransaction(this.options.pool, async (tx) => {
          const recorded = await tx.query(`INSERT INTO ${this.s}.processed_events (consumer, event_id, position) VALUES ($1, $2, $3) ON CONFLICT (consumer, event_id) DO NOTHING`, [
            this.options.durable,
            event.id,
            event.position,
          ]);
          if (recorded.rowCount === 0) return false;
          await this.options.handler(this.options.catalog ? this.options.catalog.upcast(event) : event, tx);
          return true;
        });
        clearInterval(keepAlive);
        await this.options.beforeAck?.(event, deliveryCount);
      } catch (error) {
        clearInterval(keepAlive);
        if (this.aborted) return;
        this.fail(msg, event, deliveryCount, error);
        return;
      }
      if (this.aborted) return;
      try {
        await msg.ackAck();
      } catch (error) {
        // Committed but the ack may be lost: the redelivery will be skipped.
        this.logger.warn(`consumer ${this.options.durable}: ack of event ${event.id} not confirmed: ${errorMessage(error)}`);
      }
      this.markProcessed(event.id);
      this.report({ outcome: handled ? 'handled' : 'skipped', event, deliveryCount, streamSequence });
    } finally {
      clearInterval(keepAlive);
      this.inFlight -= 1;
    }
  }

  private fail(msg: JsMsg, event: RecordedEvent, deliveryCount: number, error: unknown): void {
    const maxDeliver = this.options.maxDeliver ?? 10;
    if (maxDeliver > 0 && deliveryCount >= maxDeliver) {
      this.logger.error(`consumer ${this.options.durable} gives up on event ${event.id} (${event.type}) after ${deliveryCount} deliveries: ${errorMessage(error)}`, errorStack(error));
      msg.term();
      this.report({ outcome: 'rejected', event, deliveryCount, streamSequence: msg.seq, error });
      return;
    }
    const delay = this.nakDelay(deliveryCount);
    this.logger.warn(`consumer ${this.options.durable}: event ${event.id} (${event.type}) failed on delivery ${deliveryCount}, retrying in ${delay} ms: ${errorMessage(error)}`);
    msg.nak(delay);
    this.report({ outcome: 'failed', event, deliveryCount, streamSequence: msg.seq, error });
  }

  private nakDelay(deliveryCount: number): number {
    const option = this.options.nakDelayMs;
    if (typeof option === 'number') return option;
    if (typeof option === 'function') return option(deliveryCount);
    return Math.min(30_000, 1000 * 2 ** (deliveryCount - 1));
  }

  private markProcessed(eventId: string): void {
    const id = eventId.toLowerCase();
    this.processed.add(id);
    if (this.processed.size > RECENT_IDS) this.processed.delete(this.processed.values().next().value!);
    const waiters = this.waiters.get(id);
    if (!waiters) return;
    this.waiters.delete(id);
    for (const wake of waiters) wake();
  }

  private report(report: ProcessReport): void {
    this.counters[report.outcome] += 1;
    try {
      this.options.onProcessed?.(report);
    } catch (error) {
      this.logger.warn(`onProcessed hook threw: ${errorMessage(error)}`);
    }
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Decodes a message published by the relay; throws when it is not a recorded event. */
export function parseRecordedEvent(data: Uint8Array): RecordedEvent {
  const value = decodeJson(data) as Partial<RecordedEvent> | undefined;
  if (typeof value !== 'object' || value === null) throw new Error('payload is not a JSON object');
  const problems: string[] = [];
  if (typeof value.id !== 'string' || !UUID.test(value.id)) problems.push('id is not a UUID');
  if (typeof value.stream !== 'string') problems.push('stream is not a string');
  if (typeof value.type !== 'string') problems.push('type is not a string');
  if (typeof value.revision !== 'number') problems.push('revision is not a number');
  if (typeof value.position !== 'number') problems.push('position is not a number');
  if (typeof value.metadata !== 'object' || value.metadata === null) problems.push('metadata is missing');
  if (problems.length) throw new Error(problems.join('; '));
  return value as RecordedEvent;
}
