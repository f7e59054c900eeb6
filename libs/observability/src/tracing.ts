import { context, propagation, ROOT_CONTEXT, type Context, SpanKind, SpanStatusCode, trace, type Span, type TextMapGetter, type TextMapSetter, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

/** The instrumentation scope of every ModelTrail span. */
export const TRACER_NAME = 'modeltrail';

export function tracer(): Tracer {
  return trace.getTracer(TRACER_NAME);
}

export interface TracingOptions {
  /** `service.name` of the spans. */
  serviceName: string;
  /** OTLP/HTTP traces URL (…/v1/traces); spans are batched and posted there. */
  otlpTracesUrl?: string;
  /** Or any exporter (tests: InMemorySpanExporter), each span exported as it ends. */
  exporter?: SpanExporter;
}

/** The registered SDK; `shutdown()` flushes what is buffered and unregisters it. */
export interface Tracing {
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

let active: { tracing: Tracing; provider: NodeTracerProvider } | null = null;

/**
 * Registers the OpenTelemetry SDK for this process (a tracer provider, the AsyncLocalStorage
 * context manager and the W3C trace-context propagator) when there is somewhere to send spans:
 * an OTLP URL or an exporter. Otherwise nothing is registered and the API stays a no-op (returns
 * null). A second call while one is registered returns the first (one process, one SDK: the
 * one-process composition calls this once per part).
 */
export function startTracing(options: TracingOptions): Tracing | null {
  if (active) return active.tracing;
  if (!options.otlpTracesUrl && !options.exporter) return null;
  const processor = options.exporter ? new SimpleSpanProcessor(options.exporter) : new BatchSpanProcessor(new OTLPTraceExporter({ url: options.otlpTracesUrl }));
  const provider = new NodeTracerProvider({ resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }), spanProcessors: [processor] });
  provider.register();
  const tracing: Tracing = {
    forceFlush: () => provider.forceFlush(),
    shutdown: async () => {
      if (active?.provider !== provider) return;
      active = null;
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
  active = { tracing, provider };
  return tracing;
}

/** Sends the spans still buffered (an app closing: the process may end right after). */
export async function flushTracing(): Promise<void> {
  await active?.tracing.forceFlush().catch(() => undefined);
}

/** Whether an SDK is registered in this process (spans are recorded). */
export function tracingEnabled(): boolean {
  return active !== null;
}

/** A set of message headers as NATS has them (MsgHdrs), or any map-like carrier. */
export interface HeaderCarrier {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  keys?(): string[];
}

const carrierSetter: TextMapSetter<HeaderCarrier> = { set: (carrier, key, value) => carrier.set(key, value) };
const carrierGetter: TextMapGetter<HeaderCarrier | undefined> = {
  get: (carrier, key) => {
    const value = carrier?.get(key);
    return value === '' ? undefined : value;
  },
  keys: (carrier) => carrier?.keys?.() ?? [],
};

/** Writes the W3C trace context of `ctx` (default: the active one) into message headers (`traceparent`, `tracestate`). */
export function injectTraceContext(carrier: HeaderCarrier, ctx: Context = context.active()): void {
  propagation.inject(ctx, carrier, carrierSetter);
}

/** The context whose parent is the trace context carried by the headers (ROOT_CONTEXT when none). */
export function extractTraceContext(carrier: HeaderCarrier | undefined): Context {
  return propagation.extract(ROOT_CONTEXT, carrier, carrierGetter);
}

/** `traceId` and `spanId` of the active span, for log lines; undefined outside a (sampled) span. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  return trace.isSpanContextValid(span.spanContext()) ? { traceId, spanId } : undefined;
}

/** Ends `span` with the outcome of `work`: an exception is recorded and the status is ERROR. */
export async function endSpanWith<T>(span: Span, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

export function recordError(span: Span, error: unknown, code?: string): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: code ?? (error instanceof Error ? error.message : String(error)) });
}

export { context, SpanKind, SpanStatusCode, trace, type Context, type Span };
