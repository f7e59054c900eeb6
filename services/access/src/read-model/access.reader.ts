import type { Pool } from 'pg';
import { type ApiKeyView, PLATFORM_SCOPE, type PrincipalAccess, type ProjectRole, type RoleGrantView } from '@modeltrail/contracts';
import { ident } from '@modeltrail/postgres';
import { rowDecoder } from '@modeltrail/readmodel';
import { type ApiKeyRow, apiKeysTable } from './access.tables';

/** A key's row with its last use (null: never used). */
export type ApiKeyRecord = ApiKeyRow & { lastUsedAt: Date | null };

/** A principal's grants in force: scope -> role. */
export type ScopeRole = { scope: string; role: ProjectRole };

/** Grants in force at a time and/or a store position (both: the earlier), or now. */
export interface GrantsAsOf {
  time?: Date;
  position?: string;
}

export interface GrantFilter {
  scope?: string;
  principal?: string;
  asOf?: GrantsAsOf;
  /** Keyset cursor: grants after this scope and principal. */
  after?: { scope: string; principal: string } | null;
  limit: number;
}

export interface KeyFilter {
  principal?: string;
  createdBy?: string;
  includeRevoked: boolean;
  after?: { at: Date; id: string } | null;
  limit: number;
}

/**
 * Reads the access read model with plain SQL. The two reads on the gateway's hot path are one
 * indexed query each: `keyWithGrants` (AuthenticateApiKey: the key, its last use and its
 * principal's grants) and `grantsOf` (PrincipalAccess).
 */
export class AccessReader {
  private readonly s: string;
  private readonly keyRow = rowDecoder(apiKeysTable);

  constructor(
    private readonly pool: Pool,
    schema: string,
  ) {
    this.s = ident(schema);
  }

  async keys(keyIds: ReadonlyArray<string>): Promise<ApiKeyRecord[]> {
    if (keyIds.length === 0) return [];
    const { rows } = await this.pool.query(
      `SELECT k.*, u.last_used_at FROM ${this.s}.api_keys k LEFT JOIN ${this.s}.api_key_last_used u USING (key_id)
        WHERE k.key_id = ANY($1::uuid[]) ORDER BY k.created_at DESC, k.key_id`,
      [keyIds],
    );
    return rows.map((raw) => this.record(raw));
  }

