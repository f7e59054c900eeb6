import { realpathSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { isAbsolute, normalize, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ForbiddenError, ValidationError } from '@modeltrail/contracts';

/** Where a version's bytes are: a local file ModelTrail reads, or a remote object it only records. */
export type DataLocation = { kind: 'local'; path: string; uri: string } | { kind: 'remote'; uri: string };

/** Object stores and web locations recorded with the caller's digest, not read. */
export const REMOTE_SCHEMES = ['s3:', 'gs:', 'abfs:', 'abfss:', 'az:', 'hdfs:', 'http:', 'https:'] as const;

/**
 * Parses a version's URI: an absolute path or `file://` URI is local (normalised to a file URI);
 * a URI of a remote scheme is remote; anything else is refused, naming the problem.
 */
export function resolveLocation(uri: string): DataLocation {
  const field = { field: 'uri', uri };
  if (uri.startsWith('file:')) {
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (error) {
      throw new ValidationError(`uri "${uri}" is not a valid file URI: ${(error as Error).message}`, field);
    }
    return { kind: 'local', path, uri: pathToFileURL(path).href };
  }
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(uri)?.[1]?.toLowerCase();
  if (scheme) {
    if (!(REMOTE_SCHEMES as readonly string[]).includes(scheme)) {
      throw new ValidationError(`uri "${uri}" has an unsupported scheme ${scheme}: use an absolute path, file://, or one of ${REMOTE_SCHEMES.join(' ')}`, field);
    }
    try {
      new URL(uri);
    } catch {
      throw new ValidationError(`uri "${uri}" is not a valid URI`, field);
    }
    return { kind: 'remote', uri };
  }
  if (!isAbsolute(uri)) {
    throw new ValidationError(`uri "${uri}" is a relative path: give an absolute path or a file:// URI (the service does not share your working directory)`, field);
  }
  const path = normalize(uri);
  return { kind: 'local', path, uri: pathToFileURL(path).href };
}

/** The local path of a version's file, or a clear refusal for a version that was never read. */
export function localPath(uri: string, action: string): string {
  const location = resolveLocation(uri);
  if (location.kind === 'remote') {
    throw new ValidationError(`cannot ${action} a remote dataset version (${uri}): ModelTrail reads only local files; register a local copy first`, { uri });
  }
  return location.path;
}

/**
 * The directories whose files a service may read (DATA_ROOTS, plus ARTIFACT_ROOT for a service
 * that reads the files it wrote). Handing a service a path makes it read the file and publish
 * what it found (a profile, top values included), so a path outside these is refused: a caller
 * must not be able to read the host's files through it. `service` names the reader in the refusal.
 */
export class ReadableRoots {
  readonly roots: readonly string[];

  constructor(
    roots: readonly string[],
    readonly service: string,
  ) {
    this.roots = [...new Set(roots.map((root) => canonical(normalize(root))))];
  }

  /** Throws FORBIDDEN unless `path`, with symbolic links followed, lies inside one of the roots. */
  async check(path: string): Promise<void> {
    // A missing file is reported by the reader, naming it; links are followed when it exists.
    const real = await realpath(path).catch(() => normalize(path));
    if (this.roots.some((root) => real === root || real.startsWith(root.endsWith(sep) ? root : root + sep))) return;
    const allowed = this.roots.length ? this.roots.join(', ') : 'none';
    throw new ForbiddenError(`the ${this.service} service may not read ${path}: it is outside the directories it reads from (DATA_ROOTS: ${allowed})`, { path });
  }
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
