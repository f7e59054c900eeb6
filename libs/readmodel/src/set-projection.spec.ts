import type { RecordedEvent } from '@modeltrail/eventstore';
import { combineProjections, foldTable, numberRows, type Projection, type TableProjection, touchedKeys } from './set-projection';
import { snakeCase, TableSql } from './table';

/** The pure parts of a set-based projection: which rows a batch touches, the fold, the numbering. */

interface Counter {
  name: string;
  total: number;
  events: number;
}

interface Note {
  counter: string;
  text: string;
  number: number;
}

type TestEvent = RecordedEvent<'test.Added.v1', { counter: string; amount: number }> | RecordedEvent<'test.Reset.v1', { counter: string }> | RecordedEvent<'test.Noted.v1', { counter: string; texts: string[] }>;

let position = 0;
function event<T extends TestEvent['type']>(type: T, data: Extract<TestEvent, { type: T }>['data']): TestEvent {
  position += 1;
  return { id: `e${position}`, stream: `counter-${data.counter}`, revision: 0, position, type, data, metadata: { actor: 'ada', correlationId: 'c', causationId: null, occurredAt: '2026-01-01T00:00:00.000Z', prevHash: '', hash: '' } } as TestEvent;
}

const counters: TableProjection<TestEvent, Counter, 'name'> = {
  table: { name: 'counters', key: ['name'], columns: { name: 'text', total: 'bigint', events: 'bigint' } },
  keyOf: (e) => (e.type === 'test.Noted.v1' ? undefined : { name: e.data.counter }),
  evolve: (row, e) => {
    switch (e.type) {
      case 'test.Added.v1':
        return e.data.amount === 0 ? row : { name: e.data.counter, total: (row?.total ?? 0) + e.data.amount, events: (row?.events ?? 0) + 1 };
      case 'test.Reset.v1':
        return undefined;
      default:
        return row;
    }
  },
};

const notes: TableProjection<TestEvent, Note, 'counter' | 'text'> = {
  table: { name: 'counter_notes', key: ['counter', 'text'], columns: { counter: 'uuid', text: 'text', number: 'integer' } },
  keyOf: (e) => (e.type === 'test.Noted.v1' ? e.data.texts.map((text) => ({ counter: e.data.counter, text })) : undefined),
  evolve: (row, e, key) => row ?? { ...key, number: 0 },
  sequence: { column: 'number', per: 'counter' },
};

const counterSql = new TableSql(counters.table, 'rm');
const noteSql = new TableSql(notes.table, 'rm');
const keyOfCounter = (v: Partial<Counter>) => counterSql.keyOf(v);
const keyOfNote = (v: Partial<Note>) => noteSql.keyOf(v);

