import { Inject, Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { observeQueueDepth } from '@modeltrail/observability';
import { SchedulerReader } from '../read-model/scheduler.reader';

/** modeltrail_scheduler_queued_jobs: the queued jobs, counted in the read model at each scrape (any replica answers). */
@Injectable()
export class QueueDepthGauge implements OnModuleInit, OnModuleDestroy {
  private unobserve: (() => void) | undefined;

  constructor(
    private readonly reader: SchedulerReader,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'readModelSchema'>,
  ) {}

  onModuleInit(): void {
    this.unobserve = observeQueueDepth(this.config.readModelSchema, () => this.reader.queuedJobCount());
  }

  onModuleDestroy(): void {
    this.unobserve?.();
  }
}
