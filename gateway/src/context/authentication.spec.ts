import { TokenAuthenticator } from './authentication';

describe('bearer token authentication', () => {
  const authenticator = new TokenAuthenticator([
    { token: 's3cr3t', user: 'ada@example.com' },
    { token: 'dGVzdA==', user: 'bob@example.com' },
  ]);

  it('names the user of a known token, whatever the case of "Bearer"', () => {
    expect(authenticator.authenticate('Bearer s3cr3t')).toEqual({ ok: true, user: 'ada@example.com' });
    expect(authenticator.authenticate('bearer   dGVzdA==')).toEqual({ ok: true, user: 'bob@example.com' });
  });

  it('refuses a missing, malformed or unknown token, saying which', () => {
    expect(authenticator.authenticate(undefined)).toEqual({ ok: false, reason: expect.stringMatching(/^missing bearer token/) });
    expect(authenticator.authenticate('')).toEqual({ ok: false, reason: expect.stringMatching(/^missing bearer token/) });
    expect(authenticator.authenticate('Basic czNjcjN0')).toEqual({ ok: false, reason: expect.stringMatching(/^malformed authorization/) });
    expect(authenticator.authenticate('Bearer')).toEqual({ ok: false, reason: expect.stringMatching(/^malformed authorization/) });
    expect(authenticator.authenticate('Bearer s3cr3t extra')).toEqual({ ok: false, reason: expect.stringMatching(/^malformed authorization/) });
    expect(authenticator.authenticate(42)).toEqual({ ok: false, reason: expect.stringMatching(/^malformed authorization/) });
    expect(authenticator.authenticate('Bearer s3cr3')).toEqual({ ok: false, reason: 'unknown bearer token' });
    expect(authenticator.authenticate('Bearer S3CR3T')).toEqual({ ok: false, reason: 'unknown bearer token' });
  });

  it('needs at least one token', () => {
    expect(() => new TokenAuthenticator([])).toThrow(/at least one token/);
  });
});
