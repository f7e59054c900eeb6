import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { signalGroup } from '../process/group';

/**
 * Runs a short command (nvidia-smi) with a hard time limit.
 *
 * The command runs in its own process group; when the limit passes, the whole group gets
 * SIGKILL (a wedged nvidia-smi does not answer SIGTERM usefully, and a wrapper script's child
 * must not outlive it), and the result is reported once the process has exited, so a caller that
 * sees TIMEOUT knows nothing of it still runs (unless it sits in the kernel, which even SIGKILL
 * cannot interrupt: then after a further second the result says so).
 */

export type CommandResult =
  | { kind: 'ok'; code: number; stdout: string; stderr: string }
  | { kind: 'failed'; code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }
  | { kind: 'timeout'; pid: number; exited: boolean }
  | { kind: 'absent' }
  | { kind: 'error'; message: string };

export interface CommandOptions {
  timeoutMs: number;
  /** The environment it runs with; its PATH is searched for the program. */
  env: Readonly<Record<string, string | undefined>>;
  /** Bytes of stdout (and of stderr) kept; the rest is dropped. Default 1 MiB. */
  maxOutputBytes?: number;
}

const AFTER_KILL_MS = 1_000;

/** The program's absolute path: `name` itself when it holds a `/`, otherwise the first executable file of that name on `PATH`; null when none. */
export function findOnPath(name: string, path: string | undefined): string | null {
  const candidates = name.includes('/') ? [name] : (path ?? '').split(delimiter).filter((d) => d !== '' && isAbsolute(d)).map((d) => join(d, name));
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function runCommand(program: string, args: readonly string[], options: CommandOptions): Promise<CommandResult> {
  const file = findOnPath(program, options.env.PATH);
  if (file === null) return Promise.resolve({ kind: 'absent' });
  const maxBytes = options.maxOutputBytes ?? 1 << 20;
  return new Promise((resolve) => {
    const child = spawn(file, args, { env: options.env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = collect(maxBytes);
    const err = collect(maxBytes);
    child.stdout.on('data', out.push);
    child.stderr.on('data', err.push);
    let timedOut = false;
    let settled = false;
    const finish = (result: CommandResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(giveUp);
      resolve(result);
    };
    let giveUp: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        signalGroup(child.pid as number, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      child.stdout.destroy();
      child.stderr.destroy();
      giveUp = setTimeout(() => finish({ kind: 'timeout', pid: child.pid as number, exited: false }), AFTER_KILL_MS);
    }, options.timeoutMs);
    child.once('error', (error) => finish({ kind: 'error', message: `could not run ${file}: ${error.message}` }));
    child.once('close', (code, signal) => {
      if (timedOut) return finish({ kind: 'timeout', pid: child.pid as number, exited: true });
      const stdout = out.text();
      const stderr = err.text();
      finish(code === 0 ? { kind: 'ok', code, stdout, stderr } : { kind: 'failed', code, signal, stdout, stderr });
    });
    // After a kill, 'close' may wait for a pipe held by an escaped process: 'exit' is enough then.
    child.once('exit', () => {
      if (timedOut) finish({ kind: 'timeout', pid: child.pid as number, exited: true });
    });
  });
}

function collect(maxBytes: number) {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    push: (chunk: Buffer) => {
      if (size >= maxBytes) return;
      const part = chunk.subarray(0, maxBytes - size);
      chunks.push(part);
      size += part.length;
    },
    text: () => Buffer.concat(chunks, size).toString('utf8'),
  };
}
