import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import { type DatasetRow, datasetsTable } from './dataset.entity';

export type DatasetEvent = RecordedOf<'datasets.DatasetRegistered.v1' | 'datasets.DatasetDescriptionChanged.v1' | 'datasets.DatasetArchived.v1'>;

/** A dataset's row after one of its events (pure; the runner folds a whole batch with it). */
export function evolveDataset(row: DatasetRow | undefined, event: DatasetEvent): DatasetRow {
  const moved = { revision: event.revision, position: event.position, updatedAt: new Date(event.metadata.occurredAt) };
  switch (event.type) {
    case 'datasets.DatasetRegistered.v1': {
      if (row) throw new Error(`dataset ${row.datasetId} is already registered`);
      const { datasetId, name, description, projectId, registeredAt } = event.data;
      return { datasetId, name, description, projectId, status: 'Active', archiveReason: null, registeredAt: new Date(registeredAt), registeredBy: event.metadata.actor, ...moved };
    }
    case 'datasets.DatasetDescriptionChanged.v1':
      return { ...existing(row, event), description: event.data.description, ...moved };
    case 'datasets.DatasetArchived.v1':
      return { ...existing(row, event), status: 'Archived', archiveReason: event.data.reason, ...moved };
    default: {
      const unknown: never = event;
      throw new Error(`datasets projection cannot apply ${(unknown as DatasetEvent).type}`);
    }
  }
}

function existing(row: DatasetRow | undefined, event: DatasetEvent): DatasetRow {
  if (!row) throw new Error(`${event.type} at ${event.position}: dataset ${event.data.datasetId} has no row`);
  return row;
}

const datasets: TableProjection<DatasetEvent, DatasetRow, 'datasetId'> = {
  table: datasetsTable,
  keyOf: (event) => ({ datasetId: event.data.datasetId }),
  evolve: evolveDataset,
};

/** Keeps the `datasets` table in step with Dataset streams. */
export const datasetProjection: Projection<DatasetEvent> = {
  name: 'datasets.datasets.v1',
  handles: new Set<DatasetEvent['type']>(['datasets.DatasetRegistered.v1', 'datasets.DatasetDescriptionChanged.v1', 'datasets.DatasetArchived.v1']),
  tables: [datasets],
};
