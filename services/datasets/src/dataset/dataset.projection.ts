import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventMap } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import type { Projection } from '@modeltrail/readmodel';
import { type DatasetRow, DatasetRowSchema } from './dataset.entity';

type DatasetRecorded = { [K in keyof EventMap]: RecordedEvent<K, EventMap[K]> }[
  'datasets.DatasetRegistered.v1' | 'datasets.DatasetDescriptionChanged.v1' | 'datasets.DatasetArchived.v1'
];

/** Keeps the `datasets` table in step with Dataset streams. */
export const datasetProjection: Projection = {
  name: 'datasets.datasets.v1',
  handles: new Set(['datasets.DatasetRegistered.v1', 'datasets.DatasetDescriptionChanged.v1', 'datasets.DatasetArchived.v1']),
  tables: ['datasets'],

  async apply(em: EntityManager, recorded: RecordedEvent): Promise<void> {
    const event = recorded as DatasetRecorded;
    const moved = { revision: event.revision, position: event.position, updatedAt: new Date(event.metadata.occurredAt) };
    switch (event.type) {
      case 'datasets.DatasetRegistered.v1': {
        const { datasetId, name, description, projectId, registeredAt } = event.data;
        em.create(DatasetRowSchema, {
          datasetId,
          name,
          description,
          projectId,
          status: 'Active',
          archiveReason: null,
          registeredAt: new Date(registeredAt),
          registeredBy: event.metadata.actor,
          ...moved,
        });
        return;
      }
      case 'datasets.DatasetDescriptionChanged.v1':
        Object.assign(await row(em, event.data.datasetId), { description: event.data.description, ...moved });
        return;
      case 'datasets.DatasetArchived.v1':
        Object.assign(await row(em, event.data.datasetId), { status: 'Archived', archiveReason: event.data.reason, ...moved });
        return;
      default: {
        const unknown: never = event;
        throw new Error(`datasets projection cannot apply ${(unknown as RecordedEvent).type}`);
      }
    }
  },
};

function row(em: EntityManager, datasetId: string): Promise<DatasetRow> {
  return em.findOneOrFail(DatasetRowSchema, { datasetId });
}
