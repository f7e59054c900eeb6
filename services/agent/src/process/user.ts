import { execFile } from 'node:child_process';
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';

/**
 * Which user a job runs as.
 *
 * An agent running as root never runs a job as root: jobs run as a configured unprivileged user
 * (default `nobody`), and each job's output directory is created for that user. An agent that
 * is not root cannot switch users: its jobs run as the agent's own user.
 */

export interface JobUser {
  name: string;
  uid: number;
  gid: number;
}

export const DEFAULT_JOB_USER = 'nobody';

/**
 * The user jobs run as: null when the agent is not root (no switch possible), otherwise
 * `configured` (default `nobody`) resolved to its uid and gid. Refuses a configured user that
 * resolves to uid 0.
 */
export async function jobUserFor(configured: string | null | undefined, agentUid: number): Promise<JobUser | null> {
  if (agentUid !== 0) return null;
  const user = await resolveUser(configured ?? DEFAULT_JOB_USER);
  if (user.uid === 0) throw new Error(`jobs must not run as root: the job user "${user.name}" has uid 0`);
  return user;
}

/**
 * Resolves a user name (or `uid` / `uid:gid` in digits) to its uid and gid: `id -u` / `id -g`
 * first (which also sees users from LDAP or other name services), /etc/passwd where `id` is
 * missing.
 */
export async function resolveUser(name: string): Promise<JobUser> {
  const numeric = /^(\d+)(?::(\d+))?$/.exec(name);
  if (numeric) {
    const uid = Number(numeric[1]);
    return { name, uid, gid: numeric[2] === undefined ? uid : Number(numeric[2]) };
  }
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(name) || name.length > 64) throw new Error(`"${name}" is not a user name`);
  try {
    const [uid, gid] = await Promise.all([idOf(name, '-u'), idOf(name, '-g')]);
    return { name, uid, gid };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  return fromPasswd(name, await readFile('/etc/passwd', 'utf8'));
}

function idOf(name: string, flag: '-u' | '-g'): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('id', [flag, '--', name], { timeout: 5_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') return reject(error);
      if (error) return reject(new Error(`no user "${name}" on this node (id ${flag}: ${String(stderr).trim() || error.message})`));
      const value = Number(String(stdout).trim());
      if (!Number.isInteger(value) || value < 0) return reject(new Error(`id ${flag} ${name} printed ${JSON.stringify(stdout)}, not a number`));
      resolve(value);
    });
  });
}

/** Looks `name` up in the text of an /etc/passwd file. */
export function fromPasswd(name: string, passwd: string): JobUser {
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 4 && fields[0] === name) {
      const uid = Number(fields[2]);
      const gid = Number(fields[3]);
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { name, uid, gid };
    }
  }
  throw new Error(`no user "${name}" in /etc/passwd`);
}

/**
 * Creates a job's output directory (and missing parents); when the job runs as another user,
 * hands the directory to that user (mode 0700: the agent, as root, still reads it afterwards).
 */
export async function prepareOutputDir(dir: string, user: JobUser | null): Promise<void> {
  await mkdir(dir, { recursive: true });
  if (user !== null) {
    await chown(dir, user.uid, user.gid);
    await chmod(dir, 0o700);
  }
}
