import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ArtifactStore } from './artifacts';

let dir: string;
let store: ArtifactStore;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'artifacts-'));
  store = new ArtifactStore(join(dir, 'root'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function files(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath ?? e.path, e.name))).sort();
}

describe('ArtifactStore', () => {
  it('resolves a relative root to an absolute path', () => {
    const relativeStore = new ArtifactStore('./data/artifacts');
    expect(relativeStore.root).toBe(join(process.cwd(), 'data', 'artifacts'));
  });

  it('stores a file under sha256/<2 hex>/<digest>.<ext> and returns its digest, size, uri and the writer result', async () => {
    const stored = await store.put(async (tmp) => {
      await writeFile(tmp, 'a,b\n1,2\n');
      return 42;
    }, 'csv');
    const digest = sha256('a,b\n1,2\n');
    expect(stored).toEqual({
      path: join(store.root, 'sha256', digest.slice(0, 2), `${digest}.csv`),
      uri: `file://${join(store.root, 'sha256', digest.slice(0, 2), `${digest}.csv`)}`,
      digest,
      size: 8,
      result: 42,
    });
    expect(await readFile(stored.path, 'utf8')).toBe('a,b\n1,2\n');
    expect((await stat(stored.path)).mode & 0o222).toBe(0);
    expect(await files(store.root)).toEqual([`sha256/${digest.slice(0, 2)}/${digest}.csv`]);
  });

  it('gives the same path for the same bytes and keeps one copy', async () => {
    const first = await store.put((tmp) => writeFile(tmp, 'same'), 'txt');
    const second = await store.put((tmp) => writeFile(tmp, 'same'), 'txt');
    const other = await store.put((tmp) => writeFile(tmp, 'other'), 'txt');
    expect(second.path).toBe(first.path);
    expect(other.path).not.toBe(first.path);
    expect(await files(store.root)).toEqual([first.path, other.path].map((p) => relative(store.root, p)).sort());
  });

  it('lets concurrent puts of identical content all succeed with one stored file', async () => {
    const content = 'x'.repeat(200_000);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.put((tmp) => writeFile(tmp, content), 'bin')));
    expect(new Set(results.map((r) => r.path)).size).toBe(1);
    expect(results.every((r) => r.digest === sha256(content) && r.size === content.length)).toBe(true);
    expect(await readFile(results[0].path, 'utf8')).toBe(content);
    expect(await files(store.root)).toEqual([relative(store.root, results[0].path)]);
  });

  it('removes the temporary file when the writer fails, and stores nothing', async () => {
    let tmpSeen = '';
    await expect(
      store.put(async (tmp) => {
        tmpSeen = tmp;
        await writeFile(tmp, 'half written');
        throw new Error('writer failed');
      }, 'csv'),
    ).rejects.toThrow('writer failed');
    expect(tmpSeen.startsWith(store.root)).toBe(true);
    expect(await files(store.root)).toEqual([]);
  });

  it('refuses a writer that wrote no file', async () => {
    await expect(store.put(async () => 'nothing', 'csv')).rejects.toThrow(/without writing a file/);
    expect(await files(store.root)).toEqual([]);
  });

  it('replaces a damaged stored file (wrong size) with the new complete copy', async () => {
    const first = await store.put((tmp) => writeFile(tmp, 'complete content'), 'txt');
    await rm(first.path, { force: true });
    await writeFile(first.path, 'trunc');
    const again = await store.put((tmp) => writeFile(tmp, 'complete content'), 'txt');
    expect(again.path).toBe(first.path);
    expect(await readFile(again.path, 'utf8')).toBe('complete content');
  });

  it('refuses an extension that is not one', async () => {
    await expect(store.put((tmp) => writeFile(tmp, 'x'), '../csv')).rejects.toThrow(/is not a file extension/);
    await expect(store.put((tmp) => writeFile(tmp, 'x'), '.csv')).rejects.toThrow(/is not a file extension/);
  });
});
