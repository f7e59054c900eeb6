import { Controller } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { type DatasetVersionReply, datasetsRpc, type MessageHeaders, type SplitReply, type ValidationReply, type z } from '@modeltrail/contracts';
import { commandContextOf } from '@modeltrail/decider';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { DatasetVersionService } from './dataset-version.service';
import { DatasetPreparation } from './dataset-preparation.service';

type Req<K extends keyof typeof datasetsRpc> = z.output<(typeof datasetsRpc)[K]['request']>;

/** NATS adapters of the data operations: one line each, the work is in the services. */
@Controller()
export class DatasetVersionHandlers {
  constructor(
    private readonly versions: DatasetVersionService,
    private readonly preparation: DatasetPreparation,
  ) {}

  @RpcPattern(datasetsRpc.registerDatasetVersion)
  register(@Payload() req: Req<'registerDatasetVersion'>, @RpcHeaders() headers: MessageHeaders): Promise<DatasetVersionReply> {
    return this.versions.register(req, commandContextOf(headers));
  }

  @RpcPattern(datasetsRpc.deriveDatasetVersion)
  derive(@Payload() req: Req<'deriveDatasetVersion'>, @RpcHeaders() headers: MessageHeaders): Promise<DatasetVersionReply> {
    return this.versions.derive(req, commandContextOf(headers));
  }

  @RpcPattern(datasetsRpc.validateDatasetVersion)
  validate(@Payload() req: Req<'validateDatasetVersion'>, @RpcHeaders() headers: MessageHeaders): Promise<ValidationReply> {
    return this.versions.validate(req, commandContextOf(headers));
  }

  @RpcPattern(datasetsRpc.cleanDatasetVersion)
  clean(@Payload() req: Req<'cleanDatasetVersion'>, @RpcHeaders() headers: MessageHeaders): Promise<DatasetVersionReply> {
    return this.preparation.clean(req, commandContextOf(headers));
  }

  @RpcPattern(datasetsRpc.splitDatasetVersion)
  split(@Payload() req: Req<'splitDatasetVersion'>, @RpcHeaders() headers: MessageHeaders): Promise<SplitReply> {
    return this.preparation.split(req, commandContextOf(headers));
  }
}
