import type { ApiKeyKind, ProjectRole } from '@modeltrail/contracts';
import type { TableSpec } from '@modeltrail/readmodel';

/** Read-model rows of the access service (tables in its schema; see access.migrations.ts). */

export interface ApiKeyRow {
  keyId: string;
  name: string;
  prefix: string;
  /** SHA-256 of the secret, hex (compared in constant time by AuthenticateApiKey). */
  secretHash: string;
  kind: ApiKeyKind;
  principal: string;
  agentId: string | null;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  revision: number;
  position: number;
}

export const apiKeysTable: TableSpec<ApiKeyRow, 'keyId'> = {
  name: 'api_keys',
  key: ['keyId'],
  columns: {
    keyId: 'uuid',
    name: 'text',
    prefix: 'text',
    secretHash: 'text',
    kind: 'text',
    principal: 'text',
    agentId: 'uuid',
    createdBy: 'text',
    createdAt: 'timestamptz',
    expiresAt: 'timestamptz',
    revokedAt: 'timestamptz',
    revokedBy: 'text',
    revision: 'bigint',
    position: 'bigint',
  },
};

/**
 * One change of a principal's role in a scope, written once: a grant (or change of role) sets
 * `role`, a revocation leaves it null. A grant holds from its position until the next change of
 * the same scope and principal; the `role_grants` view finds that end with a window over the
 * rows, so no row is ever written twice (as the registry's alias assignments).
 */
export interface RoleChangeRow {
  position: number;
  scope: string;
  principal: string;
  /** The role from this change on; null: revoked. */
  role: ProjectRole | null;
  previousRole: ProjectRole | null;
  /** Who granted or revoked (the event's actor). */
  actor: string;
  /** grantedAt / revokedAt of the event. */
  at: Date;
}

export const roleChangesTable: TableSpec<RoleChangeRow, 'position'> = {
  name: 'role_changes',
  key: ['position'],
  columns: {
    position: 'bigint',
    scope: 'text',
    principal: 'text',
    role: 'text',
    previousRole: 'text',
    actor: 'text',
    at: 'timestamptz',
  },
};
