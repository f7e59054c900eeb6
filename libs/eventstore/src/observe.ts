import { eventStoreAppendDuration, eventStoreAppendedEvents, SpanKind, SpanStatusCode, tracer } from '@modeltrail/observability';

/**
 * An append observed (docs/observability.md): an `eventstore.append` span (child of the request
 * being handled), its latency and outcome in modeltrail_eventstore_append_duration_seconds
 * {store, outcome}, and the events appended in modeltrail_eventstore_appended_events_total.
 */
export async function observeAppend<T>(store: string, stream: string, events: number, work: () => Promise<T>): Promise<T> {
  const started = process.hrtime.bigint();
  const span = tracer().startSpan('eventstore.append', { kind: SpanKind.CLIENT, attributes: { 'db.system': store === 'postgres' ? 'postgresql' : store, 'modeltrail.eventstore.stream': stream, 'modeltrail.eventstore.events': events } });
  let outcome = 'ok';
  try {
    const result = await work();
    eventStoreAppendedEvents.inc({ store }, events);
    return result;
  } catch (error) {
    outcome = error instanceof Error && /^[A-Za-z]{1,60}$/.test(error.name) ? error.name : 'error';
    span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
    throw error;
  } finally {
    eventStoreAppendDuration.observe({ store, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
    span.end();
  }
}
