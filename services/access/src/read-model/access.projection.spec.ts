import { randomUUID } from 'node:crypto';
import { accessStreamOf, platformEventCatalog } from '@modeltrail/contracts';
import { CommandHandler } from '@modeltrail/decider';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { ident } from '@modeltrail/postgres';
import { migrateReadModel, ProjectionRunner, type RecordedOf } from '@modeltrail/readmodel';
import { createTestSchema, type TestSchema } from '@modeltrail/testing';
import { accessMigrations } from '../access.migrations';
import { apiKeyDecider, apiKeyStream } from '../api-key/api-key.decider';
import { scopeGrantsDecider } from '../grants/scope-grants.decider';
import { accessProjection, evolveApiKey, roleChangeOf } from './access.projection';
import { AccessReader } from './access.reader';

const metadata = (actor: string) => ({ actor, correlationId: 'c', causationId: null, occurredAt: '2026-11-22T10:00:00.000Z', hash: 'h' }) as never;

describe('access projection (pure)', () => {
  const keyId = randomUUID();
  const created: RecordedOf<'access.ApiKeyCreated.v1'> = {
    id: randomUUID(),
    stream: apiKeyStream(keyId),
    revision: 0,
    position: 7,
    type: 'access.ApiKeyCreated.v1',
    data: { keyId, name: 'k', prefix: 'mtk_x', secretHash: 'a'.repeat(64), kind: 'PERSONAL', principal: 'ada@example.com', agentId: null, createdAt: '2026-11-22T10:00:00.000Z', expiresAt: null },
    metadata: metadata('ada@example.com'),
  };
  const revoked: RecordedOf<'access.ApiKeyRevoked.v1'> = { ...created, revision: 1, position: 9, type: 'access.ApiKeyRevoked.v1', data: { keyId, revokedAt: '2026-11-23T10:00:00.000Z' }, metadata: metadata('bob@example.com') };

  it('keeps a key with its creator and revoker, and refuses what a key cannot take', () => {
    const row = evolveApiKey(undefined, created);
    expect(row).toMatchObject({ keyId, createdBy: 'ada@example.com', revokedAt: null, revision: 0, position: 7 });
    expect(evolveApiKey(row, revoked)).toMatchObject({ revokedAt: new Date('2026-11-23T10:00:00.000Z'), revokedBy: 'bob@example.com', revision: 1, position: 9 });
    expect(() => evolveApiKey(row, created)).toThrow(/already created/);
    expect(() => evolveApiKey(undefined, revoked)).toThrow(/has no row/);
  });

  it('records a grant as a change with its role, a revocation as one without', () => {
    const scope = randomUUID();
    const base = { id: randomUUID(), stream: accessStreamOf(scope), revision: 0, position: 3, metadata: metadata('ada@example.com') };
    expect(roleChangeOf({ ...base, type: 'access.RoleGranted.v1', data: { scope, principal: 'bob', role: 'APPROVER', previousRole: 'VIEWER', grantedAt: '2026-11-22T10:00:00.000Z' } })).toEqual({
      position: 3,
      scope,
      principal: 'bob',
      role: 'APPROVER',
      previousRole: 'VIEWER',
      actor: 'ada@example.com',
      at: new Date('2026-11-22T10:00:00.000Z'),
    });
    expect(roleChangeOf({ ...base, type: 'access.RoleRevoked.v1', data: { scope, principal: 'bob', role: 'APPROVER', revokedAt: '2026-11-22T11:00:00.000Z' } })).toMatchObject({ role: null, previousRole: 'APPROVER' });
  });
});

