import { defineRpc } from './rpc';
import { uuid as uuidSchema, z } from './schema';

/** Contracts of the `datasets` context: event payloads, command requests and replies. */

const uuid = uuidSchema();
export const DatasetName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'must start with a letter or digit and use only letters, digits, spaces, dots, dashes and underscores');
export const DatasetDescription = z.string().max(4_000, 'must be at most 4000 characters');

export const DatasetRegisteredV1 = z.object({
  datasetId: uuid,
  name: DatasetName,
  description: DatasetDescription,
  projectId: uuid.nullable(),
  registeredAt: z.iso.datetime(),
});
export const DatasetDescriptionChangedV1 = z.object({
  datasetId: uuid,
  description: DatasetDescription,
  changedAt: z.iso.datetime(),
});
export const DatasetArchivedV1 = z.object({
  datasetId: uuid,
  reason: z.string().min(1).max(1_000),
  archivedAt: z.iso.datetime(),
});

// ---------------------------------------------------------------------------------------------
// Dataset versions: registered files with their digest, schema and column profile; validation
// reports; cleaning, splitting and outside derivations that produce new versions.
// ---------------------------------------------------------------------------------------------

export const DATA_FORMATS = ['CSV', 'JSONL', 'PARQUET'] as const;
export const DataFormat = z.enum(DATA_FORMATS, { message: `must be one of ${DATA_FORMATS.join(', ')}` });
export type DataFormat = z.output<typeof DataFormat>;

export const COLUMN_TYPES = ['INTEGER', 'NUMBER', 'BOOLEAN', 'STRING', 'DATETIME'] as const;
export const ColumnType = z.enum(COLUMN_TYPES, { message: `must be one of ${COLUMN_TYPES.join(', ')}` });
export type ColumnType = z.output<typeof ColumnType>;

export const ColumnName = z.string().min(1, 'must not be empty').max(256, 'must be at most 256 characters');
export const Sha256Digest = z
  .string()
  .regex(/^(sha256:)?[0-9a-fA-F]{64}$/, 'must be a SHA-256 digest: 64 hexadecimal characters')
  .transform((value) => value.replace(/^sha256:/, '').toLowerCase());
export const DatasetUri = z.string().trim().min(1, 'must not be empty').max(2_048, 'must be at most 2048 characters');
const finite = z.number().refine(Number.isFinite, 'must be a finite number');

export const ColumnSchema = z.object({ name: ColumnName, type: ColumnType, nullable: z.boolean() });
export type ColumnSchema = z.output<typeof ColumnSchema>;

/** Numeric summary of a column: the reference distribution drift detection compares against. */
export const NumericProfile = z.object({
  min: finite,
  max: finite,
  mean: finite,
  stddev: finite,
  /** Quantiles at q = 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99. */
  quantiles: z.array(z.object({ q: z.number().min(0).max(1), value: finite })),
  /** Equal-width bins over [min, max]; counts sum to the column's non-missing count. */
  histogram: z.array(z.object({ lower: finite, upper: finite, count: z.number().int().nonnegative() })),
});
export const CategoricalProfile = z.object({
  /** Most frequent values, most frequent first. */
  topValues: z.array(z.object({ value: z.string(), count: z.number().int().nonnegative() })),
  /** Whether `topValues` counts are exact (false when the column had too many distinct values to count each). */
  exact: z.boolean(),
});
export const ColumnProfile = z.object({
  name: ColumnName,
  type: ColumnType,
  /** Non-missing values. */
  count: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  distinct: z.number().int().nonnegative(),
  /** False when `distinct` is an estimate (columns with very many distinct values). */
  distinctExact: z.boolean(),
  numeric: NumericProfile.nullable(),
  categorical: CategoricalProfile.nullable(),
});
export type ColumnProfile = z.output<typeof ColumnProfile>;
export const DatasetProfile = z.object({ rows: z.number().int().nonnegative(), columns: z.array(ColumnProfile) });
export type DatasetProfile = z.output<typeof DatasetProfile>;

