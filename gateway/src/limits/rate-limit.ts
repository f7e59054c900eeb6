import type { ServerResponse } from 'node:http';
import { GraphQLError } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { AppConfig } from '@modeltrail/config';
import { sendRefusal } from '../errors/http-errors';

/** What `IdentityRateLimiter.consume` decides. */
export type RateDecision = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * Requests per identity (the authenticated principal) at the gateway: RATE_LIMIT_PER_MINUTE on
 * average, with bursts of up to RATE_LIMIT_BURST.
 *
 * rate-limiter-flexible counts in fixed windows and has no token bucket, so the bucket (capacity
 * `burst`, refilled at perMinute/60 a second) is approximated by two RateLimiterMemory windows that
 * must both admit a request:
 * - the burst window: `burst` points per the time the bucket takes to refill them
 *   (burst × 60 / perMinute seconds: 120 per 12 s at 600/min), so no more than a burst at once;
 * - the minute window: `perMinute` points per 60 s, so two bursts either side of a window's edge
 *   still cannot exceed the rate over a minute.
 * (RateLimiterMemory with points = perMinute alone would let a whole minute's worth through in
 * one second; BurstyRateLimiter lets bursts go *over* the rate instead of bounding them.)
 * Both windows count every request, refused ones included: a client that keeps sending while
 * refused only waits longer.
 * Memory only: each gateway instance counts its own requests.
 */
export class IdentityRateLimiter {
  private readonly minute: RateLimiterMemory;
  private readonly burst: RateLimiterMemory;

  constructor(readonly limits: { perMinute: number; burst: number }) {
    const perMinute = Math.max(1, Math.floor(limits.perMinute));
    const burst = Math.max(1, Math.floor(limits.burst));
    this.minute = new RateLimiterMemory({ keyPrefix: 'gateway-minute', points: perMinute, duration: 60 });
    this.burst = new RateLimiterMemory({ keyPrefix: 'gateway-burst', points: burst, duration: Math.max(1, Math.ceil((burst * 60) / perMinute)) });
  }

  /** The limiter of `config.access` (RATE_LIMIT_PER_MINUTE, RATE_LIMIT_BURST). */
  static fromConfig(config: Pick<AppConfig, 'access'>): IdentityRateLimiter {
    return new IdentityRateLimiter({ perMinute: config.access.rateLimitPerMinute, burst: config.access.rateLimitBurst });
  }

  /**
   * Counts one request of `identity` (`operations` for a batch: Apollo builds one context for a
   * whole batched HTTP request, so pass `Array.isArray(req.body) ? req.body.length : 1` or a batch
   * of 10 costs as much as one operation); refused with how long to wait once over either window.
   */
  async consume(identity: string, operations = 1): Promise<RateDecision> {
    const points = Math.max(1, Math.floor(operations));
    const results = await Promise.allSettled([this.burst.consume(identity, points), this.minute.consume(identity, points)]);
    let waitMs = -1;
    for (const result of results) {
      if (result.status === 'fulfilled') continue;
      // A RateLimiterRes is a refusal; anything else is a bug of the limiter: fail open rather than lock everyone out.
      if (!(result.reason instanceof RateLimiterRes)) continue;
      waitMs = Math.max(waitMs, result.reason.msBeforeNext);
    }
    return waitMs < 0 ? { ok: true } : { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(waitMs / 1000)) };
  }
}

function rateLimitedMessage(retryAfterSeconds: number): string {
  return `too many requests: try again in ${retryAfterSeconds} s (RATE_LIMIT_PER_MINUTE and RATE_LIMIT_BURST limit each identity)`;
}

/**
 * The error to throw from Apollo's context function when `consume` refused: Apollo answers it with
 * HTTP 429 and `Retry-After`, and the ErrorFormatter keeps its code RATE_LIMITED and
 * `details.retryAfterSeconds`.
 */
export function rateLimitedError(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(rateLimitedMessage(retryAfterSeconds), {
    extensions: { code: 'RATE_LIMITED', details: { retryAfterSeconds }, http: { status: 429, headers: new Map([['retry-after', String(retryAfterSeconds)]]) } },
  });
}

/** The same refusal answered directly over HTTP (an Express middleware, a controller): 429, `Retry-After`, a GraphQL error body. */
export function sendRateLimited(res: ServerResponse, retryAfterSeconds: number): void {
  sendRefusal(res, { status: 429, code: 'RATE_LIMITED', message: rateLimitedMessage(retryAfterSeconds), details: { retryAfterSeconds }, headers: { 'retry-after': String(retryAfterSeconds) } });
}
