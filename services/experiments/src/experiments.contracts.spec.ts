import { experimentIdFor, experimentsRpc, parseWith, projectIdFor, rpcDefinitions, runIdForCommand, subjects, withNamespace } from '@modeltrail/contracts';

/** The experiments contracts other contexts build against: subjects, derived ids, request parsing. */
describe('experiments contracts', () => {
  it('names the live metrics subject of a run', () => {
    expect(subjects.runTelemetry('6f1c')).toBe('mt.telemetry.run.6f1c.metrics');
    expect(withNamespace('test_1', subjects.runTelemetry('6f1c'))).toBe('test_1.mt.telemetry.run.6f1c.metrics');
  });

  it('registers every experiments exchange under mt.cmd.experiments / mt.qry.experiments', () => {
    for (const def of Object.values(experimentsRpc)) {
      expect(def.subject).toMatch(/^mt\.(cmd|qry)\.experiments\.[A-Z][A-Za-z]+$/);
      expect(rpcDefinitions[def.subject as keyof typeof rpcDefinitions]).toBe(def);
    }
  });

  it('derives project and experiment ids from normalised names, and run ids from command ids', () => {
    expect(projectIdFor('  Customer   CHURN ')).toBe(projectIdFor('customer churn'));
    expect(projectIdFor('churn')).not.toBe(projectIdFor('fraud'));
    const project = projectIdFor('churn');
    expect(experimentIdFor(project, 'GBM ')).toBe(experimentIdFor(project.toUpperCase(), 'gbm'));
    expect(experimentIdFor(project, 'gbm')).not.toBe(experimentIdFor(projectIdFor('fraud'), 'gbm'));
    expect(runIdForCommand('cmd-1')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(runIdForCommand('cmd-1')).toBe(runIdForCommand('cmd-1'));
  });

  it('fills point defaults and normalises timestamps to UTC', () => {
    const runId = '6f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
    const parsed = parseWith(
      experimentsRpc.logMetrics.request,
      { runId, points: [{ key: 'val/f1 macro', value: 0 }, { key: 'loss', value: -2.5e-8, step: 7, timestamp: '2026-11-22T13:00:00.5+01:00' }] },
      'LogMetrics',
    );
    expect(parsed.points).toEqual([
      { key: 'val/f1 macro', value: 0, step: 0, timestamp: null },
      { key: 'loss', value: -2.5e-8, step: 7, timestamp: '2026-11-22T12:00:00.500Z' },
    ]);
  });

  it('takes canonical UTC timestamps as they are and refuses impossible dates in any form', () => {
    const runId = '6f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
    const point = (timestamp: string) => ({ runId, points: [{ key: 'loss', value: 1, timestamp }] });
    expect(parseWith(experimentsRpc.logMetrics.request, point('2026-11-22T12:00:00.000Z'), 'LogMetrics').points[0].timestamp).toBe('2026-11-22T12:00:00.000Z');
    expect(parseWith(experimentsRpc.logMetrics.request, point('2026-11-22T12:00:00Z'), 'LogMetrics').points[0].timestamp).toBe('2026-11-22T12:00:00.000Z');
    for (const bad of ['2026-13-01T00:00:00.000Z', '2026-11-22T25:00:00.000Z', '2026-11-22 12:00:00', 'yesterday']) {
      expect(() => parseWith(experimentsRpc.logMetrics.request, point(bad), 'LogMetrics')).toThrow(/timestamp of metric "loss" must be an ISO-8601 date-time/);
    }
  });

  it('parses a run listing with its defaults', () => {
    expect(parseWith(experimentsRpc.listRuns.request, {}, 'ListRuns')).toEqual({ first: 20, filter: { params: [], metrics: [] }, orderBy: { field: 'STARTED_AT', direction: 'DESC' } });
    expect(() => parseWith(experimentsRpc.listRuns.request, { orderBy: { field: 'STARTED_AT', key: 'x' } }, 'ListRuns')).toThrow(/field "orderBy.key"/);
    expect(() => parseWith(experimentsRpc.listRuns.request, { filter: { params: [{ key: 'lr', op: 'EQ', value: null }] } }, 'ListRuns')).toThrow(/field "filter.params\[0\].value"/);
  });
});
