import { randomUUID } from 'node:crypto';
import type { Pool } from 'pg';
import { experimentsRpc, type Params, parseWith, type RunView, type z } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { migrateReadModel } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { experimentsMigrations } from '../experiments.migrations';
import { MetricStore } from '../metrics/metric.store';
import { RUN_PAGE_REPLY_BYTES, RunReader } from './run.reader';

type ListRunsInput = z.input<typeof experimentsRpc.listRuns.request>;

interface SeededRun {
  runId: string;
  i: number;
  experimentId: string;
  params: Params;
  tags: string[];
  startedAt: string;
  /** Latest accuracy, when the run logged one. */
  acc: number | null;
}

/**
 * The five typical run searches — a parameter equal to a value, a metric above a threshold,
 * both, all runs by a metric, a tag — on a small set of runs written straight into the read
 * model, against answers worked out here from the same data; and their cursors, page by page.
 */
describe('run search', () => {
  let db: TestSchema;
  let reader: RunReader;
  let metrics: MetricStore;
  const projectId = randomUUID();
  const experiments = [randomUUID(), randomUUID()];
  const runs: SeededRun[] = [];
  const base = Date.parse('2026-11-01T00:00:00.000Z');

  /** lr in several spellings of 0.01 (and 0.1, and a word); flag as boolean and as text. */
  const lrOf = (i: number): string | number => [0.01, 0.1, '0.010', 'auto', ' 1e-2 '][i % 5];
  const flagOf = (i: number): string | boolean => [true, 'true', false][i % 3];

  async function insertRun(run: SeededRun): Promise<void> {
    await db.pool.query(
      `INSERT INTO ${ident(db.schema)}.runs (run_id, experiment_id, project_id, status, params, code_ref, dataset_versions, tags, started_at, started_by, revision, position)
       VALUES ($1, $2, $3, 'Running', $4, NULL, '[]', $5, $6, 'ada@example.com', 0, $7)`,
      [run.runId, run.experimentId, projectId, JSON.stringify(run.params), JSON.stringify(run.tags), run.startedAt, run.i + 1],
    );
    const points = [{ key: 'loss', value: 1 - run.i / 100, step: 1, timestamp: run.startedAt }];
    if (run.acc !== null) points.push({ key: 'acc', value: 0.5, step: 1, timestamp: run.startedAt }, { key: 'acc', value: run.acc, step: 2, timestamp: run.startedAt });
    await metrics.withRunLock(run.runId, (tx) => tx.insert(points));
  }

  function seeded(i: number, startedAt = new Date(base + Math.floor(i / 2) * 60_000).toISOString()): SeededRun {
    const tags = i % 4 === 0 ? ['baseline'] : [];
    if (i % 3 === 0) tags.push('ablation-1');
    return { runId: randomUUID(), i, experimentId: experiments[i % 2], params: { lr: lrOf(i), seed: i === 7 ? '7' : i, flag: flagOf(i), depth: 4 + (i % 4) }, tags, startedAt, acc: i % 6 === 5 ? null : i / 30 };
  }

  /** Newest first; runs started at the same time (pairs here) by ascending run id. */
  const newestFirst = (a: SeededRun, b: SeededRun) => (a.startedAt !== b.startedAt ? (a.startedAt < b.startedAt ? 1 : -1) : a.runId < b.runId ? -1 : 1);
  const ids = (items: ReadonlyArray<{ runId: string }>) => items.map((r) => r.runId);
  const list = (input: ListRunsInput) => reader.list(parseWith(experimentsRpc.listRuns.request, input, 'listRuns'));

  /** Every run of a listing (after `from`, when given), fetched `first` at a time through the cursors. */
  async function paged(input: ListRunsInput, first: number, from?: string): Promise<string[]> {
    const out: string[] = [];
    let after = from;
    do {
      const page = await list({ ...input, first, after });
      expect(page.items.length).toBeLessThanOrEqual(first);
      out.push(...ids(page.items));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor! : undefined;
    } while (after);
    return out;
  }

  beforeAll(async () => {
    db = await createTestSchema('runsearch');
    await migrateReadModel(db.pool, db.schema, 'experiments', experimentsMigrations);
    metrics = new MetricStore(db.pool, db.schema);
    reader = new RunReader(db.pool, db.schema, metrics);
    for (let i = 0; i < 30; i++) runs.push(seeded(i));
    for (const run of runs) await insertRun(run);
    await db.pool.query(`ANALYZE ${ident(db.schema)}.runs`);
  });

  afterAll(async () => {
    await db?.drop();
  });

  const questions: Array<{ name: string; input: ListRunsInput; expected: () => string[] }> = [
    {
      name: 'a parameter equal to a number, whatever its spelling (0.01, "0.010", " 1e-2 ")',
      input: { filter: { params: [{ key: 'lr', op: 'EQ', value: 0.01 }] } },
      expected: () => runs.filter((r) => [0, 2, 4].includes(r.i % 5)).sort(newestFirst).map((r) => r.runId),
    },
    {
      name: 'a metric above a threshold (latest value)',
      input: { filter: { metrics: [{ key: 'acc', op: 'GT', value: 0.5 }] } },
      expected: () => runs.filter((r) => r.acc !== null && r.acc > 0.5).sort(newestFirst).map((r) => r.runId),
    },
    {
      name: 'both, within an experiment',
      input: { filter: { experimentId: experiments[0], params: [{ key: 'lr', op: 'EQ', value: '0.01' }], metrics: [{ key: 'acc', op: 'GT', value: 0.5 }] } },
      expected: () => runs.filter((r) => r.experimentId === experiments[0] && [0, 2, 4].includes(r.i % 5) && r.acc !== null && r.acc > 0.5).sort(newestFirst).map((r) => r.runId),
    },
    {
      name: 'all runs by a metric, best first, runs without it last',
      input: { orderBy: { field: 'METRIC', key: 'acc', direction: 'DESC' } },
      expected: () => [
        ...runs.filter((r) => r.acc !== null).sort((a, b) => b.acc! - a.acc! || (a.runId < b.runId ? -1 : 1)),
        ...runs.filter((r) => r.acc === null).sort((a, b) => (a.runId < b.runId ? -1 : 1)),
      ].map((r) => r.runId),
    },
    {
      name: 'a tag',
      input: { filter: { tags: ['ablation-1'] } },
      expected: () => runs.filter((r) => r.tags.includes('ablation-1')).sort(newestFirst).map((r) => r.runId),
    },
  ];

  describe.each(questions)('$name', ({ input, expected }) => {
    it('finds exactly the matching runs, in order', async () => {
      const all = await list({ ...input, first: 200 });
      expect(ids(all.items)).toEqual(expected());
      expect(all.pageInfo.hasNextPage).toBe(false);
    });

    it('pages through them with cursors, neither skipping nor repeating a run', async () => {
      expect(await paged(input, 4)).toEqual(expected());
      expect(await paged(input, 1)).toEqual(expected());
    });
  });

  it('keeps its place when runs are added between pages', async () => {
    const input: ListRunsInput = { filter: { tags: ['ablation-1'] }, first: 3 };
    const before = questions[4].expected();
    const first = await list(input);
    // A newer matching run, and one that sorts among those not yet read (same start as another).
    const later = seeded(3, new Date(base + 3_600_000).toISOString());
    const amid = seeded(3, runs.find((r) => r.runId === before[5])!.startedAt);
    await insertRun(later);
    await insertRun(amid);
    runs.push(later, amid);
    try {
      const rest = await paged(input, 3, first.pageInfo.endCursor!);
      // Nothing read is read again, nothing before the cursor comes up, the one among the rest is found.
      expect([...ids(first.items), ...rest]).toEqual(questions[4].expected().filter((id) => id !== later.runId));
      expect(rest).toContain(amid.runId);
    } finally {
      await db.pool.query(`DELETE FROM ${ident(db.schema)}.runs WHERE run_id = ANY($1::uuid[])`, [[later.runId, amid.runId]]);
      runs.splice(runs.length - 2, 2);
    }
  });

  it('compares parameters as the listing always did: booleans as text, a numeric string as its number', async () => {
    const flag = await list({ filter: { params: [{ key: 'flag', op: 'EQ', value: true }] }, first: 200 });
    expect(ids(flag.items).sort()).toEqual(runs.filter((r) => r.i % 3 !== 2).map((r) => r.runId).sort());
    const seven = await list({ filter: { params: [{ key: 'seed', op: 'EQ', value: 7 }] }, first: 200 });
    expect(ids(seven.items)).toEqual([runs[7].runId]);
    const word = await list({ filter: { params: [{ key: 'lr', op: 'EQ', value: 'auto' }] }, first: 200 });
    expect(ids(word.items).sort()).toEqual(runs.filter((r) => r.i % 5 === 3).map((r) => r.runId).sort());
    const none = await list({ filter: { params: [{ key: 'missing', op: 'EQ', value: 1 }] }, first: 200 });
    expect(none.items).toEqual([]);
  });

  it('finds the candidates of a parameter equality through runs_params_idx', async () => {
    const statements: Array<{ text: string; values: unknown[] }> = [];
    const recording = new Proxy(db.pool, {
      get(target, property, receiver) {
        if (property !== 'query') return Reflect.get(target, property, receiver) as unknown;
        return (text: string, values: unknown[]) => {
          statements.push({ text, values });
          return target.query(text, values);
        };
      },
    }) as Pool;
    await new RunReader(recording, db.schema, metrics).list(parseWith(experimentsRpc.listRuns.request, { filter: { params: [{ key: 'lr', op: 'EQ', value: 0.01 }] } }, 'listRuns'));
    const client = await db.pool.connect();
    try {
      // A table this small is read whole unless the planner is told otherwise: leave it only bitmap scans.
      await client.query('SET enable_seqscan = off; SET enable_indexscan = off');
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${statements[0].text}`, statements[0].values);
      expect(rows.map((r) => r['QUERY PLAN']).join('\n')).toMatch(/Bitmap Index Scan on runs_params_idx/);
    } finally {
      await client.query('RESET ALL');
      client.release();
    }
  });

  it('cuts a page short when its runs would not fit in one NATS message, and goes on from there', async () => {
    const experimentId = randomUUID();
    const big: SeededRun[] = [0, 1, 2].map((k) => ({
      ...seeded(100 + k),
      experimentId,
      tags: [],
      acc: null,
      params: Object.fromEntries(Array.from({ length: 150 }, (_, p) => [`long_${p}`, `${k}`.repeat(4_000)])),
    }));
    for (const run of big) await insertRun(run);
    try {
      const order = [...big].sort(newestFirst).map((r) => r.runId);
      const first = await list({ filter: { experimentId }, first: 3 });
      const size = (items: RunView[]) => Buffer.byteLength(JSON.stringify(items));
      expect(first.items.length).toBeLessThan(3);
      expect(size(first.items)).toBeLessThanOrEqual(RUN_PAGE_REPLY_BYTES);
      expect(first.pageInfo.hasNextPage).toBe(true);
      expect(await paged({ filter: { experimentId } }, 3)).toEqual(order);
    } finally {
      await db.pool.query(`DELETE FROM ${ident(db.schema)}.runs WHERE experiment_id = $1`, [experimentId]);
    }
  });
});
