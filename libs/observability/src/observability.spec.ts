import { headers as natsHeaders } from 'nats';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { currentCorrelationId, requestIdFrom, validRequestId, withRequestScope } from './correlation';
import { createLogger, PinoNestLogger, prettyLine } from './logging';
import { boundedOperationName, metricsRegistry, recordGpus } from './metrics';
import { Readiness, startOpsServer } from './ops';
import { context, extractTraceContext, injectTraceContext, startTracing, trace, tracer, type Tracing } from './tracing';

/** A log destination that keeps each line as a parsed object. */
function captured() {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, destination: { write: (chunk: string) => void chunk.split('\n').filter(Boolean).forEach((line) => lines.push(JSON.parse(line) as Record<string, unknown>)) } };
}

describe('correlation ids', () => {
  it('takes a short request id of safe characters and refuses anything else', () => {
    expect(validRequestId('req-42_a.b:c')).toBe('req-42_a.b:c');
    expect(validRequestId('a'.repeat(128))).toBe('a'.repeat(128));
    for (const bad of ['', 'a'.repeat(129), 'has space', 'line\nbreak', 'quote"', '<script>', 'ünï', undefined, 42, ['a']]) expect(validRequestId(bad)).toBeNull();
    expect(requestIdFrom('mine-1')).toBe('mine-1');
    expect(requestIdFrom('not ok')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps the scope across awaits and timers, and only inside it', async () => {
    expect(currentCorrelationId()).toBeUndefined();
    const seen = await withRequestScope({ correlationId: 'c-1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      const inner = await withRequestScope({ correlationId: 'c-2' }, async () => currentCorrelationId());
      return [currentCorrelationId(), inner];
    });
    expect(seen).toEqual(['c-1', 'c-2']);
    expect(currentCorrelationId()).toBeUndefined();
  });
});

describe('JSON log lines', () => {
  it('carry level, time, service, msg, and the correlation id inside a request', () => {
    const { lines, destination } = captured();
    const logger = createLogger({ service: 'datasets', level: 'info', destination });
    logger.info('outside');
    withRequestScope({ correlationId: 'req-7', service: 'registry' }, () => logger.warn({ context: 'Handlers' }, 'inside'));
    logger.debug('below the level');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', service: 'datasets', msg: 'outside' });
    expect(lines[0]).not.toHaveProperty('correlationId');
    expect(new Date(String(lines[0].time)).toISOString()).toBe(lines[0].time);
    expect(lines[1]).toMatchObject({ level: 'warn', service: 'registry', correlationId: 'req-7', context: 'Handlers', msg: 'inside' });
    expect(Object.keys(lines[1]).filter((k) => k === 'service')).toHaveLength(1);
  });

  it("route Nest's lines: context, error stacks, start-up noise at debug", () => {
    const { lines, destination } = captured();
    const nest = new PinoNestLogger(createLogger({ service: 'gateway', level: 'info', destination }));
    nest.log('Mapped {/graphql, POST} route', 'RouterExplorer');
    nest.log('projections following the event store', 'Projection');
    nest.error('failed', 'Error: x\n    at f (a.ts:1:1)', 'Handlers');
    nest.error('refused', 'Guard');
    expect(lines.map((l) => [l.level, l.context, l.msg])).toEqual([
      ['info', 'Projection', 'projections following the event store'],
      ['error', 'Handlers', 'failed'],
      ['error', 'Guard', 'refused'],
    ]);
    expect(lines[1].stack).toContain('at f (a.ts:1:1)');
  });

  it('LOG_FORMAT=pretty is one readable line', () => {
    const line = prettyLine(JSON.stringify({ level: 'info', time: '2026-01-01T00:00:00.000Z', service: 'datasets', context: 'Rpc', msg: 'handled', correlationId: 'req-1' }));
    expect(line).toBe('2026-01-01T00:00:00.000Z INFO  datasets [Rpc] handled correlationId=req-1');
  });
});

describe('trace context in message headers', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | null;
  beforeAll(() => {
    tracing = startTracing({ serviceName: 'unit', exporter });
  });
  afterAll(async () => tracing?.shutdown());

  it('injects the active span as a W3C traceparent and extracts it as the parent of the next span', () => {
    const headers = natsHeaders();
    const client = tracer().startSpan('client');
    context.with(trace.setSpan(context.active(), client), () => injectTraceContext(headers));
    const { traceId, spanId } = client.spanContext();
    expect(headers.get('traceparent')).toBe(`00-${traceId}-${spanId}-01`);

    const server = tracer().startSpan('server', {}, extractTraceContext(headers));
    server.end();
    client.end();
    const [finished] = exporter.getFinishedSpans().filter((s) => s.name === 'server');
    expect(finished.spanContext().traceId).toBe(traceId);
    expect(finished.parentSpanContext?.spanId).toBe(spanId);
  });

  it('starts a new trace when the headers carry none, or a malformed one', () => {
    const headers = natsHeaders();
    headers.set('traceparent', '00-zz-not-a-trace');
    for (const carrier of [undefined, natsHeaders(), headers]) expect(trace.getSpanContext(extractTraceContext(carrier))).toBeUndefined();
  });

  it('puts traceId and spanId on log lines written inside a span', () => {
    const { lines, destination } = captured();
    const logger = createLogger({ service: 'unit', destination });
    const span = tracer().startSpan('work');
    context.with(trace.setSpan(context.active(), span), () => logger.info('in a span'));
    span.end();
    expect(lines[0]).toMatchObject({ traceId: span.spanContext().traceId, spanId: span.spanContext().spanId });
  });
});

