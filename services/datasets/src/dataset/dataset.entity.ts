import { BigIntType, EntitySchema } from '@mikro-orm/postgresql';
import type { TableSpec } from '@modeltrail/readmodel';

/** Read-model row of a dataset (table `datasets` in the service's schema). */
export interface DatasetRow {
  datasetId: string;
  name: string;
  description: string;
  projectId: string | null;
  status: 'Active' | 'Archived';
  archiveReason: string | null;
  registeredAt: Date;
  registeredBy: string;
  updatedAt: Date;
  /** Stream revision the row reflects. */
  revision: number;
  /** Global position of the last event applied to the row. */
  position: number;
}

export const DatasetRowSchema = new EntitySchema<DatasetRow>({
  name: 'DatasetRow',
  tableName: 'datasets',
  properties: {
    datasetId: { type: 'uuid', primary: true },
    name: { type: 'text' },
    description: { type: 'text' },
    projectId: { type: 'uuid', nullable: true },
    status: { type: 'text' },
    archiveReason: { type: 'text', nullable: true },
    registeredAt: { type: 'Date' },
    registeredBy: { type: 'text' },
    updatedAt: { type: 'Date' },
    revision: { type: new BigIntType('number') },
    position: { type: new BigIntType('number') },
  },
});

/** The same table as the projection writes it. */
export const datasetsTable: TableSpec<DatasetRow, 'datasetId'> = {
  name: 'datasets',
  key: ['datasetId'],
  columns: {
    datasetId: 'uuid',
    name: 'text',
    description: 'text',
    projectId: 'uuid',
    status: 'text',
    archiveReason: 'text',
    registeredAt: 'timestamptz',
    registeredBy: 'text',
    updatedAt: 'timestamptz',
    revision: 'bigint',
    position: 'bigint',
  },
};
