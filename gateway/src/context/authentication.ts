import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiToken } from '@modeltrail/config';

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
