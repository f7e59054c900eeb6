/**
 * Before any suite: the test database and what the suites may expect of this machine.
 *
 * - PostgreSQL: TEST_DATABASE_URL when set; else the server at 127.0.0.1:5432 when one answers;
 *   else an embedded PostgreSQL started for this run (data under the temporary directory,
 *   removed by global-teardown), whose URL goes into TEST_DATABASE_URL for every worker. The
 *   database of the URL is created when missing.
 * - NATS: MODELTRAIL_TEST_NATS is `up` or `down`, whether anything answers at TEST_NATS_URL
 *   (default nats://127.0.0.1:4222), so suites that need it can say why they cannot run. Set
 *   to `down` beforehand, it stays so: the suites that need NATS are then skipped even where a
 *   server answers (to try a run as a machine without NATS would see it).
 *
 * Jest compiles this file with the project's transform, but the @modeltrail/* aliases do not
 * apply here: imports are relative.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDatabase } from '../libs/postgres/src/database';
import { type EmbeddedPostgres, portAnswers, releaseAbandonedPostgres, startEmbeddedPostgres } from '../libs/postgres/src/embedded';
import { isConnectionError } from '../libs/postgres/src/transaction';

const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/modeltrail_test';
const EMBEDDED_PREFIX = 'modeltrail-test-pg-';

/** Shared with global-teardown (same process). */
export interface TestGlobals {
  __modeltrailTestPostgres?: EmbeddedPostgres;
}

export default async function globalSetup(): Promise<void> {
  const forcedDown = process.env.MODELTRAIL_TEST_NATS === 'down';
  const [, nats] = await Promise.all([prepareDatabase(), forcedDown ? false : anyAnswers(process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222', 4222)]);
  process.env.MODELTRAIL_TEST_NATS = nats ? 'up' : 'down';
}

async function prepareDatabase(): Promise<void> {
  const configured = process.env.TEST_DATABASE_URL;
  if (configured || (await anyAnswers(DEFAULT_TEST_DATABASE_URL, 5432))) {
    await ensureDatabase(configured || DEFAULT_TEST_DATABASE_URL).catch((error: unknown) => {
      // No server after all: the suites that need one say so themselves.
      if (!isConnectionError(error)) throw error;
    });
    return;
  }
  await removeAbandonedClusters();
  const server = await startEmbeddedPostgres({
    dataDir: join(tmpdir(), `${EMBEDDED_PREFIX}${randomBytes(6).toString('hex')}`),
    // A throwaway cluster: durability buys nothing, speed does.
    settings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
  });
  (globalThis as TestGlobals).__modeltrailTestPostgres = server;
  const url = Object.assign(new URL(server.url), { pathname: new URL(DEFAULT_TEST_DATABASE_URL).pathname }).toString();
  await ensureDatabase(url);
  process.env.TEST_DATABASE_URL = url;
  process.stdout.write(
    `\ntests: TEST_DATABASE_URL unset and no PostgreSQL at 127.0.0.1:5432: using an embedded PostgreSQL ${server.version} ` +
      `on 127.0.0.1:${server.port} for this run (data in ${server.dataDir}, removed afterwards)\n`,
  );
}

/** Clusters of earlier runs killed before their teardown: their servers stopped, their files removed. */
async function removeAbandonedClusters(): Promise<void> {
  const entries = await readdir(tmpdir()).catch(() => [] as string[]);
  for (const entry of entries.filter((name) => name.startsWith(EMBEDDED_PREFIX))) {
    const dir = join(tmpdir(), entry);
    const info = await stat(dir).catch(() => undefined);
    if (!info || Date.now() - info.mtimeMs < 60_000) continue; // young: may be another run's, still starting
    if (await releaseAbandonedPostgres(dir).catch(() => false)) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Whether anything accepts a TCP connection at the URL (or at any of a comma-separated list). */
async function anyAnswers(urls: string, defaultPort: number): Promise<boolean> {
  const targets = urls
    .split(',')
    .map((url) => url.trim())
    .filter(Boolean)
    .map((url) => {
      const parsed = new URL(url.includes('://') ? url : `nats://${url}`);
      return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: Number(parsed.port || defaultPort) };
    });
  const answers = await Promise.all(targets.map((target) => portAnswers(target.host, target.port, 1_000)));
  return answers.some(Boolean);
}
