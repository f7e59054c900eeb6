import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Msg, Subscription } from 'nats';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { type MetricPoint, RunMetricsTelemetry, subjects, withNamespace } from '@modeltrail/contracts';
import { decodeJson, type MessageBus } from '@modeltrail/messaging';

/** Injection token of the gateway's NATS connection. */
export const GATEWAY_NATS = Symbol('GATEWAY_NATS');

/**
 * Live metric points of runs, as the experiments service publishes them on core NATS after each
 * LogMetrics call (`subjects.runTelemetry(runId)`, namespace applied).
 */
@Injectable()
export class RunTelemetry {
  private readonly logger = new Logger(RunTelemetry.name);

  constructor(
    @Inject(GATEWAY_NATS) private readonly nc: MessageBus,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Subscribes now (the server knows of the subscription when this resolves); `return()` unsubscribes. */
  async subscribe(runId: string): Promise<RunMetricsStream> {
    const subject = withNamespace(this.config.natsNamespace, subjects.runTelemetry(runId));
    const subscription = this.nc.subscribe(subject);
    await this.nc.flush();
    return new RunMetricsStream(subscription, runId, this.logger);
  }
}

/** Each message's points, in the order they were logged; a malformed message is logged and skipped. */
export class RunMetricsStream implements AsyncIterableIterator<MetricPoint[]> {
  private readonly messages: AsyncIterator<Msg>;

  constructor(
    private readonly subscription: Subscription,
    private readonly runId: string,
    private readonly logger: Logger,
  ) {
    this.messages = subscription[Symbol.asyncIterator]();
  }

  async next(): Promise<IteratorResult<MetricPoint[]>> {
    for (;;) {
      const message = await this.messages.next();
      if (message.done) return { done: true, value: undefined };
      const points = this.decode(message.value);
      if (points) return { done: false, value: points };
    }
  }

  /** The client went away (or the subscription ended): stop receiving from NATS at once. */
  async return(): Promise<IteratorResult<MetricPoint[]>> {
    this.close();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<MetricPoint[]>> {
    this.close();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<MetricPoint[]> {
    return this;
  }

  private close(): void {
    if (!this.subscription.isClosed()) this.subscription.unsubscribe();
  }

  private decode(message: Msg): MetricPoint[] | null {
    let body: unknown;
    try {
      body = decodeJson(message.data);
    } catch {
      body = undefined;
    }
    const parsed = RunMetricsTelemetry.safeParse(body);
    if (!parsed.success || parsed.data.runId !== this.runId) {
      this.logger.warn(`skipped a malformed telemetry message on ${message.subject}`);
      return null;
    }
    return parsed.data.points;
  }
}
