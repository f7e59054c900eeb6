import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { ensureDatabase } from './database';
import { chooseDatabase, portAnswers, startEmbeddedPostgres } from './embedded';

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/modeltrail_test';
const isRoot = process.getuid?.() === 0;

async function query<T extends object>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** A port nothing listens on: one the embedded server just released would do, but any closed one is fine. */
async function closedPort(): Promise<number> {
  for (let port = 1; port < 1024; port++) if (!(await portAnswers('127.0.0.1', port, 200))) return port;
  throw new Error('no closed port below 1024');
}

describe('embedded PostgreSQL', () => {
  let root: string;
  let dataDir: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'modeltrail-embedded-spec-'));
    await chmod(root, 0o755); // as root, the server's user must be able to enter it
    dataDir = join(root, 'postgres');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('creates a cluster, keeps its data across a restart, and stops idempotently', async () => {
    const first = await startEmbeddedPostgres({ dataDir });
    expect(first.url).toMatch(/^postgres:\/\/postgres:[0-9a-f]+@127\.0\.0\.1:\d+\/postgres$/);
    expect(first.version).toMatch(/^\d+\.\d+/);
    expect(((await stat(join(dataDir, 'modeltrail-password'))).mode & 0o777).toString(8)).toBe('600');
    await query(first.url, 'CREATE TABLE kept (id int PRIMARY KEY, label text); INSERT INTO kept VALUES (1, $$survives$$)');
    const settings = await query<{ name: string; setting: string }>(first.url, `SELECT name, setting FROM pg_settings WHERE name IN ('listen_addresses', 'max_connections')`);
    expect(Object.fromEntries(settings.map((s) => [s.name, s.setting]))).toEqual({ listen_addresses: '127.0.0.1', max_connections: expect.stringMatching(/^\d+$/) });
    expect(Number(settings.find((s) => s.name === 'max_connections')!.setting)).toBeGreaterThanOrEqual(200);
    await first.stop();
    await first.stop();
    expect(await portAnswers('127.0.0.1', first.port, 500)).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir });
    try {
      expect(await query(second.url, 'SELECT id, label FROM kept')).toEqual([{ id: 1, label: 'survives' }]);
    } finally {
      await second.stop();
    }
  });

  it('chooses DATABASE_URL when set, the default URL when a server answers there, else the embedded server', async () => {
    const given = await chooseDatabase({ DATABASE_URL: 'postgres://somebody@db.invalid:5432/x' }, { dataDir, defaultUrl: TEST_DATABASE_URL });
    expect(given).toMatchObject({ source: 'DATABASE_URL', url: 'postgres://somebody@db.invalid:5432/x', reason: 'DATABASE_URL is set' });

    const answering = await chooseDatabase({}, { dataDir, defaultUrl: TEST_DATABASE_URL });
    expect(answering).toMatchObject({ source: 'default', url: TEST_DATABASE_URL });
    expect(answering.reason).toMatch(/^PostgreSQL answers at postgres:\/\//);
    expect(answering.reason).not.toMatch(/:[0-9a-f]{16,}@/); // a password would be redacted

    const port = await closedPort();
    const embedded = await chooseDatabase({ DATABASE_URL: '' }, { dataDir, defaultUrl: `postgres://postgres@127.0.0.1:${port}/modeltrail_spec` });
    try {
      expect(embedded.source).toBe('embedded');
      expect(embedded.dataDir).toBe(dataDir);
      expect(embedded.reason).toMatch(
        new RegExp(`^no PostgreSQL at 127\\.0\\.0\\.1:${port} and DATABASE_URL unset: started an embedded PostgreSQL \\d+\\.\\d+ on 127\\.0\\.0\\.1:\\d+, data in ${dataDir}$`),
      );
      expect(new URL(embedded.url).pathname).toBe('/modeltrail_spec');
      await ensureDatabase(embedded.url);
      expect(await query(embedded.url, 'SELECT current_database() AS name')).toEqual([{ name: 'modeltrail_spec' }]);
    } finally {
      await embedded.stop();
    }
  });

  (isRoot ? it : it.skip)(`as root, refuses before initdb a data directory the server user cannot reach, naming it and the fix${isRoot ? '' : ' (skipped: runs only as root)'}`, async () => {
    const closed = await mkdtemp(join(tmpdir(), 'modeltrail-embedded-closed-')); // 0700, owned by root
    try {
      const start = startEmbeddedPostgres({ dataDir: join(closed, 'inner', 'postgres') });
      await expect(start).rejects.toThrow(new RegExp(`cannot enter ${closed} \\(mode 0700.*chmod o\\+x ${closed}`));
      await expect(stat(join(closed, 'inner', 'postgres', 'PG_VERSION'))).rejects.toThrow(/ENOENT/);
    } finally {
      await rm(closed, { recursive: true, force: true });
    }
  });
});
