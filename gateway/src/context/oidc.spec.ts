import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, type KeyLike, SignJWT } from 'jose';
import type { OidcConfig } from '@modeltrail/config';
import { Authenticator, TokenAuthenticator, tokenDigests } from './authentication';
import { OidcVerifier } from './oidc';

/** An OIDC issuer on loopback: discovery document and JWKS, as a real identity provider serves them. */
describe('OIDC bearer JWTs (jose) against an issuer on loopback', () => {
  let server: Server;
  let issuer: string;
  let keys: JWK[] = [];
  let signer: KeyLike;
  let otherSigner: KeyLike;
  let jwksRequests = 0;
  const audience = 'modeltrail-api';

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const other = await generateKeyPair('ES256', { extractable: true });
    signer = pair.privateKey as KeyLike;
    otherSigner = other.privateKey as KeyLike;
    keys = [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }];
    server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks` }));
      if (req.url === '/jwks') {
        jwksRequests += 1;
        return res.end(JSON.stringify({ keys }));
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const config = (): OidcConfig => ({ issuer, audience, jwksUrl: undefined, algorithms: ['ES256', 'RS256'], userClaim: 'email', clockToleranceSeconds: 5 });
  const token = (claims: Record<string, unknown> = {}, options: { key?: KeyLike; kid?: string; alg?: string; exp?: string | number; iss?: string; aud?: string } = {}) =>
    new SignJWT({ email: 'ada@example.com', ...claims })
      .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? 'k1' })
      .setIssuer(options.iss ?? issuer)
      .setAudience(options.aud ?? audience)
      .setSubject('248289761001')
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '10m')
      .sign(options.key ?? signer);

  it('accepts a token of the issuer for the audience, naming the user by the configured claim, with its expiry', async () => {
    const verifier = new OidcVerifier(config());
    const result = await verifier.verify(await token());
    expect(result.principal).toBe('ada@example.com');
    expect(result.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 9 * 60_000);
  });

  it('refuses a wrong issuer, a wrong audience, an expired token, a foreign key and a missing claim, saying which', async () => {
    const verifier = new OidcVerifier(config());
    await expect(verifier.verify(await token({}, { iss: 'https://evil.example.com' }))).rejects.toThrow(/claim "iss"/);
    await expect(verifier.verify(await token({}, { aud: 'another-api' }))).rejects.toThrow(/claim "aud"/);
    await expect(verifier.verify(await token({}, { exp: Math.floor(Date.now() / 1000) - 60 }))).rejects.toThrow(/expired/);
    await expect(verifier.verify(await token({}, { key: otherSigner }))).rejects.toThrow(/signature does not verify/);
    await expect(verifier.verify(await token({ email: undefined }))).rejects.toThrow(/claim "email" must name the user/);
    await expect(verifier.verify(await token({ email: 'agent:0b9c' }))).rejects.toThrow(/service account or agent/);
  });

  it('refuses an algorithm outside the allow-list, and unsigned tokens', async () => {
    const verifier = new OidcVerifier({ ...config(), algorithms: ['RS256'] });
    await expect(verifier.verify(await token())).rejects.toThrow(/algorithm that is not allowed/);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ email: 'ada@example.com', iss: issuer, aud: audience, exp: Math.floor(Date.now() / 1000) + 600 })).toString('base64url');
    await expect(new OidcVerifier(config()).verify(`${header}.${body}.`)).rejects.toThrow();
    await expect(new OidcVerifier(config()).verify(`${header}.${body}.c2ln`)).rejects.toThrow(/not allowed|not a valid/);
  });

  it('picks up a rotated key: a token with an unknown kid refetches the JWKS', async () => {
    const verifier = new OidcVerifier(config());
    await verifier.verify(await token());
    const rotated = await generateKeyPair('ES256', { extractable: true });
    keys = [...keys, { ...(await exportJWK(rotated.publicKey)), kid: 'k2', alg: 'ES256', use: 'sig' }];
    const before = jwksRequests;
    // jose refetches at most every 30 s by default: wait out its cooldown in the key set's own terms.
    const fresh = new OidcVerifier(config());
    await expect(fresh.verify(await token({}, { key: rotated.privateKey as KeyLike, kid: 'k2' }))).resolves.toMatchObject({ principal: 'ada@example.com' });
    expect(jwksRequests).toBeGreaterThan(before);
  });

  it('the authenticator routes a JWT to OIDC, an mtk_ key to the access service and anything else to the static tokens', async () => {
    const calls: string[] = [];
    const authenticator = new Authenticator(
      new TokenAuthenticator([{ token: 'dev-token', user: 'developer@modeltrail.local' }, { token: 'ops-token', user: 'ops@example.com' }]),
      tokenDigests([{ token: 'dev-token' }]),
      async (keyId) => {
        calls.push(keyId);
        return {
          key: { keyId, name: 'ci', prefix: 'mtk_01234567', kind: 'PERSONAL', principal: 'bob@example.com', agentId: null, createdBy: 'bob@example.com', createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null, revokedBy: null, lastUsedAt: null, status: 'ACTIVE', revision: 0 },
          access: { principal: 'bob@example.com', platformAdmin: false, projects: [] },
        };
      },
      new OidcVerifier(config()),
    );
    await expect(authenticator.authenticate(`Bearer ${await token()}`)).resolves.toMatchObject({ ok: true, identity: { principal: 'ada@example.com', method: 'OIDC' } });
    await expect(authenticator.authenticate(`Bearer ${await token({}, { key: otherSigner })}`)).resolves.toEqual({ ok: false, reason: expect.stringMatching(/^bearer JWT refused: the signature/) });
    const key = `mtk_0123456789abcdef0123456789abcdef_${'A'.repeat(43)}`;
    await expect(authenticator.authenticate(`Bearer ${key}`)).resolves.toMatchObject({ ok: true, identity: { principal: 'bob@example.com', method: 'API_KEY', keyId: '01234567-89ab-cdef-0123-456789abcdef' } });
    expect(calls).toEqual(['01234567-89ab-cdef-0123-456789abcdef']);
    await expect(authenticator.authenticate('Bearer mtk_short')).resolves.toEqual({ ok: false, reason: expect.stringMatching(/^malformed API key/) });
    await expect(authenticator.authenticate('Bearer dev-token')).resolves.toMatchObject({ ok: true, identity: { principal: 'developer@modeltrail.local', method: 'DEVELOPMENT_TOKEN' } });
    await expect(authenticator.authenticate('Bearer ops-token')).resolves.toMatchObject({ ok: true, identity: { principal: 'ops@example.com', method: 'STATIC_TOKEN' } });
    await expect(authenticator.authenticate('Bearer nope')).resolves.toEqual({ ok: false, reason: 'unknown bearer token' });
  });
});
