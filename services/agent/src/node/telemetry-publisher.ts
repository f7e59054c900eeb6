import type { JobProgressItem, LogStream } from '@modeltrail/contracts';
import { type BusJetStream, publishJobTelemetry } from '@modeltrail/messaging';
import { withRetries } from './retry';
import { SerialBatcher } from './serial-batcher';

/**
 * A job's live telemetry as its agent publishes it: every output line as a LOG item and every
 * metric point as a METRIC item, on the job's subjects of the telemetry stream, batched (a
 * message every `flushMs`, or sooner when 500 items or about 256 KiB wait). The items carry one
 * numbering (`seq`) across both kinds. Telemetry is a copy for live views; the durable records
 * are the scheduler's job log and the experiments service's metrics, so a batch JetStream does
 * not take after three attempts is dropped (and counted).
 */

type LogItem = Extract<JobProgressItem, { kind: 'LOG' }>;
type MetricItem = Extract<JobProgressItem, { kind: 'METRIC' }>;

export interface TelemetryPublisherOptions {
  js: Pick<BusJetStream, 'publish'>;
  /** `<namespace>.mt.telemetry.job`. */
  subjectPrefix: string;
  jobId: string;
  flushMs: number;
  signal: AbortSignal;
  onDrop?: (count: number, reason: string) => void;
}

const MAX_ITEMS = 500;
const MAX_BYTES = 256 * 1024;
const MAX_BUFFERED = 20_000;

export class TelemetryPublisher {
  private seq = 0;
  private readonly logs: SerialBatcher<LogItem>;
  private readonly metrics: SerialBatcher<MetricItem>;

  constructor(private readonly options: TelemetryPublisherOptions) {
    const send = (kind: 'logs' | 'metrics') => async (items: JobProgressItem[]) => {
      await withRetries(`publishing ${kind} of job ${options.jobId}`, () => publishJobTelemetry(options.js, options.subjectPrefix, options.jobId, kind, items), {
        signal: options.signal,
        initialDelayMs: 200,
        maxDelayMs: 1_000,
        maxAttempts: 3,
      });
    };
    const common = { maxItems: MAX_ITEMS, maxBytes: MAX_BYTES, flushMs: options.flushMs, maxBuffered: MAX_BUFFERED, onDrop: options.onDrop };
    this.logs = new SerialBatcher<LogItem>({ ...common, send: send('logs'), sizeOf: (item) => item.line.length + 80 });
    this.metrics = new SerialBatcher<MetricItem>({ ...common, send: send('metrics'), sizeOf: (item) => item.key.length + 100 });
  }

  log(stream: LogStream, at: string, line: string): void {
    this.logs.add({ kind: 'LOG', seq: this.seq++, at, stream, line });
  }

  metric(point: { key: string; value: number; step: number; timestamp: string }): void {
    this.metrics.add({ kind: 'METRIC', seq: this.seq++, at: point.timestamp, key: point.key, value: point.value, step: point.step });
  }

  async flush(): Promise<void> {
    await Promise.all([this.logs.flush(), this.metrics.flush()]);
  }

  discard(): void {
    this.logs.discard();
    this.metrics.discard();
  }
}
