import type { ServerResponse } from 'node:http';
import { IdentityRateLimiter, rateLimitedError, sendRateLimited } from './rate-limit';
import { ErrorFormatter } from '../errors/error-formatter';

describe('rate limit per identity', () => {
  it('admits a burst, then refuses with how long to wait, each identity on its own', async () => {
    const limiter = new IdentityRateLimiter({ perMinute: 60, burst: 5 });
    for (let i = 0; i < 5; i++) expect(await limiter.consume('ada')).toEqual({ ok: true });
    const refused = await limiter.consume('ada');
    expect(refused).toEqual({ ok: false, retryAfterSeconds: expect.any(Number) });
    // 5 tokens refill at 1 a second: the burst window is 5 s.
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeLessThanOrEqual(5);
    expect(await limiter.consume('bob')).toEqual({ ok: true });
  });

  it('bounds a minute as well as a burst', async () => {
    // A burst as large as the minute: the minute window decides, and says to wait up to a minute.
    const limiter = new IdentityRateLimiter({ perMinute: 3, burst: 3 });
    for (let i = 0; i < 3; i++) expect((await limiter.consume('ada')).ok).toBe(true);
    const refused = await limiter.consume('ada');
    expect(refused.ok).toBe(false);
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThan(50);
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it('counts every operation of a batch', async () => {
    const limiter = new IdentityRateLimiter({ perMinute: 600, burst: 10 });
    expect(await limiter.consume('ada', 10)).toEqual({ ok: true });
    expect((await limiter.consume('ada')).ok).toBe(false);
  });

  it('reads RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST', () => {
    expect(IdentityRateLimiter.fromConfig({ access: { rateLimitPerMinute: 600, rateLimitBurst: 120 } } as never).limits).toEqual({ perMinute: 600, burst: 120 });
  });

  it('refuses through Apollo with 429, Retry-After and the code RATE_LIMITED, which the formatter keeps', () => {
    const error = rateLimitedError(7);
    expect(error.extensions.http).toEqual({ status: 429, headers: new Map([['retry-after', '7']]) });
    const formatted = new ErrorFormatter().format(error.toJSON(), error, undefined);
    expect(formatted).toEqual({ message: 'too many requests: try again in 7 s (RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST limit each identity)', extensions: { code: 'RATE_LIMITED', details: { retryAfterSeconds: 7 } } });
  });

  it('refuses directly over HTTP the same way', () => {
    const sent: { status?: number; headers: Record<string, unknown>; body?: string } = { headers: {} };
    const res = {
      headersSent: false,
      set statusCode(status: number) {
        sent.status = status;
      },
      setHeader: (name: string, value: unknown) => (sent.headers[name] = value),
      end: (body: string) => (sent.body = body),
    } as unknown as ServerResponse;
    sendRateLimited(res, 3);
    expect(sent.status).toBe(429);
    expect(sent.headers['retry-after']).toBe('3');
    expect(JSON.parse(sent.body!)).toEqual({ errors: [{ message: expect.stringMatching(/^too many requests: try again in 3 s/), extensions: { code: 'RATE_LIMITED', details: { retryAfterSeconds: 3 } } }] });
  });
});
