import type { Pool } from 'pg';
import { PostgresEventStore, type RecordedEvent } from '@modeltrail/eventstore';
import { createPool, ident } from '@modeltrail/postgres';
import { DEFAULT_PROJECTION_BATCH, migrateReadModel, type Projection, ProjectionRunner } from '@modeltrail/readmodel';
import { type Benchmark, type BenchContext, figure, payloadOf, runConcurrent, timed } from './harness';

const SEED_BATCH = 1_000;
const PAYLOAD_BYTES = 200;
const READ_PAGE = 1_000;

interface StreamCountRow {
  stream: string;
  events: number;
  position: number;
}

/** The smallest useful read model, set-based: events and last position per stream. */
const streamCounts: Projection = {
  name: 'bench-stream-counts',
  handles: new Set(['bench.Seeded.v1']),
  tables: [
    {
      table: { name: 'stream_counts', key: ['stream'], columns: { stream: 'text', events: 'bigint', position: 'bigint' } },
      keyOf: (event: RecordedEvent) => ({ stream: event.stream }),
      evolve: (row: StreamCountRow | undefined, event: RecordedEvent): StreamCountRow => ({ stream: event.stream, events: (row?.events ?? 0) + 1, position: event.position }),
    },
  ],
};

/**
 * Reading the whole store (readAll pages of 1000) and rebuilding a set-based read model through
 * ProjectionRunner (as services run it: one read and one upsert per batch), against a plain cursor
 * (DECLARE / FETCH 1000) over the same rows.
 */
export const readReplayBenchmark: Benchmark = {
  name: 'read-replay',
  async run(ctx: BenchContext) {
    const total = Math.ceil(ctx.n(ctx.quick ? 100_000 : 1_000_000, 2_000) / SEED_BATCH) * SEED_BATCH;
    const schema = ctx.schema('replay');
    const s = ident(schema);
    const pool = createPool(ctx.databaseUrl, { max: 4, applicationName: 'bench-replay' });
    const store = new PostgresEventStore({ pool, connectionString: ctx.databaseUrl, schema });
    try {
      await store.migrate();
      await migrateReadModel(pool, schema, 'bench-replay', [
        { id: '0001_stream_counts', up: async (client, sch) => void (await client.query(`CREATE TABLE ${sch}.stream_counts (stream text PRIMARY KEY, events bigint NOT NULL, position bigint NOT NULL)`)) },
      ]);

      const seed = await runConcurrent(2, total / SEED_BATCH, (b) =>
        store.append(`seed-${b}`, Array.from({ length: SEED_BATCH }, (_, j) => ({ type: 'bench.Seeded.v1', data: payloadOf(PAYLOAD_BYTES, b * SEED_BATCH + j) })), { expectedRevision: 'no_stream' }).then(() => undefined),
      );
      ctx.log(`seeded ${total} events in ${seed.seconds.toFixed(1)} s (${Math.round(total / seed.seconds)} events/s)`);
      await pool.query(`VACUUM ANALYZE ${s}.events`);
      const head = await store.headPosition();

      const readAll = await timed(async () => {
        let count = 0;
        for (let from = 0; ; ) {
          const page = await store.readAll({ fromPosition: from, limit: READ_PAGE });
          if (page.length === 0) return count;
          count += page.length;
          from = page[page.length - 1].position + 1;
        }
      });

      const cursor = await timed(() => readEventsWithCursor(pool, s, READ_PAGE));

      const runner = new ProjectionRunner({ store, pool, schema, projection: streamCounts });
      const rebuild = await timed(async () => {
        await runner.start();
        await runner.waitFor(head, 30 * 60_000);
      });
      await runner.stop();
      const { rows } = await pool.query<{ events: string; streams: string }>(`SELECT sum(events) AS events, count(*) AS streams FROM ${s}.stream_counts`);
      if (readAll.value !== total || cursor.value !== total || Number(rows[0].events) !== total) {
        throw new Error(`read ${readAll.value}, cursor ${cursor.value}, projected ${rows[0].events} of ${total} events`);
      }

      return {
        parameters: { events: total, seedBatch: SEED_BATCH, streams: total / SEED_BATCH, payloadBytes: PAYLOAD_BYTES, readPage: READ_PAGE, projectionBatch: DEFAULT_PROJECTION_BATCH, seedEventsPerSecond: Math.round(total / seed.seconds) },
        figures: [
          figure('read-replay', 'readAll (pages of 1000)', 'events/s', total / readAll.seconds, total / cursor.seconds, 'higher'),
          figure('read-replay', 'projection rebuild (set-based)', 'events/s', total / rebuild.seconds, total / cursor.seconds, 'higher'),
        ],
      };
    } finally {
      await store.close();
      await pool.end();
    }
  },
};

/**
 * The baseline of store reads and rebuilds: every stored event, in position order, through a
 * plain server-side cursor in pages of `page` rows (`s`: the store's schema, quoted). Returns the count.
 */
export async function readEventsWithCursor(pool: Pool, s: string, page: number): Promise<number> {
  const client = await pool.connect();
  let count = 0;
  try {
    await client.query('BEGIN READ ONLY');
    await client.query(`DECLARE events_cursor NO SCROLL CURSOR FOR SELECT position, event_id, stream_id, revision, type, data, actor, correlation_id, causation_id, occurred_at, prev_hash, hash FROM ${s}.events ORDER BY position`);
    for (;;) {
      const { rows } = await client.query(`FETCH ${page} FROM events_cursor`);
      if (rows.length === 0) break;
      count += rows.length;
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return count;
}
