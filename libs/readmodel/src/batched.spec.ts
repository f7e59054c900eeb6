import { batched } from './batched';

async function* source(items: number[], pauseAfter?: number) {
  for (const item of items) {
    if (item === pauseAfter) await new Promise((r) => setTimeout(r, 30));
    yield item;
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe('batched', () => {
  it('takes what is ready, up to the maximum', async () => {
    expect(await collect(batched(source([1, 2, 3, 4, 5, 6, 7]), 3))).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
  });

  it('does not wait for more when the source pauses', async () => {
    expect(await collect(batched(source([1, 2, 3, 4, 5], 4), 10))).toEqual([[1, 2, 3], [4, 5]]);
  });

  it('ends with the source', async () => {
    expect(await collect(batched(source([]), 3))).toEqual([]);
  });
});
