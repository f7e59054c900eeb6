import { Counter, Histogram } from 'prom-client';
import { metricsRegistry } from '@modeltrail/observability';

/**
 * Delivery attempts, served at /metrics with the process's other metrics (docs/observability.md).
 * Labels are outcomes only (DELIVERED, RETRYING, PARKED), never webhook or delivery ids.
 */
export const webhookDeliveryAttempts = new Counter({
  name: 'modeltrail_webhook_delivery_attempts_total',
  help: 'Webhook delivery attempts, by the state they left the delivery in (DELIVERED, RETRYING, PARKED)',
  labelNames: ['outcome'] as const,
  registers: [metricsRegistry],
});

export const webhookDeliveryDuration = new Histogram({
  name: 'modeltrail_webhook_delivery_duration_seconds',
  help: 'Webhook POSTs, connection to answer (or timeout), by the state they left the delivery in',
  labelNames: ['outcome'] as const,
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [metricsRegistry],
});
