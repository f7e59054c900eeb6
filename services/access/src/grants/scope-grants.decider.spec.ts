import { ConflictError, NotFoundError, PLATFORM_SCOPE, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type ScopeGrantsCommand, scopeGrantsDecider, type ScopeGrantsEvent } from './scope-grants.decider';

const project = '3f1c1f5e-2d7a-5a53-9a51-0c2b0b8e9d11';
const at = '2026-11-22T10:00:00.000Z';

const grant = (principal: string, role: 'VIEWER' | 'CONTRIBUTOR' | 'APPROVER' | 'ADMIN', scope = project): ScopeGrantsCommand => ({ type: 'GrantRole', scope, principal, role, at });
const revoke = (principal: string, scope = project): ScopeGrantsCommand => ({ type: 'RevokeRole', scope, principal, at });
const granted = (principal: string, role: 'VIEWER' | 'CONTRIBUTOR' | 'APPROVER' | 'ADMIN', previousRole: typeof role | null = null, scope = project): ScopeGrantsEvent => ({
  type: 'access.RoleGranted.v1',
  data: { scope, principal, role, previousRole, grantedAt: at },
});
const revoked = (principal: string, role: 'VIEWER' | 'CONTRIBUTOR' | 'APPROVER' | 'ADMIN', scope = project): ScopeGrantsEvent => ({
  type: 'access.RoleRevoked.v1',
  data: { scope, principal, role, revokedAt: at },
});

describe('Scope grants decider', () => {
  const spec = deciderSpec(scopeGrantsDecider);

  it('grants a role to a principal that has none there', () => {
    spec.given([]).when(grant('ada@example.com', 'ADMIN')).then([granted('ada@example.com', 'ADMIN')]);
    spec.given([granted('ada@example.com', 'ADMIN')]).when(grant('bob@example.com', 'VIEWER')).then([granted('bob@example.com', 'VIEWER')]);
  });

  it('records nothing when the principal already holds that role', () => {
    spec.given([granted('ada@example.com', 'ADMIN'), granted('bob@example.com', 'VIEWER')]).when(grant('bob@example.com', 'VIEWER')).thenNothingHappens();
  });

  it('changes a role, naming the previous one', () => {
    spec
      .given([granted('ada@example.com', 'ADMIN'), granted('bob@example.com', 'VIEWER')])
      .when(grant('bob@example.com', 'APPROVER'))
      .then([granted('bob@example.com', 'APPROVER', 'VIEWER')]);
  });

  it('revokes the role a principal holds, naming it', () => {
    spec.given([granted('ada@example.com', 'ADMIN'), granted('bob@example.com', 'CONTRIBUTOR')]).when(revoke('bob@example.com')).then([revoked('bob@example.com', 'CONTRIBUTOR')]);
  });

  it('refuses to revoke where the principal holds no role (never had one, or revoked already)', () => {
    spec.given([granted('ada@example.com', 'ADMIN')]).when(revoke('bob@example.com')).thenThrows(NotFoundError, `bob@example.com holds no role in project ${project}`);
    spec
      .given([granted('ada@example.com', 'ADMIN'), granted('bob@example.com', 'VIEWER'), revoked('bob@example.com', 'VIEWER')])
      .when(revoke('bob@example.com'))
      .thenThrows(NotFoundError, /holds no role/);
  });

  it('refuses to revoke the last ADMIN of a project', () => {
    spec
      .given([granted('ada@example.com', 'ADMIN'), granted('bob@example.com', 'APPROVER')])
      .when(revoke('ada@example.com'))
      .thenThrows(ConflictError, `cannot revoke ADMIN from ada@example.com: ada@example.com is the last ADMIN of project ${project}; grant ADMIN to someone else first`);
  });

  it('refuses to downgrade the last ADMIN of a project', () => {
    spec.given([granted('ada@example.com', 'ADMIN')]).when(grant('ada@example.com', 'VIEWER')).thenThrows(ConflictError, /cannot change the role of ada@example.com to VIEWER: .* last ADMIN/);
  });

  it('lets an ADMIN go when another remains', () => {
    const two = [granted('ada@example.com', 'ADMIN'), granted('bob@example.com', 'APPROVER'), granted('bob@example.com', 'ADMIN', 'APPROVER')];
    spec.given(two).when(revoke('ada@example.com')).then([revoked('ada@example.com', 'ADMIN')]);
    spec.given(two).when(grant('ada@example.com', 'CONTRIBUTOR')).then([granted('ada@example.com', 'CONTRIBUTOR', 'ADMIN')]);
    // ...but not the one that is left after that.
    spec.given([...two, revoked('ada@example.com', 'ADMIN')]).when(revoke('bob@example.com')).thenThrows(ConflictError, /last ADMIN/);
  });

  it('grants only ADMIN in the platform scope', () => {
    spec.given([]).when(grant('ada@example.com', 'ADMIN', PLATFORM_SCOPE)).then([granted('ada@example.com', 'ADMIN', null, PLATFORM_SCOPE)]);
    for (const role of ['VIEWER', 'CONTRIBUTOR', 'APPROVER'] as const) {
      spec.given([]).when(grant('ada@example.com', role, PLATFORM_SCOPE)).thenThrows(ValidationError, `only ADMIN may be granted in the platform scope (a platform admin), not ${role}`);
    }
  });

  it('revokes the last platform admin (the configured PLATFORM_ADMINS remain)', () => {
    spec.given([granted('ada@example.com', 'ADMIN', null, PLATFORM_SCOPE)]).when(revoke('ada@example.com', PLATFORM_SCOPE)).then([revoked('ada@example.com', 'ADMIN', PLATFORM_SCOPE)]);
  });

  it('folds grants, changes and revocations into the roles held now', () => {
    const state = [granted('ada@example.com', 'ADMIN'), granted('bob@example.com', 'VIEWER'), granted('bob@example.com', 'APPROVER', 'VIEWER'), granted('eve@example.com', 'VIEWER'), revoked('eve@example.com', 'VIEWER')].reduce(
      scopeGrantsDecider.evolve,
      scopeGrantsDecider.initialState(),
    );
    expect(state.roles).toEqual({ 'ada@example.com': 'ADMIN', 'bob@example.com': 'APPROVER' });
  });
});
