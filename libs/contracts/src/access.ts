import { PageInfo, PageRequest } from './datasets';
import { defineRpc } from './rpc';
import { uuid as uuidSchema, z } from './schema';

/**
 * Contracts of the `access` context: who may call the platform (API keys, service accounts) and
 * what each principal may do in each project (roles). Grants and keys are events of their own
 * streams, so who was allowed what, and when, is part of the audit trail and of `asOf` answers.
 */

const uuid = uuidSchema();
const isoTime = z.iso.datetime({ offset: true, message: 'must be an ISO-8601 date-time, e.g. 2026-11-22T12:00:00.000Z' });

// ---------------------------------------------------------------------------------------------
// Roles and scopes
// ---------------------------------------------------------------------------------------------

/** Project roles, weakest first: each role may do everything the ones before it may. */
export const PROJECT_ROLES = ['VIEWER', 'CONTRIBUTOR', 'APPROVER', 'ADMIN'] as const;
export const ProjectRole = z.enum(PROJECT_ROLES, { message: `must be one of ${PROJECT_ROLES.join(', ')}` });
export type ProjectRole = z.output<typeof ProjectRole>;

/** Whether `held` is at least `needed` (ADMIN ⊇ APPROVER ⊇ CONTRIBUTOR ⊇ VIEWER). */
export function roleAtLeast(held: ProjectRole | null | undefined, needed: ProjectRole): boolean {
  return held !== null && held !== undefined && PROJECT_ROLES.indexOf(held) >= PROJECT_ROLES.indexOf(needed);
}

/** The scope of platform-wide grants (only ADMIN is granted there: a platform admin). */
export const PLATFORM_SCOPE = 'platform';
/** A grant's scope: a project id, or `platform`. */
export const AccessScope = z.union([uuid, z.literal(PLATFORM_SCOPE)], { message: 'must be a project id or "platform"' });
export type AccessScope = z.output<typeof AccessScope>;

/** The event stream of a scope's grants. */
export function accessStreamOf(scope: AccessScope): string {
  return `access-${scope}`;
}

/**
 * Who acts: a user as the gateway authenticated them (an e-mail, an OIDC subject), a service
 * account `service:<name>`, or an agent `agent:<agentId>`. Also the `actor` of every event.
 */
export const Principal = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(256, 'must be at most 256 characters')
  .regex(/^[^\s\x00-\x1f\x7f]+$/, 'must not contain spaces or control characters');
export type Principal = z.output<typeof Principal>;

export const SERVICE_ACCOUNT_PREFIX = 'service:';
export const AGENT_PRINCIPAL_PREFIX = 'agent:';

/** The principal of an agent's service account. */
export function agentPrincipal(agentId: string): string {
  return `${AGENT_PRINCIPAL_PREFIX}${agentId.toLowerCase()}`;
}

/** The agent id of an agent principal, or null. */
export function agentIdOfPrincipal(principal: string): string | null {
  return principal.startsWith(AGENT_PRINCIPAL_PREFIX) ? principal.slice(AGENT_PRINCIPAL_PREFIX.length) : null;
}

// ---------------------------------------------------------------------------------------------
// API keys
// ---------------------------------------------------------------------------------------------

/**
 * What a key acts as: PERSONAL keys act as the user who created them (with that user's roles),
 * SERVICE_ACCOUNT keys as `service:<name>` (roles granted to it), AGENT keys as
 * `agent:<agentId>`, and may only register that agent and report on its own assignments.
 */
export const API_KEY_KINDS = ['PERSONAL', 'SERVICE_ACCOUNT', 'AGENT'] as const;
export const ApiKeyKind = z.enum(API_KEY_KINDS, { message: `must be one of ${API_KEY_KINDS.join(', ')}` });
export type ApiKeyKind = z.output<typeof ApiKeyKind>;

export const API_KEY_STATUSES = ['ACTIVE', 'REVOKED', 'EXPIRED'] as const;
export type ApiKeyStatus = (typeof API_KEY_STATUSES)[number];

/**
 * An API key's text: `mtk_<key id, 32 hex>_<secret, 43 base64url>`. The key id finds the record;
 * only SHA-256(secret) is stored, and compared in constant time.
 */
