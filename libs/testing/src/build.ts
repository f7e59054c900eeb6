import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE_ROOTS = ['libs', 'services', 'gateway', 'infra', 'cli'];

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Compiles the platform (`npm run build`) for tests that run its processes, unless `dist` is
 * already newer than every source file — so several such test files build once between them.
 */
export function ensureBuilt(root: string): void {
  const stamp = join(root, 'dist', '.built-at');
  const sources = Math.max(...SOURCE_ROOTS.map((dir) => join(root, dir)).filter(existsSync).map(newestSource), statSync(join(root, 'package-lock.json')).mtimeMs);
  if (existsSync(stamp) && statSync(stamp).mtimeMs > sources) return;
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'pipe' });
  writeFileSync(stamp, new Date().toISOString());
}
