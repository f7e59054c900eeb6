import DataLoader from 'dataloader';
import { datasetsRpc, experimentsRpc, NotFoundError, type RpcReply, schedulerRpc } from '@modeltrail/contracts';
import type { EventStore, RecordedEvent } from '@modeltrail/eventstore';
import type { RequestRpc } from './request-rpc';

export type DatasetReply = RpcReply<typeof datasetsRpc.getDatasets>['items'][number];
export type DatasetVersionReply = RpcReply<typeof datasetsRpc.getDatasetVersions>['items'][number];
export type ValidationReply = RpcReply<typeof datasetsRpc.listValidations>['items'][number];
export type ProjectReply = RpcReply<typeof experimentsRpc.getProjects>['items'][number];
export type ExperimentReply = RpcReply<typeof experimentsRpc.getExperiments>['items'][number];
export type RunReply = RpcReply<typeof experimentsRpc.getRuns>['items'][number];
export type ArtifactView = RpcReply<typeof experimentsRpc.listRunArtifacts>['items'][number];
export type JobReply = RpcReply<typeof schedulerRpc.getJobs>['items'][number];
export type AgentReply = RpcReply<typeof schedulerRpc.getAgents>['items'][number];
export type SweepReply = RpcReply<typeof schedulerRpc.getSweeps>['items'][number];
export type QueueEntryReply = RpcReply<typeof schedulerRpc.getQueue>['items'][number];
export type LogLineReply = RpcReply<typeof schedulerRpc.getJobLogs>['items'][number];

/** The services' batch lookups take at most 500 ids. */
const MAX_BATCH = 500;

/**
 * One DataLoader per entity kind, made for each GraphQL operation: the lookups of one tick are
 * sent as one batch request to the owning service (no N+1 over NATS), and an entity asked for
 * twice in one operation is fetched once. Keys are canonical (lower-case) UUIDs.
 * Each loader is made on first use: most operations (every mutation) touch none or one.
 */
export class Loaders {
  private made: Partial<Record<keyof Loaders, DataLoader<string, unknown>>> = {};
  /** Loaders other modules define (`registry.models`, `monitoring.alerts`), by key. */
  private contributed = new Map<string, DataLoader<string, unknown>>();

  constructor(
    private readonly rpc: RequestRpc,
    private readonly store: EventStore,
  ) {}

  get datasets(): DataLoader<string, DatasetReply> {
    return this.once('datasets', () =>
      byId(
        async (datasetIds) => (await this.rpc.query(datasetsRpc.getDatasets, { datasetIds })).items,
        (item) => item.datasetId,
        (id) => `dataset ${id} does not exist`,
      ),
    );
  }

  get datasetVersions(): DataLoader<string, DatasetVersionReply> {
    return this.once('datasetVersions', () =>
      byId(
        async (datasetVersionIds) => (await this.rpc.query(datasetsRpc.getDatasetVersions, { datasetVersionIds })).items,
        (item) => item.datasetVersionId,
        (id) => `dataset version ${id} does not exist`,
      ),
    );
  }

  /** Validations of a dataset version, newest first (the service has no batch form: one request per version, deduplicated). */
  get validations(): DataLoader<string, ValidationReply[]> {
    return this.once('validations', () =>
      grouped(
        async (datasetVersionIds) => (await this.rpc.query(datasetsRpc.listValidations, { datasetVersionIds })).items,
        (item) => item.datasetVersionId,
      ),
    );
  }

  /** Artifacts per run, in logging order. */
  get runArtifacts(): DataLoader<string, ArtifactView[]> {
    return this.once('runArtifacts', () =>
      grouped(
        async (runIds) => (await this.rpc.query(experimentsRpc.listRunArtifacts, { runIds })).items,
        (item) => item.runId,
      ),
    );
  }

  get projects(): DataLoader<string, ProjectReply> {
    return this.once('projects', () =>
      byId(
        async (projectIds) => (await this.rpc.query(experimentsRpc.getProjects, { projectIds })).items,
        (item) => item.projectId,
        (id) => `project ${id} does not exist`,
      ),
    );
  }