export const API_KEY_PATTERN = /^mtk_([0-9a-f]{32})_([A-Za-z0-9_-]{43})$/;
/** What a listing shows of a key: `mtk_` and the first 8 hex digits of its id. */
export function apiKeyPrefix(keyId: string): string {
  return `mtk_${keyId.replace(/-/g, '').slice(0, 8)}`;
}
/** The key id (a UUID) of an API key's text, and its secret; null when the text is not a key. */
export function parseApiKey(text: string): { keyId: string; secret: string } | null {
  const match = API_KEY_PATTERN.exec(text);
  if (!match) return null;
  const hex = match[1];
  return { keyId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`, secret: match[2] };
}
/** The text of a key with this id and secret. */
export function formatApiKey(keyId: string, secret: string): string {
  return `mtk_${keyId.replace(/-/g, '').toLowerCase()}_${secret}`;
}

export const ApiKeyName = z.string().trim().min(1, 'must not be empty').max(128, 'must be at most 128 characters');
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest, 64 lower-case hex digits');

export const ApiKeyCreatedV1 = z.object({
  keyId: uuid,
  name: z.string(),
  prefix: z.string(),
  /** SHA-256 of the secret, hex: the key itself is never stored. */
  secretHash: Sha256Hex,
  kind: ApiKeyKind,
  /** Who the key acts as. */
  principal: z.string(),
  agentId: uuid.nullable(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
});
export const ApiKeyRevokedV1 = z.object({ keyId: uuid, revokedAt: z.iso.datetime() });
export const RoleGrantedV1 = z.object({
  scope: z.string(),
  principal: z.string(),
  role: ProjectRole,
  /** The role the principal held before in this scope (a change of role), or null. */
  previousRole: ProjectRole.nullable(),
  grantedAt: z.iso.datetime(),
});
export const RoleRevokedV1 = z.object({ scope: z.string(), principal: z.string(), role: ProjectRole, revokedAt: z.iso.datetime() });

export const accessEvents = {
  'access.ApiKeyCreated.v1': ApiKeyCreatedV1,
  'access.ApiKeyRevoked.v1': ApiKeyRevokedV1,
  'access.RoleGranted.v1': RoleGrantedV1,
  'access.RoleRevoked.v1': RoleRevokedV1,
} as const;

// ---------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------

export const ApiKeyView = z.object({
  keyId: uuid,
  name: z.string(),
  prefix: z.string(),
  kind: ApiKeyKind,
  principal: z.string(),
  agentId: uuid.nullable(),
  createdBy: z.string(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  revokedBy: z.string().nullable(),
  /** When the key last authenticated a request (kept to the minute), or null. */
  lastUsedAt: z.iso.datetime().nullable(),
  status: z.enum(API_KEY_STATUSES),
  revision: z.number().int(),
});
export type ApiKeyView = z.output<typeof ApiKeyView>;

export const RoleGrantView = z.object({
  scope: z.string(),
  principal: z.string(),
  role: ProjectRole,
  grantedBy: z.string(),
  grantedAt: z.iso.datetime(),
  /** Store position of the grant's event. */
  grantedAtPosition: z.string(),
  revokedBy: z.string().nullable(),
  revokedAt: z.iso.datetime().nullable(),
  revokedAtPosition: z.string().nullable(),
});
export type RoleGrantView = z.output<typeof RoleGrantView>;

/** What a principal may do: platform admin or not, and its role per project. */
export const PrincipalAccess = z.object({
  principal: z.string(),
  /** Granted by event (PLATFORM_ADMINS of the gateway's configuration come on top). */
  platformAdmin: z.boolean(),
  projects: z.array(z.object({ projectId: uuid, role: ProjectRole })),
});
export type PrincipalAccess = z.output<typeof PrincipalAccess>;

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/**
 * The gateway makes the key (id and secret) and sends only the secret's hash, so the key never
 * crosses NATS and a retried command (same keyId) is the same key.
 */
export const CreateApiKeyRequest = z
  .object({
    keyId: uuid,
    name: ApiKeyName,
    secretHash: Sha256Hex,
    kind: ApiKeyKind.default('PERSONAL'),
    /** Who the key acts as: the caller for PERSONAL, `service:<name>` for SERVICE_ACCOUNT, `agent:<agentId>` for AGENT. */
    principal: Principal,
    agentId: uuid.nullable().default(null),
    expiresAt: isoTime.nullable().default(null),
  })
  .superRefine((value, ctx) => {
    if (value.kind === 'AGENT' && value.agentId === null) ctx.addIssue({ code: 'custom', path: ['agentId'], message: 'is required for an AGENT key' });
    if (value.kind !== 'AGENT' && value.agentId !== null) ctx.addIssue({ code: 'custom', path: ['agentId'], message: 'is only for AGENT keys' });
    if (value.kind === 'AGENT' && value.agentId !== null && value.principal !== agentPrincipal(value.agentId)) {
      ctx.addIssue({ code: 'custom', path: ['principal'], message: `must be ${agentPrincipal(value.agentId)} for this agent's key` });
    }
    if (value.kind === 'SERVICE_ACCOUNT' && !/^service:[a-z0-9][a-z0-9._-]{0,62}$/.test(value.principal)) {
      ctx.addIssue({ code: 'custom', path: ['principal'], message: 'must be service:<name> (lower-case letters, digits, dots, dashes, underscores)' });
    }
    if (value.kind === 'PERSONAL' && /^(service|agent):/.test(value.principal)) ctx.addIssue({ code: 'custom', path: ['principal'], message: 'a personal key acts as a user, not a service account or agent' });
  });
