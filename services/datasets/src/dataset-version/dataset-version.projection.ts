import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventMap } from '@modeltrail/contracts';
import type { RecordedEvent } from '@modeltrail/eventstore';
import type { Projection } from '@modeltrail/readmodel';
import { DatasetSplitRowSchema, DatasetValidationRowSchema, type DatasetVersionRow, DatasetVersionRowSchema } from './dataset-version.entity';

type VersionEventType = 'datasets.DatasetVersionRegistered.v1' | 'datasets.DatasetVersionDerived.v1' | 'datasets.DatasetValidated.v1' | 'datasets.DatasetSplitCreated.v1';
type VersionRecorded = { [K in keyof EventMap]: RecordedEvent<K, EventMap[K]> }[VersionEventType];

/**
 * Keeps `dataset_versions`, `dataset_validations` and `dataset_splits` in step with DatasetVersion
 * streams. Version numbers are assigned here, in global order, so a rebuild gives the same ones.
 */
export const datasetVersionProjection: Projection = {
  name: 'datasets.dataset-versions.v1',
  handles: new Set<VersionEventType>(['datasets.DatasetVersionRegistered.v1', 'datasets.DatasetVersionDerived.v1', 'datasets.DatasetValidated.v1', 'datasets.DatasetSplitCreated.v1']),
  // Children before parents: a rebuild deletes in this order.
  tables: ['dataset_validations', 'dataset_splits', 'dataset_versions'],

  async apply(em: EntityManager, recorded: RecordedEvent): Promise<void> {
    const event = recorded as VersionRecorded;
    switch (event.type) {
      case 'datasets.DatasetVersionRegistered.v1': {
        const { registeredAt, ...facts } = event.data;
        // Earlier versions of this batch must be visible to the count.
        await em.flush();
        const version = (await em.count(DatasetVersionRowSchema, { datasetId: facts.datasetId })) + 1;
        em.create(DatasetVersionRowSchema, {
          ...facts,
          version,
          parentVersionIds: [],
          transform: null,
          registeredAt: new Date(registeredAt),
          registeredBy: event.metadata.actor,
          position: event.position,
        });
        return;
      }
      case 'datasets.DatasetVersionDerived.v1':
        Object.assign(await versionRow(em, event.data.datasetVersionId), { parentVersionIds: event.data.parentVersionIds, transform: event.data.transform, position: event.position });
        return;
      case 'datasets.DatasetValidated.v1': {
        const { validationId, datasetVersionId, rules, report, validatedAt } = event.data;
        em.create(DatasetValidationRowSchema, {
          validationId,
          datasetVersionId,
          rules,
          report,
          passed: report.passed,
          validatedAt: new Date(validatedAt),
          validatedBy: event.metadata.actor,
          position: event.position,
        });
        return;
      }
      case 'datasets.DatasetSplitCreated.v1': {
        const { splitId, datasetVersionId, seed, fractions, stratifyBy, parts, createdAt } = event.data;
        em.create(DatasetSplitRowSchema, {
          splitId,
          datasetVersionId,
          seed,
          fractions,
          stratifyBy,
          trainVersionId: parts.train.datasetVersionId,
          validationVersionId: parts.validation.datasetVersionId,
          testVersionId: parts.test.datasetVersionId,
          createdAt: new Date(createdAt),
          createdBy: event.metadata.actor,
          position: event.position,
        });
        return;
      }
      default: {
        const unknown: never = event;
        throw new Error(`dataset versions projection cannot apply ${(unknown as RecordedEvent).type}`);
      }
    }
  },
};

function versionRow(em: EntityManager, datasetVersionId: string): Promise<DatasetVersionRow> {
  return em.findOneOrFail(DatasetVersionRowSchema, { datasetVersionId });
}
