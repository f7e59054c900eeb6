import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestTap, sha256File } from './digest';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'modeltrail-digest-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sha256File', () => {
  it('equals sha256sum for empty, small and multi-chunk files', async () => {
    // Deterministic bytes (xorshift32), more than three 1 MiB read chunks.
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    let x = 0x9e3779b9;
    for (let i = 0; i < big.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      big[i] = x & 0xff;
    }
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
