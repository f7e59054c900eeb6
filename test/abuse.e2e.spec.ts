import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { describeWithNats, ensureBuilt, freePort, platformSandbox, type StartedPlatform, startPlatform, uniqueName } from '@modeltrail/testing';
import { type Closed, SubscriptionQueue, webSocketClient } from '../gateway/test/graphql-client';

/**
 * The OWASP GraphQL cheat sheet's attacks on the platform as `npm start` runs it (built, every
 * process on its own; the gateway's real HTTP server, with GRAPHQL_INTROSPECTION=false as in
 * production): every refusal is a JSON GraphQL error with its status and code, and no body
 * carries a stack trace, a file path or HTML.
 */
const root = join(__dirname, '..');
const ID = '3f2b8c1e-0a4d-4e5f-9b6a-7c8d9e0f1a2b';
const LEAK = /stacktrace|\bat [^"\n]*\.(ts|js):\d+|\.ts:\d+|\/work\/|node_modules|dist\/|<html|<!DOCTYPE/i;

interface Gateway {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** A second gateway (`node dist/gateway/src/main.js`) over a started platform's services, with `env`, on a free port, once it says it listens. */
async function startGateway(env: Record<string, string>): Promise<Gateway> {
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(root, 'dist/gateway/src/main.js')], {
    cwd: root,
    env: { ...process.env, ...env, SERVICE_NAME: 'gateway', PORT: String(port), HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (!/gateway: GraphQL on/.test(output)) {
    if (child.exitCode !== null) throw new Error(`the gateway exited (code ${child.exitCode}):\n${output.slice(-3_000)}`);
    if (Date.now() > deadline) throw new Error(`the gateway did not start within 120 s:\n${output.slice(-3_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, any> }> };
}

async function send(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, init);
  const text = await response.text();
  expect(response.headers.get('content-type')).toMatch(/^application\/(graphql-response\+)?json/);
  expect(text).not.toMatch(LEAK);
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

describeWithNats('abuse of the GraphQL API (OWASP GraphQL cheat sheet)', () => {
  const sandbox = platformSandbox('abuse');
  const work = join(tmpdir(), uniqueName('mt-abuse')); // made in beforeAll: a skipped suite leaves nothing behind
  const env: Record<string, string> = {
    ...sandbox.env,
    NODE_ENV: 'development',
    ARTIFACT_ROOT: join(work, 'artifacts'),
    AGENT_DATA_DIR: join(work, 'agent'),
    DATA_ROOTS: work,
    API_TOKENS: 'ada-token=ada@example.com,bob-token=bob@example.com',
    GRAPHQL_INTROSPECTION: 'false',
  };
  let platform: StartedPlatform;
  let gateway: Gateway;
  let graphql: string;
  const auth = { authorization: 'Bearer ada-token' };
  const post = (body: string, headers: Record<string, string> = {}, path = '/graphql') => send(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth, ...headers }, body });
  const query = (text: string, variables: Record<string, unknown> = {}) => post(JSON.stringify({ query: text, variables }));

  beforeAll(async () => {
    mkdirSync(work);
    ensureBuilt(root);
    const port = await freePort();
    platform = startPlatform(root, { ...process.env, ...env, PORT: String(port) });
    // Generous: on a loaded machine ten processes take a while to start.
    await platform.waitFor([/access: serving/, /gateway: GraphQL on/], 180_000);
    gateway = { url: `http://127.0.0.1:${port}`, output: () => platform.output(), stop: async () => undefined };
    graphql = `${gateway.url}/graphql`;
  }, 400_000);
  afterAll(async () => {
    await platform?.stop();
    await sandbox.remove();
    rmSync(work, { recursive: true, force: true });
  });

  describe('requests refused before GraphQL', () => {
    it('malformed JSON: 400 BAD_USER_INPUT, on /graphql and every other path', async () => {
      for (const path of ['/graphql', '/audit-reports/x', '/nope']) {
        const broken = await post('{"query": ', {}, path);
        expect(broken.status).toBe(400);
        expect(broken.body).toEqual({ errors: [{ message: expect.stringMatching(/^the request body is not valid JSON: /), extensions: { code: 'BAD_USER_INPUT' } }] });
      }
    });

    it('a body over the limit: 413 PAYLOAD_TOO_LARGE naming the limit', async () => {
      for (const path of ['/graphql', '/nope']) {
        const huge = await post(JSON.stringify({ query: '{ __typename }', variables: { padding: 'x'.repeat(10 * 1024 * 1024) } }), {}, path);
        expect(huge.status).toBe(413);
        expect(huge.body.errors).toEqual([{ message: expect.stringMatching(/^the request body is larger than the 9mb the gateway accepts/), extensions: { code: 'PAYLOAD_TOO_LARGE' } }]);
      }
    });

    it('a body that is not JSON (a form, text/plain: what a cross-site form sends): 415 UNSUPPORTED_MEDIA_TYPE', async () => {
      for (const type of ['application/x-www-form-urlencoded', 'text/plain', 'multipart/form-data; boundary=x', 'application/graphql']) {
        const refused = await send(graphql, { method: 'POST', headers: { 'content-type': type, ...auth }, body: 'query={__typename}' });
        expect(refused.status).toBe(415);
        expect(refused.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^the request body must be JSON \(content-type: application\/json\)/), extensions: expect.objectContaining({ code: 'UNSUPPORTED_MEDIA_TYPE' }) })]);
      }
      const charset = await post('{}', { 'content-type': 'application/json; charset=koi8-zz' });
      expect([charset.status, charset.body.errors?.[0].extensions?.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
    });

    it('an unknown path: 404 NOT_FOUND as JSON', async () => {
      for (const method of ['GET', 'POST', 'DELETE']) {
        const unknown = await send(`${gateway.url}/nope/../admin?x=1`, { method, headers: { 'content-type': 'application/json' }, ...(method === 'POST' ? { body: '{}' } : {}) });
        expect(unknown.status).toBe(404);
        expect(unknown.body.errors).toEqual([{ message: expect.stringMatching(/^nothing is served at \w+ \/admin/), extensions: { code: 'NOT_FOUND' } }]);
      }
    });

    it('a batch of 11 operations: 400 BATCH_TOO_LARGE naming the limit; up to 10 are served', async () => {
      const allowed = await post(JSON.stringify(Array.from({ length: 10 }, () => ({ query: '{ __typename }' }))));
      expect(allowed.status).toBe(200);
      expect(allowed.body).toEqual(Array.from({ length: 10 }, () => ({ data: { __typename: 'Query' } })));
      const batch = await post(JSON.stringify(Array.from({ length: 11 }, () => ({ query: '{ __typename }' }))));
      expect(batch.status).toBe(400);
      expect(batch.body.errors).toEqual([
        { message: 'this batch has 11 operations; the limit is 10 (GRAPHQL_MAX_BATCH): send the rest in another request', extensions: { code: 'BATCH_TOO_LARGE', details: { operations: 11, maxBatch: 10 } } },
      ]);
    });

    it('a mutation over GET (CSRF): refused without a preflight header, and 405 with one', async () => {
      const mutation = `${graphql}?query=${encodeURIComponent('mutation { __typename }')}`;
      const simple = await send(mutation, { headers: auth });
      expect(simple.status).toBe(400);
      expect(simple.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/Cross-Site Request Forgery/), extensions: { code: 'BAD_REQUEST' } });
      const preflighted = await send(mutation, { headers: { ...auth, 'apollo-require-preflight': 'true' } });
      expect(preflighted.status).toBe(405);
      expect(preflighted.body.errors?.[0]).toMatchObject({ message: 'GET requests only support query operations, not mutation operations', extensions: { code: 'BAD_REQUEST' } });
      const read = await send(`${graphql}?query=${encodeURIComponent('{ __typename }')}`, { headers: { ...auth, 'apollo-require-preflight': 'true' } });
      expect([read.status, read.body.data]).toEqual([200, { __typename: 'Query' }]);
    });
  });

  describe('operations refused before they run', () => {
    it('a query nested deeper than GRAPHQL_MAX_DEPTH: 400 GRAPHQL_VALIDATION_FAILED naming the limit', async () => {
      const deep = `{ datasetVersion(id: "${ID}") { dataset { project { experiments { nodes { project { experiments { nodes { project { experiments { nodes { project { id } } } } } } } } } } } } }`;
      const refused = await query(deep);
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/^this query nests fields 13 levels deep; the limit is 12/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { depth: 13, maxDepth: 12 } } }),
      ]);
    });

    it('field suggestions are hidden when introspection is off', async () => {
      const typo = await query(`{ dataset(id: "${ID}") { nme } }`);
      expect(typo.status).toBe(400);
      expect(typo.body.errors).toEqual([expect.objectContaining({ message: 'Cannot query field "nme" on type "Dataset".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
      const argument = await query('{ datasets(frist: 2) { nodes { id } } }');
      expect(argument.body.errors?.[0].message).toBe('Unknown argument "frist" on field "Query.datasets".');
      expect(`${typo.text}${argument.text}`).not.toMatch(/Did you mean/);
    });

    it('5,000 aliases: 400 GRAPHQL_VALIDATION_FAILED naming the limit, nothing executed', async () => {
      // 5,000 aliases cannot be written in fewer tokens than the token limit: that refuses them first, before parsing.
      const many = await query(`{ ${Array.from({ length: 5_000 }, (_, i) => `a${i}: datasets { totalCount }`).join(' ')} }`);
      expect(many.status).toBe(400);
      expect(many.body.data).toBeUndefined();
      expect(many.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^this document has more than 2000 tokens/), extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })]);
      const aliases = await query(`{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`);
      expect(aliases.status).toBe(400);
      expect(aliases.body.errors).toEqual([
        expect.objectContaining({ message: 'this query uses 31 aliases; the limit is 30 (GRAPHQL_MAX_ALIASES): ask for each field once, or send several requests', extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { aliases: 31, maxAliases: 30 } } }),
      ]);
    });

    it('a document of more tokens than the limit: refused before it is parsed', async () => {
      const refused = await query(`{ ${'__typename '.repeat(50_000)}}`);
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^this document has more than 2000 tokens/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { tokens: 2001, maxTokens: 2000 } } })]);
    });

    it('an expensive list query (first: 200 nested twice): 400 GRAPHQL_VALIDATION_FAILED naming the cost and the limit', async () => {
      const refused = await query('{ datasets(first: 200) { nodes { versions(first: 200) { nodes { id } } } } }');
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([
        expect.objectContaining({ message: expect.stringMatching(/^this query costs 80401; the limit is 50000 \(GRAPHQL_MAX_COST\)/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED', details: { cost: 80401, maxCost: 50000 } } }),
      ]);
      // The same through variables: the cost is decided once they are known.
      const viaVariables = await query('query ($n: Int!) { datasets(first: $n) { nodes { versions(first: $n) { nodes { id } } } } }', { n: 200 });
      expect(viaVariables.body.errors?.[0].extensions).toEqual({ code: 'GRAPHQL_VALIDATION_FAILED', details: { cost: 80401, maxCost: 50000 } });
    });

    it('lineage with a huge depth: refused by its cost before any service is asked', async () => {
      const refused = await query(`{ lineage(id: "${ID}", depth: 1000000) { totalNodes } }`);
      expect(refused.status).toBe(400);
      expect(refused.body.errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^this query costs \d+; the limit is 50000/), extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })]);
    });

    it('introspection is refused when GRAPHQL_INTROSPECTION=false (as by default in production)', async () => {
      const refused = await query('{ __schema { types { name } } }');
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.[0]).toMatchObject({ message: expect.stringMatching(/introspection is not allowed/), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
      expect((await query('{ __type(name: "Query") { name } }')).status).toBe(400);
      expect((await query('{ __typename }')).body.data).toEqual({ __typename: 'Query' });
    });
  });

  describe('graphql-ws', () => {
    it('an unauthenticated socket is closed with 4401 and the reason', async () => {
      let closed: Closed | undefined;
      const client = webSocketClient(graphql, undefined, (c) => (closed = c));
      try {
        const subscription = new SubscriptionQueue(client, `subscription { runMetrics(runId: "${ID}") { key } }`);
        await subscription.failure();
        expect(closed).toEqual({ code: 4401, reason: expect.stringMatching(/^UNAUTHENTICATED: missing bearer token/) });
      } finally {
        await client.dispose();
      }
    });

    it('a socket that sends no connection_init is closed with 4408 after graphql-ws\'s 3 s', async () => {
      const started = Date.now();
      const socket = new WebSocket(graphql.replace(/^http/, 'ws'), 'graphql-transport-ws');
      const closed = await new Promise<{ code: number; reason: string }>((resolve, reject) => {
        socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        socket.once('error', reject);
      });
      expect(closed).toEqual({ code: 4408, reason: 'Connection initialisation timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_500);
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it('an upgrade anywhere but /graphql: 404 as JSON, and the socket closed', async () => {
      const socket = new WebSocket(`${gateway.url.replace(/^http/, 'ws')}/admin`, 'graphql-transport-ws');
      const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        socket.once('unexpected-response', (_request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        socket.once('open', () => reject(new Error('the upgrade was accepted')));
        socket.once('error', () => undefined);
      });
      expect(refused.status).toBe(404);
      expect(JSON.parse(refused.body)).toEqual({ errors: [{ message: 'nothing is served at /admin: WebSocket (graphql-ws) is served at /graphql', extensions: { code: 'NOT_FOUND' } }] });
    });

    it('a subscription over the alias limit is refused like over HTTP', async () => {
      const client = webSocketClient(graphql, { authorization: 'Bearer ada-token' });
      try {
        const aliases = Array.from({ length: 31 }, (_, i) => `k${i}: key`).join(' ');
        const refused = new SubscriptionQueue(client, `subscription { runMetrics(runId: "${ID}") { ${aliases} } }`);
        expect(await refused.failure()).toEqual([expect.objectContaining({ message: expect.stringMatching(/uses 31 aliases; the limit is 30/), extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) })]);
      } finally {
        await client.dispose();
      }
    });
  });

  describe('rate limit per identity', () => {
    it('over RATE_LIMIT_BURST: 429 RATE_LIMITED with Retry-After, for that identity only, and for failed authentications per address',
      async () => {
        const limited = await startGateway({ ...env, RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '3' });
        try {
          const ask = (token: string) => send(`${limited.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify({ query: '{ __typename }' }) });
          for (let i = 0; i < 3; i++) expect((await ask('ada-token')).status).toBe(200);
          const refused = await ask('ada-token');
          expect(refused.status).toBe(429);
          const retryAfter = Number(refused.headers.get('retry-after'));
          expect(retryAfter).toBeGreaterThanOrEqual(1);
          expect(retryAfter).toBeLessThanOrEqual(3);
          expect(refused.body.errors).toEqual([{ message: expect.stringMatching(/^too many requests: try again in \d+ s/), extensions: { code: 'RATE_LIMITED', details: { retryAfterSeconds: retryAfter } } }]);
          expect((await ask('bob-token')).status).toBe(200);
          // Guessing tokens is limited too: failed attempts count against the client's address.
          const guesses = [];
          for (let i = 0; i < 4; i++) guesses.push((await ask(`guess-${i}`)).status);
          expect(guesses).toEqual([401, 401, 401, 429]);
        } finally {
          await limited.stop();
        }
      },
      180_000,
    );
  });
});
