import { comparisonCells, comparisonRows } from './compare';
import { cell, table } from './render';
import { statusLine } from './commands/jobs';

describe('run comparison', () => {
  const comparison = {
    runs: [
      { id: 'a', status: 'COMPLETED', params: { lr: 0.01, depth: 6 } },
      { id: 'b', status: 'COMPLETED', params: { lr: 0.1, depth: 6, extra: true } },
    ],
    differingParams: [
      { key: 'lr', values: [{ run: { id: 'a' }, value: 0.01 }, { run: { id: 'b' }, value: 0.1 }] },
      { key: 'extra', values: [{ run: { id: 'b' }, value: true }, { run: { id: 'a' }, value: null }] },
    ],
    commonParams: [{ key: 'depth', value: 6 }],
    metrics: [
      { key: 'accuracy', series: [{ run: { id: 'a' }, count: 2, latest: { value: 0.81, step: 2 } }, { run: { id: 'b' }, count: 2, latest: { value: 0.93, step: 2 } }] },
      { key: 'loss', series: [{ run: { id: 'a' }, count: 1, latest: { value: 0.3, step: 1 } }, { run: { id: 'b' }, count: 1, latest: { value: 0.3, step: 1 } }] },
      { key: 'f1', series: [{ run: { id: 'a' }, count: 0, latest: null }, { run: { id: 'b' }, count: 1, latest: { value: 0.5, step: 1 } }] },
    ],
  };

  it('puts each parameter and metric in a row, values in the order of the runs, marking the rows that differ', () => {
    expect(comparisonRows(comparison)).toEqual([
      { section: 'param', key: 'lr', values: [0.01, 0.1], differs: true },
      { section: 'param', key: 'extra', values: [undefined, true], differs: true },
      { section: 'param', key: 'depth', values: [6, 6], differs: false },
      { section: 'metric', key: 'accuracy', values: [0.81, 0.93], differs: true },
      { section: 'metric', key: 'loss', values: [0.3, 0.3], differs: false },
      { section: 'metric', key: 'f1', values: [undefined, 0.5], differs: true },
    ]);
  });

  it('renders a table with the differing rows starred, and colours only when asked', () => {
    const rows = comparisonRows(comparison);
    const plain = table(['', 'a', 'b'], comparisonCells(rows, false, cell));
    expect(plain).toMatch(/│ \* param lr\s+│ 0\.01\s+│ 0\.1\s+│/);
    expect(plain).toMatch(/│ {3}param depth\s+│ 6\s+│ 6\s+│/);
    expect(plain).toMatch(/│ \* metric f1\s+│ -\s+│ 0\.5\s+│/);
    expect(plain).not.toMatch(/\u001b\[/);
    expect(table(['', 'a', 'b'], comparisonCells(rows, true, cell), true)).toMatch(/\u001b\[33m\* param lr\u001b\[39m/);
  });
});

describe('job status line', () => {
  it('shows the status, the highest step and the latest metrics', () => {
    const metrics = new Map([
      ['train/loss', { value: 0.123456789, step: 12 }],
      ['val/accuracy', { value: 0.9, step: 10 }],
    ]);
    expect(statusLine('RUNNING', metrics)).toBe('RUNNING  step 12  train/loss=0.123457  val/accuracy=0.9');
    expect(statusLine('QUEUED', new Map())).toBe('QUEUED');
  });
});
