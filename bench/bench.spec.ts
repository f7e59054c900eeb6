import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { itWithNats } from '@modeltrail/testing';
import type { BenchResults } from './harness';
import { BENCHMARKS, DEFAULT_DATABASE_URL, runBenchmarks } from './run';

/** The benchmark suite in quick mode, small: it must produce every figure with its baseline. Timings are never asserted. */
describe('benchmark suite (quick mode)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mt-bench-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  itWithNats('measures every benchmark next to its baseline and records the machine and parameters', async () => {
    const lines: string[] = [];
    const results = await runBenchmarks({ quick: true, scale: 0.25, resultsDir: dir, log: (line) => lines.push(line) });

    expect(results.benchmarks.map((b) => b.name)).toEqual(['append', 'read-replay', 'command', 'graphql', 'metrics', 'run-search', 'placement', 'live-progress', 'drift', 'lineage']);
    for (const benchmark of results.benchmarks) {
      expect(benchmark.figures.length).toBeGreaterThan(0);
      expect(Object.keys(benchmark.parameters).length).toBeGreaterThan(0);
      for (const f of benchmark.figures) {
        expect(f.benchmark).toBe(benchmark.name);
        for (const value of [f.ours, f.baseline, f.ratio]) {
          expect(Number.isFinite(value)).toBe(true);
          expect(value).toBeGreaterThan(0);
        }
        expect(f.ratio).toBeCloseTo(f.ours / f.baseline, 10);
      }
    }
    const measures = results.benchmarks.flatMap((b) => b.figures.map((f) => `${b.name}: ${f.measure}`));
    expect(measures).toEqual(
      expect.arrayContaining([
        'append: single event, 1 writer',
        'append: single event, 16 writers',
        'append: 100-event batches, 1 writer',
        'read-replay: readAll (pages of 1000)',
        'read-replay: projection rebuild (set-based)',
        'command: changeDatasetDescription p99',
        'command: changeDatasetDescription throughput',
        'command: changeDatasetDescription on the in-process bus p99 vs over NATS',
        'graphql: changeDatasetDescription p50',
        'metrics: logMetrics, 10,000-point batches',
        'run-search: param equals (seed = n) p95',
        'run-search: metric above (val/accuracy > t) p95',
        'run-search: param and metric (lr = x, val/accuracy > 0.95) p95',
        'run-search: ordered by a metric (val/loss, lowest first) p95',
        'run-search: tag (ablation-n) p95',
        'placement: placement decisions/s while draining (service: read model, place, append JobAssigned, wake)',
        expect.stringMatching(/^live-progress: point latency, child → subscriber, p99/),
        expect.stringMatching(/^drift: measureDrift, /),
        'drift: measureDrift peak RSS above start (vs sorting copies)',
        expect.stringMatching(/^lineage: read model rebuild \(graph \+ OpenLineage\) from [\d,]+ events$/),
        expect.stringMatching(/^lineage: lineage BOTH, unlimited depth, pages of \d+, now: first page \(walk computed\) p95/),
        expect.stringMatching(/^lineage: lineage BOTH, unlimited depth, pages of \d+, asOf mid-history: later page \(cached walk\) p95/),
        expect.stringMatching(/^lineage: inclusion proof at [\d,]+ leaves \(MerkleLogViews, PostgreSQL\) p50 vs the proof from nodes in memory$/),
      ]),
    );

    const written = JSON.parse(readFileSync(join(dir, 'latest.json'), 'utf8')) as BenchResults;
    expect(written.mode).toBe('quick');
    expect(written.machine).toMatchObject({ cpus: expect.any(Number), memoryBytes: expect.any(Number), node: process.version });
    expect(written.machine.postgres).toMatch(/^\d+/);
    expect(written.machine.nats).toMatch(/^\d+\.\d+/);
    expect(written.benchmarks.find((b) => b.name === 'read-replay')?.parameters).toMatchObject({ events: expect.any(Number) });
    expect(written.benchmarks.flatMap((b) => b.figures)).toHaveLength(results.benchmarks.flatMap((b) => b.figures).length);
    // The printed table names every figure.
    const table = lines.join('\n');
    for (const f of written.benchmarks.flatMap((b) => b.figures)) expect(table).toContain(f.measure);

    // The run's schemas are gone.
    const client = new Client({ connectionString: DEFAULT_DATABASE_URL });
    await client.connect();
    try {
      const left = await client.query('SELECT nspname FROM pg_namespace WHERE starts_with(nspname, $1)', [written.runId]);
      expect(left.rows).toEqual([]);
    } finally {
      await client.end();
    }
  }, 240_000);

  it('refuses an unknown benchmark name, listing the known ones', async () => {
    await expect(runBenchmarks({ quick: true, only: ['apend'], resultsDir: dir, log: () => undefined })).rejects.toThrow(`unknown benchmark apend: choose from ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  });
});
