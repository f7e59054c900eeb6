import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { CONSOLE_ASSETS, type ConsoleAsset } from './console.assets';

/** Where the web console is served. */
export const CONSOLE_PATH = '/console';

/** The third-party browser files the console loads, served from node_modules under /console/vendor/. */
const VENDOR_FILES: Record<string, { pkg: string; file: string; type: string }> = {
  'cytoscape.min.js': { pkg: 'cytoscape', file: 'dist/cytoscape.min.js', type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': { pkg: 'uplot', file: 'dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { pkg: 'uplot', file: 'dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
  'graphql-ws.min.js': { pkg: 'graphql-ws', file: 'umd/graphql-ws.min.js', type: 'text/javascript; charset=utf-8' },
};

/**
 * The path of `file` inside the installed package `pkg`. A package whose `exports` does not list
 * the file (graphql-ws's UMD build) is found from its entry point: the nearest folder above it
 * whose package.json names `pkg`.
 */
export function resolvePackageFile(pkg: string, file: string): string {
  try {
    return require.resolve(`${pkg}/${file}`);
  } catch {
    // Not exported (ERR_PACKAGE_PATH_NOT_EXPORTED): looked for from the package's folder below.
  }
  let dir = dirname(require.resolve(pkg));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === pkg) {
      const path = join(dir, file);
      if (!existsSync(path)) throw new Error(`${pkg} has no ${file}: the web console needs it`);
      return path;
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${pkg}: the web console needs its ${file}`);
    dir = parent;
  }
}

interface Served {
  type: string;
  body: Buffer;
  /** Vendor files never change while the gateway runs; the console's own files are revalidated. */
  cache: string;
}

/** Every file of the console by its path under CONSOLE_PATH, read once: the vendor files from node_modules, the console's own from its modules. */
export function consoleFiles(): Map<string, Served> {
  const files = new Map<string, Served>();
  for (const [name, vendor] of Object.entries(VENDOR_FILES)) {
    files.set(`/vendor/${name}`, { type: vendor.type, body: readFileSync(resolvePackageFile(vendor.pkg, vendor.file)), cache: 'public, max-age=3600' });
  }
  for (const asset of CONSOLE_ASSETS) files.set(asset.path, served(asset));
  files.set('', files.get('/index.html')!);
  files.set('/', files.get('/index.html')!);
  return files;
}

function served(asset: ConsoleAsset): Served {
  return { type: asset.type, body: Buffer.from(asset.body, 'utf8'), cache: 'no-cache' };
}

/** A Host header fit to name in a policy: a host name or address and an optional port, nothing else. */
function policyHost(host: string | undefined): string | null {
  return host && /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/.test(host) ? host : null;
}

/**
 * The console's Content-Security-Policy: its own scripts and styles only (no inline script or
 * style), requests to the gateway itself, and graphql-ws to the same host.
 */
export function contentSecurityPolicy(host: string | undefined): string {
  const own = policyHost(host);
  const connect = ["'self'", ...(own ? [`ws://${own}`, `wss://${own}`] : [])].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

type Next = (error?: unknown) => void;
type Handler = (req: IncomingMessage, res: ServerResponse, next: Next) => void;

/**
 * Middleware serving the web console (docs/console.md) at CONSOLE_PATH: the page, its scripts and
 * style, and the vendor files. GET and HEAD only; any other path passes on (to the JSON 404). The
 * page holds no data: everything it shows it asks of /graphql with the token typed into it.
 */
export function consoleHandler(files: Map<string, Served> = consoleFiles()): Handler {
  return (req, res, next) => {
    const path = (req.url ?? '/').split(/[?#]/)[0];
    if (path !== CONSOLE_PATH && !path.startsWith(`${CONSOLE_PATH}/`)) return next();
    const file = files.get(path.slice(CONSOLE_PATH.length));
    if (!file) return next();
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (path === CONSOLE_PATH) {
      // Relative URLs in the page resolve under /console/.
      res.statusCode = 308;
      res.setHeader('location', `${CONSOLE_PATH}/`);
      res.end();
      return;
    }
    res.statusCode = 200;
    res.setHeader('content-type', file.type);
    res.setHeader('content-length', file.body.length);
    res.setHeader('cache-control', file.cache);
    res.setHeader('content-security-policy', contentSecurityPolicy(req.headers.host));
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };
}

/** Serves the web console on the gateway's HTTP application (before its routes and its JSON 404). */
export function mountConsole(app: { use(handler: Handler): unknown }): void {
  app.use(consoleHandler());
}
