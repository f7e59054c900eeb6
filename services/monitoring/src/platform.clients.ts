import {
  datasetsRpc,
  type DatasetVersionReply,
  experimentsRpc,
  type JobView,
  type MessageHeaders,
  type ModelVersionView,
  type ProjectView,
  registryRpc,
  schedulerRpc,
} from '@modeltrail/contracts';
import type { RpcClient } from '@modeltrail/messaging';

/** Injection token of the PlatformClients. */
export const PLATFORM_CLIENTS = Symbol('PLATFORM_CLIENTS');

/**
 * What monitoring asks of the other contexts, all queries: the deployed model version
 * (registry), its project (experiments: target and task type), the training data (datasets) and
 * the job that trained it (scheduler). A port, so the handlers name what they need and the
 * transport stays in one place.
 */
export interface PlatformClients {
  modelVersion(modelVersionId: string, headers: MessageHeaders): Promise<ModelVersionView | null>;
  project(projectId: string, headers: MessageHeaders): Promise<ProjectView | null>;
  datasetVersion(datasetVersionId: string, headers: MessageHeaders): Promise<DatasetVersionReply | null>;
  /**
   * For each of the dataset versions (by id), the newest version of its dataset in the same part:
   * the newest train split for a train split, the newest version that is no split part for any
   * other; the version itself when nothing newer plays its part. Unknown versions are absent.
   */
  newestDatasetVersions(datasetVersionIds: ReadonlyArray<string>, headers: MessageHeaders): Promise<Record<string, string>>;
  /** The scheduler job that trained `runId` (of `experimentId`), or null when no job did. */
  trainingJob(experimentId: string, runId: string, headers: MessageHeaders): Promise<JobView | null>;
}

/** Pages read at most when looking through a list (200 items each). */
const MAX_PAGES = 50;

/** Over NATS (`mt.qry.registry.*`, `mt.qry.experiments.*`, `mt.qry.datasets.*`, `mt.qry.scheduler.*`). */
export class NatsPlatformClients implements PlatformClients {
  constructor(private readonly rpc: RpcClient) {}

  async modelVersion(modelVersionId: string, headers: MessageHeaders): Promise<ModelVersionView | null> {
    const { items } = await this.rpc.request(registryRpc.getModelVersions, { modelVersionIds: [modelVersionId] }, { headers: query(headers) });
    return items.find((v) => v.modelVersionId === modelVersionId) ?? null;
  }

  async project(projectId: string, headers: MessageHeaders): Promise<ProjectView | null> {
    const { items } = await this.rpc.request(experimentsRpc.getProjects, { projectIds: [projectId] }, { headers: query(headers) });
    return items.find((p) => p.projectId === projectId) ?? null;
  }

  async datasetVersion(datasetVersionId: string, headers: MessageHeaders): Promise<DatasetVersionReply | null> {
    const { items } = await this.rpc.request(datasetsRpc.getDatasetVersions, { datasetVersionIds: [datasetVersionId] }, { headers: query(headers) });
    return items.find((v) => v.datasetVersionId === datasetVersionId) ?? null;
  }

  async newestDatasetVersions(datasetVersionIds: ReadonlyArray<string>, headers: MessageHeaders): Promise<Record<string, string>> {
    const { items: trained } = await this.rpc.request(datasetsRpc.getDatasetVersions, { datasetVersionIds: [...new Set(datasetVersionIds)] }, { headers: query(headers) });
    const versionsOf = new Map<string, DatasetVersionReply[]>();
    for (const datasetId of new Set(trained.map((v) => v.datasetId))) {
      const versions: DatasetVersionReply[] = [];
      let after: string | undefined;
      for (let page = 0; page < MAX_PAGES; page++) {
        const reply = await this.rpc.request(datasetsRpc.listDatasetVersions, { datasetId, first: 200, ...(after ? { after } : {}) }, { headers: query(headers) });
        versions.push(...reply.items);
        if (!reply.pageInfo.hasNextPage || !reply.pageInfo.endCursor) break;
        after = reply.pageInfo.endCursor;
      }
      versionsOf.set(datasetId, versions);
    }
    const newest: Record<string, string> = {};
    for (const version of trained) {
      const part = datasetPart(version);
      let best = version;
      for (const candidate of versionsOf.get(version.datasetId) ?? []) if (datasetPart(candidate) === part && candidate.version > best.version) best = candidate;
      newest[version.datasetVersionId] = best.datasetVersionId;
    }
    return newest;
  }

  async trainingJob(experimentId: string, runId: string, headers: MessageHeaders): Promise<JobView | null> {
    let after: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const reply = await this.rpc.request(schedulerRpc.listJobs, { filter: { experimentId, runId }, first: 200, ...(after ? { after } : {}) }, { headers: query(headers) });
      // Newest first: a run trained by a job that was retried under a new id takes the newest.
      const job = reply.items.find((j) => j.runId === runId);
      if (job) return job;
      if (!reply.pageInfo.hasNextPage || !reply.pageInfo.endCursor) return null;
      after = reply.pageInfo.endCursor;
    }
    return null;
  }
}

/** Queries carry no command id: they are not commands, and must not look like retries of one. */
function query(headers: MessageHeaders): MessageHeaders {
  const { commandId: _commandId, ...rest } = headers;
  return rest;
}

/** The part a dataset version plays in its dataset: one part of a split, or the data as a whole. */
function datasetPart(version: Pick<DatasetVersionReply, 'transform'>): string {
  return version.transform?.kind === 'SPLIT' ? `split:${version.transform.part}` : 'whole';
}
