import { InMemoryEventStore, type RecordedEvent } from '@modeltrail/eventstore';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { findCaughtUp } from './catch-up';
import { migrateReadModel, ProjectionRunner } from './projection';
import type { Projection, TableProjection } from './set-projection';

/** ProjectionRunner over the real PostgreSQL: one read and one write per table and batch, the checkpoint in the same transaction. */

interface Counter {
  name: string;
  total: number;
  events: number;
  lastPosition: number;
  tags: string[];
  updatedAt: Date;
}

interface Note {
  counter: string;
  text: string;
  number: number;
}

type TestEvent =
  | RecordedEvent<'test.Added.v1', { counter: string; amount: number; tag?: string }>
  | RecordedEvent<'test.Reset.v1', { counter: string }>
  | RecordedEvent<'test.Noted.v1', { counter: string; texts: string[] }>;

const counters: TableProjection<TestEvent, Counter, 'name'> = {
  table: { name: 'counters', key: ['name'], columns: { name: 'text', total: 'bigint', events: 'bigint', lastPosition: 'bigint', tags: 'jsonb', updatedAt: 'timestamptz' } },
  keyOf: (e) => (e.type === 'test.Noted.v1' ? undefined : { name: e.data.counter }),
  evolve: (row, e) => {
    if (e.type === 'test.Reset.v1') return undefined;
    if (e.type !== 'test.Added.v1') return row;
    const tags = e.data.tag && !row?.tags.includes(e.data.tag) ? [...(row?.tags ?? []), e.data.tag] : (row?.tags ?? []);
    return { name: e.data.counter, total: (row?.total ?? 0) + e.data.amount, events: (row?.events ?? 0) + 1, lastPosition: e.position, tags, updatedAt: new Date(e.metadata.occurredAt) };
  },
};

const notes: TableProjection<TestEvent, Note, 'counter' | 'text'> = {
  table: { name: 'counter_notes', key: ['counter', 'text'], columns: { counter: 'text', text: 'text', number: 'integer' } },
  keyOf: (e) => (e.type === 'test.Noted.v1' ? e.data.texts.map((text) => ({ counter: e.data.counter, text })) : undefined),
  evolve: (row, _e, key) => row ?? { ...key, number: 0 },
  sequence: { column: 'number', per: 'counter' },
};

/** Notes first: the crash test makes the counters' write (the second) fail after the notes' one. */
const countersProjection: Projection<TestEvent> = {
  name: 'test.counters.v1',
  handles: new Set(['test.Added.v1', 'test.Reset.v1', 'test.Noted.v1']),
  tables: [notes, counters],
};

/** What the tables must hold, folded one event at a time without the runner. */
function expected(events: ReadonlyArray<RecordedEvent>): { counters: Counter[]; notes: Note[] } {
  const rows = new Map<string, Counter>();
  const noteRows = new Map<string, Note>();
  for (const e of events as TestEvent[]) {
    const row = counters.evolve(rows.get(e.data.counter), e, { name: e.data.counter });
    if (row) rows.set(e.data.counter, row);
    else rows.delete(e.data.counter);
    if (e.type === 'test.Noted.v1') {
      for (const text of e.data.texts) {
        const id = `${e.data.counter}/${text}`;
        if (!noteRows.has(id)) noteRows.set(id, { counter: e.data.counter, text, number: [...noteRows.values()].filter((n) => n.counter === e.data.counter).length + 1 });
      }
    }
  }
  return { counters: byId([...rows.values()], (c) => c.name), notes: byId([...noteRows.values()], (n) => `${n.counter}/${n.text}`) };
}

function byId<T>(rows: T[], id: (row: T) => string): T[] {
  return [...rows].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}

