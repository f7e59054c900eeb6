import { type BeforeApplicationShutdown, Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@modeltrail/config';
import { MerkleLogBuilder } from './log.builder';
import { MerkleLogViews } from './log.views';

/** Starts the log's builder and its checkpoint publisher with the service, and stops them first on shutdown. */
@Injectable()
export class MerkleLogLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('MerkleLog');

  constructor(
    private readonly builder: MerkleLogBuilder,
    private readonly views: MerkleLogViews,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.builder.start();
    this.views.startPublishing(this.config.lineage.checkpointIntervalMs, (error) => this.logger.error(`publishing a checkpoint failed: ${error instanceof Error ? error.message : String(error)}`));
    const key = this.views.publicKey();
    this.logger.log(`log ${key.origin} at ${this.builder.size} leaves; checkpoints signed by ${key.verifierKey}`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.views.stopPublishing();
    await this.builder.stop();
  }
}
