/**
 * A process with OTEL_EXPORTER_OTLP_ENDPOINT set (otlp-export.spec.ts starts it): it sets up its
 * observability as every ModelTrail process does, makes a parent and a child span, and exits
 * once the exporter has posted them.
 */
import { loadConfig } from '@modeltrail/config';
import { context, initProcessObservability, trace, tracer } from '@modeltrail/observability';

async function main(): Promise<void> {
  const { tracing } = initProcessObservability(loadConfig(process.env, { serviceName: 'datasets' }));
  if (!tracing) throw new Error('no tracing SDK although OTEL_EXPORTER_OTLP_ENDPOINT is set');
  const parent = tracer().startSpan('rpc mt.cmd.datasets.RegisterDataset');
  context.with(trace.setSpan(context.active(), parent), () => tracer().startSpan('eventstore.append').end());
  parent.end();
  await tracing.forceFlush();
  await tracing.shutdown();
  process.stdout.write('exported\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
