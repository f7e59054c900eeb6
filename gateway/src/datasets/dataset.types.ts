import { Field, Float, ID, Int, InterfaceType, ObjectType, registerEnumType } from '@nestjs/graphql';
import {
  COLUMN_TYPES,
  DATA_FORMATS,
  type CleaningStep as CleaningStepContract,
  DatasetReply as DatasetReplySchema,
  type DatasetTransform as DatasetTransformContract,
  SplitPart as SplitPartSchema,
  type ValidationRule as ValidationRuleContract,
} from '@modeltrail/contracts';
import { enumOf } from '../common/ids';
import { Connection } from '../common/page';
import { DateTimeScalar, JSONScalar } from '../common/scalars';
import type { DatasetReply, DatasetVersionReply, ValidationReply } from '../context/loaders';

/** `[Exclude<All, Listed>] extends [never]`: a compile error when a list misses a contract's value. */
type Complete<All, Listed extends All> = [Exclude<All, Listed>] extends [never] ? true : false;

export const VALIDATION_RULE_TYPES = ['NOT_NULL', 'RANGE', 'ALLOWED_VALUES', 'UNIQUE', 'REGEX', 'MAX_MISSING_FRACTION'] as const;
const validationRuleTypesComplete: Complete<ValidationRuleContract['type'], (typeof VALIDATION_RULE_TYPES)[number]> = true;
export const CLEANING_STEP_TYPES = ['DROP_MISSING', 'FILL_MISSING', 'DROP_DUPLICATES', 'CAST', 'DROP_COLUMNS'] as const;
const cleaningStepTypesComplete: Complete<CleaningStepContract['type'], (typeof CLEANING_STEP_TYPES)[number]> = true;
export const FILL_STRATEGIES = ['CONSTANT', 'MEAN', 'MEDIAN', 'MODE'] as const;
const fillStrategiesComplete: Complete<Extract<CleaningStepContract, { type: 'FILL_MISSING' }>['strategy'], (typeof FILL_STRATEGIES)[number]> = true;
export const TRANSFORM_KINDS = ['CLEAN', 'SPLIT', 'EXTERNAL'] as const;
const transformKindsComplete: Complete<DatasetTransformContract['kind'], (typeof TRANSFORM_KINDS)[number]> = true;
void [validationRuleTypesComplete, cleaningStepTypesComplete, fillStrategiesComplete, transformKindsComplete];

export const DatasetStatusEnum = enumOf(DatasetReplySchema.shape.status.options);
registerEnumType(DatasetStatusEnum, { name: 'DatasetStatus', description: 'An archived dataset takes no new versions or changes.' });
export const DataFormatEnum = enumOf(DATA_FORMATS);
registerEnumType(DataFormatEnum, { name: 'DataFormat' });
export const ColumnTypeEnum = enumOf(COLUMN_TYPES);
registerEnumType(ColumnTypeEnum, { name: 'ColumnType' });
export const SplitPartEnum = enumOf(SplitPartSchema.options);
registerEnumType(SplitPartEnum, { name: 'SplitPart' });
export const ValidationRuleTypeEnum = enumOf(VALIDATION_RULE_TYPES);
registerEnumType(ValidationRuleTypeEnum, {
  name: 'ValidationRuleType',
  description: 'NOT_NULL, UNIQUE: column only. RANGE: min and/or max. ALLOWED_VALUES: values. REGEX: pattern. MAX_MISSING_FRACTION: fraction (0 to 1).',
});
export const CleaningStepTypeEnum = enumOf(CLEANING_STEP_TYPES);
registerEnumType(CleaningStepTypeEnum, {
  name: 'CleaningStepType',
  description:
    'DROP_MISSING, DROP_DUPLICATES: columns (every column when empty). FILL_MISSING: column, strategy, value (CONSTANT only). CAST: column, to. DROP_COLUMNS: columns.',
});
export const FillStrategyEnum = enumOf(FILL_STRATEGIES);
registerEnumType(FillStrategyEnum, { name: 'FillStrategy' });
export const TransformKindEnum = enumOf(TRANSFORM_KINDS);
registerEnumType(TransformKindEnum, { name: 'TransformKind' });

type DatasetStatusValue = DatasetReply['status'];

@ObjectType({ description: 'A named collection of data whose versions are registered files.' })
export class Dataset {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field()
  description!: string;

  @Field(() => DatasetStatusEnum)
  status!: DatasetStatusValue;

  /** Resolved as `project`. */
  projectId!: string | null;
  /** Known when the dataset came from a list; otherwise read from its stream. */
  registeredAt?: string;
  registeredBy?: string;
}

@ObjectType()
export class DatasetConnection extends Connection(Dataset) {}

@ObjectType({ description: 'A column of a dataset version.' })
export class Column {
  @Field()
  name!: string;

  @Field(() => ColumnTypeEnum)
  type!: string;