/** Validation rules (docs/architecture.md: Bounded contexts DatasetValidated). Columns must exist in the version's schema. */
export const ValidationRule = z.discriminatedUnion('type', [
  z.object({ type: z.literal('NOT_NULL'), column: ColumnName }),
  z
    .object({ type: z.literal('RANGE'), column: ColumnName, min: finite.nullable().optional(), max: finite.nullable().optional() })
    .refine((r) => r.min != null || r.max != null, { message: 'a RANGE rule needs min, max or both', path: ['min'] })
    .refine((r) => r.min == null || r.max == null || r.min <= r.max, { message: 'min must not be greater than max', path: ['max'] }),
  z.object({ type: z.literal('ALLOWED_VALUES'), column: ColumnName, values: z.array(z.string()).min(1, 'must list at least one value').max(10_000) }),
  z.object({ type: z.literal('UNIQUE'), column: ColumnName }),
  z.object({
    type: z.literal('REGEX'),
    column: ColumnName,
    pattern: z
      .string()
      .min(1)
      .max(1_000)
      .refine((p) => compiles(p), 'must be a valid regular expression'),
  }),
  z.object({ type: z.literal('MAX_MISSING_FRACTION'), column: ColumnName, fraction: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1') }),
]);
export type ValidationRule = z.output<typeof ValidationRule>;

export const RuleResult = z.object({
  rule: ValidationRule,
  passed: z.boolean(),
  /** Rows that break the rule (for MAX_MISSING_FRACTION: the missing rows). */
  failingRows: z.number().int().nonnegative(),
  /** Up to 10 1-based data row numbers (the header is not a row) of failing rows, in file order. */
  exampleRows: z.array(z.number().int().positive()).max(10),
  /** What was observed, for a person reading the report (e.g. "missing fraction 0.12 > 0.05"). */
  observed: z.string(),
});
export const ValidationReport = z.object({ passed: z.boolean(), rowsChecked: z.number().int().nonnegative(), results: z.array(RuleResult) });
export type ValidationReport = z.output<typeof ValidationReport>;

/** Cleaning steps, applied in order; each sees the output of the one before. */
export const CleaningStep = z.discriminatedUnion('type', [
  /** Drop rows with a missing value in any of `columns` (every column when empty). */
  z.object({ type: z.literal('DROP_MISSING'), columns: z.array(ColumnName).max(1_000).default([]) }),
  z
    .object({
      type: z.literal('FILL_MISSING'),
      column: ColumnName,
      strategy: z.enum(['CONSTANT', 'MEAN', 'MEDIAN', 'MODE'], { message: 'must be one of CONSTANT, MEAN, MEDIAN, MODE' }),
      value: z.union([z.string(), finite, z.boolean()]).nullable().optional(),
    })
    .refine((s) => s.strategy !== 'CONSTANT' || s.value != null, { message: 'a CONSTANT fill needs a value', path: ['value'] })
    .refine((s) => s.strategy === 'CONSTANT' || s.value == null, { message: 'only a CONSTANT fill takes a value', path: ['value'] }),
  /** Drop rows equal to an earlier row on `columns` (whole rows when empty); the first is kept. */
  z.object({ type: z.literal('DROP_DUPLICATES'), columns: z.array(ColumnName).max(1_000).default([]) }),
  z.object({ type: z.literal('CAST'), column: ColumnName, to: ColumnType }),
  z.object({ type: z.literal('DROP_COLUMNS'), columns: z.array(ColumnName).min(1, 'must name at least one column').max(1_000) }),
]);
export type CleaningStep = z.output<typeof CleaningStep>;

export const SplitPart = z.enum(['TRAIN', 'VALIDATION', 'TEST']);
export type SplitPart = z.output<typeof SplitPart>;
export const SplitFractions = z.object({ train: z.number().min(0).max(1), validation: z.number().min(0).max(1), test: z.number().min(0).max(1) });

/** How a derived version was made from its parents. */
export const DatasetTransform = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('CLEAN'), description: z.string().max(4_000), steps: z.array(CleaningStep) }),
  z.object({
    kind: z.literal('SPLIT'),
    description: z.string().max(4_000),
    splitId: uuid,
    part: SplitPart,
    seed: z.number().int(),
    fractions: SplitFractions,
    stratifyBy: ColumnName.nullable(),
  }),
  z.object({ kind: z.literal('EXTERNAL'), description: z.string().trim().min(1, 'must describe the transform').max(4_000) }),
]);
export type DatasetTransform = z.output<typeof DatasetTransform>;

