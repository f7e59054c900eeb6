import { experimentsRpc, isCalendarTime } from './experiments';

/** The metric point checks: the fast canonical-time check agrees with JavaScript's own Date. */
describe('metric point timestamps', () => {
  const roundTrips = (value: string) => {
    const time = Date.parse(value);
    return !Number.isNaN(time) && new Date(time).toISOString() === value;
  };
  const pad = (n: number, width: number) => String(n).padStart(width, '0');

  it('calls a canonical UTC time real exactly when Date reads it back unchanged: every day of leap and common years, and every edge of each field', () => {
    const candidates: string[] = [];
    for (const year of [0, 4, 100, 400, 1900, 1970, 2000, 2024, 2026, 2100, 9999]) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) candidates.push(`${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T12:30:45.678Z`);
      }
    }
    for (const [h, m, s] of [
      [0, 0, 0],
      [23, 59, 59],
      [24, 0, 0],
      [23, 60, 0],
      [23, 59, 60],
      [99, 99, 99],
    ]) {
      candidates.push(`2026-11-22T${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.000Z`);
    }
    const disagree = candidates.filter((value) => isCalendarTime(value) !== roundTrips(value));
    expect(disagree).toEqual([]);
    expect(candidates.filter(isCalendarTime).length).toBeGreaterThan(3_000);
  });

  it('normalises a time outside the canonical form, and names a point whose timestamp is no real date-time', () => {
    const parsed = experimentsRpc.logMetrics.request.parse({
      runId: '6f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11',
      points: [
        { key: 'loss', value: 1, step: 0, timestamp: '2024-02-29T23:59:59.999Z' },
        { key: 'loss', value: 1, step: 1, timestamp: '2026-11-22T12:00:00+01:00' },
      ],
    });
    expect(parsed.points.map((p) => p.timestamp)).toEqual(['2024-02-29T23:59:59.999Z', '2026-11-22T11:00:00.000Z']);
    for (const timestamp of ['yesterday', '2026-02-29T00:00:00.000Z']) {
      const bad = experimentsRpc.logMetrics.request.safeParse({ runId: '6f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11', points: [{ key: 'loss', value: 1, step: 0, timestamp }] });
      expect(bad.success).toBe(false);
      expect(bad.error!.issues[0]).toMatchObject({ path: ['points', 0, 'timestamp'], message: `timestamp of metric "loss" must be an ISO-8601 date-time, got the string "${timestamp}"` });
    }
  });
});
