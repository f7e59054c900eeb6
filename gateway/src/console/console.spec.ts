import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_ASSETS } from './console.assets';
import { consoleHandler, contentSecurityPolicy, resolvePackageFile } from './console';

describe('web console files', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    const handler = consoleHandler();
    server = createServer((req, res) =>
      handler(req, res, () => {
        res.statusCode = 404;
        res.setHeader('content-type', 'application/json');
        res.end('{"errors":[{"message":"next","extensions":{"code":"NOT_FOUND"}}]}');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('serves the page with a strict policy: own scripts only, requests and graphql-ws to the same host', async () => {
    const response = await fetch(`${base}/console/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain(`connect-src 'self' ws://${new URL(base).host} wss://${new URL(base).host}`);
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval/);
    const html = await response.text();
    // No inline script: every <script> has a src.
    expect(html.match(/<script\b[^>]*>/g)!.every((tag) => / src="/.test(tag))).toBe(true);
    expect(html).not.toMatch(/ style="| on[a-z]+="/);
  });

  it('redirects /console to /console/ so that relative paths resolve', async () => {
    const response = await fetch(`${base}/console`, { redirect: 'manual' });
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('/console/');
  });

  it('serves the vendor files from node_modules', async () => {
    for (const [path, type, marker] of [
      ['vendor/cytoscape.min.js', 'text/javascript', /cytoscape/],
      ['vendor/uPlot.iife.min.js', 'text/javascript', /uPlot/],
      ['vendor/uPlot.min.css', 'text/css', /\.uplot/],
      ['vendor/graphql-ws.min.js', 'text/javascript', /graphqlWs/],
    ] as const) {
      const response = await fetch(`${base}/console/${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain(type);
      expect(await response.text()).toMatch(marker);
    }
  });

  it('passes unknown paths, other methods and other prefixes on', async () => {
    for (const [method, path] of [
      ['GET', '/console/nothing.js'],
      ['GET', '/console/../graphql'],
      ['GET', '/consoles'],
      ['DELETE', '/console/'],
    ]) {
      const response = await fetch(`${base}${path}`, { method });
      expect([method, path, response.status]).toEqual([method, path, 404]);
      expect(((await response.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0].extensions.code).toBe('NOT_FOUND');
    }
  });

  it('names no odd host in its policy', () => {
    expect(contentSecurityPolicy('evil.example; script-src *')).toContain("connect-src 'self';");
    expect(contentSecurityPolicy('[::1]:3000')).toContain('ws://[::1]:3000 wss://[::1]:3000');
  });

  it('finds a file a package does not export', () => {
    expect(resolvePackageFile('graphql-ws', 'umd/graphql-ws.min.js')).toMatch(/graphql-ws[\\/]umd[\\/]graphql-ws\.min\.js$/);
    expect(() => resolvePackageFile('graphql-ws', 'umd/none.js')).toThrow(/graphql-ws has no umd\/none\.js/);
  });

  it('ships scripts that parse as ES modules and never write HTML from data', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mt-console-'));
    try {
      for (const asset of CONSOLE_ASSETS.filter((a) => a.path.endsWith('.js'))) {
        const file = join(dir, asset.path.replace(/\W/g, '_') + '.mjs');
        writeFileSync(file, asset.body);
        execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' });
        expect([asset.path, /innerHTML|outerHTML|insertAdjacentHTML|document\.write/.test(asset.body)]).toEqual([asset.path, false]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
