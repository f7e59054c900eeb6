import type { Projection, RecordedOf, TableProjection } from '@modeltrail/readmodel';
import {
  type DatasetSplitRow,
  datasetSplitsTable,
  type DatasetValidationRow,
  datasetValidationsTable,
  type DatasetVersionRow,
  datasetVersionsTable,
} from './dataset-version.entity';

export type DatasetVersionEvent = RecordedOf<'datasets.DatasetVersionRegistered.v1' | 'datasets.DatasetVersionDerived.v1' | 'datasets.DatasetValidated.v1' | 'datasets.DatasetSplitCreated.v1'>;

/**
 * A version's row after one of its events. `version` is left at 0 on a new row: the runner
 * numbers versions per dataset in global order (see `sequence` below), so a rebuild gives the
 * same numbers.
 */
export function evolveVersion(row: DatasetVersionRow | undefined, event: DatasetVersionEvent): DatasetVersionRow | undefined {
  switch (event.type) {
    case 'datasets.DatasetVersionRegistered.v1': {
      if (row) throw new Error(`dataset version ${row.datasetVersionId} is already registered`);
      const { datasetVersionId, datasetId, uri, format, digest, size, rows, schema, profile, profiled, registeredAt } = event.data;
      return {
        datasetVersionId,
        datasetId,
        version: 0,
        uri,
        format,
        digest,
        size,
        rows,
        schema,
        profile,
        profiled,
        parentVersionIds: [],
        transform: null,
        registeredAt: new Date(registeredAt),
        registeredBy: event.metadata.actor,
        position: event.position,
      };
    }
    case 'datasets.DatasetVersionDerived.v1':
      if (!row) throw new Error(`${event.type} at ${event.position}: dataset version ${event.data.datasetVersionId} has no row`);
      return { ...row, parentVersionIds: event.data.parentVersionIds, transform: event.data.transform, position: event.position };
    case 'datasets.DatasetValidated.v1':
    case 'datasets.DatasetSplitCreated.v1':
      return row;
    default: {
      const unknown: never = event;
      throw new Error(`dataset versions projection cannot apply ${(unknown as DatasetVersionEvent).type}`);
    }
  }
}

export function validationOf(row: DatasetValidationRow | undefined, event: RecordedOf<'datasets.DatasetValidated.v1'>): DatasetValidationRow {
  if (row) throw new Error(`validation ${row.validationId} is already recorded`);
  const { validationId, datasetVersionId, rules, report, validatedAt } = event.data;
  return { validationId, datasetVersionId, rules, report, passed: report.passed, validatedAt: new Date(validatedAt), validatedBy: event.metadata.actor, position: event.position };
}

export function splitOf(row: DatasetSplitRow | undefined, event: RecordedOf<'datasets.DatasetSplitCreated.v1'>): DatasetSplitRow {
  if (row) throw new Error(`split ${row.splitId} is already recorded`);
  const { splitId, datasetVersionId, seed, fractions, stratifyBy, parts, createdAt } = event.data;
  return {
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
  };
}

const versions: TableProjection<DatasetVersionEvent, DatasetVersionRow, 'datasetVersionId'> = {
  table: datasetVersionsTable,
  keyOf: (event) => (event.type === 'datasets.DatasetVersionRegistered.v1' || event.type === 'datasets.DatasetVersionDerived.v1' ? { datasetVersionId: event.data.datasetVersionId } : undefined),
  evolve: evolveVersion,
  sequence: { column: 'version', per: 'datasetId' },
};

const validations: TableProjection<DatasetVersionEvent, DatasetValidationRow, 'validationId'> = {
  table: datasetValidationsTable,
  keyOf: (event) => (event.type === 'datasets.DatasetValidated.v1' ? { validationId: event.data.validationId } : undefined),
  evolve: (row, event) => (event.type === 'datasets.DatasetValidated.v1' ? validationOf(row, event) : row),
};

const splits: TableProjection<DatasetVersionEvent, DatasetSplitRow, 'splitId'> = {
  table: datasetSplitsTable,
  keyOf: (event) => (event.type === 'datasets.DatasetSplitCreated.v1' ? { splitId: event.data.splitId } : undefined),
  evolve: (row, event) => (event.type === 'datasets.DatasetSplitCreated.v1' ? splitOf(row, event) : row),
};

/**
 * Keeps `dataset_versions`, `dataset_validations` and `dataset_splits` in step with DatasetVersion
 * streams. Versions come first: validations and splits reference them.
 */
export const datasetVersionProjection: Projection<DatasetVersionEvent> = {
  name: 'datasets.dataset-versions.v1',
  handles: new Set<DatasetVersionEvent['type']>(['datasets.DatasetVersionRegistered.v1', 'datasets.DatasetVersionDerived.v1', 'datasets.DatasetValidated.v1', 'datasets.DatasetSplitCreated.v1']),
  tables: [versions, validations, splits],
};