describe('ProjectionRunner (set-based)', () => {
  let db: TestSchema;
  let store: InMemoryEventStore;
  const runners: ProjectionRunner[] = [];
  let occurred = 0;

  const runner = (options: { batchSize?: number; onError?: (error: unknown) => void } = {}) => {
    const r = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: countersProjection, retryDelayMs: 20, ...options });
    runners.push(r);
    return r;
  };
  const add = (counter: string, amount: number, tag?: string) =>
    store.append(`counter-${counter}`, [{ type: 'test.Added.v1', data: { counter, amount, ...(tag ? { tag } : {}) }, metadata: { occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, occurred++)).toISOString() } }]);
  const reset = (counter: string) => store.append(`counter-${counter}`, [{ type: 'test.Reset.v1', data: { counter } }]);
  const note = (counter: string, ...texts: string[]) => store.append(`counter-${counter}`, [{ type: 'test.Noted.v1', data: { counter, texts } }]);
  const tables = async () => ({
    counters: byId((await db.pool.query(`SELECT name, total::float8 AS total, events::float8 AS events, last_position::float8 AS "lastPosition", tags, updated_at AS "updatedAt" FROM "${db.schema}".counters`)).rows, (c) => c.name),
    notes: byId((await db.pool.query(`SELECT counter, text, number FROM "${db.schema}".counter_notes`)).rows, (n) => `${n.counter}/${n.text}`),
  });
  const checkpoint = async () => Number((await db.pool.query(`SELECT position FROM "${db.schema}".projection_checkpoints WHERE name = $1`, [countersProjection.name])).rows[0]?.position ?? 0);

  beforeAll(async () => {
    db = await createTestSchema('rmproj');
    await migrateReadModel(db.pool, db.schema, 'test', [
      {
        id: '0001_counters',
        up: async (client, s) => {
          await client.query(`
            CREATE TABLE ${s}.counters (
              name text PRIMARY KEY, total bigint NOT NULL, events bigint NOT NULL, last_position bigint NOT NULL,
              tags jsonb NOT NULL, updated_at timestamptz NOT NULL
            );
            CREATE TABLE ${s}.counter_notes (counter text NOT NULL, text text NOT NULL, number integer NOT NULL, PRIMARY KEY (counter, text), UNIQUE (counter, number));
          `);
        },
      },
    ]);
  });

  beforeEach(async () => {
    store = new InMemoryEventStore();
    occurred = 0;
  });

  afterEach(async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    await store.close();
    await db.pool.query(`DELETE FROM "${db.schema}".counters; DELETE FROM "${db.schema}".counter_notes; DELETE FROM "${db.schema}".projection_checkpoints`);
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('folds a batch that touches the same rows many times into one write each, then follows live appends', async () => {
    for (let i = 0; i < 300; i++) await add(['a', 'b', 'c'][i % 3], i, i % 50 === 0 ? `t${i}` : undefined);
    await reset('b');
    await add('b', 7, 'again');
    await note('a', 'x', 'y');
    await note('a', 'y', 'z');
    await note('c', 'x');
    const r = runner({ batchSize: 10_000 });
    await r.start();
    await r.waitFor(await store.headPosition());
    const want = expected(await store.readAll({ limit: 10_000 }));
    expect(await tables()).toEqual(want);
    expect(want.counters.find((c) => c.name === 'a')).toMatchObject({ events: 100, total: 14_850, tags: ['t0', 't150'] });
    expect(want.counters.find((c) => c.name === 'b')).toMatchObject({ events: 1, total: 7, tags: ['again'] });
    expect(want.notes.map((n) => `${n.counter}/${n.text}#${n.number}`)).toEqual(['a/x#1', 'a/y#2', 'a/z#3', 'c/x#1']);

    // Live: one event at a time, each applied without waiting for a fuller batch.
    await add('c', 1);
    const { position } = await note('a', 'w');
    await r.waitFor(position);
    expect(await tables()).toEqual(expected(await store.readAll({ limit: 10_000 })));
    expect(await checkpoint()).toBe(position);
  });

  it('commits nothing of a batch that fails half-way through its writes, and applies it whole once it can', async () => {
    await add('a', 1);
    const { position: before } = await note('a', 'x');
    const r = runner();
    await r.start();
    await r.waitFor(before);
    const built = await tables();
    await db.pool.query(`ALTER TABLE "${db.schema}".counters ADD CONSTRAINT counters_bounded CHECK (total < 1000000)`);
    try {
      let failed!: () => void;
      const failure = new Promise<void>((resolve) => (failed = resolve));
      const failing = runner({ onError: () => failed() });
      await r.stop();
      // The batch: a new note (written first), then a counter over the bound (its write fails).
      await note('a', 'y');
      const { position: after } = await add('a', 2_000_000);
      await failing.start();
      await failure;
      // It keeps failing (and retrying) while the bound is there: nothing of the batch is visible.
      expect(await tables()).toEqual(built);
      expect(await checkpoint()).toBe(before);
      expect(failing.position).toBe(before);
      await db.pool.query(`ALTER TABLE "${db.schema}".counters DROP CONSTRAINT counters_bounded`);
      await failing.waitFor(after);
      expect(await tables()).toEqual(expected(await store.readAll({ limit: 10_000 })));
      expect((await tables()).notes.map((n) => n.text)).toEqual(['x', 'y']);
    } finally {
      await db.pool.query(`ALTER TABLE "${db.schema}".counters DROP CONSTRAINT IF EXISTS counters_bounded`);
    }
  });

  it('lets replicas run the same projection without applying anything twice', async () => {
    const errors: unknown[] = [];
    const a = runner({ batchSize: 7, onError: (e) => errors.push(e) });
    const b = runner({ batchSize: 13, onError: (e) => errors.push(e) });
    await Promise.all([a.start(), b.start()]);
    const appenders = ['p', 'q', 'r', 's'].map(async (counter, k) => {
      for (let i = 0; i < 60; i++) {
        await add(counter, i + k);
        if (i % 20 === 0) await note(counter, `n${i}`, `m${i}`);
      }
    });
    await Promise.all(appenders);
    const head = await store.headPosition();
    await Promise.all([a.waitFor(head), b.waitFor(head)]);
    expect(errors).toEqual([]);
    const want = expected(await store.readAll({ limit: 10_000 }));
    expect(await tables()).toEqual(want);
    expect(want.counters.map((c) => c.events)).toEqual([60, 60, 60, 60]);
    expect(await checkpoint()).toBe(head);
  });

  it('rebuilds to identical tables, sequence numbers included, whatever the batch size', async () => {
    for (let i = 0; i < 40; i++) {
      await add(`c${i % 4}`, i, `t${i % 3}`);
      if (i % 3 === 0) await note(`c${i % 4}`, `n${i % 7}`, `m${i % 5}`);
      if (i === 20) await reset('c2');
    }
    const head = await store.headPosition();
    const small = runner({ batchSize: 3 });
    await small.start();
    await small.waitFor(head);
    const built = await tables();
    await small.stop();
    const large = runner({ batchSize: 1000 });
    await large.rebuild();
    await large.start();
    await large.waitFor(head);
    expect(await tables()).toEqual(built);
    expect(built).toEqual(expected(await store.readAll({ limit: 10_000 })));
  });

  it('resumes after its checkpoint when restarted', async () => {
    await add('a', 1);
    const first = runner();
    await first.start();
    await first.waitFor(await store.headPosition());
    await first.stop();
    await add('a', 2);
    const { position } = await add('b', 3);
    const second = runner();
    await second.start();
    await second.waitFor(position);
    expect((await tables()).counters.map((c) => [c.name, c.total, c.events])).toEqual([
      ['a', 3, 2],
      ['b', 3, 1],
    ]);
  });

  it('writes an append-only table without reading it first, and leaves stored rows alone when a batch is applied again', async () => {
    // An entity's event log: one row per (counter, position), written once.
    await db.pool.query(`CREATE TABLE IF NOT EXISTS "${db.schema}".counter_log (counter text NOT NULL, position bigint NOT NULL, amount integer NOT NULL, PRIMARY KEY (counter, position))`);
    interface LogRow {
      counter: string;
      position: number;
      amount: number;
    }
    const seen: Array<LogRow | undefined> = [];
    const log: TableProjection<TestEvent, LogRow, 'counter' | 'position'> = {
      table: { name: 'counter_log', key: ['counter', 'position'], columns: { counter: 'text', position: 'bigint', amount: 'integer' } },
      keyOf: (e) => (e.type === 'test.Added.v1' ? { counter: e.data.counter, position: e.position } : undefined),
      evolve: (row, e, key) => {
        seen.push(row);
        return { ...key, amount: e.type === 'test.Added.v1' ? e.data.amount : 0 };
      },
      appendOnly: true,
    };
    const projection: Projection<TestEvent> = { name: 'test.counter-log.v1', handles: new Set(['test.Added.v1']), tables: [log] };
    const rows = async () => (await db.pool.query(`SELECT counter, position::float8 AS position, amount FROM "${db.schema}".counter_log ORDER BY position`)).rows;
    try {
      for (let i = 1; i <= 5; i++) await add('a', i);
      const first = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection, retryDelayMs: 20 });
      runners.push(first);
      await first.start();
      await first.waitFor(await store.headPosition());
      const written = await rows();
      expect(written.map((r) => r.amount)).toEqual([1, 2, 3, 4, 5]);
      expect(seen.every((row) => row === undefined)).toBe(true); // never read back
      // The same events applied again (a checkpoint lost): the stored rows stay, nothing fails.
      await first.stop();
      await db.pool.query(`UPDATE "${db.schema}".counter_log SET amount = amount * 100; DELETE FROM "${db.schema}".projection_checkpoints WHERE name = 'test.counter-log.v1'`);
      const again = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection, retryDelayMs: 20 });
      runners.push(again);
      await again.start();
      await again.waitFor(await store.headPosition());
      expect((await rows()).map((r) => r.amount)).toEqual([100, 200, 300, 400, 500]);
    } finally {
      await db.pool.query(`DROP TABLE "${db.schema}".counter_log`);
    }
  });

  it('findCaughtUp waits for the projection when an id has a stream but no row yet, and not for ids without a stream', async () => {
    const r = runner();
    await add('fresh', 5);
    const find = async () => (await db.pool.query<{ name: string }>(`SELECT name FROM "${db.schema}".counters WHERE name = ANY($1)`, [['fresh', 'never']])).rows;
    const lookup = { find, idOf: (row: { name: string }) => row.name, streamOf: (id: string) => `counter-${id}`, store, runners: [r], timeoutMs: 60_000 };
    // No stream: answered at once (waiting would hold the test past its timeout, the runner never having started).
    expect(await findCaughtUp({ ...lookup, ids: ['never'] })).toEqual([]);
    // A stream and no row yet: the answer waits for the runner, started only after the question.
    const answer = findCaughtUp({ ...lookup, ids: ['fresh', 'never'] });
    await r.start();
    expect(await answer).toEqual([{ name: 'fresh' }]);
  });
});
