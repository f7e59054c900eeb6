import type { AppConfig } from '@modeltrail/config';
import { configureLogging, type Logger, loggingConfigured } from './logging';
import { enableProcessMetrics } from './metrics';
import { startTracing, type Tracing } from './tracing';

export interface ProcessObservability {
  logger: Logger;
  /** The tracing SDK, or null when no OTLP endpoint is configured. */
  tracing: Tracing | null;
}

/**
 * What every ModelTrail process does first (gateway, services, agent, the one-process
 * composition): JSON logs tagged with its service name at LOG_LEVEL (LOG_FORMAT), the tracing
 * SDK when an OTLP endpoint is set, and the process metrics in the registry.
 */
export function initProcessObservability(config: ObservedConfig): ProcessObservability {
  const logger = configureLogging({ service: config.serviceName, level: config.logLevel, format: config.observability.logFormat });
  return { logger, tracing: startTracingAndMetrics(config) };
}

/**
 * What initProcessObservability does, for the parts the process has not set up already (a
 * main.ts, the one-process composition, or a test that configured its own log destination).
 */
export function ensureProcessObservability(config: ObservedConfig): void {
  if (initialised) return;
  if (!loggingConfigured()) configureLogging({ service: config.serviceName, level: config.logLevel, format: config.observability.logFormat });
  startTracingAndMetrics(config);
}

type ObservedConfig = Pick<AppConfig, 'serviceName' | 'logLevel' | 'observability'>;

let initialised = false;

/** The tracing SDK (when an OTLP endpoint is set) and the process metrics: the part both set-ups share. */
function startTracingAndMetrics(config: ObservedConfig): Tracing | null {
  initialised = true;
  const tracing = startTracing({ serviceName: config.observability.otelServiceName, otlpTracesUrl: config.observability.otlpTracesUrl });
  enableProcessMetrics(config.serviceName);
  return tracing;
}
