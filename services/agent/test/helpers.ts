import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive } from '../src/process/procfs';

/** Test helpers for the agent's suites: temporary directories and waiting for a condition. */

export const FIXTURES = join(__dirname, 'fixtures');
export const REPO_ROOT = join(__dirname, '..', '..', '..');
export const NODE = process.execPath;
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** A fresh temporary directory per test, removed afterwards. */
export function tempDirs(prefix: string): () => string {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), `modeltrail-agent-${prefix}-`));
  });
  afterEach(async () => {
    // A job's process group may still be writing its last files as it dies: retry a directory
    // that fills again while it is being removed (ENOTEMPTY) instead of failing the test.
    await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  });
  return () => dir;
}

/** Polls `condition` every 10 ms until it holds; fails after `timeoutMs` with `what`. */
export async function waitFor<T>(condition: () => T | undefined | null | false, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Kills leftover processes of a failed test so that they do not outlive the suite. */
export function killQuietly(pids: Iterable<number>): void {
  for (const pid of pids) {
    try {
      if (processAlive(pid)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
