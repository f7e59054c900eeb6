import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { defineRpc, z } from '@modeltrail/contracts';
import { PostgresEventStore } from '@modeltrail/eventstore';
import { context, currentCorrelationId, metricsRegistry, SpanKind, startTracing, trace, tracer, type Tracing } from '@modeltrail/observability';
import { createTestSchema, natsAvailable, signedRpcClient, TEST_NATS_URL, type TestSchema, uniqueName } from '@modeltrail/testing';
import { connectBus, type ManagedBus } from './bus';
import { serveRpc, type RpcServer } from './rpc.server';

const base = uniqueName('mt.cmd.tracetest');
const Record = defineRpc(`${base}.Record`, z.object({ note: z.string() }), z.object({ position: z.number(), correlationId: z.string() }));

/**
 * One trace from the caller to the store, on both adapters of the messaging port: the client
 * span of RpcClient, the server span of the responder (its parent carried in the request's
 * `traceparent` header), and the event store append inside the handler share one trace id, each
 * the child of the one before. The NATS leg needs a NATS server; the in-process leg always runs.
 */
describe.each(natsAvailable ? ['nats', 'in-process'] : ['in-process'])('traces across the %s bus', (bus) => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing | null;
  let db: TestSchema;
  let store: PostgresEventStore;
  let server: ManagedBus;
  let client: ManagedBus;
  let responder: RpcServer;

  beforeAll(async () => {
    tracing = startTracing({ serviceName: 'tracing-spec', exporter });
    db = await createTestSchema('trace');
    store = new PostgresEventStore({ pool: db.pool, connectionString: db.url, schema: db.schema });
    await store.migrate();
    const url = bus === 'nats' ? TEST_NATS_URL : `in-process://${uniqueName('trace')}`;
    server = await connectBus({ url, name: 'trace-server' });
    client = await connectBus({ url, name: 'trace-client' });
    responder = serveRpc(server.nc, Record, async (request, headers) => {
      const appended = await store.append(`note-${request.note}`, [{ type: 'test.Noted.v1', data: request, metadata: { actor: headers.actor, correlationId: headers.correlationId } }]);
      return { position: appended.position, correlationId: currentCorrelationId() ?? '' };
    });
    await server.nc.flush();
  });
  afterAll(async () => {
    await responder?.stop();
    await client?.close();
    await server?.close();
    await store?.close();
    await db?.drop();
    await tracing?.shutdown();
  });

  it('client span → server span → append span: one trace, each the parent of the next; the handler runs in the request scope', async () => {
    const rpc = signedRpcClient(client.nc, { timeoutMs: 5_000 });
    const operation = tracer().startSpan('query recordNote');
    const reply = await context.with(trace.setSpan(context.active(), operation), () => rpc.request(Record, { note: 'a' }, { headers: { actor: 'user:ada', correlationId: 'req-trace-1' } }));
    operation.end();
    expect(reply.correlationId).toBe('req-trace-1');

    const spans = exporter.getFinishedSpans();
    const named = (name: string, kind: SpanKind): ReadableSpan => {
      const found = spans.filter((s) => s.name === name && s.kind === kind);
      expect(found).toHaveLength(1);
      return found[0];
    };
    const clientSpan = named(`rpc ${Record.subject}`, SpanKind.CLIENT);
    const serverSpan = named(`rpc ${Record.subject}`, SpanKind.SERVER);
    const append = named('eventstore.append', SpanKind.CLIENT);
    const traceId = operation.spanContext().traceId;
    expect([clientSpan, serverSpan, append].map((s) => s.spanContext().traceId)).toEqual([traceId, traceId, traceId]);
    expect(clientSpan.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
    expect(serverSpan.parentSpanContext?.spanId).toBe(clientSpan.spanContext().spanId);
    expect(append.parentSpanContext?.spanId).toBe(serverSpan.spanContext().spanId);
    expect(append.attributes).toMatchObject({ 'db.system': 'postgresql', 'modeltrail.eventstore.events': 1 });
  });

  it('counts the requests and the appends in the metrics', async () => {
    const text = await metricsRegistry.metrics();
    const count = (metric: string, labels: string) => Number(new RegExp(`^${metric}_count\\{[^}]*${labels}[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect(count('modeltrail_rpc_server_duration_seconds', `subject="${Record.subject}",outcome="ok"`)).toBeGreaterThan(0);
    expect(count('modeltrail_rpc_client_duration_seconds', `subject="${Record.subject}",outcome="ok"`)).toBeGreaterThan(0);
    expect(count('modeltrail_eventstore_append_duration_seconds', 'store="postgres",outcome="ok"')).toBeGreaterThan(0);
  });
});
