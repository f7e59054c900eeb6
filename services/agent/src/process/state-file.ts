import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeJsonFile } from './json-file';
import { processGroupAlive, processIdentity } from './procfs';

/**
 * The jobs this agent runs, kept in `<data dir>/running-jobs.json` so that an agent restarted
 * mid-job knows what it had started: it can then tell, per job, whether the process group still
 * runs (re-adopt it, or stop it) or is gone (report the job lost).
 *
 * Every change rewrites the whole file atomically: written to a temporary file in the same
 * directory, flushed to disk, renamed over the old one, and the directory flushed; a crash
 * leaves the old file or the new one, never a mix. Changes made through one instance are applied
 * one after the other.
 */

export interface RunningJobRecord {
  jobId: string;
  runId: string;
  /** The fencing token of the assignment: reports about this job carry it. */
  fencingToken: number;
  pid: number;
  pgid: number;
  /** ISO-8601. */
  startedAt: string;
  outputDir: string;
  /** `<boot id>/<start ticks>` of the process when it started (see processIdentity); null where unknown. */
  identity: string | null;
}

export type RecordedJobState =
  /** The process group still has a live member (and the leader, when it lives, is the process that was started). */
  | { state: 'RUNNING'; record: RunningJobRecord }
  /** Nothing of it runs any more: its exit code is lost with the agent that was its parent. */
  | { state: 'GONE'; record: RunningJobRecord; reason: string };

const FILE_NAME = 'running-jobs.json';
const FORMAT = 1;

export class JobStateFile {
  readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(readonly dataDir: string) {
    this.path = join(dataDir, FILE_NAME);
  }

  /** The recorded jobs; none when the file does not exist. Throws, naming the file, when it cannot be read as one. */
  async read(): Promise<RunningJobRecord[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`${this.path} is not JSON (${(error as Error).message}); move it aside to start without it`);
    }
    const doc = parsed as { format?: unknown; jobs?: unknown };
    if (typeof parsed !== 'object' || parsed === null || doc.format !== FORMAT || !Array.isArray(doc.jobs)) {
      throw new Error(`${this.path} is not a running-jobs file of format ${FORMAT}; move it aside to start without it`);
    }
    return doc.jobs.map((job, index) => checkRecord(job, `${this.path}: jobs[${index}]`));
  }

  /** Records a job (replacing a record with the same job id). */
  async put(record: RunningJobRecord): Promise<void> {
    checkRecord(record, 'record');
    return this.change((jobs) => [...jobs.filter((j) => j.jobId !== record.jobId), record]);
  }

  /** Forgets a job; nothing happens when it is not recorded. */
  remove(jobId: string): Promise<void> {
    return this.change((jobs) => jobs.filter((j) => j.jobId !== jobId));
  }

  private change(apply: (jobs: RunningJobRecord[]) => RunningJobRecord[]): Promise<void> {
    const next = this.queue.then(async () => this.write(apply(await this.read())));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private write(jobs: RunningJobRecord[]): Promise<void> {
    return writeJsonFile(this.dataDir, FILE_NAME, { format: FORMAT, jobs });
  }
}

/**
 * Whether a recorded job still runs. A live group whose leader is alive but is not the process
 * recorded (another process got the pid after a reboot) counts as gone.
 */
export function recordedJobState(record: RunningJobRecord): RecordedJobState {
  if (!processGroupAlive(record.pgid)) return { state: 'GONE', record, reason: `process group ${record.pgid} has no live process` };
  if (record.identity !== null) {
    const identity = processIdentity(record.pid);
    if (identity !== null && identity !== record.identity) {
      return { state: 'GONE', record, reason: `pid ${record.pid} now belongs to another process (started ${identity}, recorded ${record.identity})` };
    }
  }
  return { state: 'RUNNING', record };
}


function checkRecord(value: unknown, where: string): RunningJobRecord {
  const r = value as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null) throw new Error(`${where} must be an object`);
  for (const key of ['jobId', 'runId', 'startedAt', 'outputDir'] as const) if (typeof r[key] !== 'string' || r[key] === '') problems.push(`${key} must be a non-empty string`);
  for (const key of ['pid', 'pgid'] as const) if (!Number.isSafeInteger(r[key]) || (r[key] as number) <= 1) problems.push(`${key} must be a process id above 1`);
  if (!Number.isSafeInteger(r.fencingToken) || (r.fencingToken as number) < 0) problems.push('fencingToken must be a non-negative whole number');
  if (r.identity !== undefined && r.identity !== null && typeof r.identity !== 'string') problems.push('identity must be a string or null');
  if (problems.length > 0) throw new Error(`${where}: ${problems.join('; ')}`);
  return {
    jobId: r.jobId as string,
    runId: r.runId as string,
    fencingToken: r.fencingToken as number,
    pid: r.pid as number,
    pgid: r.pgid as number,
    startedAt: r.startedAt as string,
    outputDir: r.outputDir as string,
    identity: (r.identity as string | null) ?? null,
  };
}
