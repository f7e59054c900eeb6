import { hash32 } from './digest';

describe('hash32', () => {
  it('is deterministic, depends on the seed and spreads values evenly', () => {
    expect(hash32('abc')).toBe(hash32('abc'));
    expect(hash32('abc', 1)).not.toBe(hash32('abc', 2));
    expect(hash32('abc')).not.toBe(hash32('abd'));
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 64_000; i++) buckets[hash32(`key${i}`) >>> 28]++;
    for (const count of buckets) expect(Math.abs(count - 4_000)).toBeLessThan(300);
  });
});
