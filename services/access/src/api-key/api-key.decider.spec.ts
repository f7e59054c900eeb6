import { ConflictError, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type ApiKeyCommand, apiKeyDecider, type ApiKeyEvent } from './api-key.decider';

const keyId = '0f4b7c1e-9a2d-4c3b-8e5f-1a2b3c4d5e6f';
const at = '2026-11-22T10:00:00.000Z';
const hash = 'a'.repeat(64);

const create: Extract<ApiKeyCommand, { type: 'CreateApiKey' }> = {
  type: 'CreateApiKey',
  keyId,
  name: 'ci pipeline',
  prefix: 'mtk_0f4b7c1e',
  secretHash: hash,
  kind: 'SERVICE_ACCOUNT',
  principal: 'service:ci',
  agentId: null,
  expiresAt: '2027-01-01T00:00:00.000Z',
  at,
};
const created: ApiKeyEvent = {
  type: 'access.ApiKeyCreated.v1',
  data: {
    keyId,
    name: 'ci pipeline',
    prefix: 'mtk_0f4b7c1e',
    secretHash: hash,
    kind: 'SERVICE_ACCOUNT',
    principal: 'service:ci',
    agentId: null,
    createdAt: at,
    expiresAt: '2027-01-01T00:00:00.000Z',
  },
};
const revoke: ApiKeyCommand = { type: 'RevokeApiKey', keyId, at: '2026-11-23T10:00:00.000Z' };
const revoked: ApiKeyEvent = { type: 'access.ApiKeyRevoked.v1', data: { keyId, revokedAt: '2026-11-23T10:00:00.000Z' } };

describe('ApiKey decider', () => {
  const spec = deciderSpec(apiKeyDecider);

  it('creates a key, recording only the hash of its secret', () => {
    spec.given([]).when(create).then([created]);
    expect(JSON.stringify(apiKeyDecider.decide(create, apiKeyDecider.initialState()))).not.toMatch(/secret"/);
  });

  it('creates a key that never expires', () => {
    spec.given([]).when({ ...create, expiresAt: null }).then([{ ...created, data: { ...created.data, expiresAt: null } }] as ApiKeyEvent[]);
  });

  it('refuses an expiry that is not in the future, naming expiresAt', () => {
    for (const expiresAt of [at, '2026-11-22T09:59:59.999Z']) {
      let thrown: unknown;
      try {
        apiKeyDecider.decide({ ...create, expiresAt }, apiKeyDecider.initialState());
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).message).toMatch(/expiresAt must be in the future/);
      expect((thrown as ValidationError).details).toEqual({ field: 'expiresAt' });
    }
  });

  it('creates nothing again when the same key is created again with the same fields (a retry), even later, even revoked', () => {
    spec.given([created]).when({ ...create, at: '2026-11-22T11:00:00.000Z' }).thenNothingHappens();
    spec.given([created, revoked]).when(create).thenNothingHappens();
    // The same instant written with another offset is the same expiry.
    spec.given([created]).when({ ...create, expiresAt: '2027-01-01T01:00:00.000+01:00' }).thenNothingHappens();
  });

  it('refuses the same key id with other fields, naming them', () => {
    spec.given([created]).when({ ...create, name: 'other' }).thenThrows(ConflictError, `API key ${keyId} already exists with another name`);
    spec.given([created]).when({ ...create, secretHash: 'b'.repeat(64), expiresAt: null }).thenThrows(ConflictError, /another secretHash, expiresAt/);
    spec.given([created]).when({ ...create, kind: 'PERSONAL', principal: 'ada@example.com' }).thenThrows(ConflictError, /another kind, principal/);
  });

  it('revokes a key, once: revoking it again does nothing', () => {
    spec.given([created]).when(revoke).then([revoked]);
    spec.given([created, revoked]).when(revoke).thenNothingHappens();
  });

  it('refuses to revoke a key that does not exist', () => {
    spec.given([]).when(revoke).thenThrows(NotFoundError, `API key ${keyId} does not exist`);
  });

  it('folds its events into the key and its status', () => {
    const state = [created, revoked].reduce(apiKeyDecider.evolve, apiKeyDecider.initialState());
    expect(state).toMatchObject({ status: 'Revoked', keyId, principal: 'service:ci', revokedAt: '2026-11-23T10:00:00.000Z', createdAt: at });
  });
});