  @Field()
  nullable!: boolean;
}

@ObjectType()
export class Quantile {
  @Field(() => Float, { description: 'Between 0 and 1.' })
  q!: number;

  @Field(() => Float)
  value!: number;
}

@ObjectType({ description: 'An equal-width bin over [min, max].' })
export class HistogramBin {
  @Field(() => Float)
  lower!: number;

  @Field(() => Float)
  upper!: number;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class NumericProfile {
  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;

  @Field(() => Float)
  mean!: number;

  @Field(() => Float)
  stddev!: number;

  @Field(() => [Quantile], { description: 'At q = 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99.' })
  quantiles!: Quantile[];

  @Field(() => [HistogramBin])
  histogram!: HistogramBin[];
}

@ObjectType()
export class TopValue {
  @Field()
  value!: string;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class CategoricalProfile {
  @Field(() => [TopValue], { description: 'Most frequent first.' })
  topValues!: TopValue[];

  @Field({ description: 'Whether the counts are exact (false when the column had too many distinct values to count each).' })
  exact!: boolean;
}

@ObjectType()
export class ColumnProfile {
  @Field()
  name!: string;

  @Field(() => ColumnTypeEnum)
  type!: string;

  @Field(() => Int, { description: 'Non-missing values.' })
  count!: number;

  @Field(() => Int)
  missing!: number;

  @Field(() => Int)
  distinct!: number;

  @Field({ description: 'False when `distinct` is an estimate.' })
  distinctExact!: boolean;

  @Field(() => NumericProfile, { nullable: true })
  numeric!: NumericProfile | null;

  @Field(() => CategoricalProfile, { nullable: true })
  categorical!: CategoricalProfile | null;
}

@ObjectType({ description: 'Column statistics of a version: the reference distribution drift detection compares against.' })
export class DatasetProfile {
  @Field(() => Int)
  rows!: number;

  @Field(() => [ColumnProfile])
  columns!: ColumnProfile[];
}

@ObjectType({ description: 'A validation rule as it was checked (the fields its type takes are set).' })
export class ValidationRule {
  @Field(() => ValidationRuleTypeEnum)
  type!: string;

  @Field()
  column!: string;

  @Field(() => Float, { nullable: true })
  min?: number | null;

  @Field(() => Float, { nullable: true })
  max?: number | null;

  @Field(() => [String], { nullable: true })
  values?: string[] | null;

  @Field(() => String, { nullable: true })
  pattern?: string | null;

  @Field(() => Float, { nullable: true })
  fraction?: number | null;
}

@ObjectType()
export class RuleResult {
  @Field(() => ValidationRule)
  rule!: ValidationRule;

  @Field()
  passed!: boolean;

  @Field(() => Int, { description: 'Rows that break the rule (for MAX_MISSING_FRACTION: the missing rows).' })
  failingRows!: number;

  @Field(() => [Int], { description: 'Up to 10 1-based data row numbers of failing rows, in file order.' })
  exampleRows!: number[];

  @Field({ description: 'What was observed, for a person reading the report.' })
  observed!: string;
}

@ObjectType({ description: 'The outcome of validating a dataset version against rules.' })
export class ValidationReport {
  @Field(() => ID)
  id!: string;

  @Field()
  passed!: boolean;

  @Field(() => Int)
  rowsChecked!: number;

  @Field(() => [RuleResult])
  results!: RuleResult[];

  @Field(() => [ValidationRule])
  rules!: ValidationRule[];

  @Field(() => DateTimeScalar)
  validatedAt!: string;

  @Field()
  validatedBy!: string;

  /** Resolved as `datasetVersion`. */
  datasetVersionId!: string;
}

@ObjectType({ description: 'A cleaning step as it was applied (the fields its type takes are set).' })
export class CleaningStep {
  @Field(() => CleaningStepTypeEnum)
  type!: string;

  @Field(() => String, { nullable: true })
  column?: string | null;

  @Field(() => [String], { nullable: true })
  columns?: string[] | null;

  @Field(() => FillStrategyEnum, { nullable: true })
  strategy?: string | null;

  @Field(() => JSONScalar, { nullable: true })
  value?: unknown;

  @Field(() => ColumnTypeEnum, { nullable: true })
  to?: string | null;
}

@ObjectType()
export class SplitFractions {
  @Field(() => Float)
  train!: number;

  @Field(() => Float)
  validation!: number;

  @Field(() => Float)
  test!: number;
}

@InterfaceType('DatasetTransform', {
  description: 'How a derived version was made from its parents: CleanTransform, SplitTransform or ExternalTransform.',
  resolveType: (transform: { kind: (typeof TRANSFORM_KINDS)[number] }) => transformTypeName(transform.kind),
})
export abstract class DatasetTransform {
  @Field(() => TransformKindEnum)
  kind!: string;

