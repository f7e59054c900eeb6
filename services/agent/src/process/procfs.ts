import { readdirSync, readFileSync } from 'node:fs';

/**
 * What the agent reads about processes from Linux's /proc: a process's parent, group, session and
 * state, which processes are in a group, and whether a group still has a live member.
 *
 * A zombie (state Z) or dead (X) process counts as gone: its code no longer runs and it holds no
 * GPU memory; it only waits for a parent to reap it (in a container whose PID 1 never reaps,
 * orphans stay zombies for good, and `kill(pid, 0)` still succeeds on them).
 *
 * Where /proc is missing (not Linux), the functions fall back to `kill(pid, 0)` / `kill(-pgid, 0)`
 * and report no ancestry.
 */

export interface ProcStat {
  pid: number;
  /** One letter: R running, S sleeping, D disk wait, Z zombie, T stopped, ... */
  state: string;
  ppid: number;
  pgid: number;
  sid: number;
  /** Start time in clock ticks after boot: with the boot id, it tells a process from a later one given the same pid. */
  startTicks: number;
}

const PROC = '/proc';

export function hasProcfs(): boolean {
  try {
    readFileSync(`${PROC}/self/stat`);
    return true;
  } catch {
    return false;
  }
}

/** `/proc/<pid>/stat`, parsed; null when the process does not exist (or /proc is missing). */
export function readProcStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`${PROC}/${pid}/stat`, 'latin1');
  } catch {
    return null;
  }
  return parseProcStat(text);
}

/** Parses one stat line. The command name (field 2) may hold spaces and parentheses: fields are counted after its last `)`. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const pid = Number.parseInt(text, 10);
  const fields = text.slice(close + 2).trim().split(' ');
  // fields[0] is field 3 (state); field n is fields[n - 3].
  const [state, ppid, pgid, sid] = [fields[0], Number(fields[1]), Number(fields[2]), Number(fields[3])];
  const startTicks = Number(fields[19]);
  if (!Number.isInteger(pid) || !state || ![ppid, pgid, sid, startTicks].every(Number.isInteger)) return null;
  return { pid, state, ppid, pgid, sid, startTicks };
}

function isLive(stat: ProcStat): boolean {
  return stat.state !== 'Z' && stat.state !== 'X' && stat.state !== 'x';
}

/** Every process in /proc, parsed (empty without /proc). */
export function listProcesses(): ProcStat[] {
  let names: string[];
  try {
    names = readdirSync(PROC);
  } catch {
    return [];
  }
  const out: ProcStat[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat !== null) out.push(stat);
  }
  return out;
}

/** Whether `pid` runs (exists and is not a zombie). */
export function processAlive(pid: number): boolean {
  if (hasProcfs()) {
    const stat = readProcStat(pid);
    return stat !== null && isLive(stat);
  }
  return signalZero(pid);
}

/** The live members of process group `pgid` (empty when none, or without /proc). */
export function processGroupMembers(pgid: number): number[] {
  return listProcesses()
    .filter((p) => p.pgid === pgid && isLive(p))
    .map((p) => p.pid);
}

/** Whether process group `pgid` has a live member: with /proc, zombies do not count; without, `kill(-pgid, 0)`. */
export function processGroupAlive(pgid: number): boolean {
  if (hasProcfs()) return processGroupMembers(pgid).length > 0;
  return signalZero(-pgid);
}

function signalZero(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The pids that belong to the given roots: each root, the live members of process groups led by
 * a root (a job is its group's leader, so a grandchild that double-forked away from its parent
 * is still found), and every live descendant of any of those. Without /proc: the roots only.
 */
export function ownedProcesses(roots: Iterable<number>): Set<number> {
  const owned = new Set<number>(roots);
  const all = listProcesses().filter(isLive);
  if (all.length === 0) return owned;
  const rootGroups = new Set(owned);
  for (const p of all) if (rootGroups.has(p.pgid)) owned.add(p.pid);
  const children = new Map<number, number[]>();
  for (const p of all) {
    const list = children.get(p.ppid);
    if (list) list.push(p.pid);
    else children.set(p.ppid, [p.pid]);
  }
  const queue = [...owned];
  while (queue.length > 0) {
    const pid = queue.pop() as number;
    for (const child of children.get(pid) ?? []) {
      if (!owned.has(child)) {
        owned.add(child);
        queue.push(child);
      }
    }
  }
  return owned;
}

/** This boot's id (`/proc/sys/kernel/random/boot_id`), or null. */
export function bootId(): string | null {
  try {
    return readFileSync(`${PROC}/sys/kernel/random/boot_id`, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * An identity for a running process that survives pid reuse: `<boot id>/<start ticks>`; null
 * where /proc cannot tell.
 */
export function processIdentity(pid: number): string | null {
  const boot = bootId();
  const stat = readProcStat(pid);
  return boot !== null && stat !== null ? `${boot}/${stat.startTicks}` : null;
}
