import DataLoader from 'dataloader';
import { datasetsRpc, experimentsRpc, NotFoundError, type RpcReply } from '@modeltrail/contracts';
import type { EventStore, RecordedEvent } from '@modeltrail/eventstore';
import type { RequestRpc } from './request-rpc';

export type DatasetReply = RpcReply<typeof datasetsRpc.getDatasets>['items'][number];
export type DatasetVersionReply = RpcReply<typeof datasetsRpc.getDatasetVersions>['items'][number];
export type ValidationReply = RpcReply<typeof datasetsRpc.listValidations>['items'][number];
export type ProjectReply = RpcReply<typeof experimentsRpc.getProjects>['items'][number];
export type ExperimentReply = RpcReply<typeof experimentsRpc.getExperiments>['items'][number];
export type RunReply = RpcReply<typeof experimentsRpc.getRuns>['items'][number];
export type ArtifactView = RpcReply<typeof experimentsRpc.listRunArtifacts>['items'][number];

/** The services' batch lookups take at most 500 ids. */
const MAX_BATCH = 500;

/**
 * One DataLoader per entity kind, made for each GraphQL operation: the lookups of one tick are
 * sent as one batch request to the owning service (no N+1 over NATS), and an entity asked for
 * twice in one operation is fetched once. Keys are canonical (lower-case) UUIDs.
 */
export class Loaders {
  readonly datasets: DataLoader<string, DatasetReply>;
  readonly datasetVersions: DataLoader<string, DatasetVersionReply>;
  /** Validations of a dataset version, newest first (the service has no batch form: one request per version, deduplicated). */
  readonly validations: DataLoader<string, ValidationReply[]>;
  /** Artifacts per run, in logging order. */
  readonly runArtifacts: DataLoader<string, ArtifactView[]>;
  readonly projects: DataLoader<string, ProjectReply>;
  readonly experiments: DataLoader<string, ExperimentReply>;
  readonly runs: DataLoader<string, RunReply>;
  /** The first event of a stream (who created the entity, and when), read from the event store. */
  readonly streamOrigins: DataLoader<string, RecordedEvent>;

  constructor(rpc: RequestRpc, store: EventStore) {
    this.datasets = byId(
      async (datasetIds) => (await rpc.query(datasetsRpc.getDatasets, { datasetIds })).items,
      (item) => item.datasetId,
      (id) => `dataset ${id} does not exist`,
    );
    this.datasetVersions = byId(
      async (datasetVersionIds) => (await rpc.query(datasetsRpc.getDatasetVersions, { datasetVersionIds })).items,
      (item) => item.datasetVersionId,
      (id) => `dataset version ${id} does not exist`,
    );
    this.validations = grouped(
      async (datasetVersionIds) => (await rpc.query(datasetsRpc.listValidations, { datasetVersionIds })).items,
      (item) => item.datasetVersionId,
    );
    this.runArtifacts = grouped(
      async (runIds) => (await rpc.query(experimentsRpc.listRunArtifacts, { runIds })).items,
      (item) => item.runId,
    );
    this.projects = byId(
      async (projectIds) => (await rpc.query(experimentsRpc.getProjects, { projectIds })).items,
      (item) => item.projectId,
      (id) => `project ${id} does not exist`,
    );
    this.experiments = byId(
      async (experimentIds) => (await rpc.query(experimentsRpc.getExperiments, { experimentIds })).items,
      (item) => item.experimentId,
      (id) => `experiment ${id} does not exist`,
    );
    this.runs = byId(
      async (runIds) => (await rpc.query(experimentsRpc.getRuns, { runIds })).items,
      (item) => item.runId,
      (id) => `run ${id} does not exist`,
    );
    this.streamOrigins = new DataLoader<string, RecordedEvent>((streams) =>
      Promise.all(
        streams.map(async (stream) => {
          const [first] = await store.readStream(stream, { maxCount: 1 });
          return first ?? new NotFoundError(`stream ${stream} does not exist`, { stream });
        }),
      ),
    );
  }
}

/** A loader of the items belonging to each id (validations of a version, artifacts of a run), in the order served. */
function grouped<T>(fetch: (ids: string[]) => Promise<T[]>, ownerOf: (item: T) => string): DataLoader<string, T[]> {
  return new DataLoader<string, T[]>(
    async (ids) => {
      const byOwner = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const item of await fetch([...ids])) byOwner.get(ownerOf(item))?.push(item);
      return ids.map((id) => byOwner.get(id)!);
    },
    { maxBatchSize: MAX_BATCH },
  );
}

function byId<T>(fetch: (ids: string[]) => Promise<T[]>, idOf: (item: T) => string, missing: (id: string) => string): DataLoader<string, T> {
  return new DataLoader<string, T>(
    async (ids) => {
      const found = new Map((await fetch([...ids])).map((item) => [idOf(item), item]));
      return ids.map((id) => found.get(id) ?? new NotFoundError(missing(id), { id }));
    },
    { maxBatchSize: MAX_BATCH },
  );
}
