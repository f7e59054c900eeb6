import { BigIntType, EntitySchema, JsonType } from '@mikro-orm/postgresql';
import type { TableSpec } from '@modeltrail/readmodel';
import type { ColumnSchema, DataFormat, DatasetProfile, DatasetTransform, ValidationReport, ValidationRule, z, SplitFractions } from '@modeltrail/contracts';

/** Read-model row of a dataset version (table `dataset_versions`). */
export interface DatasetVersionRow {
  datasetVersionId: string;
  datasetId: string;
  /** 1-based, in the order versions of the dataset were registered (global position order). */
  version: number;
  uri: string;
  format: DataFormat;
  digest: string;
  size: number | null;
  rows: number | null;
  schema: ColumnSchema[] | null;
  profile: DatasetProfile | null;
  profiled: boolean;
  parentVersionIds: string[];
  transform: DatasetTransform | null;
  registeredAt: Date;
  registeredBy: string;
  position: number;
}

export const DatasetVersionRowSchema = new EntitySchema<DatasetVersionRow>({
  name: 'DatasetVersionRow',
  tableName: 'dataset_versions',
  properties: {
    datasetVersionId: { type: 'uuid', primary: true },
    datasetId: { type: 'uuid' },
    version: { type: 'integer' },
    uri: { type: 'text' },
    format: { type: 'text' },
    digest: { type: 'text' },
    size: { type: new BigIntType('number'), nullable: true },
    rows: { type: new BigIntType('number'), nullable: true },
    schema: { type: JsonType, nullable: true },
    profile: { type: JsonType, nullable: true },
    profiled: { type: 'boolean' },
    parentVersionIds: { type: JsonType },
    transform: { type: JsonType, nullable: true },
    registeredAt: { type: 'Date' },
    registeredBy: { type: 'text' },
    position: { type: new BigIntType('number') },
  },
});

/** One validation run on a version (table `dataset_validations`). */
export interface DatasetValidationRow {
  validationId: string;
  datasetVersionId: string;
  rules: ValidationRule[];
  report: ValidationReport;
  passed: boolean;
  validatedAt: Date;
  validatedBy: string;
  position: number;
}

export const DatasetValidationRowSchema = new EntitySchema<DatasetValidationRow>({
  name: 'DatasetValidationRow',
  tableName: 'dataset_validations',
  properties: {
    validationId: { type: 'uuid', primary: true },
    datasetVersionId: { type: 'uuid' },
    rules: { type: JsonType },
    report: { type: JsonType },
    passed: { type: 'boolean' },
    validatedAt: { type: 'Date' },
    validatedBy: { type: 'text' },
    position: { type: new BigIntType('number') },
  },
});

/** One split of a version into train/validation/test versions (table `dataset_splits`). */
export interface DatasetSplitRow {
  splitId: string;
  datasetVersionId: string;
  seed: number;
  fractions: z.output<typeof SplitFractions>;
  stratifyBy: string | null;
  trainVersionId: string;
  validationVersionId: string;
  testVersionId: string;
  createdAt: Date;
  createdBy: string;
  position: number;
}

export const DatasetSplitRowSchema = new EntitySchema<DatasetSplitRow>({
  name: 'DatasetSplitRow',
  tableName: 'dataset_splits',
  properties: {
    splitId: { type: 'uuid', primary: true },
    datasetVersionId: { type: 'uuid' },
    seed: { type: 'integer' },
    fractions: { type: JsonType },
    stratifyBy: { type: 'text', nullable: true },
    trainVersionId: { type: 'uuid' },
    validationVersionId: { type: 'uuid' },
    testVersionId: { type: 'uuid' },
    createdAt: { type: 'Date' },
    createdBy: { type: 'text' },
    position: { type: new BigIntType('number') },
  },
});

/** The tables as the projection writes them. */
export const datasetVersionsTable: TableSpec<DatasetVersionRow, 'datasetVersionId'> = {
  name: 'dataset_versions',
  key: ['datasetVersionId'],
  columns: {
    datasetVersionId: 'uuid',
    datasetId: 'uuid',
    version: 'integer',
    uri: 'text',
    format: 'text',
    digest: 'text',
    size: 'bigint',
    rows: 'bigint',
    schema: 'jsonb',
    profile: 'jsonb',
    profiled: 'boolean',
    parentVersionIds: 'jsonb',
    transform: 'jsonb',
    registeredAt: 'timestamptz',
    registeredBy: 'text',
    position: 'bigint',
  },
};

export const datasetValidationsTable: TableSpec<DatasetValidationRow, 'validationId'> = {
  name: 'dataset_validations',
  key: ['validationId'],
  columns: {
    validationId: 'uuid',
    datasetVersionId: 'uuid',
    rules: 'jsonb',
    report: 'jsonb',
    passed: 'boolean',
    validatedAt: 'timestamptz',
    validatedBy: 'text',
    position: 'bigint',
  },
};

export const datasetSplitsTable: TableSpec<DatasetSplitRow, 'splitId'> = {
  name: 'dataset_splits',
  key: ['splitId'],
  columns: {
    splitId: 'uuid',
    datasetVersionId: 'uuid',
    seed: 'integer',
    fractions: 'jsonb',
    stratifyBy: 'text',
    trainVersionId: 'uuid',
    validationVersionId: 'uuid',
    testVersionId: 'uuid',
    createdAt: 'timestamptz',
    createdBy: 'text',
    position: 'bigint',
  },
};
