import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestTap, hash32, sha256File } from './digest';
import { mulberry32 } from './profile';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modeltrail-digest-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sha256File', () => {
  it('equals sha256sum for empty, small and multi-chunk files', async () => {
    const random = mulberry32(1);
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = Math.floor(random() * 256);
    for (const [name, content] of [
      ['empty', Buffer.alloc(0)],
      ['small', Buffer.from('id,name\n1,é\n')],
      ['big', big],
    ] as const) {
      const path = join(dir, name);
      writeFileSync(path, content);
      const expected = execFileSync('sha256sum', [path]).toString().split(' ')[0];
      expect(await sha256File(path)).toEqual({ digest: expected, size: content.length });
    }
  });

  it('DigestTap gives the same digest whatever the chunking', () => {
    const tap = new DigestTap();
    tap.update(Buffer.from('hello '));
    tap.update(Buffer.from('world'));
    expect(tap.result()).toEqual({ digest: 'b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9', size: 11 });
  });
});

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
