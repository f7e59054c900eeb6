import type { Migration } from '@modeltrail/postgres';

/**
 * Tables of the access service. `api_keys` and `role_changes` are read models kept by the
 * projection (rebuildable from the store); the `role_grants` view shows every grant with when it
 * held (from its change to the next change of the same scope and principal). `api_key_last_used`
 * is operational data written directly by AuthenticateApiKey (not events, not emptied by a
 * rebuild). Never edit a migration that shipped; add one.
 */
export const accessMigrations: Migration[] = [
  {
    id: '0001_access_read_models',
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.api_keys (
          key_id       uuid PRIMARY KEY,
          name         text NOT NULL,
          prefix       text NOT NULL,
          secret_hash  text NOT NULL,
          kind         text NOT NULL CHECK (kind IN ('PERSONAL', 'SERVICE_ACCOUNT', 'AGENT')),
          principal    text NOT NULL,
          agent_id     uuid,
          created_by   text NOT NULL,
          created_at   timestamptz NOT NULL,
          expires_at   timestamptz,
          revoked_at   timestamptz,
          revoked_by   text,
          revision     bigint NOT NULL,
          position     bigint NOT NULL
        );
        -- Newest first with ties by ascending key id, as ListApiKeys orders them: all keys, a
        -- principal's and those a user created.
        CREATE INDEX api_keys_created_desc_idx ON ${s}.api_keys (created_at DESC, key_id);
        CREATE INDEX api_keys_principal_idx ON ${s}.api_keys (principal, created_at DESC, key_id);
        CREATE INDEX api_keys_created_by_idx ON ${s}.api_keys (created_by, created_at DESC, key_id);

        -- When a key last authenticated a request, to the minute: written at most once a minute
        -- per key by AuthenticateApiKey with a plain UPDATE (operational data, not an event).
        CREATE TABLE ${s}.api_key_last_used (
          key_id        uuid PRIMARY KEY,
          last_used_at  timestamptz NOT NULL
        );

        CREATE TABLE ${s}.role_changes (
          position       bigint PRIMARY KEY,
          scope          text NOT NULL,
          principal      text NOT NULL,
          role           text CHECK (role IN ('VIEWER', 'CONTRIBUTOR', 'APPROVER', 'ADMIN')),
          previous_role  text,
          actor          text NOT NULL,
          at             timestamptz NOT NULL
        );
        -- A principal's grants (PrincipalAccess, AuthenticateApiKey) and a scope's (ListRoleGrants).
        CREATE INDEX role_changes_principal_idx ON ${s}.role_changes (principal, scope, position);
        CREATE INDEX role_changes_scope_idx ON ${s}.role_changes (scope, principal, position);

        -- Every grant with when it held: from its change until the next change of the same scope
        -- and principal (a revocation or another role), whose actor revoked it. A filter on scope
        -- or principal is applied before the window (they are its partition), so it uses the
        -- indexes above. Grants in force now: revoked_at_position IS NULL.
        CREATE VIEW ${s}.role_grants AS
          SELECT scope, principal, role, actor AS granted_by, at AS granted_at, position AS granted_at_position,
                 revoked_by, revoked_at, revoked_at_position
            FROM (SELECT c.*,
                         lead(actor) OVER w AS revoked_by,
                         lead(at) OVER w AS revoked_at,
                         lead(position) OVER w AS revoked_at_position
                    FROM ${s}.role_changes c
                  WINDOW w AS (PARTITION BY scope, principal ORDER BY position)) changes
           WHERE role IS NOT NULL;
      `);
    },
  },
];