  get experiments(): DataLoader<string, ExperimentReply> {
    return this.once('experiments', () =>
      byId(
        async (experimentIds) => (await this.rpc.query(experimentsRpc.getExperiments, { experimentIds })).items,
        (item) => item.experimentId,
        (id) => `experiment ${id} does not exist`,
      ),
    );
  }

  get runs(): DataLoader<string, RunReply> {
    return this.once('runs', () =>
      byId(
        async (runIds) => (await this.rpc.query(experimentsRpc.getRuns, { runIds })).items,
        (item) => item.runId,
        (id) => `run ${id} does not exist`,
      ),
    );
  }

  get jobs(): DataLoader<string, JobReply> {
    return this.once('jobs', () =>
      byId(
        async (jobIds) => (await this.rpc.query(schedulerRpc.getJobs, { jobIds })).items,
        (item) => item.jobId,
        (id) => `job ${id} does not exist`,
      ),
    );
  }

  get agents(): DataLoader<string, AgentReply> {
    return this.once('agents', () =>
      byId(
        async (agentIds) => (await this.rpc.query(schedulerRpc.getAgents, { agentIds })).items,
        (item) => item.agentId,
        (id) => `agent ${id} does not exist`,
      ),
    );
  }

  get sweeps(): DataLoader<string, SweepReply> {
    return this.once('sweeps', () =>
      byId(
        async (sweepIds) => (await this.rpc.query(schedulerRpc.getSweeps, { sweepIds })).items,
        (item) => item.sweepId,
        (id) => `sweep ${id} does not exist`,
      ),
    );
  }

  /** The first event of a stream (who created the entity, and when), read from the event store. */
  get streamOrigins(): DataLoader<string, RecordedEvent> {
    return this.once(
      'streamOrigins',
      () =>
        new DataLoader<string, RecordedEvent>((streams) =>
          Promise.all(
            streams.map(async (stream) => {
              const [first] = await this.store.readStream(stream, { maxCount: 1 });
              return first ?? new NotFoundError(`stream ${stream} does not exist`, { stream });
            }),
          ),
        ),
    );
  }

  /**
   * Drops every loader and what it cached. A subscription's context lives as long as the
   * subscription: each event it delivers is resolved as an operation of its own, with fresh
   * lookups (a job's state now, not when the subscription first saw it).
   */
  clearAll(): void {
    this.made = {};
    this.contributed.clear();
  }

  /**
   * A loader another module of the gateway defines (the registry's models, monitoring's alerts),
   * made on first use for this operation under `key` and dropped by clearAll like the others.
   */
  loader<V>(key: string, make: () => DataLoader<string, V>): DataLoader<string, V> {
    let loader = this.contributed.get(key);
    if (!loader) this.contributed.set(key, (loader = make() as DataLoader<string, unknown>));
    return loader as DataLoader<string, V>;
  }

  private once<V>(name: keyof Loaders, make: () => DataLoader<string, V>): DataLoader<string, V> {
    return (this.made[name] ??= make() as DataLoader<string, unknown>) as DataLoader<string, V>;
  }
}

/** A loader of the items belonging to each id (validations of a version, artifacts of a run), in the order served. */
export function grouped<T>(fetch: (ids: string[]) => Promise<T[]>, ownerOf: (item: T) => string): DataLoader<string, T[]> {
  return new DataLoader<string, T[]>(
    async (ids) => {
      const byOwner = new Map<string, T[]>(ids.map((id) => [id, []]));
      for (const item of await fetch([...ids])) byOwner.get(ownerOf(item))?.push(item);
      return ids.map((id) => byOwner.get(id)!);
    },
    { maxBatchSize: MAX_BATCH },
  );
}

/** A loader of one item per id; an id the service does not know is a NOT_FOUND naming it (`missing`). */
export function byId<T>(fetch: (ids: string[]) => Promise<T[]>, idOf: (item: T) => string, missing: (id: string) => string): DataLoader<string, T> {
  return new DataLoader<string, T>(
    async (ids) => {
      const found = new Map((await fetch([...ids])).map((item) => [idOf(item), item]));
      return ids.map((id) => found.get(id) ?? new NotFoundError(missing(id), { id }));
    },
    { maxBatchSize: MAX_BATCH },
  );
}
