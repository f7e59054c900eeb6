import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JetStreamManager } from 'nats';
import { EventCatalog, z } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import { ident } from '@modeltrail/postgres';
import { createTestSchema, describeWithNats, TEST_NATS_URL, uniqueName, type TestSchema } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { DurableConsumer, type DurableConsumerOptions, type ProcessReport } from './durable-consumer';
import { encodeJson } from './rpc.envelope';
import { ensureEventsStream, publishRecordedEvent } from './jetstream';
import { connectNats, type ManagedNatsConnection } from './nats.connection';

let position = 0;
/** Each test has its own event type, and its consumer filters on it: the stream is shared by the tests. */
function recordedEvent(name: string): RecordedEvent {
  const type = `consumertest.${name}.v1`;
  position += 1;
  const id = randomUUID();
  return {
    id,
    stream: `thing-${id}`,
    revision: 0,
    position,
    type,
    data: { n: position },
    metadata: { actor: 'user:test', correlationId: id, causationId: null, occurredAt: new Date().toISOString(), prevHash: '0'.repeat(64), hash: 'f'.repeat(64) },
  };
}

describeWithNats('DurableConsumer', () => {
  let db: TestSchema;
  let admin: ManagedNatsConnection;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  const streamName = uniqueName('MT_EVENTS_CONSUMER');
  const subjectPrefix = uniqueName('consumertest.evt');
  const open: ManagedNatsConnection[] = [];

  const effects = () => `${ident(db.schema)}.effects`;
  const effectsOf = async (eventId: string) =>
    (await db.pool.query<{ note: string }>(`SELECT note FROM ${effects()} WHERE event_id = $1 ORDER BY note`, [eventId])).rows.map((r) => r.note);

  async function connection(name: string): Promise<ManagedNatsConnection> {
    const managed = await connectNats({ url: TEST_NATS_URL, name, logger: new RecordingLogger() });
    open.push(managed);
    return managed;
  }

  function consumerOptions(nc: ManagedNatsConnection['nc'], durable: string, eventName: string, extra: Partial<DurableConsumerOptions> & Pick<DurableConsumerOptions, 'handler'>): DurableConsumerOptions {
    return { nc, pool: db.pool, schema: db.schema, durable, streamName, subjectPrefix, filterSubject: `${subjectPrefix}.consumertest.${eventName}.*`, ackWaitMs: 1000, logger: new RecordingLogger(), ...extra };
  }

  beforeAll(async () => {
    db = await createTestSchema('consumer');
    await db.pool.query(`CREATE TABLE ${effects()} (event_id uuid NOT NULL, note text NOT NULL)`);
    admin = await connection('consumer-test-admin');
    jsm = await admin.nc.jetstreamManager();
    js = admin.nc.jetstream();
    await ensureEventsStream(jsm, { streamName, subjectPrefix });
  });

  afterAll(async () => {
    await jsm?.streams.delete(streamName).catch(() => undefined);
    for (const managed of open) await managed.close();
    await db?.drop();
  });

  it('handles every event once in its transaction, skips a re-published copy, and terminates a poison message', async () => {
    const nc = (await connection('consumer-basic')).nc;
    const reports: ProcessReport[] = [];
    const consumer = new DurableConsumer(
      consumerOptions(nc, uniqueName('basic'), 'Basic', {
        handler: async (event, tx) => {
          await tx.query(`INSERT INTO ${effects()} (event_id, note) VALUES ($1, 'basic')`, [event.id]);
        },
        onProcessed: (report) => reports.push(report),
      }),
    );
    await consumer.start();
    try {
      const events = Array.from({ length: 30 }, () => recordedEvent('Basic'));
      for (const event of events) await publishRecordedEvent(js, subjectPrefix, event);
      // A copy published again outside the dedupe window (another Nats-Msg-Id), and garbage.
      await js.publish(`${subjectPrefix}.consumertest.Basic.v1`, encodeJson(events[3]), { msgID: `${events[3].id}-again` });
      await js.publish(`${subjectPrefix}.consumertest.Basic.garbage`, new TextEncoder().encode('not json'));

      await consumer.waitUntilCaughtUp();

      for (const event of events) expect(await effectsOf(event.id)).toEqual(['basic']);
      expect(consumer.stats).toEqual({ handled: 30, skipped: 1, failed: 0, rejected: 1 });
      expect(reports.filter((r) => r.outcome === 'skipped').map((r) => r.event?.id)).toEqual([events[3].id]);
      // The handler saw the events in stream order.
      expect(reports.filter((r) => r.outcome === 'handled').map((r) => r.event?.position)).toEqual(events.map((e) => e.position));
    } finally {
      await consumer.stop();
    }
  });

  it('hands the handler current shapes: stored v1 events are upcast with the catalog', async () => {
    const nc = (await connection('consumer-upcast')).nc;
    const catalog = new EventCatalog({
      'consumertest.Upcast.v1': z.object({ n: z.number() }),
      'consumertest.Upcast.v2': z.object({ n: z.number(), doubled: z.number() }),
    }).registerUpcaster('consumertest.Upcast.v1', (data) => ({ type: 'consumertest.Upcast.v2', data: { ...(data as { n: number }), doubled: 2 * (data as { n: number }).n } }));
    const seen: Array<{ type: string; data: unknown }> = [];
    const consumer = new DurableConsumer(
      consumerOptions(nc, uniqueName('upcast'), 'Upcast', {
        catalog,
        handler: async (event) => {
          seen.push({ type: event.type, data: event.data });
        },
      }),
    );
    await consumer.start();
    try {
      const event = recordedEvent('Upcast');
      await publishRecordedEvent(js, subjectPrefix, event);
      await consumer.waitUntilProcessed(event.id);
      expect(seen).toEqual([{ type: 'consumertest.Upcast.v2', data: { n: event.position, doubled: 2 * event.position } }]);
    } finally {
      await consumer.stop();
    }
  });

  it('after a crash between commit and ack, a fresh consumer gets the message again and does not redo its effect', async () => {
    const durable = uniqueName('crash');
    const event = recordedEvent('Crash');

    // 1. The first consumer commits the handler's row, then "crashes" before acking.
    const doomedConnection = await connection('consumer-doomed');
    let crashed!: () => void;
    const atCrash = new Promise<void>((resolve) => (crashed = resolve));
    const doomed = new DurableConsumer(
      consumerOptions(doomedConnection.nc, durable, 'Crash', {
        handler: async (e, tx) => {
          await tx.query(`INSERT INTO ${effects()} (event_id, note) VALUES ($1, 'first run')`, [e.id]);
        },
        beforeAck: () => {
          crashed();
          return new Promise<void>(() => undefined); // frozen: never acks
        },
      }),
    );
    await doomed.start();
    await publishRecordedEvent(js, subjectPrefix, event);
    await atCrash;
    expect(await effectsOf(event.id)).toEqual(['first run']); // committed
    doomed.abort();
    await doomedConnection.nc.close(); // the process is gone

    // 2. A fresh consumer with the same durable name: redelivery after the 1 s ack wait.
    const nc = (await connection('consumer-restarted')).nc;
    const reports: ProcessReport[] = [];
    const handled: string[] = [];
    const consumer = new DurableConsumer(
      consumerOptions(nc, durable, 'Crash', {
        handler: async (e, tx) => {
          handled.push(e.id);
          await tx.query(`INSERT INTO ${effects()} (event_id, note) VALUES ($1, 'second run')`, [e.id]);
        },
        onProcessed: (report) => reports.push(report),
      }),
    );
    await consumer.start();
    try {
      await consumer.waitUntilProcessed(event.id, 10_000);
      await consumer.waitUntilCaughtUp();

      expect(reports).toEqual([expect.objectContaining({ outcome: 'skipped', deliveryCount: 2 })]);
      expect(handled).toEqual([]);
      expect(await effectsOf(event.id)).toEqual(['first run']);
      const processed = await db.pool.query(`SELECT count(*)::int AS n FROM ${ident(db.schema)}.processed_events WHERE consumer = $1 AND event_id = $2`, [durable, event.id]);
      expect(processed.rows[0].n).toBe(1);
    } finally {
      await consumer.stop();
    }
  });

  it('rolls back a failing handler, naks, and processes the redelivery once', async () => {
    const nc = (await connection('consumer-failing')).nc;
    const event = recordedEvent('Failing');
    const logger = new RecordingLogger();
    const reports: ProcessReport[] = [];
    let attempts = 0;
    const consumer = new DurableConsumer(
      consumerOptions(nc, uniqueName('failing'), 'Failing', {
        nakDelayMs: 50,
        logger,
        handler: async (e, tx) => {
          attempts += 1;
          await tx.query(`INSERT INTO ${effects()} (event_id, note) VALUES ($1, $2)`, [e.id, `attempt ${attempts}`]);
          if (attempts === 1) throw new Error('model registry is briefly unavailable');
        },
        onProcessed: (report) => reports.push(report),
      }),
    );
    await consumer.start();
    try {
      await publishRecordedEvent(js, subjectPrefix, event);
      await consumer.waitUntilProcessed(event.id);
      await consumer.waitUntilCaughtUp();

      expect(reports.map((r) => [r.outcome, r.deliveryCount])).toEqual([
        ['failed', 1],
        ['handled', 2],
      ]);
      expect(await effectsOf(event.id)).toEqual(['attempt 2']); // attempt 1's row was rolled back
      expect(logger.entries.some((e) => e.level === 'warn' && e.message.includes('model registry is briefly unavailable'))).toBe(true);
    } finally {
      await consumer.stop();
    }
  });

  it('gives up after maxDeliver failures and terminates the message', async () => {
    const nc = (await connection('consumer-poison')).nc;
    const event = recordedEvent('Poison');
    const reports: ProcessReport[] = [];
    const consumer = new DurableConsumer(
      consumerOptions(nc, uniqueName('poison'), 'Poison', {
        maxDeliver: 3,
        nakDelayMs: 20,
        handler: async () => {
          throw new Error('always broken');
        },
        onProcessed: (report) => reports.push(report),
      }),
    );
    await consumer.start();
    try {
      await publishRecordedEvent(js, subjectPrefix, event);
      await consumer.waitUntilCaughtUp();

      expect(reports.map((r) => [r.outcome, r.deliveryCount])).toEqual([
        ['failed', 1],
        ['failed', 2],
        ['rejected', 3],
      ]);
      expect(await effectsOf(event.id)).toEqual([]);
    } finally {
      await consumer.stop();
    }
  });
});
