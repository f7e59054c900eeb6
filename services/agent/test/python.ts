import { realpathSync, statSync } from 'node:fs';
import { findOnPath } from '../src/gpu/command';

/**
 * A python3 on PATH that any user may run (it and every directory above it open to others): the
 * one the job user can start when the tests run as root. Null when there is none.
 */
export function pythonForAnyone(): string | null {
  for (const entry of (process.env.PATH ?? '').split(':')) {
    const found = findOnPath('python3', entry);
    if (found === null) continue;
    const real = realpathSync(found);
    const dirs = real.split('/').slice(1, -1).map((_, i, parts) => `/${parts.slice(0, i + 1).join('/')}`);
    if ((statSync(real).mode & 0o001) !== 0 && dirs.every((d) => (statSync(d).mode & 0o001) !== 0)) return found;
  }
  return null;
}
