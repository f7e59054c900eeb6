import { datasetsRpc, type MessageHeaders } from '@modeltrail/contracts';
import type { RpcClient } from '@modeltrail/messaging';

/** Injection token of the DatasetVersionDirectory. */
export const DATASET_VERSION_DIRECTORY = Symbol('DATASET_VERSION_DIRECTORY');

/**
 * Which dataset versions exist, and the dataset of each: the port through which StartRun checks
 * the versions a run names, so that the Run decider stays pure.
 */
export interface DatasetVersionDirectory {
  /** Dataset id by version id, for the versions that exist; unknown ids are absent. */
  resolve(datasetVersionIds: ReadonlyArray<string>, headers: MessageHeaders): Promise<Map<string, string>>;
}

/** Asks the datasets context over NATS (`mt.qry.datasets.GetDatasetVersions`). */
export class NatsDatasetVersionDirectory implements DatasetVersionDirectory {
  constructor(private readonly rpc: RpcClient) {}

  async resolve(datasetVersionIds: ReadonlyArray<string>, headers: MessageHeaders): Promise<Map<string, string>> {
    if (datasetVersionIds.length === 0) return new Map();
    const { items } = await this.rpc.request(
      datasetsRpc.getDatasetVersions,
      { datasetVersionIds: [...datasetVersionIds] },
      { headers: { actor: headers.actor, correlationId: headers.correlationId, causationId: headers.causationId } },
    );
    return new Map(items.map((item) => [item.datasetVersionId, item.datasetId]));
  }
}
