import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';
import type { Pool } from 'pg';
import { createPool, ensureDatabase, ident } from '@modeltrail/postgres';

export * from './decider';
export * from './actors';

/**
 * Test infrastructure shared by integration suites: the real PostgreSQL and NATS on localhost,
 * with names unique to each test run so parallel or repeated runs cannot collide.
 */
export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/modeltrail_test';
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** `prefix_<pid>_<random>`: valid as a schema, stream, consumer or durable name. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export interface TestSchema {
  schema: string;
  pool: Pool;
  url: string;
  drop(): Promise<void>;
}

/** A fresh schema in the test database (created if missing), dropped by `drop()`. */
export async function createTestSchema(prefix = 't', poolSize = 10): Promise<TestSchema> {
  await ensureDatabase(TEST_DATABASE_URL);
  const schema = uniqueName(prefix);
  const pool = createPool(TEST_DATABASE_URL, { max: poolSize, applicationName: `test-${schema}` });
  await pool.query(`CREATE SCHEMA ${ident(schema)}`);
  return {
    schema,
    pool,
    url: TEST_DATABASE_URL,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS ${ident(schema)} CASCADE`).catch(() => undefined);
      await pool.end();
    },
  };
}

/** Retries an assertion until it passes or the timeout elapses — for awaiting consumers, never a fixed sleep. */
export async function eventually<T>(check: () => T | Promise<T>, options: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 25));
  }
}

/** Collects `count` items from an async iterable (or fails after `timeoutMs`). */
export async function take<T>(iterable: AsyncIterable<T>, count: number, timeoutMs = 10_000): Promise<T[]> {
  const out: T[] = [];
  if (count === 0) return out;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`took ${out.length} of ${count} items before ${timeoutMs} ms`)), timeoutMs);
  });
  const collect = (async () => {
    for await (const item of iterable) {
      out.push(item);
      if (out.length >= count) break;
    }
    return out;
  })();
  try {
    return await Promise.race([collect, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
export * from './nats-server';
export * from './build';
export * from './fixtures';
export * from './sandbox';
export * from './platform';
export * from './requires';

/** A TCP port free on 127.0.0.1 right now (for a process under test to listen on). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * The `msg` of every JSON log record in a process's output (one record a line, as pino writes
 * them; the start script's plain `ModelTrail: ...` lines and anything else are skipped).
 */
export function logMessages(output: string): string[] {
  return output.split('\n').flatMap((line) => {
    const json = line.slice(line.indexOf('{'));
    if (!json.startsWith('{')) return [];
    try {
      const record = JSON.parse(json) as { msg?: unknown };
      return typeof record.msg === 'string' ? [record.msg] : [];
    } catch {
      return [];
    }
  });
}
