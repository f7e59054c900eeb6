import 'reflect-metadata';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { loadConfig } from '@modeltrail/config';
import { accessRpc, accessStreamOf, ConflictError, NotFoundError, PLATFORM_SCOPE, UnauthenticatedError, ValidationError } from '@modeltrail/contracts';
import { CommandHandler } from '@modeltrail/decider';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { connectBus, type ManagedBus, NatsRpcTransport, type RpcClient } from '@modeltrail/messaging';
import { createPool, ident } from '@modeltrail/postgres';
import { PROJECTION_RUNNERS, type ProjectionRunner } from '@modeltrail/readmodel';
import { describeOnTestBus, onTestBus, signedRpcClient, TEST_BUS_URL, TEST_DATABASE_URL, uniqueName } from '@modeltrail/testing';
import { AccessModule } from './access.module';
import { apiKeyDecider, apiKeyStream } from './api-key/api-key.decider';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The access service as it runs: a Nest app on the NATS transport, over the real PostgreSQL, on the test bus (NATS, else the in-process bus). */
describeOnTestBus('access service over the message bus', () => {
  const schema = uniqueName('accsvc');
  const config = onTestBus(
    loadConfig({
      SERVICE_NAME: 'access',
      DATABASE_URL: TEST_DATABASE_URL,
      NATS_NAMESPACE: schema,
      EVENTSTORE_SCHEMA: schema,
      READ_MODEL_SCHEMA: schema,
    }),
  );
  // The service's clock: moved by hand where expiry and last use depend on it.
  let nowMs = Date.UTC(2026, 10, 22, 12, 0, 10, 0);
  const clock = { now: () => new Date(nowMs).toISOString() };
  let app: INestMicroservice;
  let caller: ManagedBus;
  let rpc: RpcClient;
  const ada = { actor: 'ada@example.com', correlationId: 'corr-access' };
  const bob = { actor: 'bob@example.com', correlationId: 'corr-access' };
  const pool = createPool(TEST_DATABASE_URL, { max: 2 });
  const store = new PostgresEventStore({ pool, connectionString: TEST_DATABASE_URL, schema });
  const s = ident(schema);

  const runners = () => app.get<ProjectionRunner[]>(PROJECTION_RUNNERS);
  const caughtUp = async () => {
    const head = await store.headPosition();
    await Promise.all(runners().map((r) => r.waitFor(head)));
  };

  async function failure(promise: Promise<unknown>): Promise<Error> {
    const outcome = await promise.then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    if (!outcome) throw new Error('expected the request to fail');
    return outcome;
  }

  /** A request that must fail with `type`, appending no event. */
  async function refusedWithoutEvents(promise: Promise<unknown>, type: new (...args: never[]) => Error, message: RegExp | string): Promise<Error> {
    const head = await store.headPosition();
    const error = await failure(promise);
    expect(error).toBeInstanceOf(type);
    expect(error.message).toMatch(message);
    expect(await store.headPosition()).toBe(head);
    return error;
  }

  function newKey(fields: Partial<{ principal: string; kind: 'PERSONAL' | 'SERVICE_ACCOUNT' | 'AGENT'; agentId: string | null; expiresAt: string | null; name: string }> = {}) {
    const secret = randomBytes(32).toString('base64url');
    return { keyId: randomUUID(), secret, request: { name: 'laptop', principal: 'ada@example.com', ...fields, secretHash: sha256(secret) } };
  }

  beforeAll(async () => {
    app = await NestFactory.createMicroservice(AccessModule.forRoot(config, clock), {
      strategy: new NatsRpcTransport({ nats: { url: config.natsUrl, name: 'access-test' }, namespace: schema }),
      logger: false,
    });
    await app.listen();
    caller = await connectBus({ url: TEST_BUS_URL, name: 'access-test-caller' });
    rpc = signedRpcClient(caller.nc, { timeoutMs: 15_000, namespace: schema });
  });
  afterAll(async () => {
    await app?.close();
    await caller?.close();
    await pool.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await pool.end();
  });

  describe('API keys', () => {
    it('creates a key that authenticates at once, storing only the hash of its secret', async () => {
      const { keyId, secret, request } = newKey({ expiresAt: '2027-01-01T01:00:00+01:00' });
      const view = await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: ada });
      expect(view).toEqual({
        keyId,
        name: 'laptop',
        prefix: `mtk_${keyId.replace(/-/g, '').slice(0, 8)}`,
        kind: 'PERSONAL',
        principal: 'ada@example.com',
        agentId: null,
        createdBy: 'ada@example.com',
        createdAt: clock.now(),
        expiresAt: '2027-01-01T00:00:00.000Z',
        revokedAt: null,
        revokedBy: null,
        lastUsedAt: null,
        status: 'ACTIVE',
        revision: 0,
      });
      const events = await store.readStream(apiKeyStream(keyId));
      expect(events.map((e) => e.type)).toEqual(['access.ApiKeyCreated.v1']);
      expect(events[0].metadata.actor).toBe('ada@example.com');
      expect(JSON.stringify(events)).not.toContain(secret);

      const auth = await rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash: sha256(secret) }, { headers: ada });
      expect(auth.key).toMatchObject({ keyId, status: 'ACTIVE', principal: 'ada@example.com' });
      expect(auth.access).toEqual({ principal: 'ada@example.com', platformAdmin: false, projects: [] });
    });

    it('authenticates a key the read model does not show yet, from its stream', async () => {
      await Promise.all(runners().map((r) => r.stop()));
      const { keyId, secret, request } = newKey({ kind: 'SERVICE_ACCOUNT', principal: 'service:ci' });
      try {
        // Created as the service would (its reply would wait for the stopped projection).
        await new CommandHandler(store, apiKeyDecider).handle(
          apiKeyStream(keyId),
          { type: 'CreateApiKey', keyId, name: 'ci', prefix: 'mtk_x', secretHash: request.secretHash, kind: 'SERVICE_ACCOUNT', principal: 'service:ci', agentId: null, expiresAt: null, at: clock.now() },
          ada,
        );
        expect((await pool.query(`SELECT 1 FROM ${s}.api_keys WHERE key_id = $1`, [keyId])).rowCount).toBe(0);
        const auth = await rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash: sha256(secret) }, { headers: ada });
        expect(auth.key).toMatchObject({ keyId, principal: 'service:ci', kind: 'SERVICE_ACCOUNT', status: 'ACTIVE', createdBy: 'ada@example.com' });
        expect(auth.access).toEqual({ principal: 'service:ci', platformAdmin: false, projects: [] });
      } finally {
        for (const runner of runners()) await runner.start();
      }
      await caughtUp();
      const [listed] = (await rpc.request(accessRpc.getApiKeys, { keyIds: [keyId] }, { headers: ada })).items;
      expect(listed).toMatchObject({ keyId, name: 'ci' });
    });

    it('refuses an unknown key, a wrong secret, a revoked key and an expired key alike: UNAUTHENTICATED "invalid API key"', async () => {
      const { keyId, secret, request } = newKey({ expiresAt: new Date(nowMs + 3_600_000).toISOString() });
      await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: ada });
      const refused = async (id: string, hash: string) => {
        const error = await failure(rpc.request(accessRpc.authenticateApiKey, { keyId: id, secretHash: hash }, { headers: ada }));
        expect(error).toBeInstanceOf(UnauthenticatedError);
        expect(error.message).toBe('invalid API key');
      };
      await refused(randomUUID(), sha256(secret));
      await refused(keyId, sha256(`${secret}x`));

      // Expired: the same key, an hour later.
      const saved = nowMs;
      nowMs += 3_600_000;
      try {
        await refused(keyId, sha256(secret));
        const [expired] = (await rpc.request(accessRpc.getApiKeys, { keyIds: [keyId] }, { headers: ada })).items;
        expect(expired.status).toBe('EXPIRED');
      } finally {
        nowMs = saved;
      }
      await rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash: sha256(secret) }, { headers: ada });

      const revoked = await rpc.request(accessRpc.revokeApiKey, { keyId }, { headers: bob });
      expect(revoked).toMatchObject({ keyId, status: 'REVOKED', revokedBy: 'bob@example.com', revokedAt: clock.now(), revision: 1 });
      await refused(keyId, sha256(secret));
    });

    it('records the last use of a key to the minute, at most once a minute', async () => {
      const { keyId, secret, request } = newKey();
      await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: ada });
      const lastUsed = async () => (await pool.query(`SELECT last_used_at FROM ${s}.api_key_last_used WHERE key_id = $1`, [keyId])).rows[0]?.last_used_at?.toISOString() ?? null;
      const saved = nowMs;
      try {
        nowMs = Date.UTC(2026, 10, 22, 12, 5, 30, 0);
        const first = await rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash: sha256(secret) }, { headers: ada });
        expect(first.key.lastUsedAt).toBe('2026-11-22T12:05:00.000Z');
        expect(await lastUsed()).toBe('2026-11-22T12:05:00.000Z');

        // Within the same minute: nothing written (a row changed would have a new xmin).
        const xmin = (await pool.query(`SELECT xmin::text AS x FROM ${s}.api_key_last_used WHERE key_id = $1`, [keyId])).rows[0].x;
        nowMs = Date.UTC(2026, 10, 22, 12, 5, 59, 0);
        await rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash: sha256(secret) }, { headers: ada });
        expect((await pool.query(`SELECT xmin::text AS x FROM ${s}.api_key_last_used WHERE key_id = $1`, [keyId])).rows[0].x).toBe(xmin);

        nowMs = Date.UTC(2026, 10, 22, 12, 7, 1, 0);
        const later = await rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash: sha256(secret) }, { headers: ada });
        expect(later.key.lastUsedAt).toBe('2026-11-22T12:07:00.000Z');
        const [listed] = (await rpc.request(accessRpc.getApiKeys, { keyIds: [keyId] }, { headers: ada })).items;
        expect(listed.lastUsedAt).toBe('2026-11-22T12:07:00.000Z');
      } finally {
        nowMs = saved;
      }
    });

    it('creates the same key again as a no-op, and refuses the same id with other fields or an expiry in the past, appending nothing', async () => {
      const { keyId, request } = newKey();
      const first = await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: ada });
      const head = await store.headPosition();
      const again = await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: ada });
      expect(again).toEqual(first);
      expect(await store.headPosition()).toBe(head);

      await refusedWithoutEvents(rpc.request(accessRpc.createApiKey, { keyId, ...request, name: 'other' }, { headers: ada }), ConflictError, /already exists with another name/);
      const error = await refusedWithoutEvents(
        rpc.request(accessRpc.createApiKey, { ...newKey().request, keyId: randomUUID(), expiresAt: new Date(nowMs - 1000).toISOString() }, { headers: ada }),
        ValidationError,
        /expiresAt must be in the future/,
      );
      expect((error as ValidationError).details).toEqual({ field: 'expiresAt' });
      await refusedWithoutEvents(rpc.request(accessRpc.revokeApiKey, { keyId: randomUUID() }, { headers: ada }), NotFoundError, /does not exist/);

      // Revoking twice appends once.
      await rpc.request(accessRpc.revokeApiKey, { keyId }, { headers: ada });
      const afterRevoke = await store.headPosition();
      const twice = await rpc.request(accessRpc.revokeApiKey, { keyId }, { headers: ada });
      expect(twice.status).toBe('REVOKED');
      expect(await store.headPosition()).toBe(afterRevoke);
    });

    it('lists keys newest first, by principal or creator, revoked ones only when asked', async () => {
      const owner = `svc-${randomUUID().slice(0, 8)}`;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        nowMs += 1000;
        const { keyId, request } = newKey({ kind: 'SERVICE_ACCOUNT', principal: `service:${owner}`, name: `k${i}` });
        await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: bob });
        ids.push(keyId);
      }
      await rpc.request(accessRpc.revokeApiKey, { keyId: ids[1] }, { headers: bob });
      const active = await rpc.request(accessRpc.listApiKeys, { principal: `service:${owner}` }, { headers: bob });
      expect(active.items.map((k) => k.keyId)).toEqual([ids[2], ids[0]]);
      const all = await rpc.request(accessRpc.listApiKeys, { principal: `service:${owner}`, includeRevoked: true, first: 2 }, { headers: bob });
      expect(all.items.map((k) => k.keyId)).toEqual([ids[2], ids[1]]);
      expect(all.pageInfo.hasNextPage).toBe(true);
      const rest = await rpc.request(accessRpc.listApiKeys, { principal: `service:${owner}`, includeRevoked: true, first: 2, after: all.pageInfo.endCursor! }, { headers: bob });
      expect(rest.items.map((k) => k.keyId)).toEqual([ids[0]]);
      expect(rest.pageInfo.hasNextPage).toBe(false);
      const byCreator = await rpc.request(accessRpc.listApiKeys, { createdBy: 'bob@example.com', includeRevoked: true }, { headers: bob });
      expect(byCreator.items.map((k) => k.keyId)).toEqual(expect.arrayContaining(ids));
    });
  });

  describe('roles', () => {
    it('grants, changes and revokes roles; PrincipalAccess and AuthenticateApiKey see them at once; asOf listings see the earlier role', async () => {
      const project = randomUUID();
      const carol = `carol-${randomUUID().slice(0, 8)}@example.com`;
      const adminGrant = await rpc.request(accessRpc.grantRole, { scope: project, principal: 'ada@example.com', role: 'ADMIN' }, { headers: ada });
      expect(adminGrant).toMatchObject({ scope: project, principal: 'ada@example.com', role: 'ADMIN', grantedBy: 'ada@example.com', revokedAt: null, revokedBy: null, revokedAtPosition: null });

      nowMs += 1000;
      const viewer = await rpc.request(accessRpc.grantRole, { scope: project, principal: carol, role: 'VIEWER' }, { headers: ada });
      expect(viewer).toMatchObject({ role: 'VIEWER', grantedBy: 'ada@example.com', grantedAt: clock.now() });
      expect(await rpc.request(accessRpc.principalAccess, { principal: carol }, { headers: ada })).toEqual({ principal: carol, platformAdmin: false, projects: [{ projectId: project, role: 'VIEWER' }] });
      const timeAsViewer = clock.now();

      // The same role again: nothing appended, the existing grant is the answer.
      const head = await store.headPosition();
      expect(await rpc.request(accessRpc.grantRole, { scope: project, principal: carol, role: 'VIEWER' }, { headers: bob })).toEqual(viewer);
      expect(await store.headPosition()).toBe(head);

      nowMs += 1000;
      const approver = await rpc.request(accessRpc.grantRole, { scope: project, principal: carol, role: 'APPROVER' }, { headers: bob });
      expect(approver).toMatchObject({ role: 'APPROVER', grantedBy: 'bob@example.com', revokedAt: null });
      const changed = (await store.readStream(accessStreamOf(project))).at(-1)!;
      expect(changed.data).toMatchObject({ role: 'APPROVER', previousRole: 'VIEWER' });
      expect(await rpc.request(accessRpc.principalAccess, { principal: carol }, { headers: ada })).toMatchObject({ projects: [{ projectId: project, role: 'APPROVER' }] });

      // A key of carol's carries her access.
      const { keyId, secret, request } = newKey({ principal: carol });
      await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: ada });
      expect((await rpc.request(accessRpc.authenticateApiKey, { keyId, secretHash: sha256(secret) }, { headers: ada })).access.projects).toEqual([{ projectId: project, role: 'APPROVER' }]);

      // Now: ada ADMIN, carol APPROVER; as of the viewer grant (by time or by position): carol VIEWER, ended by bob's change.
      const now = await rpc.request(accessRpc.listRoleGrants, { scope: project }, { headers: ada });
      expect(now.items.map((g) => [g.principal, g.role])).toEqual([
        ['ada@example.com', 'ADMIN'],
        [carol, 'APPROVER'],
      ]);
      for (const asOf of [{ asOfTime: timeAsViewer }, { asOfPosition: viewer.grantedAtPosition }, { asOfTime: timeAsViewer, asOfPosition: approver.grantedAtPosition }]) {
        const then = await rpc.request(accessRpc.listRoleGrants, { scope: project, ...asOf }, { headers: ada });
        expect(then.items.map((g) => [g.principal, g.role])).toEqual([
          ['ada@example.com', 'ADMIN'],
          [carol, 'VIEWER'],
        ]);
        expect(then.items[1]).toMatchObject({ grantedBy: 'ada@example.com', revokedBy: 'bob@example.com', revokedAtPosition: approver.grantedAtPosition });
      }
      const before = await rpc.request(accessRpc.listRoleGrants, { scope: project, asOfPosition: String(Number(adminGrant.grantedAtPosition) - 1) }, { headers: ada });
      expect(before.items).toEqual([]);

      // Revoked: gone from PrincipalAccess and from the listing now, still in the listing as of before.
      nowMs += 1000;
      const ended = await rpc.request(accessRpc.revokeRole, { scope: project, principal: carol }, { headers: ada });
      expect(ended).toMatchObject({ scope: project, principal: carol, role: 'APPROVER', grantedBy: 'bob@example.com', revokedBy: 'ada@example.com', revokedAt: clock.now() });
      expect(await rpc.request(accessRpc.principalAccess, { principal: carol }, { headers: ada })).toEqual({ principal: carol, platformAdmin: false, projects: [] });
      expect((await rpc.request(accessRpc.listRoleGrants, { principal: carol }, { headers: ada })).items).toEqual([]);
      expect((await rpc.request(accessRpc.listRoleGrants, { principal: carol, asOfPosition: approver.grantedAtPosition }, { headers: ada })).items.map((g) => g.role)).toEqual(['APPROVER']);
    });

    it('refuses to revoke or downgrade the last ADMIN of a project, a revocation without a role and a platform role other than ADMIN, appending nothing', async () => {
      const project = randomUUID();
      await rpc.request(accessRpc.grantRole, { scope: project, principal: 'ada@example.com', role: 'ADMIN' }, { headers: ada });
      await refusedWithoutEvents(rpc.request(accessRpc.revokeRole, { scope: project, principal: 'ada@example.com' }, { headers: ada }), ConflictError, /last ADMIN of project/);
      await refusedWithoutEvents(rpc.request(accessRpc.grantRole, { scope: project, principal: 'ada@example.com', role: 'CONTRIBUTOR' }, { headers: ada }), ConflictError, /last ADMIN of project/);
      await refusedWithoutEvents(rpc.request(accessRpc.revokeRole, { scope: project, principal: 'nobody@example.com' }, { headers: ada }), NotFoundError, /holds no role/);
      await refusedWithoutEvents(rpc.request(accessRpc.grantRole, { scope: PLATFORM_SCOPE, principal: 'ada@example.com', role: 'VIEWER' }, { headers: ada }), ValidationError, /only ADMIN/);

      // With a second admin, the first may go.
      await rpc.request(accessRpc.grantRole, { scope: project, principal: 'bob@example.com', role: 'ADMIN' }, { headers: ada });
      const demoted = await rpc.request(accessRpc.grantRole, { scope: project, principal: 'ada@example.com', role: 'VIEWER' }, { headers: bob });
      expect(demoted).toMatchObject({ role: 'VIEWER', grantedBy: 'bob@example.com' });
    });

    it('answers a retried command (same Mt-Command-Id) as the first time, appending nothing', async () => {
      const project = randomUUID();
      await rpc.request(accessRpc.grantRole, { scope: project, principal: 'ada@example.com', role: 'ADMIN' }, { headers: ada });
      const grantHeaders = { ...ada, commandId: randomUUID() };
      const granted = await rpc.request(accessRpc.grantRole, { scope: project, principal: 'dan@example.com', role: 'CONTRIBUTOR' }, { headers: grantHeaders });
      const events = async () => (await store.readStream(accessStreamOf(project))).length;
      expect(await rpc.request(accessRpc.grantRole, { scope: project, principal: 'dan@example.com', role: 'CONTRIBUTOR' }, { headers: grantHeaders })).toEqual(granted);
      expect(await events()).toBe(2);
      const revokeHeaders = { ...ada, commandId: randomUUID() };
      const ended = await rpc.request(accessRpc.revokeRole, { scope: project, principal: 'dan@example.com' }, { headers: revokeHeaders });
      expect(await events()).toBe(3);
      expect(await rpc.request(accessRpc.revokeRole, { scope: project, principal: 'dan@example.com' }, { headers: revokeHeaders })).toEqual(ended);
      expect(await events()).toBe(3);

      const { keyId, request } = newKey();
      const keyHeaders = { ...ada, commandId: randomUUID() };
      const key = await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: keyHeaders });
      expect(await rpc.request(accessRpc.createApiKey, { keyId, ...request }, { headers: keyHeaders })).toEqual(key);
      expect((await store.readStream(apiKeyStream(keyId))).length).toBe(1);
    });

    it('makes and unmakes platform admins', async () => {
      const root = `root-${randomUUID().slice(0, 8)}@example.com`;
      const project = randomUUID();
      await rpc.request(accessRpc.grantRole, { scope: PLATFORM_SCOPE, principal: root, role: 'ADMIN' }, { headers: ada });
      await rpc.request(accessRpc.grantRole, { scope: project, principal: root, role: 'CONTRIBUTOR' }, { headers: ada });
      expect(await rpc.request(accessRpc.principalAccess, { principal: root }, { headers: ada })).toEqual({ principal: root, platformAdmin: true, projects: [{ projectId: project, role: 'CONTRIBUTOR' }] });
      await rpc.request(accessRpc.revokeRole, { scope: PLATFORM_SCOPE, principal: root }, { headers: ada });
      expect((await rpc.request(accessRpc.principalAccess, { principal: root }, { headers: ada })).platformAdmin).toBe(false);
      expect(await rpc.request(accessRpc.principalAccess, { principal: 'nobody-at-all@example.com' }, { headers: ada })).toEqual({ principal: 'nobody-at-all@example.com', platformAdmin: false, projects: [] });
    });

    it('pages grants by scope, then principal', async () => {
      const project = randomUUID();
      const principals = ['a', 'b', 'c', 'd', 'e'].map((p) => `${p}-${project.slice(0, 4)}@example.com`);
      await rpc.request(accessRpc.grantRole, { scope: project, principal: principals[0], role: 'ADMIN' }, { headers: ada });
      for (const principal of principals.slice(1)) await rpc.request(accessRpc.grantRole, { scope: project, principal, role: 'VIEWER' }, { headers: ada });
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await rpc.request(accessRpc.listRoleGrants, { scope: project, first: 2, ...(after ? { after } : {}) }, { headers: ada });
        seen.push(...page.items.map((g) => g.principal));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor!;
      }
      expect(seen).toEqual(principals);
      const error = await failure(rpc.request(accessRpc.listRoleGrants, { scope: project, after: 'nonsense' }, { headers: ada }));
      expect(error).toBeInstanceOf(ValidationError);
    });
  });
});
