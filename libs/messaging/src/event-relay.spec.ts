import { randomUUID } from 'node:crypto';
import type { JetStreamManager } from 'nats';
import { PostgresEventStore, type NewEvent, type RecordedEvent } from '@modeltrail/eventstore';
import { createTestSchema, describeWithNats, eventually, TEST_NATS_URL, uniqueName, type TestSchema } from '@modeltrail/testing';
import { RecordingLogger } from '../test/recording-logger';
import { EventRelay, type EventRelayOptions } from './event-relay';
import { connectNats, type ManagedNatsConnection } from './nats.connection';

interface StoredCopy {
  seq: number;
  subject: string;
  msgId: string;
  event: RecordedEvent;
}

/** Every message of the stream, read back one by one by sequence. */
async function readStream(jsm: JetStreamManager, stream: string): Promise<StoredCopy[]> {
  const info = await jsm.streams.info(stream);
  const out: StoredCopy[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq });
    out.push({ seq, subject: msg.subject, msgId: msg.header.get('Nats-Msg-Id'), event: msg.json<RecordedEvent>() });
  }
  return out;
}

/** `count` events over streams of ten, appended ten at a time; returns their ids in order. */
async function appendEvents(store: PostgresEventStore, count: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let batch = 0; batch < count / 10; batch++) {
    const events: NewEvent[] = Array.from({ length: 10 }, (_, i) => {
      const id = randomUUID();
      ids.push(id);
      return { id, type: 'relaytest.ThingHappened.v1', data: { tag, batch, i }, metadata: { actor: 'user:test', correlationId: `corr-${tag}` } };
    });
    await store.append(`thing-${tag}-${batch}`, events, { expectedRevision: 'no_stream' });
  }
  return ids;
}

