import { randomUUID } from 'node:crypto';
import { EventCatalog } from '@modeltrail/contracts';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { PostgresEventStore } from './postgres.event-store';
import type { RecordedEvent } from './types';

/**
 * Gap safety (docs/architecture.md: Event store): while 8 appenders race — some of them holding their transaction open
 * for seconds after taking positions — a live subscriber must see every committed event exactly
 * once and in position order. A store that hands out positions from a bare sequence fails this:
 * the subscriber reads past the slow transaction's positions before they commit and never
 * comes back for them.
 */
describe('PostgreSQL event store gap safety', () => {
  const TOTAL = 5_000;
  const WRITERS = 8;
  const SLOW_APPENDS = 3;
  const SLOW_HOLD_MS = 2_000;
  let db: TestSchema;
  let store: PostgresEventStore;

  beforeAll(async () => {
    db = await createTestSchema('gap', 20);
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: new EventCatalog({}, { strict: false }), pollIntervalMs: 200 });
    await store.migrate();
  });
  afterAll(async () => {
    await store.close();
    await db.drop();
  });

  it('delivers 5,000 events from 8 concurrent appenders, with slow transactions, exactly once in position order', async () => {
    const subscription = store.subscribeToAll();
    const received: RecordedEvent[] = [];
    const subscriber = (async () => {
      for await (const event of subscription) {
        received.push(event);
        if (received.length === TOTAL) break;
      }
    })();

    const appended = new Set<string>();
    let remaining = TOTAL;
    let slowLeft = SLOW_APPENDS;
    const claim = (wanted: number) => {
      const n = Math.min(wanted, remaining);
      remaining -= n;
      return n;
    };
    const batchFor = (writer: number, n: number) =>
      Array.from({ length: n }, () => {
        const id = randomUUID();
        appended.add(id);
        return { id, type: 'test.Appended.v1', data: { writer } };
      });

    const writer = async (w: number) => {
      for (let round = 0; ; round++) {
        const n = claim(1 + ((w + round) % 10));
        if (n === 0) return;
        const stream = `gap-${w}-${round % 7}`;
        if (round > 5 && slowLeft > 0 && (w + round) % 5 === 0) {
          slowLeft -= 1;
          // Take positions inside a transaction, then keep it open before committing.
          const client = await db.pool.connect();
          try {
            await client.query('BEGIN');
            await store.appendInTransaction(client, stream, batchFor(w, n));
            await new Promise((r) => setTimeout(r, SLOW_HOLD_MS));
            await client.query('COMMIT');
          } finally {
            client.release();
          }
        } else {
          await store.append(stream, batchFor(w, n));
        }
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    expect(slowLeft).toBe(0);

    await subscriber;
    await subscription.close();
    expect(received).toHaveLength(TOTAL);
    for (let i = 1; i < received.length; i++) expect(received[i].position).toBeGreaterThan(received[i - 1].position);
    const ids = new Set(received.map((e) => e.id));
    expect(ids.size).toBe(TOTAL);
    expect([...appended].every((id) => ids.has(id))).toBe(true);
  });
});
