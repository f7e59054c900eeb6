import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap, Optional } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { OpenLineageDelivery } from './openlineage';

/** Starts the OpenLineage outbox's delivery when a sink is configured (OPENLINEAGE_URL or OPENLINEAGE_FILE). */
@Injectable()
export class OpenLineageLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OpenLineage');

  constructor(
    @Optional() @Inject(OpenLineageDelivery) private readonly delivery: OpenLineageDelivery | null,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.delivery) return;
    this.delivery.start();
    const { openLineageUrl, openLineageFile } = this.config.lineage;
    this.logger.log(`sending OpenLineage RunEvents to ${openLineageUrl ?? openLineageFile}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.delivery?.stop();
  }
}
