import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import { type ModelVersionRow, modelVersionsTable } from '../read-model/registry.entities';

const VERSION_EVENTS = ['registry.ModelVersionCreated.v1', 'registry.ModelCardUpdated.v1', 'registry.ModelVersionArchived.v1'] as const;
export type ModelVersionRecorded = RecordedOf<(typeof VERSION_EVENTS)[number]>;

/**
 * A version's row after one of its events (pure). Its archiving is recorded on the model's
 * stream, so it moves the position but not the version's revision.
 */
export function evolveModelVersion(row: ModelVersionRow | undefined, event: ModelVersionRecorded): ModelVersionRow {
  if (event.type === 'registry.ModelVersionCreated.v1') {
    if (row) throw new Error(`model version ${row.modelVersionId} already exists`);
    const d = event.data;
    return {
      modelVersionId: d.modelVersionId,
      modelId: d.modelId,
      projectId: d.projectId,
      experimentId: d.experimentId,
      runId: d.runId,
      version: d.version,
      status: 'ACTIVE',
      artifact: d.artifact,
      metrics: d.metrics,
      params: d.params,
      codeRef: d.codeRef,
      datasetVersions: d.datasetVersions,
      signature: d.signature,
      modelCard: d.modelCard,
      createdAt: new Date(d.createdAt),
      createdBy: event.metadata.actor,
      archivedAt: null,
      archiveReason: null,
      revision: event.revision,
      position: event.position,
    };
  }
  if (!row) throw new Error(`${event.type} at ${event.position}: model version ${event.data.modelVersionId} has no row`);
  switch (event.type) {
    case 'registry.ModelCardUpdated.v1':
      return { ...row, modelCard: event.data.modelCard, revision: event.revision, position: event.position };
    case 'registry.ModelVersionArchived.v1':
      return { ...row, status: 'ARCHIVED', archivedAt: new Date(event.data.archivedAt), archiveReason: event.data.reason, position: event.position };
    default: {
      const unknown: never = event;
      throw new Error(`registry projection cannot apply ${(unknown as ModelVersionRecorded).type} to a model version`);
    }
  }
}

const modelVersions: TableProjection<ModelVersionRecorded, ModelVersionRow, 'modelVersionId'> = {
  table: modelVersionsTable,
  keyOf: (event) => ({ modelVersionId: event.data.modelVersionId }),
  evolve: (row, event) => evolveModelVersion(row, event),
};

/** Versions with their snapshot, card and status. */
export const modelVersionProjection: Projection<ModelVersionRecorded> = {
  name: 'registry.model-versions.v1',
  handles: new Set<string>(VERSION_EVENTS),
  tables: [modelVersions],
};
