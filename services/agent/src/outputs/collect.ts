import { constants, createWriteStream } from 'node:fs';
import { lstat, open, readdir, readlink, realpath, stat, type FileHandle } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { ArtifactStore } from '@modeltrail/artifacts';
import { artifactNameProblem } from '../protocol/parser';

/**
 * Turns what a job left in its output directory (MODELTRAIL_OUTPUT_DIR) into the run's artifacts,
 * once the job has ended.
 *
 * Every regular file under the directory is copied into the content-addressed ArtifactStore and
 * listed under its path relative to the directory (`checkpoints/epoch-3.pt`). A file the script
 * named through an artifact record is listed under the name it gave instead (once). The list is
 * sorted by name.
 *
 * Nothing outside the directory is ever read: a symbolic link is taken only when it points to a
 * regular file inside the directory (links to directories are not followed, so there are no
 * loops), and each file is opened without following a link and checked, once open, to be inside
 * the directory. A named path outside the directory is refused with a warning. Sockets, pipes
 * and devices are passed over with a warning.
 *
 * Bounded: more than `maxFiles` files, more than `maxTotalBytes` in all, or directories deeper
 * than `maxDepth`, and nothing is stored: OutputLimitError says which limit and by how much.
 */

export interface OutputArtifact {
  /** The path relative to the output directory (`/`-separated), or the name the script gave. */
  name: string;
  /** Where the store keeps it (`file://...`). */
  uri: string;
  /** SHA-256 of its bytes. */
  digest: string;
  size: number;
}

export interface CollectOutputsOptions {
  outputDir: string;
  store: ArtifactStore;
  /** Artifacts the script named (JobOutputReader.declaredArtifacts): a path relative to the output directory, or absolute inside it. */
  declared?: ReadonlyArray<{ path: string; name: string | null }>;
  /** Default 1000. */
  maxFiles?: number;
  /** Default 50 GiB. */
  maxTotalBytes?: number;
  /** Default 32. */
  maxDepth?: number;
}

export interface CollectedOutputs {
  artifacts: OutputArtifact[];
  /** What was passed over and why, for the run's log. */
  warnings: string[];
}

export class OutputLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OutputLimitError';
  }
}

export const OUTPUT_LIMITS = { maxFiles: 1_000, maxTotalBytes: 50 * 1024 ** 3, maxDepth: 32 } as const;

interface Candidate {
  /** Relative path, `/`-separated. */
  rel: string;
  /** The file to read (a link's target, resolved). */
  real: string;
  size: number;
}

export async function collectOutputs(options: CollectOutputsOptions): Promise<CollectedOutputs> {
  const maxFiles = options.maxFiles ?? OUTPUT_LIMITS.maxFiles;
  const maxTotalBytes = options.maxTotalBytes ?? OUTPUT_LIMITS.maxTotalBytes;
  const maxDepth = options.maxDepth ?? OUTPUT_LIMITS.maxDepth;
  const warnings: string[] = [];

  let root: string;
  try {
    root = await realpath(options.outputDir);
    if (!(await stat(root)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      warnings.push(`the output directory ${options.outputDir} is gone: no artifacts`);
      return { artifacts: [], warnings };
    }
    throw error;
  }

  const files = await walk(root, { maxFiles, maxTotalBytes, maxDepth }, warnings);

  // Named artifacts first, in the order they were named; then every other file.
  const entries: Array<{ name: string; file: Candidate }> = [];
  const names = new Set<string>();
  const named = new Set<string>();
  const add = (given: string, file: Candidate, what: string): boolean => {
    const name = given.trim();
    const problem = artifactNameProblem(name);
    if (problem !== null) warnings.push(`${what}: the artifact name ${problem}; not stored under it`);
    else if (names.has(name)) warnings.push(`${what}: another artifact is already named ${JSON.stringify(name)}; not stored under that name`);
    else {
      names.add(name);
      entries.push({ name, file });
      return true;
    }
    return false;
  };
  for (const declared of options.declared ?? []) {
    const file = await resolveDeclared(root, options.outputDir, declared.path, warnings);
    if (file === null) continue;
    // A file whose name is refused is still listed under its path, below.
    if (add(declared.name ?? file.rel, file, `artifact ${JSON.stringify(declared.path)} named by the job`)) named.add(file.real);
  }
  for (const file of files) {
    if (named.has(file.real)) continue;
    add(file.rel, file, JSON.stringify(file.rel));
  }

  const artifacts: OutputArtifact[] = [];
  for (const { name, file } of entries) {
    const stored = await storeFile(options.store, root, file, name, warnings);
    if (stored !== null) artifacts.push(stored);
  }
  artifacts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { artifacts, warnings };
}

async function walk(root: string, limits: { maxFiles: number; maxTotalBytes: number; maxDepth: number }, warnings: string[]): Promise<Candidate[]> {
  const files: Candidate[] = [];
  let total = 0;
  const stack: Array<{ dir: string; depth: number }> = [{ dir: root, depth: 0 }];
  while (stack.length > 0) {
    const { dir, depth } = stack.pop() as { dir: string; depth: number };
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      const rel = relative(root, path).split(sep).join('/');
      if (entry.isDirectory()) {
        if (depth + 1 > limits.maxDepth) throw new OutputLimitError(`the output directory nests deeper than ${limits.maxDepth} levels (at ${JSON.stringify(rel)}): nothing stored`);
        stack.push({ dir: path, depth: depth + 1 });
        continue;
      }
      let file: Candidate | null = null;
      if (entry.isFile()) {
        file = { rel, real: path, size: (await lstat(path)).size };
      } else if (entry.isSymbolicLink()) {
        file = await followLink(root, path, rel, warnings);
      } else {
        warnings.push(`${JSON.stringify(rel)} is not a regular file (a socket, pipe or device): not stored`);
      }
      if (file === null) continue;
      files.push(file);
      total += file.size;
      if (files.length > limits.maxFiles) throw new OutputLimitError(`the output directory holds more than ${limits.maxFiles} files: nothing stored`);
      if (total > limits.maxTotalBytes) throw new OutputLimitError(`the output directory holds more than ${limits.maxTotalBytes} bytes: nothing stored`);
    }
  }
  return files;
}