export const RevokeApiKeyRequest = z.object({ keyId: uuid });
export const GrantRoleRequest = z.object({ scope: AccessScope, principal: Principal, role: ProjectRole });
export const RevokeRoleRequest = z.object({ scope: AccessScope, principal: Principal });

/** The presented key: its id and the SHA-256 of its secret, compared in constant time. */
export const AuthenticateApiKeyRequest = z.object({ keyId: uuid, secretHash: Sha256Hex });
export const AuthenticateApiKeyReply = z.object({ key: ApiKeyView, access: PrincipalAccess });

export const ListApiKeysRequest = PageRequest.extend({ principal: Principal.optional(), createdBy: Principal.optional(), includeRevoked: z.boolean().default(false) });
export const ListRoleGrantsRequest = PageRequest.extend({
  scope: AccessScope.optional(),
  principal: Principal.optional(),
  /** Grants in force at this time or store position (both: the earlier); none: now. */
  asOfTime: isoTime.optional(),
  asOfPosition: z.string().regex(/^\d{1,19}$/, 'must be a store position').optional(),
});

export const accessRpc = {
  createApiKey: defineRpc('mt.cmd.access.CreateApiKey', CreateApiKeyRequest, ApiKeyView),
  revokeApiKey: defineRpc('mt.cmd.access.RevokeApiKey', RevokeApiKeyRequest, ApiKeyView),
  grantRole: defineRpc('mt.cmd.access.GrantRole', GrantRoleRequest, RoleGrantView),
  revokeRole: defineRpc('mt.cmd.access.RevokeRole', RevokeRoleRequest, RoleGrantView),

  /** UNAUTHENTICATED (unknown, revoked, expired or wrong secret: the reason is logged, not told) or the key and its principal's access. */
  authenticateApiKey: defineRpc('mt.qry.access.AuthenticateApiKey', AuthenticateApiKeyRequest, AuthenticateApiKeyReply),
  /** A principal's grants in force now (an unknown principal has none). */
  principalAccess: defineRpc('mt.qry.access.PrincipalAccess', z.object({ principal: Principal }), PrincipalAccess),
  getApiKeys: defineRpc('mt.qry.access.GetApiKeys', z.object({ keyIds: z.array(uuid).min(1).max(500) }), z.object({ items: z.array(ApiKeyView) })),
  /** Newest first. */
  listApiKeys: defineRpc('mt.qry.access.ListApiKeys', ListApiKeysRequest, z.object({ items: z.array(ApiKeyView), pageInfo: PageInfo })),
  /** Ordered by scope, then principal. */
  listRoleGrants: defineRpc('mt.qry.access.ListRoleGrants', ListRoleGrantsRequest, z.object({ items: z.array(RoleGrantView), pageInfo: PageInfo })),
} as const;
