import { setTimeout as sleep } from 'node:timers/promises';
import { processGroupAlive } from './procfs';

/** Signals to process groups: the unit the agent stops, since a job's children share its group. */

/** Sends `signal` to every process in group `pgid`; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) throw new Error(`refusing to signal process group ${pgid}`);
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

export interface GroupStopResult {
  /** SIGKILL had to be sent (something outlived the grace). */
  killed: boolean;
  /** No live member is left (false only when something survived SIGKILL, e.g. stuck in the kernel, for `settleMs`). */
  gone: boolean;
}

/**
 * Stops a process group that is not the agent's child (a job re-adopted after an agent restart):
 * SIGTERM, then SIGKILL once `graceMs` have passed with a member still alive, then waits up to
 * `settleMs` for the group to be gone. Polls, since there is no exit event for a non-child.
 */
export async function stopProcessGroup(pgid: number, graceMs: number, options: { pollMs?: number; settleMs?: number } = {}): Promise<GroupStopResult> {
  const pollMs = options.pollMs ?? 50;
  const settleMs = options.settleMs ?? 5_000;
  if (!processGroupAlive(pgid)) return { killed: false, gone: true };
  signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, graceMs, pollMs)) return { killed: false, gone: true };
  signalGroup(pgid, 'SIGKILL');
  return { killed: true, gone: await waitGroupGone(pgid, settleMs, pollMs) };
}

/** Waits until group `pgid` has no live member; false if it still has one after `timeoutMs`. */
export async function waitGroupGone(pgid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!processGroupAlive(pgid)) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}