describeWithNats('EventRelay', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let admin: ManagedNatsConnection;
  let jsm: JetStreamManager;
  const streamName = uniqueName('MT_EVENTS_RELAY');
  const subjectPrefix = uniqueName('relaytest.evt');

  beforeAll(async () => {
    db = await createTestSchema('relay');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, pollIntervalMs: 200 });
    await store.migrate();
    admin = await connectNats({ url: TEST_NATS_URL, name: 'relay-test-admin', logger: new RecordingLogger() });
    jsm = await admin.nc.jetstreamManager();
  });

  afterAll(async () => {
    await jsm?.streams.delete(streamName).catch(() => undefined);
    await admin?.close();
    await store?.close();
    await db?.drop();
  });

  const relayOptions = (nc: ManagedNatsConnection['nc'], extra: Partial<EventRelayOptions> = {}): EventRelayOptions => ({
    store,
    nc,
    pool: db.pool,
    schema: db.schema,
    name: 'lineage-relay',
    streamName,
    subjectPrefix,
    duplicateWindowMs: 120_000,
    logger: new RecordingLogger(),
    ...extra,
  });

  it('killed part-way and restarted, leaves every event in the stream exactly once', async () => {
    const firstIds = await appendEvents(store, 500, 'a');

    // 1. A relay that dies after 250 acked publishes: it checkpoints every 100, and never on a
    //    timer here, so its checkpoint lags behind what JetStream already holds.
    const doomedConnection = await connectNats({ url: TEST_NATS_URL, name: 'relay-doomed', logger: new RecordingLogger() });
    let acked = 0;
    let died!: () => void;
    const dead = new Promise<void>((resolve) => (died = resolve));
    const doomed: EventRelay = new EventRelay(
      relayOptions(doomedConnection.nc, {
        checkpointEvery: 100,
        checkpointIntervalMs: 60_000,
        maxInFlight: 16,
        onPublished: () => {
          acked += 1;
          if (acked === 250) void doomed.abort().then(died);
        },
      }),
    );
    await doomed.start();
    await dead;
    await doomedConnection.nc.close(); // the process is gone: no drain, no final checkpoint

    const checkpointAfterCrash = await doomed.readCheckpoint();
    const positions = (await store.readAll({ limit: 1000 })).map((e) => e.position);
    const coveredByCheckpoint = positions.filter((p) => p <= checkpointAfterCrash).length;
    const inStreamAfterCrash = (await jsm.streams.info(streamName)).state.messages;
    expect(doomed.stats.published).toBe(250);
    expect(coveredByCheckpoint).toBeGreaterThan(0);
    expect(coveredByCheckpoint).toBeLessThan(inStreamAfterCrash); // the checkpoint lags: some events will be re-published
    expect(inStreamAfterCrash).toBeGreaterThanOrEqual(250);
    expect(inStreamAfterCrash).toBeLessThan(500);

    // 2. A new relay with the same checkpoint name, while more events are appended.
    const connection = await connectNats({ url: TEST_NATS_URL, name: 'relay-restarted', logger: new RecordingLogger() });
    const relay = new EventRelay(relayOptions(connection.nc, { checkpointEvery: 100, checkpointIntervalMs: 100 }));
    try {
      await relay.start();
      const moreIds = await appendEvents(store, 100, 'b');
      const head = await store.headPosition();
      await relay.waitUntilPublished(head);

      // 3. Every event exactly once, with its id as Nats-Msg-Id, at mt.evt-style subjects.
      const copies = await readStream(jsm, streamName);
      const appended = [...firstIds, ...moreIds];
      expect(copies).toHaveLength(600);
      expect(new Set(copies.map((c) => c.msgId)).size).toBe(600);
      expect(new Set(copies.map((c) => c.msgId))).toEqual(new Set(appended));
      for (const copy of copies) {
        expect(copy.event.id).toBe(copy.msgId);
        expect(copy.subject).toBe(`${subjectPrefix}.relaytest.ThingHappened.v1`);
      }
      expect(Object.keys(copies[0].event).sort()).toEqual(['data', 'id', 'metadata', 'position', 'revision', 'stream', 'type']);
      // One connection publishing in position order keeps the stream in position order.
      const streamOrder = copies.map((c) => c.event.position);
      expect(streamOrder).toEqual([...streamOrder].sort((a, b) => a - b));

      // 4. The restart re-published what came after the checkpoint, and JetStream dropped it.
      expect(relay.stats.published).toBe(600 - coveredByCheckpoint);
      expect(relay.stats.duplicates).toBeGreaterThanOrEqual(inStreamAfterCrash - coveredByCheckpoint);
      expect(relay.stats.duplicates).toBeGreaterThan(0);
      console.info(
        `relay restart: doomed relay acked 250, stream held ${inStreamAfterCrash}, checkpoint covered ${coveredByCheckpoint}; ` +
          `restarted relay published ${relay.stats.published}, of which ${relay.stats.duplicates} duplicates dropped by Nats-Msg-Id`,
      );

      // 5. The checkpoint reaches the head (timer flush), and stays there after a clean stop.
      await eventually(async () => expect(await relay.readCheckpoint()).toBe(head), { timeoutMs: 5000 });
    } finally {
      await relay.stop();
      await connection.close();
    }
    expect(await relay.readCheckpoint()).toBe(await store.headPosition());
  });

  it('a clean stop writes the final checkpoint, so a restart publishes nothing twice', async () => {
    const otherStream = uniqueName('MT_EVENTS_RELAY2');
    const otherPrefix = uniqueName('relaytest2.evt');
    const connection = await connectNats({ url: TEST_NATS_URL, name: 'relay-clean', logger: new RecordingLogger() });
    const options = relayOptions(connection.nc, { name: 'clean-relay', streamName: otherStream, subjectPrefix: otherPrefix, checkpointEvery: 1000, checkpointIntervalMs: 60_000 });
    try {
      const first = new EventRelay(options);
      await first.start();
      const head = await store.headPosition();
      await first.waitUntilPublished(head);
      await first.stop();
      expect(await first.readCheckpoint()).toBe(head);

      const second = new EventRelay(options);
      await second.start();
      const ids = await appendEvents(store, 10, 'c');
      await second.waitUntilPublished(await store.headPosition());
      await second.stop();

      expect(second.stats).toMatchObject({ published: 10, duplicates: 0 });
      const copies = await readStream(jsm, otherStream);
      expect(copies.slice(-10).map((c) => c.msgId)).toEqual(ids);
      expect(new Set(copies.map((c) => c.msgId)).size).toBe(copies.length);
    } finally {
      await jsm.streams.delete(otherStream).catch(() => undefined);
      await connection.close();
    }
  });
});
