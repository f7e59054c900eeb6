import { createRemoteJWKSet, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { OidcConfig } from '@modeltrail/config';
import { Principal } from '@modeltrail/contracts';
import type { JwtVerifier } from './authentication';

/**
 * OIDC bearer JWTs, verified with `jose`: the signature with the issuer's keys (its JWKS, fetched
 * and cached by jose, refetched when a token names an unknown key), the algorithm against the
 * allow-list (asymmetric only: never `none`, never HMAC), `iss`, `aud`, `exp` (required), `nbf`
 * and `iat` with the configured clock tolerance. The user is the configured claim (default `sub`);
 * names reserved for service accounts and agents are refused.
 */
export class OidcVerifier implements JwtVerifier {
  private keys: Promise<JWTVerifyGetKey> | null = null;

  constructor(
    private readonly config: OidcConfig,
    /** How the discovery document is fetched (tests serve it on loopback). */
    private readonly fetchJson: (url: string) => Promise<unknown> = defaultFetchJson,
  ) {}

  async verify(token: string): Promise<{ principal: string; expiresAt: Date | null }> {
    const keys = await this.keySet();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: [...this.config.algorithms],
        clockTolerance: this.config.clockToleranceSeconds,
        requiredClaims: ['exp'],
      }));
    } catch (error) {
      throw new Error(describeJoseError(error));
    }
    const claim = payload[this.config.userClaim];
    const parsed = Principal.safeParse(claim);
    if (typeof claim !== 'string' || !parsed.success) throw new Error(`the claim "${this.config.userClaim}" must name the user (a string without spaces)`);
    if (/^(service|agent):/.test(parsed.data)) throw new Error(`the claim "${this.config.userClaim}" names a service account or agent, which a JWT may not act as`);
    return { principal: parsed.data, expiresAt: typeof payload.exp === 'number' ? new Date(payload.exp * 1000) : null };
  }

  private keySet(): Promise<JWTVerifyGetKey> {
    this.keys ??= this.discover().catch((error: unknown) => {
      this.keys = null; // try again on the next request
      throw new Error(`the issuer's keys cannot be fetched: ${error instanceof Error ? error.message : String(error)}`);
    });
    return this.keys;
  }

  private async discover(): Promise<JWTVerifyGetKey> {
    if (this.config.jwksUrl) return createRemoteJWKSet(new URL(this.config.jwksUrl));
    const url = `${this.config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const document = (await this.fetchJson(url)) as { issuer?: unknown; jwks_uri?: unknown };
    if (document.issuer !== this.config.issuer) throw new Error(`${url} names the issuer ${JSON.stringify(document.issuer)}, not ${this.config.issuer}`);
    if (typeof document.jwks_uri !== 'string') throw new Error(`${url} has no jwks_uri`);
    return createRemoteJWKSet(new URL(document.jwks_uri));
  }
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) return `claim "${error.claim}" is not acceptable (${error.reason})`;
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm that is not allowed';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'the signature does not verify';
  if (error instanceof errors.JWKSNoMatchingKey) return "no key of the issuer matches the token's key id";
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return 'the token is not a valid JWT';
  if (error instanceof errors.JOSEError) return error.code;
  return error instanceof Error ? error.message : String(error);
}

async function defaultFetchJson(url: string): Promise<unknown> {
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}
