import { eventually } from '@modeltrail/testing';
import { SerialBatcher } from './serial-batcher';

describe('SerialBatcher', () => {
  const make = (send: (items: number[]) => Promise<void>, overrides: Partial<ConstructorParameters<typeof SerialBatcher<number>>[0]> = {}) => {
    const dropped: Array<{ count: number; reason: string }> = [];
    const batcher = new SerialBatcher<number>({ send, sizeOf: () => 10, maxItems: 3, maxBytes: 1_000, flushMs: 5, maxBuffered: 10, onDrop: (count, reason) => dropped.push({ count, reason }), ...overrides });
    return { batcher, dropped };
  };

  it('sends items in order, in batches of at most maxItems, one batch in flight at a time', async () => {
    const sent: number[][] = [];
    let inFlight = 0;
    let most = 0;
    const { batcher } = make(async (items) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      sent.push(items);
      inFlight -= 1;
    });
    for (let i = 0; i < 8; i++) batcher.add(i);
    await batcher.flush();
    expect(sent.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(sent.every((batch) => batch.length <= 3)).toBe(true);
    expect(most).toBe(1);
  });

  it('cuts batches by size too', async () => {
    const sent: number[][] = [];
    const { batcher } = make(async (items) => void sent.push(items), { maxBytes: 15 });
    [1, 2, 3].forEach((i) => batcher.add(i));
    await batcher.flush();
    expect(sent).toEqual([[1], [2], [3]]);
  });

  it('sends a partial batch after flushMs without a flush', async () => {
    const sent: number[][] = [];
    const { batcher } = make(async (items) => void sent.push(items));
    batcher.add(1);
    await eventually(() => expect(sent).toEqual([[1]]));
  });

  it('drops (and counts) a batch whose send fails, and what overflows the buffer, without reordering the rest', async () => {
    const sent: number[][] = [];
    let fail = true;
    const { batcher, dropped } = make(async (items) => {
      if (fail) {
        fail = false;
        throw new Error('refused');
      }
      sent.push(items);
    }, { maxItems: 100, flushMs: 1_000 });
    for (let i = 0; i < 12; i++) batcher.add(i);
    await batcher.flush();
    batcher.add(12);
    await batcher.flush();
    expect(dropped).toEqual([{ count: 1, reason: 'more than 10 items were waiting to be sent' }, { count: 1, reason: 'more than 10 items were waiting to be sent' }, { count: 10, reason: 'refused' }]);
    expect(sent).toEqual([[12]]);
  });

  it('sends nothing more once discarded', async () => {
    const sent: number[][] = [];
    const { batcher } = make(async (items) => void sent.push(items), { flushMs: 1_000 });
    batcher.add(1);
    batcher.discard();
    batcher.add(2);
    await batcher.flush();
    expect(sent).toEqual([]);
  });
});
