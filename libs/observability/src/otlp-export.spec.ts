import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * OTEL_EXPORTER_OTLP_ENDPOINT set: the process's spans are posted over OTLP/HTTP to
 * <endpoint>/v1/traces (here a collector stand-in started by the test), with the service name.
 */
describe('OTLP/HTTP export', () => {
  let server: Server;
  const received: Array<{ path: string; contentType: string; body: Buffer }> = [];

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({ path: req.url ?? '', contentType: String(req.headers['content-type']), body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('posts the spans to /v1/traces with service.name and the parent links', async () => {
    const { port } = server.address() as AddressInfo;
    // A process of its own: jest's module sandbox cannot run the exporter's dynamic import('http').
    // (Not spawnSync: this process's event loop answers the exporter.)
    const child = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const run = execFile(process.execPath, [join(__dirname, '..', 'test', 'run-ts.js'), join(__dirname, '..', 'test', 'otlp-child.ts')], { env: { PATH: process.env.PATH, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}` }, timeout: 60_000 }, (error, stdout, stderr) =>
        error && typeof error.code !== 'number' ? reject(error) : resolve({ status: run.exitCode, stdout, stderr }),
      );
    });
    expect({ status: child.status, stderr: child.stderr }).toEqual({ status: 0, stderr: '' });
    expect(child.stdout).toBe('exported\n');

    expect(received.map((r) => r.path)).toEqual(['/v1/traces']);
    const [post] = received;
    expect(post.contentType).toMatch(/application\/(json|x-protobuf)/);
    // The exporter's default encoding is JSON (OTLP/HTTP JSON); protobuf still carries the names as bytes.
    const text = post.body.toString('utf8');
    expect(text).toContain('rpc mt.cmd.datasets.RegisterDataset');
    expect(text).toContain('eventstore.append');
    if (post.contentType.includes('json')) {
      const payload = JSON.parse(text) as { resourceSpans: Array<{ resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> }; scopeSpans: Array<{ spans: Array<{ name: string; traceId: string; spanId: string; parentSpanId?: string }> }> }> };
      const [resourceSpans] = payload.resourceSpans;
      expect(resourceSpans.resource.attributes).toContainEqual({ key: 'service.name', value: { stringValue: 'datasets' } });
      const spans = resourceSpans.scopeSpans.flatMap((s) => s.spans);
      const rpc = spans.find((s) => s.name === 'rpc mt.cmd.datasets.RegisterDataset')!;
      const append = spans.find((s) => s.name === 'eventstore.append')!;
      expect(append.traceId).toBe(rpc.traceId);
      expect(append.parentSpanId).toBe(rpc.spanId);
    }
  });
});
