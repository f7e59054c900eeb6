import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureBuilt, freePort, logMessages, TEST_DATABASE_URL } from '@modeltrail/testing';

/**
 * `npm start` on a machine with nothing but Node.js: run for real in a network namespace where
 * no PostgreSQL and no NATS answer (`unshare -n`, which needs root or user namespaces; skipped,
 * saying so, where it is not allowed). The start script must choose the embedded PostgreSQL and
 * the in-process bus, say so, serve GraphQL, stop cleanly, and find its data again after a
 * restart. Plus the refusals that name the variable when a configured server does not answer.
 */
const root = join(__dirname, '..');
const start = join(root, 'dist/infra/scripts/start.js');

function canUnshare(): string | null {
  const probe = spawnSync('unshare', ['-n', 'true'], { encoding: 'utf8' });
  if (probe.error) return `unshare is not available (${probe.error.message})`;
  return probe.status === 0 ? null : `unshare -n is not permitted here (${(probe.stderr || '').trim() || `exit ${probe.status}`})`;
}

const unshareProblem = canUnshare();
const describeIsolated = unshareProblem ? describe.skip : describe;

describeIsolated(`npm start with nothing listening: embedded PostgreSQL and one process${unshareProblem ? ` (skipped: ${unshareProblem})` : ''}`, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mt-zero-'));
  // The embedded server runs as the `postgres` user when started as root: it must reach its data.
  chmodSync(dataDir, 0o755);

  beforeAll(() => ensureBuilt(root));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  /**
   * Inside a fresh network namespace: starts the platform, waits for its API, runs `query` with
   * the development token, stops it with SIGTERM and prints everything it said, then its exit code.
   */
  function runIsolated(query: string): { output: string; answer: string; exitCode: string } {
    const script = `
      set -u
      ip link set lo up
      node ${JSON.stringify(start)} > "$OUT" 2>&1 &
      pid=$!
      for _ in $(seq 1 900); do grep -q 'GraphQL API at' "$OUT" && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
      node -e '
        fetch(process.env.URL, { method: "POST", headers: { "content-type": "application/json", authorization: "Bearer dev-token" }, body: JSON.stringify({ query: process.env.QUERY }) })
          .then((r) => r.text()).then((t) => console.log("ANSWER " + t), (e) => console.log("ANSWER failed: " + e.message));
      '
      kill -TERM $pid 2>/dev/null
      wait $pid
      echo "EXIT $?"
      cat "$OUT"
    `;
    return withPort((port) => {
      const out = execFileSync('unshare', ['-n', 'bash', '-c', script], {
        cwd: dataDir,
        env: { ...cleanEnv(), PORT: String(port), MODELTRAIL_DATA_DIR: dataDir, OUT: join(dataDir, `start-${port}.log`), URL: `http://127.0.0.1:${port}/graphql`, QUERY: query },
        encoding: 'utf8',
        timeout: 150_000,
      });
      return { output: out, answer: /^ANSWER (.*)$/m.exec(out)?.[1] ?? '', exitCode: /^EXIT (\d+)$/m.exec(out)?.[1] ?? '' };
    });
  }

  it('starts an embedded PostgreSQL and every service in one process, says so, and serves GraphQL', () => {
    const run = runIsolated('mutation { registerDataset(input: { name: "zero-install", description: "made with nothing installed" }) { id name } }');
    expect(run.output).toMatch(/ModelTrail: no NATS at nats:\/\/127\.0\.0\.1:4222 and NATS_URL unset: running in one process on the in-process bus\n/);
    expect(run.output).toMatch(/ModelTrail: PostgreSQL: no PostgreSQL at 127\.0\.0\.1:5432 and DATABASE_URL unset: started an embedded PostgreSQL 15\.\d+ on 127\.0\.0\.1:\d+, data in .*\/postgres\n/);
    expect(run.output).toMatch(/ModelTrail: GraphQL API at http:\/\/127\.0\.0\.1:\d+\/graphql; ready in [\d.]+ s, this process uses \d+ MiB\n/);
    expect(JSON.parse(run.answer)).toEqual({ data: { registerDataset: { id: expect.any(String), name: 'zero-install' } } });
    expect(logMessages(run.output)).toContainEqual(expect.stringMatching(/^agent [0-9a-f-]+: stopped$/));
    expect(run.exitCode).toBe('0');
  }, 180_000);

  it('finds its data again after a restart', () => {
    const run = runIsolated('{ datasets(first: 10) { nodes { name description } } }');
    expect(run.output).toMatch(/started an embedded PostgreSQL 15\.\d+/);
    expect(JSON.parse(run.answer).data.datasets.nodes).toEqual([{ name: 'zero-install', description: 'made with nothing installed' }]);
    expect(run.exitCode).toBe('0');
  }, 180_000);
});

describe('npm start refuses, naming the variable, when a configured server does not answer', () => {
  beforeAll(() => ensureBuilt(root));

  function startFails(env: Record<string, string>): { status: number | null; stderr: string } {
    const result = spawnSync(process.execPath, [start], { env: { ...cleanEnv(), ...env }, encoding: 'utf8', timeout: 60_000 });
    return { status: result.status, stderr: result.stderr };
  }

  it('NATS_URL set, nothing there', async () => {
    const port = await freePort();
    const { status, stderr } = startFails({ NATS_URL: `nats://127.0.0.1:${port}` });
    expect(status).toBe(1);
    expect(stderr).toBe(`ModelTrail failed to start: NATS_URL is set to nats://127.0.0.1:${port}, but nothing answers there: start NATS (with JetStream), or unset NATS_URL to run everything in one process\n`);
  });

  it('DATABASE_URL set, nothing there', async () => {
    const port = await freePort();
    const { status, stderr } = startFails({ MODELTRAIL_MODE: 'one-process', DATABASE_URL: `postgres://postgres:secret@127.0.0.1:${port}/modeltrail` });
    expect(status).toBe(1);
    expect(stderr).toMatch(new RegExp(`^ModelTrail failed to start: DATABASE_URL \\(postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${port}/modeltrail\\) cannot be used: .*ECONNREFUSED`));
    expect(stderr).not.toMatch(/secret/);
  });

  it('one process in production', () => {
    const { status, stderr } = startFails({ NODE_ENV: 'production', MODELTRAIL_MODE: 'one-process', DATABASE_URL: TEST_DATABASE_URL, NATS_URL: 'nats://127.0.0.1:4222', ACTOR_SIGNING_KEY: 'k'.repeat(48) });
    expect(status).toBe(1);
    expect(stderr).toMatch(/MODELTRAIL_MODE=one-process is for development and evaluation/);
  });

  it('an unknown mode', () => {
    const { status, stderr } = startFails({ MODELTRAIL_MODE: 'cluster' });
    expect(status).toBe(1);
    expect(stderr).toMatch(/MODELTRAIL_MODE/);
  });
});

/** The test's environment less what would choose for the start script (database, NATS, mode, port). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'development' };
  for (const name of ['DATABASE_URL', 'NATS_URL', 'MODELTRAIL_MODE', 'MODELTRAIL_DATA_DIR', 'PORT', 'ARTIFACT_ROOT', 'AGENT_DATA_DIR', 'API_TOKENS']) delete env[name];
  return env;
}

let nextPort = 0;
/** A port for the isolated platform: any will do inside the namespace, but keep them distinct per run. */
function withPort<T>(use: (port: number) => T): T {
  nextPort = nextPort || 20_000 + (process.pid % 20_000);
  return use(nextPort++);
}