  @Field()
  description!: string;
}

@ObjectType({ implements: () => [DatasetTransform], description: 'Made by cleanDatasetVersion.' })
export class CleanTransform extends DatasetTransform {
  @Field(() => [CleaningStep])
  steps!: CleaningStep[];
}

@ObjectType({ implements: () => [DatasetTransform], description: 'One part of a split made by splitDatasetVersion.' })
export class SplitTransform extends DatasetTransform {
  @Field(() => ID)
  splitId!: string;

  @Field(() => SplitPartEnum)
  part!: string;

  @Field(() => Int)
  seed!: number;

  @Field(() => SplitFractions)
  fractions!: SplitFractions;

  @Field(() => String, { nullable: true })
  stratifyBy!: string | null;
}

@ObjectType({ implements: () => [DatasetTransform], description: 'Made outside ModelTrail (deriveDatasetVersion); the description says how.' })
export class ExternalTransform extends DatasetTransform {}

function transformTypeName(kind: (typeof TRANSFORM_KINDS)[number]): string {
  switch (kind) {
    case 'CLEAN':
      return 'CleanTransform';
    case 'SPLIT':
      return 'SplitTransform';
    case 'EXTERNAL':
      return 'ExternalTransform';
    default: {
      const unknownKind: never = kind;
      throw new Error(`unknown transform kind ${String(unknownKind)}`);
    }
  }
}

@ObjectType({ description: 'A registered file of a dataset: its digest, schema and profile, and how it was made.' })
export class DatasetVersion {
  @Field(() => ID)
  id!: string;

  @Field(() => Int, { description: '1-based, in registration order within the dataset.' })
  version!: number;

  @Field()
  uri!: string;

  @Field(() => DataFormatEnum)
  format!: string;

  @Field({ description: 'SHA-256 of the bytes, lower-case hexadecimal.' })
  digest!: string;

  @Field(() => Float, { nullable: true, description: 'Bytes; null for a remote file whose size was not given.' })
  size!: number | null;

  @Field(() => Int, { nullable: true, description: 'Null when the data was not read (remote URIs).' })
  rows!: number | null;

  @Field(() => [Column], { nullable: true })
  schema!: Column[] | null;

  @Field(() => DatasetProfile, { nullable: true })
  profile!: DatasetProfile | null;

  @Field()
  profiled!: boolean;

  @Field(() => DatasetTransform, { nullable: true, description: 'Null for a version registered directly.' })
  transform!: DatasetTransform | null;

  @Field(() => DateTimeScalar)
  registeredAt!: string;

  @Field()
  registeredBy!: string;

  /** Resolved as `dataset` and `parents`. */
  datasetId!: string;
  parentVersionIds!: string[];
}

@ObjectType()
export class DatasetVersionConnection extends Connection(DatasetVersion) {}

@ObjectType({ description: 'A train/validation/test split of a version: three new versions derived from it.' })
export class DatasetSplit {
  @Field(() => ID)
  id!: string;

  @Field(() => Int)
  seed!: number;

  @Field(() => SplitFractions)
  fractions!: SplitFractions;

  @Field(() => String, { nullable: true })
  stratifyBy!: string | null;

  @Field(() => DatasetVersion)
  train!: DatasetVersion;

  @Field(() => DatasetVersion)
  validation!: DatasetVersion;

  @Field(() => DatasetVersion)
  test!: DatasetVersion;

  /** Resolved as `source`. */
  sourceVersionId!: string;
}

export function toDataset(reply: DatasetReply & { registeredAt?: string; registeredBy?: string }): Dataset {
  const dataset: Dataset = { id: reply.datasetId, name: reply.name, description: reply.description, status: reply.status, projectId: reply.projectId };
  if (reply.registeredAt !== undefined) dataset.registeredAt = reply.registeredAt;
  if (reply.registeredBy !== undefined) dataset.registeredBy = reply.registeredBy;
  return dataset;
}

export function toDatasetVersion(reply: DatasetVersionReply): DatasetVersion {
  return {
    id: reply.datasetVersionId,
    datasetId: reply.datasetId,
    version: reply.version,
    uri: reply.uri,
    format: reply.format,
    digest: reply.digest,
    size: reply.size,
    rows: reply.rows,
    schema: reply.schema,
    profile: reply.profile,
    profiled: reply.profiled,
    parentVersionIds: reply.parentVersionIds,
    transform: reply.transform,
    registeredAt: reply.registeredAt,
    registeredBy: reply.registeredBy,
  };
}

export function toValidationReport(reply: ValidationReply): ValidationReport {
  return {
    id: reply.validationId,
    datasetVersionId: reply.datasetVersionId,
    passed: reply.passed,
    rowsChecked: reply.rowsChecked,
    results: reply.results,
    rules: reply.rules,
    validatedAt: reply.validatedAt,
    validatedBy: reply.validatedBy,
  };
}
