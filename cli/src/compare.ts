import { paint } from './render';

/** A run as compareRuns gives it, and the comparison: pure rendering input. */
export interface ComparedRun {
  id: string;
  status: string;
  params: Record<string, unknown>;
}

export interface RunComparisonView {
  runs: ComparedRun[];
  differingParams: Array<{ key: string; values: Array<{ run: { id: string }; value: unknown }> }>;
  commonParams: Array<{ key: string; value: unknown }>;
  metrics: Array<{ key: string; series: Array<{ run: { id: string }; count: number; latest: { value: number; step: number } | null }> }>;
}

export interface ComparisonRow {
  section: 'param' | 'metric';
  key: string;
  /** One per run, in the order of `runs`; undefined where the run has none. */
  values: unknown[];
  differs: boolean;
}

/**
 * Rows of a side-by-side comparison: every parameter (differing ones first, as the API found
 * them), then every metric's latest value; a row differs when its values are not all equal.
 */
export function comparisonRows(c: RunComparisonView): ComparisonRow[] {
  const index = new Map(c.runs.map((r, i) => [r.id, i]));
  const rows: ComparisonRow[] = [];
  for (const p of c.differingParams) {
    const values: unknown[] = c.runs.map(() => undefined);
    for (const v of p.values) values[index.get(v.run.id)!] = v.value ?? undefined;
    rows.push({ section: 'param', key: p.key, values, differs: true });
  }
  for (const p of c.commonParams) rows.push({ section: 'param', key: p.key, values: c.runs.map(() => p.value), differs: false });
  for (const m of c.metrics) {
    const values: unknown[] = c.runs.map(() => undefined);
    for (const s of m.series) if (s.latest) values[index.get(s.run.id)!] = s.latest.value;
    rows.push({ section: 'metric', key: m.key, values, differs: !allEqual(values) });
  }
  return rows;
}

function allEqual(values: unknown[]): boolean {
  return values.every((v) => JSON.stringify(v) === JSON.stringify(values[0]));
}

/** Table cells for the rows: differing rows marked with `*` (and yellow with colours). */
export function comparisonCells(rows: ComparisonRow[], color: boolean, format: (v: unknown) => string): string[][] {
  return rows.map((row) => {
    const mark = row.differs ? '*' : ' ';
    const key = `${mark} ${row.section === 'param' ? 'param' : 'metric'} ${row.key}`;
    return [row.differs ? paint(key, 'yellow', color) : key, ...row.values.map((v) => (row.differs ? paint(format(v), 'yellow', color) : format(v)))];
  });
}
