import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeJsonFile } from '../process/json-file';
import { processAlive, processIdentity } from '../process/procfs';

/**
 * `<data dir>/agent-session.json`: which agent process uses this data directory, under which
 * agent id and session. It serves two purposes:
 *
 * - one agent per data directory: a second process started with the same directory (whose
 *   state file and job directories it would trample) is refused while the recorded process
 *   lives (same pid and the same start time, so a reused pid does not count);
 * - a restart on the same node knows the session it follows. When the scheduler refuses the
 *   new session because the recorded one still looks live (its lease has not run out yet), and
 *   the recorded process is gone, the agent registers again with `replaceSession`: the session
 *   it replaces is provably its own dead predecessor. A live session of any other id (another
 *   host claiming the same agent id) is never replaced without the operator saying so.
 */

export interface AgentSessionRecord {
  agentId: string;
  sessionId: string;
  pid: number;
  /** processIdentity of `pid` when it wrote the record; null where /proc cannot tell. */
  identity: string | null;
  startedAt: string;
}

const FILE_NAME = 'agent-session.json';
/** Data directories claimed by agents of this process (tests run several agents in one process). */
const claimedHere = new Set<string>();

export class DataDirInUseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirInUseError';
  }
}

export class AgentSessionFile {
  readonly path: string;
  private readonly dir: string;
  private claimed = false;

  constructor(dataDir: string) {
    this.dir = resolve(dataDir);
    this.path = join(this.dir, FILE_NAME);
  }

  /**
   * Claims the data directory for this process. Returns the previous session recorded there
   * (its process is gone), or null. Throws DataDirInUseError while another live agent uses it.
   */
  async claim(): Promise<AgentSessionRecord | null> {
    if (claimedHere.has(this.dir)) throw new DataDirInUseError(`another agent in this process already uses the data directory ${this.dir}`);
    const previous = await this.read();
    if (previous !== null && previous.pid !== process.pid && processAlive(previous.pid)) {
      const identity = processIdentity(previous.pid);
      if (previous.identity === null || identity === null || identity === previous.identity) {
        throw new DataDirInUseError(
          `another agent process (pid ${previous.pid}, agent ${previous.agentId}, session ${previous.sessionId}) uses the data directory ${this.dir}: ` +
            'stop it first, or give this agent its own AGENT_DATA_DIR',
        );
      }
    }
    claimedHere.add(this.dir);
    this.claimed = true;
    return previous;
  }

  /** Records the session this process registers now. */
  async write(agentId: string, sessionId: string): Promise<void> {
    const record: AgentSessionRecord = { agentId, sessionId, pid: process.pid, identity: processIdentity(process.pid), startedAt: new Date().toISOString() };
    await writeJsonFile(this.dir, FILE_NAME, record);
  }

  /** Lets another agent of this process use the directory (the file stays: a later start reads it). */
  release(): void {
    if (this.claimed) claimedHere.delete(this.dir);
    this.claimed = false;
  }

  /** The recorded session; null when there is none or it cannot be read (it is rewritten at registration). */
  async read(): Promise<AgentSessionRecord | null> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return null;
    }
    try {
      const r = JSON.parse(text) as Partial<AgentSessionRecord>;
      if (typeof r.agentId !== 'string' || typeof r.sessionId !== 'string' || !Number.isSafeInteger(r.pid)) return null;
      return { agentId: r.agentId, sessionId: r.sessionId, pid: r.pid as number, identity: typeof r.identity === 'string' ? r.identity : null, startedAt: String(r.startedAt ?? '') };
    } catch {
      return null;
    }
  }
}
