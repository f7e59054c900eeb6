import { randomUUID } from 'node:crypto';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { createPool, ident } from '@modeltrail/postgres';
import { type Benchmark, type BenchContext, type Figure, figure, payloadOf, runConcurrent } from './harness';

const PAYLOAD_BYTES = 256;
const BATCH = 100;

/**
 * Appends through PostgresEventStore (stream row lock, hash chain, global position lock) against
 * plain INSERTs of the same JSON into a bare (id, stream, data) table, at the same concurrency.
 */
export const appendBenchmark: Benchmark = {
  name: 'append',
  async run(ctx: BenchContext) {
    const singleSerial = ctx.n(ctx.quick ? 600 : 3_000, 50);
    const singleParallel = ctx.n(ctx.quick ? 2_000 : 10_000, 100);
    const batches = ctx.n(ctx.quick ? 40 : 300, 5);
    const schema = ctx.schema('append');
    const pool = createPool(ctx.databaseUrl, { max: 16, applicationName: 'bench-append' });
    const store = new PostgresEventStore({ pool, connectionString: ctx.databaseUrl, schema });
    const s = ident(schema);
    try {
      await store.migrate();
      await pool.query(`CREATE TABLE ${s}.baseline_events (id uuid PRIMARY KEY, stream text NOT NULL, data jsonb NOT NULL)`);
      const event = (i: number) => ({ type: 'bench.Appended.v1', data: payloadOf(PAYLOAD_BYTES, i) });
      const figures: Figure[] = [];

      for (const [label, writers, total] of [
        ['single event, 1 writer', 1, singleSerial],
        ['single event, 16 writers', 16, singleParallel],
      ] as const) {
        const tag = randomUUID().slice(0, 8);
        // A few warm-up appends so that connections and plans exist before timing.
        await runConcurrent(writers, writers * 5, (i, w) => store.append(`warm-${tag}-${w}`, [event(i)]).then(() => undefined));
        await runConcurrent(writers, writers * 5, (i, w) => pool.query(`INSERT INTO ${s}.baseline_events (id, stream, data) VALUES ($1, $2, $3)`, [randomUUID(), `warm-${tag}-${w}`, JSON.stringify(payloadOf(PAYLOAD_BYTES, i))]).then(() => undefined));
        const ours = await runConcurrent(writers, total, (i, w) => store.append(`bench-${tag}-${w}`, [event(i)]).then(() => undefined));
        const base = await runConcurrent(writers, total, (i, w) =>
          pool.query(`INSERT INTO ${s}.baseline_events (id, stream, data) VALUES ($1, $2, $3)`, [randomUUID(), `bench-${tag}-${w}`, JSON.stringify(payloadOf(PAYLOAD_BYTES, i))]).then(() => undefined),
        );
        figures.push(figure('append', label, 'events/s', total / ours.seconds, total / base.seconds, 'higher'));
      }

      const tag = randomUUID().slice(0, 8);
      const batchOf = (b: number) => Array.from({ length: BATCH }, (_, j) => event(b * BATCH + j));
      const ours = await runConcurrent(1, batches, (b) => store.append(`batch-${tag}`, batchOf(b)).then(() => undefined));
      const values = Array.from({ length: BATCH }, (_, j) => `($${j * 3 + 1}, $${j * 3 + 2}, $${j * 3 + 3})`).join(', ');
      const base = await runConcurrent(1, batches, (b) =>
        pool
          .query(
            `INSERT INTO ${s}.baseline_events (id, stream, data) VALUES ${values}`,
            Array.from({ length: BATCH }, (_, j) => [randomUUID(), `batch-${tag}`, JSON.stringify(payloadOf(PAYLOAD_BYTES, b * BATCH + j))]).flat(),
          )
          .then(() => undefined),
      );
      figures.push(figure('append', `${BATCH}-event batches, 1 writer`, 'events/s', (batches * BATCH) / ours.seconds, (batches * BATCH) / base.seconds, 'higher'));

      return { parameters: { payloadBytes: PAYLOAD_BYTES, singleSerialEvents: singleSerial, singleParallelEvents: singleParallel, parallelWriters: 16, batchSize: BATCH, batches }, figures };
    } finally {
      await store.close();
      await pool.end();
    }
  },
};