  /** Keys newest first (creation time descending, ties by ascending id). */
  async keyPage(filter: KeyFilter): Promise<ApiKeyRecord[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.principal !== undefined) where.push(`k.principal = $${params.push(filter.principal)}`);
    if (filter.createdBy !== undefined) where.push(`k.created_by = $${params.push(filter.createdBy)}`);
    if (!filter.includeRevoked) where.push('k.revoked_at IS NULL');
    if (filter.after) {
      const at = `$${params.push(filter.after.at)}::timestamptz`;
      where.push(`(k.created_at < ${at} OR (k.created_at = ${at} AND k.key_id > $${params.push(filter.after.id)}::uuid))`);
    }
    const { rows } = await this.pool.query(
      `SELECT k.*, u.last_used_at FROM ${this.s}.api_keys k LEFT JOIN ${this.s}.api_key_last_used u USING (key_id)
        ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY k.created_at DESC, k.key_id LIMIT $${params.push(filter.limit)}`,
      params,
    );
    return rows.map((raw) => this.record(raw));
  }

  /** A key, its last use and its principal's grants in force, in one query; null when the read model lacks the key. */
  async keyWithGrants(keyId: string): Promise<{ key: ApiKeyRecord; grants: ScopeRole[] } | null> {
    const { rows } = await this.pool.query(
      `SELECT k.*, u.last_used_at,
              (SELECT coalesce(jsonb_agg(jsonb_build_object('scope', g.scope, 'role', g.role) ORDER BY g.scope), '[]'::jsonb)
                 FROM ${this.s}.role_grants g WHERE g.principal = k.principal AND g.revoked_at_position IS NULL) AS grants
         FROM ${this.s}.api_keys k LEFT JOIN ${this.s}.api_key_last_used u USING (key_id)
        WHERE k.key_id = $1`,
      [keyId],
    );
    if (rows.length === 0) return null;
    return { key: this.record(rows[0]), grants: rows[0].grants as ScopeRole[] };
  }

  /** The grants of a principal in force now. */
  async grantsOf(principal: string): Promise<ScopeRole[]> {
    const { rows } = await this.pool.query<ScopeRole>(`SELECT scope, role FROM ${this.s}.role_grants WHERE principal = $1 AND revoked_at_position IS NULL ORDER BY scope`, [principal]);
    return rows;
  }

  /** When a key last authenticated a request, or null. */
  async lastUsedAt(keyId: string): Promise<Date | null> {
    const { rows } = await this.pool.query<{ last_used_at: Date }>(`SELECT last_used_at FROM ${this.s}.api_key_last_used WHERE key_id = $1`, [keyId]);
    return rows[0]?.last_used_at ?? null;
  }

  /**
   * Records that a key authenticated a request at `minute` (a time truncated to the minute):
   * written only when the stored minute is older, so at most once a minute per key whatever the
   * number of requests and replicas. Operational data, not an event: a key's use is not a
   * decision, and an event per request would flood the store.
   */
  async touch(keyId: string, minute: Date): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.api_key_last_used AS u (key_id, last_used_at) VALUES ($1, $2)
       ON CONFLICT (key_id) DO UPDATE SET last_used_at = EXCLUDED.last_used_at WHERE u.last_used_at < EXCLUDED.last_used_at`,
      [keyId, minute],
    );
  }

  /** Grants ordered by scope, then principal: in force now, or at `asOf`. */
  async grantPage(filter: GrantFilter): Promise<RoleGrantView[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.scope !== undefined) where.push(`scope = $${params.push(filter.scope)}`);
    if (filter.principal !== undefined) where.push(`principal = $${params.push(filter.principal)}`);
    const asOf = filter.asOf;
    if (asOf && (asOf.time !== undefined || asOf.position !== undefined)) {
      // A change counts when it happened by both bounds given (the earlier of them).
      const by = (position: string, time: string): string => {
        const parts: string[] = [];
        if (asOf.position !== undefined) parts.push(`${position} <= $${params.push(asOf.position)}::bigint`);
        if (asOf.time !== undefined) parts.push(`${time} <= $${params.push(asOf.time)}::timestamptz`);
        return parts.join(' AND ');
      };
      where.push(by('granted_at_position', 'granted_at'));
      where.push(`(revoked_at_position IS NULL OR NOT (${by('revoked_at_position', 'revoked_at')}))`);
    } else {
      where.push('revoked_at_position IS NULL');
    }
    if (filter.after) where.push(`(scope, principal) > ($${params.push(filter.after.scope)}, $${params.push(filter.after.principal)})`);
    const { rows } = await this.pool.query(
      `SELECT * FROM ${this.s}.role_grants WHERE ${where.join(' AND ')} ORDER BY scope, principal LIMIT $${params.push(filter.limit)}`,
      params,
    );
    return rows.map(grantView);
  }

  /** The grant of a principal in a scope in force now, or null. */
  async currentGrant(scope: string, principal: string): Promise<RoleGrantView | null> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.role_grants WHERE scope = $1 AND principal = $2 AND revoked_at_position IS NULL`, [scope, principal]);
    return rows.length ? grantView(rows[0]) : null;
  }

  /** The grant of a principal in a scope that a change at `position` ended, or null. */
  async grantEndedAt(scope: string, principal: string, position: number): Promise<RoleGrantView | null> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.role_grants WHERE scope = $1 AND principal = $2 AND revoked_at_position = $3`, [scope, principal, position]);
    return rows.length ? grantView(rows[0]) : null;
  }

  private record(raw: Record<string, unknown>): ApiKeyRecord {
    return { ...this.keyRow(raw), lastUsedAt: (raw.last_used_at as Date | null) ?? null };
  }
}

/** What a principal may do, from its grants in force. */
export function principalAccessOf(principal: string, grants: ReadonlyArray<ScopeRole>): PrincipalAccess {
  return {
    principal,
    platformAdmin: grants.some((g) => g.scope === PLATFORM_SCOPE && g.role === 'ADMIN'),
    projects: grants.filter((g) => g.scope !== PLATFORM_SCOPE).map((g) => ({ projectId: g.scope, role: g.role })),
  };
}

/** A key as the API shows it: never its hash; its status as of `now`. */
export function apiKeyView(record: ApiKeyRecord, now: Date): ApiKeyView {
  const status = record.revokedAt ? 'REVOKED' : record.expiresAt && record.expiresAt.getTime() <= now.getTime() ? 'EXPIRED' : 'ACTIVE';
  return {
    keyId: record.keyId,
    name: record.name,
    prefix: record.prefix,
    kind: record.kind,
    principal: record.principal,
    agentId: record.agentId,
    createdBy: record.createdBy,
    createdAt: record.createdAt.toISOString(),
    expiresAt: record.expiresAt?.toISOString() ?? null,
    revokedAt: record.revokedAt?.toISOString() ?? null,
    revokedBy: record.revokedBy,
    lastUsedAt: record.lastUsedAt?.toISOString() ?? null,
    status,
    revision: record.revision,
  };
}

function grantView(r: Record<string, any>): RoleGrantView {
  return {
    scope: r.scope,
    principal: r.principal,
    role: r.role,
    grantedBy: r.granted_by,
    grantedAt: (r.granted_at as Date).toISOString(),
    grantedAtPosition: String(r.granted_at_position),
    revokedBy: r.revoked_by ?? null,
    revokedAt: r.revoked_at ? (r.revoked_at as Date).toISOString() : null,
    revokedAtPosition: r.revoked_at_position === null || r.revoked_at_position === undefined ? null : String(r.revoked_at_position),
  };
}