/** A link inside the output directory: taken when it leads to a regular file inside it. */
async function followLink(root: string, path: string, rel: string, warnings: string[]): Promise<Candidate | null> {
  let target: string;
  try {
    target = await realpath(path);
  } catch {
    warnings.push(`${JSON.stringify(rel)} is a broken link: not stored`);
    return null;
  }
  if (!isInside(root, target)) {
    warnings.push(`${JSON.stringify(rel)} links outside the output directory (${await readlink(path).catch(() => '?')}): not stored`);
    return null;
  }
  const info = await stat(target);
  if (!info.isFile()) {
    warnings.push(`${JSON.stringify(rel)} links to ${info.isDirectory() ? 'a directory, which is not followed' : 'something that is not a regular file'}: not stored`);
    return null;
  }
  return { rel, real: target, size: info.size };
}

async function resolveDeclared(root: string, outputDir: string, path: string, warnings: string[]): Promise<Candidate | null> {
  const what = `artifact ${JSON.stringify(path)} named by the job`;
  const lexical = isAbsolute(path) ? resolve(path) : resolve(outputDir, path);
  if (!isInside(resolve(outputDir), lexical) && !isInside(root, lexical)) {
    warnings.push(`${what} is outside the output directory: refused`);
    return null;
  }
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    warnings.push(`${what} does not exist: not stored`);
    return null;
  }
  if (!isInside(root, real)) {
    warnings.push(`${what} leads outside the output directory: refused`);
    return null;
  }
  const info = await stat(real);
  if (!info.isFile()) {
    warnings.push(`${what} is ${info.isDirectory() ? 'a directory (name its files one by one, or let them be listed by their paths)' : 'not a regular file'}: not stored`);
    return null;
  }
  return { rel: relative(root, real).split(sep).join('/'), real, size: info.size };
}

/** Copies one file into the store, reading it through a descriptor that is checked to be a regular file inside the output directory. */
async function storeFile(store: ArtifactStore, root: string, file: Candidate, name: string, warnings: string[]): Promise<OutputArtifact | null> {
  let handle: FileHandle;
  try {
    handle = await open(file.real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    warnings.push(`${JSON.stringify(file.rel)} could not be opened (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): not stored`);
    return null;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      warnings.push(`${JSON.stringify(file.rel)} is no longer a regular file: not stored`);
      return null;
    }
    const opened = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => null);
    if (opened !== null && !isInside(root, opened)) {
      warnings.push(`${JSON.stringify(file.rel)} now leads outside the output directory: not stored`);
      return null;
    }
    const stored = await store.put(async (tmp) => {
      await pipeline(handle.createReadStream({ autoClose: false, start: 0 }), createWriteStream(tmp, { flags: 'wx' }));
    }, extensionOf(name, file.rel));
    return { name, uri: stored.uri, digest: stored.digest, size: stored.size };
  } finally {
    await handle.close();
  }
}

/** The store's file extension for an artifact: the name's (or the path's) last extension when it is a plain one, else `bin`. */
export function extensionOf(name: string, rel: string): string {
  for (const candidate of [name, rel]) {
    const ext = extname(candidate).slice(1);
    if (/^[A-Za-z0-9]{1,16}$/.test(ext)) return ext.toLowerCase();
  }
  return 'bin';
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}
