import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isNonPublicAddress } from './address-policy';
import { backoffDelayMs } from './webhook.delivery';
import { postWebhook } from './http-post';

const open = { blockPrivate: false, allowedHosts: new Set<string>() };

describe('postWebhook (a local HTTP server)', () => {
  let server: Server;
  let base: string;
  const hits: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      req.resume();
      if (req.url === '/redirect') res.writeHead(302, { location: '/elsewhere' }).end();
      else if (req.url === '/big') res.writeHead(500).end('x'.repeat(100_000));
      else if (req.url === '/slow') {
        const late = setTimeout(() => res.writeHead(200).end('late'), 2_000);
        res.on('close', () => clearTimeout(late));
      }
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const post = (path: string, policy = open, timeoutMs = 5_000) => postWebhook({ url: `${base}${path}`, body: '{}', headers: { 'content-type': 'application/json' }, timeoutMs, maxResponseBytes: 64, policy });

  it('is delivered on a 2xx', async () => {
    expect(await post('/ok')).toMatchObject({ statusCode: 200, error: null });
  });

  it('does not follow a redirect', async () => {
    hits.length = 0;
    const outcome = await post('/redirect');
    expect(outcome).toMatchObject({ statusCode: 302 });
    expect(outcome.error).toMatch(/redirects are not followed/);
    expect(hits).toEqual(['/redirect']);
  });

  it('keeps only the start of a large answer', async () => {
    const outcome = await post('/big');
    expect(outcome.statusCode).toBe(500);
    expect(outcome.error).toBe(`HTTP 500: ${'x'.repeat(64)}`);
  });

  it('gives up after the timeout', async () => {
    const outcome = await post('/slow', open, 200);
    expect(outcome).toMatchObject({ statusCode: null, error: 'no answer within 200 ms' });
  });

  it('refuses a loopback address under the production policy, without connecting; allowed hosts pass', async () => {
    hits.length = 0;
    const refused = await post('/ok', { blockPrivate: true, allowedHosts: new Set() });
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toMatch(/loopback, private, link-local or reserved address/);
    expect(hits).toEqual([]);
    const viaName = await postWebhook({ url: base.replace('127.0.0.1', 'localhost') + '/ok', body: '{}', headers: {}, timeoutMs: 5_000, maxResponseBytes: 64, policy: { blockPrivate: true, allowedHosts: new Set() } });
    expect(viaName.error).toMatch(/refused in production/);
    expect(hits).toEqual([]);
    expect(await post('/ok', { blockPrivate: true, allowedHosts: new Set(['127.0.0.1']) })).toMatchObject({ statusCode: 200, error: null });
  });
});

describe('address policy and backoff', () => {
  it('tells public addresses from the rest', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fe80::1', 'fd00::1', '::ffff:127.0.0.1', '224.0.0.1']) {
      expect([address, isNonPublicAddress(address)]).toEqual([address, true]);
    }
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8']) expect([address, isNonPublicAddress(address)]).toEqual([address, false]);
  });

  it('doubles the delay after each failure up to the cap, with up to a quarter of jitter', () => {
    expect([1, 2, 3, 4].map((tries) => backoffDelayMs(tries, 1_000, 60_000, 0))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(backoffDelayMs(2, 1_000, 60_000, 0.999)).toBeLessThanOrEqual(2_500);
    expect(backoffDelayMs(30, 1_000, 60_000, 0.999)).toBe(60_000);
  });
});
