/**
 * `npm start`: runs every ModelTrail process as its own child process, each with its own
 * SERVICE_NAME, prefixing its output. Ctrl-C (or SIGTERM) stops them all; if one exits, the rest
 * are stopped and the exit code says so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadConfig } from '@modeltrail/config';
import { prepareDatabase } from './prepare-database';

interface ProcessSpec {
  name: string;
  entry: string;
}

/** Every process of the platform, in start order. Extend as services land. */
export const PROCESSES: ProcessSpec[] = [
  { name: 'relay', entry: 'services/relay/src/main.js' },
  { name: 'datasets', entry: 'services/datasets/src/main.js' },
  { name: 'experiments', entry: 'services/experiments/src/main.js' },
  { name: 'scheduler', entry: 'services/scheduler/src/main.js' },
  { name: 'registry', entry: 'services/registry/src/main.js' },
  { name: 'monitoring', entry: 'services/monitoring/src/main.js' },
  { name: 'lineage', entry: 'services/lineage/src/main.js' },
  { name: 'access', entry: 'services/access/src/main.js' },
  { name: 'gateway', entry: 'gateway/src/main.js' },
  // One local agent: its GPUs from nvidia-smi, or the machine's CPUs and memory when there is none.
  { name: 'agent', entry: 'services/agent/src/main.js' },
];

const COLORS = [36, 33, 35, 32, 34, 31, 96, 93];
const distRoot = join(__dirname, '..', '..');

async function main(): Promise<void> {
  const config = loadConfig(process.env, { serviceName: 'start' });
  // Every entry point must exist before anything starts: never leave a half-started platform.
  const missing = PROCESSES.map((spec) => join(distRoot, spec.entry)).filter((entry) => !existsSync(entry));
  if (missing.length) throw new Error(`missing ${missing.join(', ')}; run npm run build`);
  // Create the database and run migrations once, before anything connects.
  await prepareDatabase(config);

  const children = new Map<string, ChildProcess>();
  let stopping = false;
  const stopAll = (code: number) => {
    if (stopping) return;
    stopping = true;
    process.exitCode = code;
    process.stdout.write(`ModelTrail: stopping ${[...children.keys()].join(', ')}\n`);
    for (const child of children.values()) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, 10_000).unref();
  };
  process.on('SIGINT', () => stopAll(0));
  process.on('SIGTERM', () => stopAll(0));

  PROCESSES.forEach((spec, index) => {
    const entry = join(distRoot, spec.entry);
    const child = spawn(process.execPath, ['--enable-source-maps', entry], {
      env: { ...process.env, SERVICE_NAME: spec.name },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(spec.name, child);
    const prefix = `\u001b[${COLORS[index % COLORS.length]}m${spec.name.padEnd(12)}\u001b[0m|`;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix} ${line}\n`));
    }
    child.on('error', (error) => {
      process.stdout.write(`${prefix} could not run: ${error.message}; stopping the platform\n`);
      children.delete(spec.name);
      stopAll(1);
      if (children.size === 0) process.exit();
    });
    child.on('exit', (code, signal) => {
      children.delete(spec.name);
      if (!stopping) {
        process.stdout.write(`${prefix} exited (${signal ?? code}); stopping the platform\n`);
        stopAll(code || 1);
      }
      if (children.size === 0) process.exit();
    });
  });
  process.stdout.write(`ModelTrail: started ${PROCESSES.map((p) => p.name).join(', ')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`ModelTrail failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