export const DatasetVersionRegisteredV1 = z.object({
  datasetVersionId: uuid,
  datasetId: uuid,
  uri: DatasetUri,
  format: DataFormat,
  digest: Sha256Digest,
  /** Bytes; null for a remote file whose size the caller did not give. */
  size: z.number().int().nonnegative().nullable(),
  /** Null when the data was not read (remote URIs). */
  rows: z.number().int().nonnegative().nullable(),
  schema: z.array(ColumnSchema).nullable(),
  profile: DatasetProfile.nullable(),
  profiled: z.boolean(),
  registeredAt: z.iso.datetime(),
});
/** Second event of a derived version's stream: its parents and the transform that made it. */
export const DatasetVersionDerivedV1 = z.object({
  datasetVersionId: uuid,
  parentVersionIds: z.array(uuid).min(1),
  transform: DatasetTransform,
  derivedAt: z.iso.datetime(),
});
export const DatasetValidatedV1 = z.object({
  datasetVersionId: uuid,
  validationId: uuid,
  rules: z.array(ValidationRule),
  report: ValidationReport,
  validatedAt: z.iso.datetime(),
});
/** On the parent version's stream: a split was made, and which versions hold its parts. */
export const DatasetSplitCreatedV1 = z.object({
  datasetVersionId: uuid,
  splitId: uuid,
  seed: z.number().int(),
  fractions: SplitFractions,
  stratifyBy: ColumnName.nullable(),
  parts: z.object({
    train: z.object({ datasetVersionId: uuid, rows: z.number().int().nonnegative() }),
    validation: z.object({ datasetVersionId: uuid, rows: z.number().int().nonnegative() }),
    test: z.object({ datasetVersionId: uuid, rows: z.number().int().nonnegative() }),
  }),
  createdAt: z.iso.datetime(),
});

export const datasetsEvents = {
  'datasets.DatasetRegistered.v1': DatasetRegisteredV1,
  'datasets.DatasetDescriptionChanged.v1': DatasetDescriptionChangedV1,
  'datasets.DatasetArchived.v1': DatasetArchivedV1,
  'datasets.DatasetVersionRegistered.v1': DatasetVersionRegisteredV1,
  'datasets.DatasetVersionDerived.v1': DatasetVersionDerivedV1,
  'datasets.DatasetValidated.v1': DatasetValidatedV1,
  'datasets.DatasetSplitCreated.v1': DatasetSplitCreatedV1,
} as const;

/**
 * Dataset names are unique within a project (or among datasets without one): the dataset id is
 * derived from the project and the normalised name (`datasetIdFor`), so a second registration of
 * a name lands on the same stream and is refused there. A retry carries the same `Mt-Command-Id`.
 */
export const RegisterDatasetRequest = z.object({
  name: DatasetName,
  description: DatasetDescription.default(''),
  projectId: uuid.nullable().optional(),
});
export const DatasetReply = z.object({
  datasetId: uuid,
  name: z.string(),
  description: z.string(),
  projectId: uuid.nullable(),
  status: z.enum(['Active', 'Archived']),
  revision: z.number().int(),
});
export type DatasetReply = z.output<typeof DatasetReply>;

