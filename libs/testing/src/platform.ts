import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** The compiled platform started as `npm start` starts it, for end-to-end suites. */
export interface StartedPlatform {
  /** Everything its processes printed so far (stdout and stderr, prefixed by process). */
  output(): string;
  /** Waits until the output matches each pattern in turn (`gateway: GraphQL on`, `datasets: serving`, ...). */
  waitFor(patterns: ReadonlyArray<RegExp>, timeoutMs?: number): Promise<void>;
  /** SIGTERM to the start script (it stops every process), then its exit code once it exits. */
  stop(): Promise<number | null>;
}

/**
 * Runs `dist/infra/scripts/start.js` under `root` with `env` (build first: `ensureBuilt`), as
 * separate processes, collecting their output.
 */
export function startPlatform(root: string, env: NodeJS.ProcessEnv): StartedPlatform {
  const child: ChildProcess = spawn(process.execPath, [join(root, 'dist/infra/scripts/start.js')], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    output: () => output,
    async waitFor(patterns, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (const pattern of patterns) {
        while (!pattern.test(output)) {
          if (child.exitCode !== null) throw new Error(`the platform exited (code ${child.exitCode}) before printing ${pattern}:\n${output.slice(-3_000)}`);
          if (Date.now() > deadline) throw new Error(`the platform did not print ${pattern} within ${timeoutMs} ms:\n${output.slice(-3_000)}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}