/** The read model over the real PostgreSQL event store: the rows, the role_grants view, and a rebuild. */
describe('access projection over PostgreSQL', () => {
  let db: TestSchema;
  let store: PostgresEventStore;
  let runner: ProjectionRunner;
  let reader: AccessReader;
  const ada = { actor: 'ada@example.com', correlationId: 'c' };

  beforeAll(async () => {
    db = await createTestSchema('accproj');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema, catalog: platformEventCatalog() });
    await store.migrate();
    await migrateReadModel(db.pool, db.schema, 'access', accessMigrations);
    runner = new ProjectionRunner({ store, pool: db.pool, schema: db.schema, projection: accessProjection, retryDelayMs: 200 });
    reader = new AccessReader(db.pool, db.schema);
    await runner.start();
  });
  afterAll(async () => {
    await runner?.stop();
    await store?.close();
    await db?.drop();
  });

  it('keeps keys and the history of grants, and a rebuild gives the same rows (the last use of keys stays)', async () => {
    const project = randomUUID();
    const grants = new CommandHandler(store, scopeGrantsDecider);
    const keys = new CommandHandler(store, apiKeyDecider);
    const keyId = randomUUID();
    await keys.handle(apiKeyStream(keyId), { type: 'CreateApiKey', keyId, name: 'k', prefix: 'mtk_x', secretHash: 'b'.repeat(64), kind: 'PERSONAL', principal: 'bob', agentId: null, expiresAt: null, at: '2026-11-22T10:00:00.000Z' }, ada);
    await grants.handle(accessStreamOf(project), { type: 'GrantRole', scope: project, principal: 'ada', role: 'ADMIN', at: '2026-11-22T10:00:00.000Z' }, ada);
    const viewer = await grants.handle(accessStreamOf(project), { type: 'GrantRole', scope: project, principal: 'bob', role: 'VIEWER', at: '2026-11-22T10:01:00.000Z' }, ada);
    const change = await grants.handle(accessStreamOf(project), { type: 'GrantRole', scope: project, principal: 'bob', role: 'CONTRIBUTOR', at: '2026-11-22T10:02:00.000Z' }, { ...ada, actor: 'carol' });
    const revoke = await grants.handle(accessStreamOf(project), { type: 'RevokeRole', scope: project, principal: 'bob', at: '2026-11-22T10:03:00.000Z' }, ada);
    await keys.handle(apiKeyStream(keyId), { type: 'RevokeApiKey', keyId, at: '2026-11-22T10:04:00.000Z' }, ada);
    await runner.waitFor(await store.headPosition());
    await reader.touch(keyId, new Date('2026-11-22T10:05:00.000Z'));

    const history = await db.pool.query(`SELECT * FROM ${ident(db.schema)}.role_grants WHERE principal = 'bob' ORDER BY granted_at_position`);
    expect(history.rows.map((r) => [r.role, r.granted_by, Number(r.granted_at_position), r.revoked_by, r.revoked_at_position === null ? null : Number(r.revoked_at_position)])).toEqual([
      ['VIEWER', 'ada@example.com', viewer.position, 'carol', change.position],
      ['CONTRIBUTOR', 'carol', change.position, 'ada@example.com', revoke.position],
    ]);
    expect(await reader.grantsOf('bob')).toEqual([]);
    expect(await reader.grantsOf('ada')).toEqual([{ scope: project, role: 'ADMIN' }]);
    expect((await reader.grantPage({ principal: 'bob', asOf: { time: new Date('2026-11-22T10:02:30.000Z') }, limit: 10 })).map((g) => g.role)).toEqual(['CONTRIBUTOR']);
    // Both bounds: the earlier one counts.
    expect((await reader.grantPage({ principal: 'bob', asOf: { time: new Date('2026-11-22T10:02:30.000Z'), position: String(viewer.position) }, limit: 10 })).map((g) => g.role)).toEqual(['VIEWER']);

    const dump = async () => {
      const s = ident(db.schema);
      const [k, c, u] = await Promise.all([
        db.pool.query(`SELECT * FROM ${s}.api_keys ORDER BY key_id`),
        db.pool.query(`SELECT * FROM ${s}.role_changes ORDER BY position`),
        db.pool.query(`SELECT * FROM ${s}.api_key_last_used ORDER BY key_id`),
      ]);
      return { keys: k.rows, changes: c.rows, lastUsed: u.rows };
    };
    const before = await dump();
    expect(before.keys).toHaveLength(1);
    expect(before.changes).toHaveLength(4);
    await runner.rebuild();
    await runner.waitFor(await store.headPosition());
    expect(await dump()).toEqual(before);
  });
});