/** Cursor pagination shared by list queries: `first` items after the opaque `after` cursor. */
export const PageRequest = z.object({
  first: z.number().int().min(1, 'must be at least 1').max(200, 'must be at most 200').default(20),
  after: z.string().min(1).optional(),
});
export const PageInfo = z.object({ endCursor: z.string().nullable(), hasNextPage: z.boolean() });

export const ListDatasetsRequest = PageRequest.extend({
  projectId: uuid.optional(),
  status: z.enum(['Active', 'Archived']).optional(),
});
export const DatasetListItem = DatasetReply.extend({
  registeredAt: z.iso.datetime(),
  registeredBy: z.string(),
  updatedAt: z.iso.datetime(),
});
export const ListDatasetsReply = z.object({ items: z.array(DatasetListItem), pageInfo: PageInfo });

const DatasetVersionFields = {
  datasetVersionId: uuid,
  datasetId: uuid,
  /** 1-based, in registration order within the dataset. */
  version: z.number().int().positive(),
  uri: z.string(),
  format: DataFormat,
  digest: z.string(),
  size: z.number().int().nullable(),
  rows: z.number().int().nullable(),
  schema: z.array(ColumnSchema).nullable(),
  profile: DatasetProfile.nullable(),
  profiled: z.boolean(),
  parentVersionIds: z.array(uuid),
  transform: DatasetTransform.nullable(),
  registeredAt: z.iso.datetime(),
  registeredBy: z.string(),
};
export const DatasetVersionReply = z.object(DatasetVersionFields);
export type DatasetVersionReply = z.output<typeof DatasetVersionReply>;

/** Data operations read whole files: a 1 GB CSV takes tens of seconds to profile. */
const DATA_OPERATION = { timeoutMs: 15 * 60_000 };

const sizeInput = z.number().int('must be a whole number of bytes').nonnegative('must not be negative');

/**
 * A local absolute path or `file://` URI is read: digest, size, rows, schema and profile come
 * from the bytes. `s3://`, `gs://`, `https://` URIs are recorded with the digest the caller gives,
 * unprofiled. A byte-identical file registered again returns the existing version.
 */
export const RegisterDatasetVersionRequest = z.object({
  datasetId: uuid,
  uri: DatasetUri,
  format: DataFormat,
  digest: Sha256Digest.optional(),
  size: sizeInput.optional(),
});
export const DeriveDatasetVersionRequest = z.object({
  parentVersionIds: z.array(uuid).min(1, 'must name at least one parent version').max(50, 'must name at most 50 parent versions'),
  uri: DatasetUri,
  format: DataFormat,
  /** What was done outside ModelTrail to make this data from the parents. */
  transform: z.string().trim().min(1, 'must describe the transform').max(4_000, 'must be at most 4000 characters'),
  /** The dataset the new version belongs to; the first parent's dataset when absent. */
  datasetId: uuid.optional(),
  digest: Sha256Digest.optional(),
  size: sizeInput.optional(),
});
export const ValidateDatasetVersionRequest = z.object({
  datasetVersionId: uuid,
  rules: z.array(ValidationRule).min(1, 'must hold at least one rule').max(200, 'must hold at most 200 rules'),
});
export const ValidationReply = ValidationReport.extend({
  validationId: uuid,
  datasetVersionId: uuid,
  rules: z.array(ValidationRule),
  validatedAt: z.iso.datetime(),
  validatedBy: z.string(),
});
export type ValidationReply = z.output<typeof ValidationReply>;
export const CleanDatasetVersionRequest = z.object({
  datasetVersionId: uuid,
  steps: z.array(CleaningStep).min(1, 'must hold at least one step').max(100, 'must hold at most 100 steps'),
});
export const SplitDatasetVersionRequest = z
  .object({
    datasetVersionId: uuid,
    train: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
    validation: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
    test: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'),
    seed: z.number().int('must be an integer').min(0, 'must not be negative').max(2 ** 31 - 1, 'must be below 2^31'),
    stratifyBy: ColumnName.nullable().optional(),
  })
  .refine((r) => Math.abs(r.train + r.validation + r.test - 1) < 1e-9, {
    message: 'train, validation and test fractions must sum to 1',
    path: ['train'],
  });
