import { Logger } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import { type MetricPoint, type RunMetricsTelemetry, subjects, withNamespace } from '@modeltrail/contracts';
import { encodeJson } from '@modeltrail/messaging';

/** Room left in a NATS message for the envelope and headers. */
const ENVELOPE_ROOM = 1_024;

/**
 * Publishes newly stored points on core NATS (`mt.telemetry.run.<runId>.metrics`, namespace
 * applied) as `{ runId, points }`, for live charts. A batch larger than one NATS message goes
 * out in several messages, in order. Publishing is best effort: the points are already stored,
 * so a NATS problem is logged, never reported to the caller that logged them.
 */
export class RunTelemetryPublisher {
  private readonly logger = new Logger('RunTelemetry');

  constructor(
    private readonly nc: NatsConnection,
    private readonly namespace: string | undefined,
  ) {}

  publish(runId: string, points: ReadonlyArray<MetricPoint>): void {
    const subject = withNamespace(this.namespace, subjects.runTelemetry(runId));
    const limit = Math.max((this.nc.info?.max_payload ?? 1_048_576) - ENVELOPE_ROOM, 4_096);
    try {
      for (const chunk of chunks(points, limit)) {
        const message: RunMetricsTelemetry = { runId, points: chunk };
        this.nc.publish(subject, encodeJson(message));
      }
    } catch (error) {
      this.logger.warn(`could not publish ${points.length} points of run ${runId} on ${subject}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** Splits points into groups whose JSON stays under `limit` bytes. */
function* chunks(points: ReadonlyArray<MetricPoint>, limit: number): Generator<MetricPoint[]> {
  let chunk: MetricPoint[] = [];
  let size = 0;
  for (const point of points) {
    const bytes = Buffer.byteLength(JSON.stringify(point)) + 1;
    if (chunk.length > 0 && size + bytes > limit) {
      yield chunk;
      chunk = [];
      size = 0;
    }
    chunk.push(point);
    size += bytes;
  }
  if (chunk.length > 0) yield chunk;
}
