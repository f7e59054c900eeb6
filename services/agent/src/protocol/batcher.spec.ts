import type { MetricPointInput } from '@modeltrail/contracts';
import { waitFor } from '../../test/helpers';
import { MetricBatcher, type MetricBatchInfo } from './batcher';

const points = (from: number, count: number): MetricPointInput[] => Array.from({ length: count }, (_, i) => ({ key: 'loss', value: from + i, step: from + i }));
const values = (batch: MetricPointInput[]) => batch.map((p) => p.value);

/** A logMetrics that records its calls and can be held (each call waits until released). */
function recorder() {
  const calls: Array<{ points: MetricPointInput[]; info: MetricBatchInfo; at: number }> = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  let failures = 0;
  return {
    calls,
    maxInFlight: () => maxInFlight,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => open(),
    failNext(n: number) {
      failures = n;
    },
    logMetrics: async (batch: MetricPointInput[], info: MetricBatchInfo) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await gate;
        calls.push({ points: batch, info, at: Date.now() });
        if (failures > 0) {
          failures -= 1;
          throw new Error('experiments service unavailable');
        }
      } finally {
        inFlight -= 1;
      }
    },
  };
}

describe('MetricBatcher', () => {
  it('sends a call as soon as N points wait, and the rest on close', async () => {
    const r = recorder();
    const batcher = new MetricBatcher({ logMetrics: r.logMetrics, maxPoints: 3, maxDelayMs: 60_000 });
    for (let i = 0; i < 7; i++) batcher.add(points(i, 1));
    await waitFor(() => r.calls.length === 2, 'two full batches');
    expect(r.calls.map((c) => values(c.points))).toEqual([
      [0, 1, 2],
      [3, 4, 5],
    ]);
    expect(await batcher.close()).toEqual({ sentPoints: 7, droppedPoints: 0, calls: 3, failedCalls: 0, bufferedPoints: 0 });
    expect(values(r.calls[2].points)).toEqual([6]);
    expect(() => batcher.add(points(7, 1))).toThrow(/closed/);
  });

  it('sends a partial batch T ms after its oldest point arrived', async () => {
    const r = recorder();
    const batcher = new MetricBatcher({ logMetrics: r.logMetrics, maxPoints: 100, maxDelayMs: 80 });
    const start = Date.now();
    batcher.add(points(0, 2));
    batcher.add(points(2, 1));
    await waitFor(() => r.calls.length === 1, 'the delayed batch');
    expect(r.calls[0].at - start).toBeGreaterThanOrEqual(70);
    expect(values(r.calls[0].points)).toEqual([0, 1, 2]);
    // A new point starts a new delay.
    batcher.add(points(3, 1));
    await waitFor(() => r.calls.length === 2, 'the second delayed batch');
    await batcher.close();
    expect(r.calls.map((c) => values(c.points))).toEqual([[0, 1, 2], [3]]);
  });

  it('has one call in flight at a time and keeps the order of every point', async () => {
    const r = recorder();
    const batcher = new MetricBatcher({ logMetrics: r.logMetrics, maxPoints: 10, maxDelayMs: 5 });
    r.hold();
    for (let i = 0; i < 1000; i += 7) batcher.add(points(i, Math.min(7, 1000 - i)));
    r.release();
    await batcher.close();
    expect(r.maxInFlight()).toBe(1);
    expect(r.calls.flatMap((c) => values(c.points))).toEqual(points(0, 1000).map((p) => p.value));
    expect(r.calls.every((c) => c.points.length <= 10)).toBe(true);
  });

  it('retries a failed call with the same points and batch id before anything later', async () => {
    const r = recorder();
    const batcher = new MetricBatcher({ logMetrics: r.logMetrics, maxPoints: 2, maxDelayMs: 5, retryDelayMs: 10, batchIdPrefix: 'run-1' });
    r.failNext(2);
    batcher.add(points(0, 4));
    await batcher.close();
    expect(r.calls.map((c) => [c.info.batchId, c.info.attempt, values(c.points)])).toEqual([
      ['run-1-1', 1, [0, 1]],
      ['run-1-1', 2, [0, 1]],
      ['run-1-1', 3, [0, 1]],
      ['run-1-2', 1, [2, 3]],
    ]);
    expect(batcher.stats()).toMatchObject({ sentPoints: 4, droppedPoints: 0, calls: 4, failedCalls: 2 });
  });

  it('drops a batch that fails every attempt, says so, and goes on with the next', async () => {
    const r = recorder();
    const drops: Array<{ count: number; reason: string }> = [];
    const batcher = new MetricBatcher({ logMetrics: r.logMetrics, maxPoints: 2, maxDelayMs: 5, retryDelayMs: 1, maxAttempts: 3, onDrop: (d) => drops.push(d) });
    r.failNext(3);
    batcher.add(points(0, 3));
    const stats = await batcher.close();
    expect(drops).toEqual([{ count: 2, reason: 'LogMetrics failed 3 times' }]);
    expect(stats).toMatchObject({ sentPoints: 1, droppedPoints: 2, failedCalls: 3 });
    expect(values(r.calls[r.calls.length - 1].points)).toEqual([2]);
  });

  it('bounds memory: beyond maxBufferedPoints, new points are dropped and counted, the order of the rest kept', async () => {
    const r = recorder();
    const drops: Array<{ count: number; reason: string }> = [];
    const batcher = new MetricBatcher({ logMetrics: r.logMetrics, maxPoints: 2, maxDelayMs: 5, maxBufferedPoints: 5, onDrop: (d) => drops.push(d) });
    r.hold();
    batcher.add(points(0, 4));
    batcher.add(points(4, 4));
    expect(batcher.buffered).toBe(5);
    expect(drops).toEqual([{ count: 3, reason: 'more than 5 points were waiting to be sent' }]);
    r.release();
    expect(await batcher.close()).toMatchObject({ sentPoints: 5, droppedPoints: 3, bufferedPoints: 0 });
    expect(r.calls.flatMap((c) => values(c.points))).toEqual([0, 1, 2, 3, 4]);
  });

  it('cuts batches by their approximate size too', async () => {
    const r = recorder();
    const batcher = new MetricBatcher({ logMetrics: r.logMetrics, maxPoints: 1000, maxDelayMs: 5, maxBatchBytes: 1000 });
    batcher.add(Array.from({ length: 10 }, (_, i) => ({ key: 'k'.repeat(220), value: i })));
    await batcher.close();
    expect(r.calls.map((c) => c.points.length)).toEqual([3, 3, 3, 1]);
  });

  it('refuses more points per call than LogMetrics takes', () => {
    expect(() => new MetricBatcher({ logMetrics: async () => undefined, maxPoints: 10_001 })).toThrow(/at most 10000/);
    expect(() => new MetricBatcher({ logMetrics: async () => undefined, maxDelayMs: -1 })).toThrow(/non-negative/);
  });
});
