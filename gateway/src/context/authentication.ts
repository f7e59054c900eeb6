import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiToken } from '@modeltrail/config';
import { type ApiKeyView, parseApiKey, type PrincipalAccess, UnauthenticatedError } from '@modeltrail/contracts';

export type Authentication = { ok: true; user: string } | { ok: false; reason: string };

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Bearer-token authentication against the configured tokens (API_TOKENS). Tokens are compared
 * as SHA-256 digests with timingSafeEqual, against every configured token whatever matches, so
 * the time taken says nothing about how much of a guess was right, nor which entry matched.
 */
export class TokenAuthenticator {
  private readonly tokens: ReadonlyArray<{ digest: Buffer; user: string }>;

  constructor(tokens: ReadonlyArray<ApiToken>) {
    if (tokens.length === 0) throw new Error('TokenAuthenticator needs at least one token');
    this.tokens = tokens.map(({ token, user }) => ({ digest: digest(token), user }));
  }

  /** Authenticates the value of an `Authorization` header (HTTP) or `authorization` connection parameter (WebSocket). */
  authenticate(authorization: unknown): Authentication {
    if (authorization === undefined || authorization === null || authorization === '') {
      return { ok: false, reason: 'missing bearer token: send the header "Authorization: Bearer <token>"' };
    }
    const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    if (!match) return { ok: false, reason: 'malformed authorization: expected "Bearer <token>"' };
    const presented = digest(match[1]);
    let user: string | undefined;
    for (const candidate of this.tokens) {
      if (timingSafeEqual(candidate.digest, presented) && user === undefined) user = candidate.user;
    }
    return user === undefined ? { ok: false, reason: 'unknown bearer token' } : { ok: true, user };
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** How a request proved who it is. */
export type AuthenticationMethod = 'DEVELOPMENT_TOKEN' | 'STATIC_TOKEN' | 'API_KEY' | 'OIDC';

/** Who a request acts as, and until when that proof holds. */
export interface Identity {
  principal: string;
  method: AuthenticationMethod;
  /** When the credential stops being valid (a JWT's exp, a key's expiresAt), or null. */
  expiresAt: Date | null;
  /** The API key that authenticated the request. */
  keyId: string | null;
  /** The principal's grants, when authenticating already told them (API keys). */
  access: PrincipalAccess | null;
}

export type IdentityResult = { ok: true; identity: Identity } | { ok: false; reason: string };

/** Asks the access service to check an API key (id and SHA-256 of the secret). */
export type ApiKeyCheck = (keyId: string, secretHash: string) => Promise<{ key: ApiKeyView; access: PrincipalAccess }>;

/** Verifies an OIDC bearer JWT; throws with a reason when it is not acceptable. */
export interface JwtVerifier {
  verify(token: string): Promise<{ principal: string; expiresAt: Date | null }>;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Every way a request may authenticate, by the shape of its bearer credential:
 * - `mtk_…`: an API key, checked by the access service (only SHA-256 of its secret is stored, and
 *   compared in constant time there); AGENT keys are refused here, they are for agents' NATS calls;
 * - a JWT (three base64url parts), when OIDC is configured: verified against the issuer's JWKS;
 * - anything else: the static tokens of API_TOKENS (the development tokens outside production).
 */
export class Authenticator {
  constructor(
    private readonly tokens: TokenAuthenticator | null,
    private readonly developmentTokens: ReadonlySet<string>,
    private readonly apiKeys: ApiKeyCheck,
    private readonly jwt: JwtVerifier | null,
  ) {}

  async authenticate(authorization: unknown): Promise<IdentityResult> {
    if (authorization === undefined || authorization === null || authorization === '') {
      return { ok: false, reason: 'missing bearer token: send the header "Authorization: Bearer <token>"' };
    }
    const match = typeof authorization === 'string' ? BEARER.exec(authorization) : null;
    if (!match) return { ok: false, reason: 'malformed authorization: expected "Bearer <token>"' };
    const credential = match[1];
    if (credential.startsWith('mtk_')) return this.apiKey(credential);
    if (this.jwt && JWT_SHAPE.test(credential)) {
      try {
        const { principal, expiresAt } = await this.jwt.verify(credential);
        return { ok: true, identity: { principal, method: 'OIDC', expiresAt, keyId: null, access: null } };
      } catch (error) {
        return { ok: false, reason: `bearer JWT refused: ${error instanceof Error ? error.message : String(error)}` };
      }
    }
    if (!this.tokens) return { ok: false, reason: 'unknown bearer token' };
    const auth = this.tokens.authenticate(authorization);
    if (!auth.ok) return auth;
    const method: AuthenticationMethod = this.developmentTokens.has(digest(credential).toString('hex')) ? 'DEVELOPMENT_TOKEN' : 'STATIC_TOKEN';
    return { ok: true, identity: { principal: auth.user, method, expiresAt: null, keyId: null, access: null } };
  }

  private async apiKey(text: string): Promise<IdentityResult> {
    const parsed = parseApiKey(text);
    if (!parsed) return { ok: false, reason: 'malformed API key: expected mtk_<32 hex>_<43 characters>' };
    let checked: { key: ApiKeyView; access: PrincipalAccess };
    try {
      checked = await this.apiKeys(parsed.keyId, createHash('sha256').update(parsed.secret, 'utf8').digest('hex'));
    } catch (error) {
      if (error instanceof UnauthenticatedError) return { ok: false, reason: 'invalid API key (unknown, revoked, expired or wrong)' };
      throw error;
    }
    if (checked.key.kind === 'AGENT') return { ok: false, reason: "an AGENT key authenticates an agent's requests to the scheduler, not the API" };
    const expiresAt = checked.key.expiresAt === null ? null : new Date(checked.key.expiresAt);
    return { ok: true, identity: { principal: checked.key.principal, method: 'API_KEY', expiresAt, keyId: checked.key.keyId, access: checked.access } };
  }
}

/** SHA-256 digests (hex) of the development tokens, to tell them apart without keeping them. */
export function tokenDigests(tokens: ReadonlyArray<{ token: string }>): ReadonlySet<string> {
  return new Set(tokens.map((t) => digest(t.token).toString('hex')));
}
