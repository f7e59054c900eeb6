import { ForbiddenError } from '@modeltrail/contracts';
import type { GatewayContext } from '../context/gateway-context';
import { AccessContext } from './access-context';
import { authorize, guardedIterator } from './enforce';
import { valuesAt } from './policy';

const P1 = '11111111-1111-4111-8111-111111111111';
const P2 = '22222222-2222-4222-8222-222222222222';
const identity = { principal: 'ada@example.com', method: 'API_KEY' as const, expiresAt: null, keyId: null, access: null };

function access(projects: Array<{ projectId: string; role: 'VIEWER' | 'CONTRIBUTOR' | 'APPROVER' | 'ADMIN' }>, platformAdmin = false): AccessContext {
  return new AccessContext(identity, platformAdmin, { projects }, Buffer.alloc(32, 1));
}

describe('AccessContext', () => {
  it('ranks roles: each includes the ones before it, in its own project only', () => {
    const approver = access([{ projectId: P1, role: 'APPROVER' }]);
    expect(['VIEWER', 'CONTRIBUTOR', 'APPROVER', 'ADMIN'].map((role) => approver.can(role as never, P1))).toEqual([true, true, true, false]);
    expect(approver.can('VIEWER', P2)).toBe(false);
    expect(approver.can('VIEWER', P1.toUpperCase())).toBe(true);
  });

  it('lets everyone read what has no project, and only platform admins change it', () => {
    expect(access([]).can('VIEWER', null)).toBe(true);
    expect(access([{ projectId: P1, role: 'ADMIN' }]).can('CONTRIBUTOR', null)).toBe(false);
    expect(access([], true).can('CONTRIBUTOR', null)).toBe(true);
  });

  it('refuses with FORBIDDEN naming the operation and the role, never the project', () => {
    const viewer = access([{ projectId: P1, role: 'VIEWER' }]);
    expect(() => viewer.require('CONTRIBUTOR', P1, 'cancelJob on job 42')).toThrow(new ForbiddenError('cancelJob on job 42 needs the CONTRIBUTOR role in its project'));
    expect(() => viewer.require('CONTRIBUTOR', P2, 'x')).toThrow(expect.objectContaining({ message: expect.not.stringContaining(P2) }));
    expect(() => viewer.requirePlatformAdmin('verifyLog')).toThrow(/verifyLog needs a platform admin/);
  });
});

describe('policies', () => {
  it('read ids at dotted paths, through lists, leaving out absent values', () => {
    const args = { input: { jobId: 'j1', datasetVersions: [{ datasetVersionId: 'a' }, { datasetVersionId: 'b' }, {}] }, ids: ['r1', 'r2'], filter: null };
    expect(valuesAt(args, 'input.jobId')).toEqual(['j1']);
    expect(valuesAt(args, 'input.datasetVersions.*.datasetVersionId')).toEqual(['a', 'b']);
    expect(valuesAt(args, 'ids.*')).toEqual(['r1', 'r2']);
    expect(valuesAt(args, 'filter.projectId')).toEqual([]);
    expect(valuesAt(args, 'input.missing.deeper')).toEqual([]);
  });

  it('check the role in a project named by an argument; an absent one lists (filtered) for VIEWER and needs a platform admin to write', async () => {
    const ctx = { access: access([{ projectId: P1, role: 'CONTRIBUTOR' }]) } as unknown as GatewayContext;
    await expect(authorize({ kind: 'inProject', role: 'CONTRIBUTOR', arg: 'input.projectId' }, { input: { projectId: P1 } }, ctx, 'registerModel')).resolves.toBeUndefined();
    await expect(authorize({ kind: 'inProject', role: 'CONTRIBUTOR', arg: 'input.projectId' }, { input: { projectId: P2 } }, ctx, 'registerModel')).rejects.toThrow(ForbiddenError);
    await expect(authorize({ kind: 'inProject', role: 'VIEWER', arg: 'filter.projectId' }, {}, ctx, 'models')).resolves.toBeUndefined();
    await expect(authorize({ kind: 'inProject', role: 'CONTRIBUTOR', arg: 'input.projectId' }, { input: {} }, ctx, 'registerDataset')).rejects.toThrow(/needs a platform admin: it has no project/);
  });

  it('an entity policy with no entity given needs a platform admin (deny by default)', async () => {
    const ctx = { access: access([{ projectId: P1, role: 'ADMIN' }]) } as unknown as GatewayContext;
    await expect(authorize({ kind: 'role', role: 'CONTRIBUTOR', of: [['job', 'input.jobId']], reads: [] }, { input: {} }, ctx, 'cancelJob')).rejects.toThrow(ForbiddenError);
    await expect(authorize({ kind: 'platformAdmin' }, {}, ctx, 'verifyLog')).rejects.toThrow(/platform admin/);
    const admin = { access: access([], true) } as unknown as GatewayContext;
    await expect(authorize({ kind: 'platformAdmin' }, {}, admin, 'verifyLog')).resolves.toBeUndefined();
  });
});

describe('subscriptions', () => {
  async function* numbers(): AsyncGenerator<number> {
    for (let i = 1; ; i += 1) {
      yield i;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('leave out what the caller may not see', async () => {
    const iterator = guardedIterator(numbers(), null, async (n) => n % 2 === 0);
    const seen = [(await iterator.next()).value, (await iterator.next()).value, (await iterator.next()).value];
    expect(seen).toEqual([2, 4, 6]);
    await iterator.return!();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it('end when the credential expires: one last expiry item, then done, and the source is closed', async () => {
    let closed = false;
    const source = numbers();
    const original = source.return.bind(source);
    source.return = async (value) => {
      closed = true;
      return original(value);
    };
    const iterator = guardedIterator(source, new Date(Date.now() + 120));
    const values: unknown[] = [];
    for (;;) {
      const result = await iterator.next();
      if (result.done) break;
      values.push(result.value);
    }
    expect(values.length).toBeGreaterThan(1);
    expect(typeof values.at(-1)).toBe('symbol');
    expect(values.slice(0, -1).every((v) => typeof v === 'number')).toBe(true);
    expect(closed).toBe(true);
  });
});
