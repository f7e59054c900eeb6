import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ArtifactStore } from '@modeltrail/artifacts';
import { tempDirs } from '../../test/helpers';
import { collectOutputs, extensionOf, OutputLimitError } from './collect';

const dir = tempDirs('outputs');
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function setup(files: Record<string, string>) {
  const outputDir = join(dir(), 'out');
  await mkdir(outputDir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    await mkdir(join(outputDir, rel, '..'), { recursive: true });
    await writeFile(join(outputDir, rel), content);
  }
  return { outputDir, store: new ArtifactStore(join(dir(), 'store')) };
}

describe('collectOutputs', () => {
  it('stores every file of the output directory under its relative path, with its digest and size, sorted by name', async () => {
    const { outputDir, store } = await setup({ 'model.json': '{"w": [1, 2]}', 'checkpoints/epoch-1.pt': 'weights-1', 'checkpoints/epoch-2.pt': 'weights-2', 'same.txt': 'weights-1', README: 'hello' });
    const { artifacts, warnings } = await collectOutputs({ outputDir, store });
    expect(warnings).toEqual([]);
    expect(artifacts.map((a) => [a.name, a.digest, a.size])).toEqual([
      ['README', sha256('hello'), 5],
      ['checkpoints/epoch-1.pt', sha256('weights-1'), 9],
      ['checkpoints/epoch-2.pt', sha256('weights-2'), 9],
      ['model.json', sha256('{"w": [1, 2]}'), 13],
      ['same.txt', sha256('weights-1'), 9],
    ]);
    for (const artifact of artifacts) {
      expect(artifact.uri.startsWith(`file://${store.root}/sha256/`)).toBe(true);
      expect(createHash('sha256').update(await readFile(new URL(artifact.uri))).digest('hex')).toBe(artifact.digest);
    }
    // Same bytes and extension, one stored file.
    await writeFile(join(outputDir, 'again.pt'), 'weights-1');
    const again = await collectOutputs({ outputDir, store });
    expect(again.artifacts.find((a) => a.name === 'again.pt')?.uri).toBe(artifacts.find((a) => a.name === 'checkpoints/epoch-1.pt')?.uri);
    expect(artifacts.find((a) => a.name === 'README')?.uri).toMatch(/\.bin$/);
  });

  it('lists a file the job named under its name, once; refuses named paths outside the directory', async () => {
    const { outputDir, store } = await setup({ 'model.json': 'm', 'metrics.csv': 'a,b', 'sub/x.bin': 'x' });
    await writeFile(join(dir(), 'secret.txt'), 'secret');
    const declared = [
      { path: 'model.json', name: 'model' },
      { path: join(outputDir, 'sub/x.bin'), name: null },
      { path: '../secret.txt', name: 'stolen' },
      { path: '/etc/passwd', name: null },
      { path: 'sub/../../secret.txt', name: null },
      { path: 'missing.pt', name: null },
      { path: 'sub', name: null },
      { path: 'metrics.csv', name: 'model' },
    ];
    const { artifacts, warnings } = await collectOutputs({ outputDir, store, declared });
    expect(artifacts.map((a) => [a.name, a.digest])).toEqual([
      ['metrics.csv', sha256('a,b')],
      ['model', sha256('m')],
      ['sub/x.bin', sha256('x')],
    ]);
    expect(warnings).toEqual([
      'artifact "../secret.txt" named by the job is outside the output directory: refused',
      'artifact "/etc/passwd" named by the job is outside the output directory: refused',
      'artifact "sub/../../secret.txt" named by the job is outside the output directory: refused',
      'artifact "missing.pt" named by the job does not exist: not stored',
      'artifact "sub" named by the job is a directory (name its files one by one, or let them be listed by their paths): not stored',
      'artifact "metrics.csv" named by the job: another artifact is already named "model"; not stored under that name',
    ]);
  });

  it('follows a link only to a regular file inside the directory', async () => {
    const { outputDir, store } = await setup({ 'real/model.pt': 'weights' });
    await writeFile(join(dir(), 'outside.txt'), 'not yours');
    await mkdir(join(dir(), 'outside-dir'));
    await writeFile(join(dir(), 'outside-dir', 'f'), 'not yours either');
    await symlink(join(outputDir, 'real', 'model.pt'), join(outputDir, 'latest.pt'));
    await symlink(join(dir(), 'outside.txt'), join(outputDir, 'escape.txt'));
    await symlink('../../outside.txt', join(outputDir, 'real', 'relative-escape'));
    await symlink(join(dir(), 'outside-dir'), join(outputDir, 'outside-dir'));
    await symlink(join(outputDir, 'real'), join(outputDir, 'loop'));
    await symlink(join(outputDir, 'nothing'), join(outputDir, 'broken'));
    const declared = [{ path: 'escape.txt', name: 'escape' }, { path: 'outside-dir/f', name: null }];
    const { artifacts, warnings } = await collectOutputs({ outputDir, store, declared });
    expect(artifacts.map((a) => a.name)).toEqual(['latest.pt', 'real/model.pt']);
    expect(new Set(artifacts.map((a) => a.digest))).toEqual(new Set([sha256('weights')]));
    expect(warnings.sort()).toEqual(
      [
        'artifact "escape.txt" named by the job leads outside the output directory: refused',
        'artifact "outside-dir/f" named by the job leads outside the output directory: refused',
        '"broken" is a broken link: not stored',
        `"escape.txt" links outside the output directory (${join(dir(), 'outside.txt')}): not stored`,
        `"loop" links to a directory, which is not followed: not stored`,
        `"outside-dir" links outside the output directory (${join(dir(), 'outside-dir')}): not stored`,
        '"real/relative-escape" links outside the output directory (../../outside.txt): not stored',
      ].sort(),
    );
    expect(await readdir(join(store.root, 'sha256'))).toHaveLength(1);
  });

  it('passes over pipes and names that are not artifact names', async () => {
    const { outputDir, store } = await setup({ 'ok.txt': 'ok', 'bad\u0001name.txt': 'x' });
    execFileSync('mkfifo', [join(outputDir, 'pipe')]);
    const { artifacts, warnings } = await collectOutputs({ outputDir, store });
    expect(artifacts.map((a) => a.name)).toEqual(['ok.txt']);
    expect(warnings).toEqual(['"pipe" is not a regular file (a socket, pipe or device): not stored', expect.stringMatching(/^"bad\\u0001name.txt": the artifact name must not contain control characters.*; not stored under it$/)]);
  });

  it('refuses, storing nothing, more files, more bytes or deeper directories than allowed', async () => {
    const { outputDir, store } = await setup({ a: '1', b: '22', 'c/d': '333', 'c/e/f/g': '4' });
    await expect(collectOutputs({ outputDir, store, maxFiles: 3 })).rejects.toThrow(new OutputLimitError('the output directory holds more than 3 files: nothing stored'));
    await expect(collectOutputs({ outputDir, store, maxTotalBytes: 6 })).rejects.toThrow('the output directory holds more than 6 bytes: nothing stored');
    await expect(collectOutputs({ outputDir, store, maxDepth: 2 })).rejects.toThrow(/nests deeper than 2 levels \(at "c\/e\/f"\)/);
    await expect(readdir(store.root)).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await collectOutputs({ outputDir, store, maxFiles: 4, maxTotalBytes: 7, maxDepth: 3 })).artifacts).toHaveLength(4);
  });

  it('reports a missing output directory as a warning and no artifacts', async () => {
    const store = new ArtifactStore(join(dir(), 'store'));
    expect(await collectOutputs({ outputDir: join(dir(), 'never-made'), store })).toEqual({ artifacts: [], warnings: [expect.stringMatching(/is gone: no artifacts/)] });
  });

  it('keeps a plain extension for the store, else bin', () => {
    expect([extensionOf('model', 'model.PT'), extensionOf('model.json', 'x'), extensionOf('weights.tar.gz', 'w'), extensionOf('README', 'README'), extensionOf('a.b-c', 'a.b-c')]).toEqual(['pt', 'json', 'gz', 'bin', 'bin']);
  });
});