export const SplitReply = z.object({
  splitId: uuid,
  datasetVersionId: uuid,
  seed: z.number().int(),
  fractions: SplitFractions,
  stratifyBy: z.string().nullable(),
  train: DatasetVersionReply,
  validation: DatasetVersionReply,
  test: DatasetVersionReply,
});
export type SplitReply = z.output<typeof SplitReply>;

export const datasetsRpc = {
  registerDataset: defineRpc('mt.cmd.datasets.RegisterDataset', RegisterDatasetRequest, DatasetReply),
  changeDatasetDescription: defineRpc('mt.cmd.datasets.ChangeDatasetDescription', z.object({ datasetId: uuid, description: DatasetDescription }), DatasetReply),
  archiveDataset: defineRpc('mt.cmd.datasets.ArchiveDataset', z.object({ datasetId: uuid, reason: z.string().trim().min(1, 'must not be empty').max(1_000) }), DatasetReply),
  getDataset: defineRpc('mt.qry.datasets.GetDataset', z.object({ datasetId: uuid }), DatasetReply),
  listDatasets: defineRpc('mt.qry.datasets.ListDatasets', ListDatasetsRequest, ListDatasetsReply),
  /** Batch lookup (the gateway's DataLoader): unknown ids are absent from `items`. */
  getDatasets: defineRpc('mt.qry.datasets.GetDatasets', z.object({ datasetIds: z.array(uuid).min(1).max(500) }), z.object({ items: z.array(DatasetReply) })),

  registerDatasetVersion: defineRpc('mt.cmd.datasets.RegisterDatasetVersion', RegisterDatasetVersionRequest, DatasetVersionReply, DATA_OPERATION),
  deriveDatasetVersion: defineRpc('mt.cmd.datasets.DeriveDatasetVersion', DeriveDatasetVersionRequest, DatasetVersionReply, DATA_OPERATION),
  validateDatasetVersion: defineRpc('mt.cmd.datasets.ValidateDatasetVersion', ValidateDatasetVersionRequest, ValidationReply, DATA_OPERATION),
  cleanDatasetVersion: defineRpc('mt.cmd.datasets.CleanDatasetVersion', CleanDatasetVersionRequest, DatasetVersionReply, DATA_OPERATION),
  splitDatasetVersion: defineRpc('mt.cmd.datasets.SplitDatasetVersion', SplitDatasetVersionRequest, SplitReply, DATA_OPERATION),
  getDatasetVersion: defineRpc('mt.qry.datasets.GetDatasetVersion', z.object({ datasetVersionId: uuid }), DatasetVersionReply),
  /** Batch lookup (the gateway's DataLoader, the experiments service's run check): unknown ids are absent. */
  getDatasetVersions: defineRpc(
    'mt.qry.datasets.GetDatasetVersions',
    z.object({ datasetVersionIds: z.array(uuid).min(1, 'must name at least one version').max(500) }),
    z.object({ items: z.array(DatasetVersionReply) }),
  ),
  listDatasetVersions: defineRpc(
    'mt.qry.datasets.ListDatasetVersions',
    PageRequest.extend({ datasetId: uuid }),
    z.object({ items: z.array(DatasetVersionReply), pageInfo: PageInfo }),
  ),
  /** Every validation run on the versions asked for (a batch, for the gateway's DataLoader), newest first. */
  listValidations: defineRpc(
    'mt.qry.datasets.ListValidations',
    z.object({ datasetVersionIds: z.array(uuid).min(1, 'must name at least one version').max(500) }),
    z.object({ items: z.array(ValidationReply) }),
  ),
} as const;

/** Whether a pattern compiles as a JavaScript regular expression. */
function compiles(pattern: string): boolean {
  try {
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}
