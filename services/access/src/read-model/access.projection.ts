import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import { type ApiKeyRow, apiKeysTable, type RoleChangeRow, roleChangesTable } from './access.tables';

const HANDLED = ['access.ApiKeyCreated.v1', 'access.ApiKeyRevoked.v1', 'access.RoleGranted.v1', 'access.RoleRevoked.v1'] as const;

export type AccessEvent = RecordedOf<(typeof HANDLED)[number]>;
export type ApiKeyRecordedEvent = RecordedOf<'access.ApiKeyCreated.v1' | 'access.ApiKeyRevoked.v1'>;
type RoleEvent = RecordedOf<'access.RoleGranted.v1' | 'access.RoleRevoked.v1'>;

/**
 * A key's row after one of its events (pure). AuthenticateApiKey also folds a key's stream with
 * it when the read model does not have the key yet (created a moment ago).
 */
export function evolveApiKey(row: ApiKeyRow | undefined, event: ApiKeyRecordedEvent): ApiKeyRow {
  if (event.type === 'access.ApiKeyCreated.v1') {
    if (row) throw new Error(`API key ${row.keyId} is already created`);
    const { keyId, name, prefix, secretHash, kind, principal, agentId, createdAt, expiresAt } = event.data;
    return {
      keyId,
      name,
      prefix,
      secretHash,
      kind,
      principal,
      agentId,
      createdBy: event.metadata.actor,
      createdAt: new Date(createdAt),
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
      revokedAt: null,
      revokedBy: null,
      revision: event.revision,
      position: event.position,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: API key ${event.data.keyId} has no row`);
  return { ...row, revokedAt: new Date(event.data.revokedAt), revokedBy: event.metadata.actor, revision: event.revision, position: event.position };
}

/** The change a role event records (pure; written once, keyed by the event's position). */
export function roleChangeOf(event: RoleEvent): RoleChangeRow {
  const { scope, principal } = event.data;
  return event.type === 'access.RoleGranted.v1'
    ? { position: event.position, scope, principal, role: event.data.role, previousRole: event.data.previousRole, actor: event.metadata.actor, at: new Date(event.data.grantedAt) }
    : { position: event.position, scope, principal, role: null, previousRole: event.data.role, actor: event.metadata.actor, at: new Date(event.data.revokedAt) };
}

const isApiKeyEvent = (event: AccessEvent): event is ApiKeyRecordedEvent => event.type === 'access.ApiKeyCreated.v1' || event.type === 'access.ApiKeyRevoked.v1';

const apiKeys: TableProjection<AccessEvent, ApiKeyRow, 'keyId'> = {
  table: apiKeysTable,
  keyOf: (event) => (isApiKeyEvent(event) ? { keyId: event.data.keyId } : undefined),
  evolve: (row, event) => (isApiKeyEvent(event) ? evolveApiKey(row, event) : row),
};

const roleChanges: TableProjection<AccessEvent, RoleChangeRow, 'position'> = {
  table: roleChangesTable,
  keyOf: (event) => (isApiKeyEvent(event) ? undefined : { position: event.position }),
  evolve: (_row, event) => (isApiKeyEvent(event) ? undefined : roleChangeOf(event)),
  appendOnly: true,
};

/**
 * Keeps `api_keys` and `role_changes` in step with the access context's streams. The last use
 * of a key (`api_key_last_used`) is not its: AuthenticateApiKey writes it directly.
 */
export const accessProjection: Projection<AccessEvent> = {
  name: 'access.read-model.v1',
  handles: new Set<string>(HANDLED),
  tables: [apiKeys, roleChanges],
};