describe('metrics and the ops server', () => {
  it('keeps operation names bounded', () => {
    expect(boundedOperationName(undefined)).toBe('anonymous');
    expect(boundedOperationName('getModel')).toBe('getModel');
    expect(boundedOperationName('no spaces please')).toBe('other');
    for (let i = 0; i < 300; i++) boundedOperationName(`op${i}`);
    expect(boundedOperationName('op299')).toBe('other');
    expect(boundedOperationName('getModel')).toBe('getModel');
  });

  it('/ready names what does not answer; /health answers; /metrics needs the token when one is set', async () => {
    const readiness = new Readiness();
    let databaseUp = false;
    readiness.add('svc:bus', () => undefined);
    readiness.add('svc:database', () => {
      if (!databaseUp) throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    });
    readiness.add('svc:slow', () => new Promise(() => undefined));
    recordGpus([{ index: 0, status: 'AVAILABLE', utilizationPct: 50, memoryUsedMb: 1024, memoryMb: 81_920 }]);
    const ops = await startOpsServer({ port: 0, host: '127.0.0.1', readiness, metricsToken: 'metrics-token-0123456789' });
    try {
      const health = await fetch(`${ops.url}/health`);
      expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);
      const ready = await fetch(`${ops.url}/ready`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { notReady: Array<{ name: string; reason: string }> };
      expect(body.notReady.map((n) => n.name)).toEqual(['svc:database', 'svc:slow']);
      expect(body.notReady[0].reason).toMatch(/ECONNREFUSED/);
      expect(body.notReady[1].reason).toMatch(/no answer within/);

      const refused = await fetch(`${ops.url}/metrics`);
      expect(refused.status).toBe(401);
      const metrics = await fetch(`${ops.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
      const text = await metrics.text();
      expect(text).toMatch(/^modeltrail_agent_gpu_memory_total_bytes\{gpu="0"\} 85899345920$/m);
      expect(text).toMatch(/^modeltrail_agent_gpu_utilization_ratio\{gpu="0"\} 0.5$/m);
      expect(text).toMatch(/^modeltrail_agent_gpus\{status="AVAILABLE"\} 1$/m);
      expect((await fetch(`${ops.url}/other`)).status).toBe(404);

      databaseUp = true;
      readiness.add('svc:slow', () => undefined);
      const after = await fetch(`${ops.url}/ready`);
      expect([after.status, ((await after.json()) as { status: string }).status]).toEqual([200, 'ready']);
    } finally {
      await ops.close();
      metricsRegistry.resetMetrics();
    }
  });
});
