import { Logger } from '@nestjs/common';
import type { MessageBus } from '@modeltrail/messaging';
import { type MetricPoint, type RunMetricsTelemetry, subjects, withNamespace } from '@modeltrail/contracts';

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
    private readonly nc: MessageBus,
    private readonly namespace: string | undefined,
  ) {}

  publish(runId: string, points: ReadonlyArray<MetricPoint>): void {
    const subject = withNamespace(this.namespace, subjects.runTelemetry(runId));
    const limit = Math.max((this.nc.info?.max_payload ?? 1_048_576) - ENVELOPE_ROOM, 4_096);
    try {
      for (const message of telemetryMessages(runId, points, limit)) this.nc.publish(subject, message);
    } catch (error) {
      this.logger.warn(`could not publish ${points.length} points of run ${runId} on ${subject}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * `{ runId, points }` (RunMetricsTelemetry) as JSON, in order, in messages of at most `limit`
 * bytes (a single point larger than that goes alone). The whole batch is serialised once; only
 * when it does not fit is it cut into even slices, each serialised again (halved while too big).
 */
export function telemetryMessages(runId: string, points: ReadonlyArray<MetricPoint>, limit: number): Buffer[] {
  const whole = encode(runId, points);
  if (whole.length <= limit || points.length <= 1) return [whole];
  const out: Buffer[] = [];
  const slices = Math.ceil(whole.length / limit) + 1;
  const size = Math.ceil(points.length / slices);
  for (let from = 0; from < points.length; from += size) split(runId, points.slice(from, from + size), limit, out);
  return out;
}

function split(runId: string, points: MetricPoint[], limit: number, out: Buffer[]): void {
  const message = encode(runId, points);
  if (message.length <= limit || points.length <= 1) {
    out.push(message);
    return;
  }
  const half = Math.ceil(points.length / 2);
  split(runId, points.slice(0, half), limit, out);
  split(runId, points.slice(half), limit, out);
}

function encode(runId: string, points: ReadonlyArray<MetricPoint>): Buffer {
  const message: RunMetricsTelemetry = { runId, points: points as MetricPoint[] };
  return Buffer.from(JSON.stringify(message), 'utf8');
}
