import { randomUUID } from 'node:crypto';
import { chmod, link, mkdir, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256File } from './digest';

/**
 * A content-addressed store of files the platform writes: the datasets service's cleaned and
 * split data, the outputs of a training job that the agent stores after the job ends.
 *
 * A file is written to a temporary name inside the store's root (so on the same file system),
 * hashed (SHA-256 of its bytes, streamed), made read-only and then moved into place at
 * `<root>/sha256/<first 2 hex digits>/<digest>.<extension>`. The move is a hard link, which is
 * atomic and never replaces an existing file (a rename where links are not supported), so
 * nothing half-written is ever visible at a final path. When the same bytes are stored again,
 * the existing file is kept and the new copy removed; two concurrent puts of the same bytes both
 * succeed with the same path. A write that fails leaves no temporary file behind.
 *
 * Temporary files live in `<root>/tmp/`; a process killed mid-write can leave one there, never
 * anything under `sha256/`.
 */

export interface StoredArtifact<T> {
  /** Absolute path of the stored file. */
  readonly path: string;
  /** `file://` URI of `path`. */
  readonly uri: string;
  /** SHA-256 of the bytes, 64 lowercase hexadecimal characters. */
  readonly digest: string;
  /** Bytes. */
  readonly size: number;
  /** What the write function returned. */
  readonly result: T;
}

const EXTENSION = /^[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/;
const DIGEST = /^[0-9a-f]{64}$/;

export class ArtifactStore {
  /** Absolute path of the store's root directory. */
  readonly root: string;

  /** `root` may be relative (e.g. the default `./data/artifacts`): it is resolved against the working directory once, here. */
  constructor(root: string) {
    if (root.trim() === '') throw new Error('the artifact root must not be empty');
    this.root = resolve(root);
  }

  /** The path a file with `digest` and `extension` has in the store (whether or not it is there). */
  pathFor(digest: string, extension: string): string {
    if (!DIGEST.test(digest)) throw new Error(`"${digest}" is not a SHA-256 digest (64 lowercase hexadecimal characters)`);
    checkExtension(extension);
    return join(this.root, 'sha256', digest.slice(0, 2), `${digest}.${extension}`);
  }

  /**
   * Calls `write` with a fresh temporary path to write a file at, then stores that file under
   * its digest. Returns where it is stored and what `write` returned. If `write` fails, or writes
   * no file, the temporary file is removed and the error thrown again.
   */
  async put<T>(write: (tmpPath: string) => Promise<T>, extension: string): Promise<StoredArtifact<T>> {
    checkExtension(extension);
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmpPath = join(tmpDir, `${randomUUID()}.${extension}`);
    try {
      const result = await write(tmpPath);
      let digest: string;
      let size: number;
      try {
        ({ digest, size } = await sha256File(tmpPath));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`the artifact writer returned without writing a file at ${tmpPath}`);
        throw error;
      }
      const path = this.pathFor(digest, extension);
      await mkdir(join(this.root, 'sha256', digest.slice(0, 2)), { recursive: true });
      await chmod(tmpPath, 0o444);
      await place(tmpPath, path, size);
      return { path, uri: pathToFileURL(path).href, digest, size, result };
    } finally {
      await rm(tmpPath, { force: true });
    }
  }
}

function checkExtension(extension: string): void {
  if (!EXTENSION.test(extension)) throw new Error(`"${extension}" is not a file extension (letters and digits, without the leading dot)`);
}

/**
 * Makes the complete file `tmpPath` visible at `path`, unless a file of the same size is there
 * already (same digest, so the same bytes). A file of another size at `path` was damaged: it is
 * replaced, atomically.
 */
async function place(tmpPath: string, path: string, size: number): Promise<void> {
  try {
    await link(tmpPath, path);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      const existing = await stat(path).catch(() => null);
      if (existing !== null && existing.isFile() && existing.size === size) return;
    } else if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV' && code !== 'EMLINK') {
      throw error;
    }
  }
  // No hard links here (or a damaged file to replace): a rename is atomic too, and replaces.
  await rename(tmpPath, path);
}