describe('set-based projection: the fold', () => {
  it('folds every event of a batch over the one row it touches, in order', () => {
    const events = Array.from({ length: 100 }, (_, i) => event('test.Added.v1', { counter: i % 2 ? 'a' : 'b', amount: i }));
    const stored = new Map([['a', { name: 'a', total: 1000, events: 10 }]]);
    const outcome = foldTable(counters, events, stored, keyOfCounter);
    const sum = (odd: number) => events.filter((_, i) => i % 2 === odd).reduce((s, e) => s + (e.data as { amount: number }).amount, 0);
    expect(outcome.upserts).toEqual(
      expect.arrayContaining([
        { name: 'a', total: 1000 + sum(1), events: 60 },
        { name: 'b', total: sum(0), events: 49 }, // amount 0 leaves the (absent) row as it was
      ]),
    );
    expect(outcome.upserts).toHaveLength(2);
    expect(outcome.deletes).toEqual([]);
    expect(stored.get('a')).toEqual({ name: 'a', total: 1000, events: 10 });
  });

  it('deletes a stored row that ends the batch without a row, and writes nothing for one that was never stored', () => {
    const stored = new Map([['a', { name: 'a', total: 5, events: 1 }]]);
    const outcome = foldTable(counters, [event('test.Added.v1', { counter: 'a', amount: 1 }), event('test.Reset.v1', { counter: 'a' }), event('test.Added.v1', { counter: 'b', amount: 2 }), event('test.Reset.v1', { counter: 'b' })], stored, keyOfCounter);
    expect(outcome).toEqual({ upserts: [], deletes: [{ name: 'a', total: 5, events: 1 }], appeared: [] });
  });

  it('writes nothing for a row evolve returns unchanged', () => {
    const stored = new Map([['a', { name: 'a', total: 5, events: 1 }]]);
    expect(foldTable(counters, [event('test.Added.v1', { counter: 'a', amount: 0 })], stored, keyOfCounter).upserts).toEqual([]);
  });

  it('collects each touched key once per table, also for events touching several rows', () => {
    const events = [event('test.Noted.v1', { counter: 'A0000000-0000-4000-8000-000000000001', texts: ['x', 'y'] }), event('test.Noted.v1', { counter: 'a0000000-0000-4000-8000-000000000001', texts: ['y'] }), event('test.Added.v1', { counter: 'a', amount: 1 })];
    const [counterKeys, noteKeys] = touchedKeys<TestEvent>([counters, notes], events, [keyOfCounter, keyOfNote]);
    expect([...counterKeys.keys()]).toEqual(['a']);
    // uuids compare in lower case, as PostgreSQL gives them back.
    expect([...noteKeys.keys()]).toEqual(['a0000000-0000-4000-8000-000000000001\u0000x', 'a0000000-0000-4000-8000-000000000001\u0000y']);
  });

  it('numbers new rows per group in order of appearance, after what is stored', () => {
    const events = [event('test.Noted.v1', { counter: 'c1', texts: ['x', 'y'] }), event('test.Noted.v1', { counter: 'c2', texts: ['x'] }), event('test.Noted.v1', { counter: 'c1', texts: ['x', 'z'] })];
    const outcome = foldTable(notes, events, new Map(), keyOfNote);
    expect(outcome.appeared.map((n) => `${n.counter}/${n.text}`)).toEqual(['c1/x', 'c1/y', 'c2/x', 'c1/z']);
    const numbered = numberRows(outcome.appeared, 'number', (n) => n.counter, new Map([['c1', 4]]));
    expect(outcome.upserts.map((n) => numbered.get(n) ?? n).map((n) => `${n.counter}/${n.text}#${n.number}`)).toEqual(['c1/x#5', 'c1/y#6', 'c2/x#1', 'c1/z#7']);
  });

  it('refuses an evolve that moves a row to another key', () => {
    const moving: TableProjection<TestEvent, Counter, 'name'> = { ...counters, evolve: () => ({ name: 'elsewhere', total: 0, events: 0 }) };
    expect(() => foldTable(moving, [event('test.Added.v1', { counter: 'a', amount: 1 })], new Map(), keyOfCounter)).toThrow(/moved row a to another key/);
  });
});

describe('set-based projection: table SQL', () => {
  it('names columns as MikroORM does by default', () => {
    expect(['datasetVersionId', 'registeredAt', 'codeRef', 'name', 'rows', 'parentVersionIds'].map(snakeCase)).toEqual(['dataset_version_id', 'registered_at', 'code_ref', 'name', 'rows', 'parent_version_ids']);
  });

  it('refuses a key that is not a column', () => {
    expect(() => new TableSql({ name: 't', key: ['missing' as never], columns: { a: 'text' } }, 'rm')).toThrow(/key missing of table t is not one of its columns/);
  });
});

describe('set-based projection: several kept as one', () => {
  // A projection of the counters that reads only Added; another keeps the notes. The counters
  // table would take a Reset too (its keyOf keys it): combined, it must not see one.
  const adds: Projection<TestEvent> = { name: 'adds', handles: new Set(['test.Added.v1']), tables: [counters] };
  const noted: Projection<TestEvent> = { name: 'noted', handles: new Set(['test.Noted.v1']), tables: [notes] };

  it('reads the events of all and gives each table only the events of its own projection', () => {
    const both = combineProjections('both', [adds, noted]);
    expect(both.name).toBe('both');
    expect([...both.handles].sort()).toEqual(['test.Added.v1', 'test.Noted.v1']);
    expect(both.tables.map((t) => t.table.name)).toEqual(['counters', 'counter_notes']);
    const events = [event('test.Added.v1', { counter: 'a', amount: 2 }), event('test.Reset.v1', { counter: 'a' }), event('test.Noted.v1', { counter: 'a', texts: ['x'] })];
    const [counterKeys, noteKeys] = touchedKeys(both.tables, events, [keyOfCounter, keyOfNote]);
    expect([...counterKeys.keys()]).toEqual(['a']);
    expect([...noteKeys.keys()]).toHaveLength(1);
    // The Reset is not the combined counters' to apply: the row stays.
    expect(foldTable(both.tables[0] as TableProjection<TestEvent, Counter, 'name'>, events, new Map(), keyOfCounter).upserts).toEqual([{ name: 'a', total: 2, events: 1 }]);
    expect(foldTable(counters, events, new Map(), keyOfCounter).upserts).toEqual([]);
  });

  it('refuses two projections that keep the same table', () => {
    expect(() => combineProjections('twice', [adds, { ...adds, name: 'adds-again' }])).toThrow('projection twice: table counters is kept by two of the combined projections');
  });
});
