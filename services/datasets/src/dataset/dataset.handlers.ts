import { Controller, Inject } from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { datasetIdFor, datasetsRpc, type MessageHeaders, NotFoundError, type RpcReply, type z } from '@modeltrail/contracts';
import { CommandHandler, commandContextOf, type HandleResult } from '@modeltrail/decider';
import { EVENT_STORE, type EventStore } from '@modeltrail/eventstore';
import { RpcHeaders, RpcPattern } from '@modeltrail/messaging';
import { CLOCK, type Clock } from '../clock';
import { type DatasetState, datasetDecider, datasetStream } from './dataset.decider';

type Req<K extends keyof typeof datasetsRpc> = z.output<(typeof datasetsRpc)[K]['request']>;
type DatasetReply = RpcReply<typeof datasetsRpc.registerDataset>;

/** NATS adapters of the Dataset aggregate: parse (done by the transport), build the command, run the loop, reply. */
@Controller()
export class DatasetHandlers {
  private readonly commands: CommandHandler<Parameters<typeof datasetDecider.decide>[0], Parameters<typeof datasetDecider.evolve>[1], DatasetState>;

  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.commands = new CommandHandler(store, datasetDecider);
  }

  @RpcPattern(datasetsRpc.registerDataset)
  async register(@Payload() req: Req<'registerDataset'>, @RpcHeaders() headers: MessageHeaders): Promise<DatasetReply> {
    const projectId = req.projectId ?? null;
    const datasetId = datasetIdFor(projectId, req.name);
    const command = { type: 'RegisterDataset' as const, datasetId, name: req.name, description: req.description, projectId, at: this.clock.now() };
    return toReply(datasetId, await this.commands.handle(datasetStream(datasetId), command, commandContextOf(headers)));
  }

  @RpcPattern(datasetsRpc.changeDatasetDescription)
  async changeDescription(@Payload() req: Req<'changeDatasetDescription'>, @RpcHeaders() headers: MessageHeaders): Promise<DatasetReply> {
    const command = { type: 'ChangeDatasetDescription' as const, ...req, at: this.clock.now() };
    return toReply(req.datasetId, await this.commands.handle(datasetStream(req.datasetId), command, commandContextOf(headers)));
  }

  @RpcPattern(datasetsRpc.archiveDataset)
  async archive(@Payload() req: Req<'archiveDataset'>, @RpcHeaders() headers: MessageHeaders): Promise<DatasetReply> {
    const command = { type: 'ArchiveDataset' as const, ...req, at: this.clock.now() };
    return toReply(req.datasetId, await this.commands.handle(datasetStream(req.datasetId), command, commandContextOf(headers)));
  }

  @RpcPattern(datasetsRpc.getDataset)
  async get(@Payload() req: Req<'getDataset'>): Promise<DatasetReply> {
    const { state, revision } = await this.commands.load(datasetStream(req.datasetId));
    return toReply(req.datasetId, { state, revision });
  }
}

function toReply(datasetId: string, result: Pick<HandleResult<DatasetState>, 'state' | 'revision'>): DatasetReply {
  const { state } = result;
  if (state.status === 'Unregistered' || result.revision === 'no_stream') throw new NotFoundError(`dataset ${datasetId} does not exist`, { datasetId });
  return { datasetId, name: state.name, description: state.description, projectId: state.projectId, status: state.status, revision: result.revision };
}
