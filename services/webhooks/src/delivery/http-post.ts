import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { type AddressPolicy, hostOf, refusal } from './address-policy';

export interface PostOptions {
  url: string;
  body: string;
  headers: Record<string, string>;
  /** The whole exchange (connect, send, answer) at most (WEBHOOK_TIMEOUT_MS). */
  timeoutMs: number;
  /** Bytes of the answer's body kept for the delivery log (the rest is not read). */
  maxResponseBytes: number;
  policy: AddressPolicy;
}

export interface PostOutcome {
  /** The answer's status, or null when none came. */
  statusCode: number | null;
  /** Null for a 2xx; else what went wrong (with the start of the answer's body). */
  error: string | null;
  durationMs: number;
}

/**
 * POSTs one delivery with node:http(s): no redirects followed (a 3xx is a failure), the answer's
 * body read up to a limit, one timeout for the whole exchange, and every address the connection
 * resolves to checked against the address policy before connecting.
 */
export function postWebhook(options: PostOptions): Promise<PostOutcome> {
  const started = process.hrtime.bigint();
  const elapsed = () => Number((process.hrtime.bigint() - started) / 1_000_000n);
  return new Promise<PostOutcome>((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ statusCode, error, durationMs: elapsed() });
    };
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      finish(null, `${options.url} is not a URL`);
      return;
    }
    const host = hostOf(url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      finish(null, `only http and https URLs are delivered to (not ${url.protocol})`);
      return;
    }
    if (isIP(host)) {
      // An IP literal is connected to without a lookup: check it here.
      const problem = refusal(options.policy, host, host);
      if (problem !== null) {
        finish(null, problem);
        return;
      }
    }
    const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
      dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
        if (error) return callback(error, '', 0);
        for (const address of addresses) {
          const problem = refusal(options.policy, host, address.address);
          if (problem !== null) return callback(Object.assign(new Error(problem), { code: 'EADDRBLOCKED' }), '', 0);
        }
        if ((lookupOptions as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
        return callback(null, addresses[0].address, addresses[0].family);
      });
    };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(
      url,
      {
        method: 'POST',
        headers: { ...options.headers, 'content-length': String(Buffer.byteLength(options.body)), 'user-agent': 'ModelTrail-Webhooks/1' },
        lookup: guardedLookup,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (chunk: Buffer) => {
          if (kept < options.maxResponseBytes) {
            const part = chunk.subarray(0, options.maxResponseBytes - kept);
            chunks.push(part);
            kept += part.length;
          }
          if (kept >= options.maxResponseBytes) {
            // Enough for the log: the rest of the answer is not read.
            res.destroy();
            done();
          }
        });
        const done = () => {
          const text = Buffer.concat(chunks).toString('utf8').trim();
          if (status >= 200 && status < 300) finish(status, null);
          else if (status >= 300 && status < 400) finish(status, `HTTP ${status}: redirects are not followed (location: ${String(res.headers.location ?? 'none')})`);
          else finish(status, `HTTP ${status}${text ? `: ${text.slice(0, options.maxResponseBytes)}` : ''}`);
        };
        res.on('end', done);
        res.on('error', (error) => (status ? done() : finish(null, error.message)));
        res.on('close', done);
      },
    );
    timer = setTimeout(() => {
      finish(null, `no answer within ${options.timeoutMs} ms`);
      req.destroy();
    }, options.timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => finish(null, error.code === 'EADDRBLOCKED' ? error.message : `${error.code ? `${error.code}: ` : ''}${error.message}`));
    req.end(options.body);
  });
}
