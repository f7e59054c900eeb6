import { randomUUID } from 'node:crypto';
import { type AppendOptions, PostgresEventStore } from '@modeltrail/eventstore';
import { createPool, ident } from '@modeltrail/postgres';
import { type Benchmark, type BenchContext, cpuFigures, type Figure, figure, payloadOf, runConcurrent, summarize } from './harness';

const PAYLOAD_BYTES = 256;
const BATCH = 100;
/** The scaling curve: writers appending at once. */
const WRITERS = [1, 4, 16, 64] as const;
/** Streams each writer owns (and appends to in turn). */
const STREAMS_PER_WRITER = 4;

/**
 * Appends through PostgresEventStore (expectation check, hash chain, gap-safe positions)
 * against plain INSERTs of the same JSON into a bare (id, stream, data) table, at the same
 * concurrency, on one pool sized for the largest.
 *
 * Single-event appends are measured at 1, 4, 16 and 64 writers: throughput and p99 latency of
 * one append. Each writer owns its streams and knows their head, as the command loop does after
 * reading a stream: it appends with `expectedRevision` = its last revision and `head` = the
 * revision and hash the previous append returned.
 */
export const appendBenchmark: Benchmark = {
  name: 'append',
  async run(ctx: BenchContext) {
    const singleEvents = (writers: number) => ctx.n(ctx.quick ? 300 + 50 * writers : 2_000 + 250 * writers, 2 * writers);
    const batches = ctx.n(ctx.quick ? 40 : 300, 5);
    const schema = ctx.schema('append');
    const maxWriters = Math.max(...WRITERS);
    const pool = createPool(ctx.databaseUrl, { max: maxWriters, applicationName: 'bench-append' });
    const store = new PostgresEventStore({ pool, connectionString: ctx.databaseUrl, schema });
    const s = ident(schema);
    try {
      await store.migrate();
      await pool.query(`CREATE TABLE ${s}.baseline_events (id uuid PRIMARY KEY, stream text NOT NULL, data jsonb NOT NULL)`);
      const event = (i: number) => ({ type: 'bench.Appended.v1', data: payloadOf(PAYLOAD_BYTES, i) });
      const insert = (stream: string, i: number) =>
        pool.query(`INSERT INTO ${s}.baseline_events (id, stream, data) VALUES ($1, $2, $3)`, [randomUUID(), stream, JSON.stringify(payloadOf(PAYLOAD_BYTES, i))]).then(() => undefined);
      const figures: Figure[] = [];
      const curve: Record<string, unknown>[] = [];

      for (const writers of WRITERS) {
        const total = singleEvents(writers);
        const tag = randomUUID().slice(0, 8);
        // Writer w owns streams <tag>-w-0 .. <tag>-w-3 and the head of each.
        const heads = new Map<string, AppendOptions>();
        const streamOf = (prefix: string, i: number, w: number) => `${prefix}-${tag}-${w}-${Math.floor(i / writers) % STREAMS_PER_WRITER}`;
        const append = async (stream: string, i: number) => {
          const result = await store.append(stream, [event(i)], heads.get(stream) ?? { expectedRevision: 'no_stream' });
          const last = result.recorded?.at(-1);
          heads.set(stream, { expectedRevision: result.nextExpectedRevision, head: last ? { revision: last.revision, hash: last.metadata.hash } : undefined });
        };
        // Warm-up: connections, plans and the streams' first events exist before timing.
        await runConcurrent(writers, writers * STREAMS_PER_WRITER * 2, (i, w) => append(streamOf('bench', i, w), i));
        await runConcurrent(writers, writers * STREAMS_PER_WRITER * 2, (i, w) => insert(streamOf('bench', i, w), i));
        const oursRun = await runConcurrent(writers, total, (i, w) => append(streamOf('bench', i, w), i));
        const baseRun = await runConcurrent(writers, total, (i, w) => insert(streamOf('bench', i, w), i));
        const [ours, base] = [summarize(oursRun), summarize(baseRun)];
        const label = `single event, ${writers} writer${writers === 1 ? '' : 's'}`;
        // Where an append's time goes at the curve's middle point: CPU per event, here and in PostgreSQL.
        if (writers === 16) figures.push(...cpuFigures('append', label, oursRun, baseRun).filter((f) => !f.measure.includes('NATS')));
        figures.push(figure('append', label, 'events/s', ours.throughput, base.throughput, 'higher'));
        figures.push(figure('append', `${label} p99`, 'ms', ours.p99, base.p99, 'lower'));
        curve.push({ writers, events: total, oursEventsPerSecond: Math.round(ours.throughput), insertEventsPerSecond: Math.round(base.throughput), oursP99Ms: ours.p99, insertP99Ms: base.p99 });
      }

      // 100-event batches, one writer, three ways: through the store; the same rows in the store's
      // shape (12 columns, the three unique indexes it reads by) as one plain multi-row INSERT, with
      // no expectation, hash chain or function (what the shape alone costs); and the bare INSERT.
      // The three take turns in rounds, so that all see the same load on a shared machine.
      const tag = randomUUID().slice(0, 8);
      await pool.query(`CREATE TABLE ${s}.shape_events (LIKE ${s}.events INCLUDING ALL)`);
      const batchOf = (b: number) => Array.from({ length: BATCH }, (_, j) => event(b * BATCH + j));
      const baseValues = Array.from({ length: BATCH }, (_, j) => `($${j * 3 + 1}, $${j * 3 + 2}, $${j * 3 + 3})`).join(', ');
      const shapeRows = Array.from({ length: BATCH }, (_, j) => `(${Array.from({ length: 12 }, (_, k) => `$${j * 12 + k + 1}`).join(', ')})`).join(', ');
      const shapeInsert = `INSERT INTO ${s}.shape_events (position, event_id, stream_id, revision, type, data, actor, correlation_id, causation_id, occurred_at, prev_hash, hash) VALUES ${shapeRows}`;
      const fakeHash = 'f'.repeat(64);
      const now = new Date().toISOString();
      const appendBatch = (b: number) => store.append(`batch-${tag}`, batchOf(b)).then(() => undefined);
      const insertBatch = (b: number) =>
        pool
          .query(
            `INSERT INTO ${s}.baseline_events (id, stream, data) VALUES ${baseValues}`,
            Array.from({ length: BATCH }, (_, j) => [randomUUID(), `batch-${tag}`, JSON.stringify(payloadOf(PAYLOAD_BYTES, b * BATCH + j))]).flat(),
          )
          .then(() => undefined);
      const shape = (b: number) => {
        const values: unknown[] = [];
        for (let j = 0; j < BATCH; j++) {
          const id = randomUUID();
          const revision = b * BATCH + j;
          values.push(revision + 1, id, `batch-${tag}`, revision, 'bench.Appended.v1', JSON.stringify(payloadOf(PAYLOAD_BYTES, revision)), 'system', id, null, now, fakeHash, fakeHash);
        }
        return pool.query(shapeInsert, values).then(() => undefined);
      };
      const warm = ctx.quick ? 4 : 20;
      for (let b = 0; b < warm; b++) {
        await appendBatch(b);
        await insertBatch(b);
        await shape(b);
      }
      const rounds = 3;
      const perRound = Math.ceil(batches / rounds);
      const timedBatches = { ours: 0, base: 0, shape: 0 };
      for (let round = 0; round < rounds; round++) {
        const from = warm + round * perRound;
        timedBatches.ours += (await runConcurrent(1, perRound, (b) => appendBatch(from + b))).seconds;
        timedBatches.base += (await runConcurrent(1, perRound, (b) => insertBatch(from + b))).seconds;
        timedBatches.shape += (await runConcurrent(1, perRound, (b) => shape(from + b))).seconds;
      }
      const timedEvents = perRound * rounds * BATCH;
      figures.push(figure('append', `${BATCH}-event batches, 1 writer`, 'events/s', timedEvents / timedBatches.ours, timedEvents / timedBatches.base, 'higher'));
      figures.push(figure('append', `${BATCH}-event batches, the store's row shape as a plain INSERT`, 'events/s', timedEvents / timedBatches.shape, timedEvents / timedBatches.base, 'higher'));
      figures.push(figure('append', `${BATCH}-event batches, 1 writer, vs the row shape as a plain INSERT`, 'events/s', timedEvents / timedBatches.ours, timedEvents / timedBatches.shape, 'higher'));

      return {
        parameters: { payloadBytes: PAYLOAD_BYTES, writers: [...WRITERS], streamsPerWriter: STREAMS_PER_WRITER, poolSize: maxWriters, expectation: 'own last revision and head', curve, batchSize: BATCH, batches },
        figures,
      };
    } finally {
      await store.close();
      await pool.end();
    }
  },
};
