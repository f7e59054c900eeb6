import { Field, Float, ID, InputType, Int } from '@nestjs/graphql';
import { ValidationError } from '@modeltrail/contracts';
import { JSONScalar } from '../common/scalars';
import {
  CLEANING_STEP_TYPES,
  CleaningStepTypeEnum,
  ColumnTypeEnum,
  DataFormatEnum,
  DatasetStatusEnum,
  FillStrategyEnum,
  VALIDATION_RULE_TYPES,
  ValidationRuleTypeEnum,
} from './dataset.types';

@InputType()
export class DatasetFilter {
  @Field(() => ID, { nullable: true })
  projectId?: string | null;

  @Field(() => DatasetStatusEnum, { nullable: true })
  status?: 'Active' | 'Archived' | null;
}

@InputType({ description: 'Dataset names are unique within a project (or among datasets without one), whatever their case.' })
export class RegisterDatasetInput {
  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description?: string | null;

  @Field(() => ID, { nullable: true })
  projectId?: string | null;
}

@InputType()
export class ChangeDatasetDescriptionInput {
  @Field(() => ID)
  datasetId!: string;

  @Field()
  description!: string;
}

@InputType()
export class ArchiveDatasetInput {
  @Field(() => ID)
  datasetId!: string;

  @Field()
  reason!: string;
}

@InputType({
  description:
    'A local absolute path or file:// URI is read (digest, size, rows, schema and profile come from the bytes); s3://, gs:// and https:// URIs are recorded with the digest given, unprofiled.',
})
export class RegisterDatasetVersionInput {
  @Field(() => ID)
  datasetId!: string;

  @Field()
  uri!: string;

  @Field(() => DataFormatEnum)
  format!: 'CSV' | 'JSONL' | 'PARQUET';

  @Field(() => String, { nullable: true, description: 'SHA-256 of the bytes; required for remote URIs.' })
  digest?: string | null;

  @Field(() => Float, { nullable: true, description: 'Bytes, for remote URIs.' })
  size?: number | null;
}

@InputType({ description: 'A version made outside ModelTrail from one or more parent versions.' })
export class DeriveDatasetVersionInput {
  @Field(() => [ID])
  parentVersionIds!: string[];

  @Field()
  uri!: string;

  @Field(() => DataFormatEnum)
  format!: 'CSV' | 'JSONL' | 'PARQUET';

  @Field({ description: 'What was done to the parents to make this data.' })
  transform!: string;

  @Field(() => ID, { nullable: true, description: "The dataset of the new version; the first parent's when absent." })
  datasetId?: string | null;

  @Field(() => String, { nullable: true })
  digest?: string | null;

  @Field(() => Float, { nullable: true })
  size?: number | null;
}

@InputType({ description: 'A rule; set the fields its type takes (see ValidationRuleType).' })
export class ValidationRuleInput {
  @Field(() => ValidationRuleTypeEnum)
  type!: (typeof VALIDATION_RULE_TYPES)[number];

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

@InputType()
export class ValidateDatasetVersionInput {
  @Field(() => ID)
  datasetVersionId!: string;

  @Field(() => [ValidationRuleInput])
  rules!: ValidationRuleInput[];
}

@InputType({ description: 'A cleaning step; set the fields its type takes (see CleaningStepType).' })
export class CleaningStepInput {
  @Field(() => CleaningStepTypeEnum)
  type!: (typeof CLEANING_STEP_TYPES)[number];

  @Field(() => String, { nullable: true })
  column?: string | null;

  @Field(() => [String], { nullable: true })
  columns?: string[] | null;

  @Field(() => FillStrategyEnum, { nullable: true })
  strategy?: string | null;

  @Field(() => JSONScalar, { nullable: true, description: 'The fill value of a CONSTANT fill: a string, number or boolean.' })
  value?: unknown;

  @Field(() => ColumnTypeEnum, { nullable: true })
  to?: string | null;
}

@InputType({ description: 'Steps are applied in order; each sees the output of the one before.' })
export class CleanDatasetVersionInput {
  @Field(() => ID)
  datasetVersionId!: string;

  @Field(() => [CleaningStepInput])
  steps!: CleaningStepInput[];
}

@InputType({ description: 'Fractions between 0 and 1 that sum to 1; the same seed gives the same split.' })
export class SplitDatasetVersionInput {
  @Field(() => ID)
  datasetVersionId!: string;

  @Field(() => Float)
  train!: number;

  @Field(() => Float)
  validation!: number;

  @Field(() => Float)
  test!: number;

  @Field(() => Int)
  seed!: number;

  @Field(() => String, { nullable: true, description: 'A column whose class proportions every part keeps.' })
  stratifyBy?: string | null;
}

type RuleField = Exclude<keyof ValidationRuleInput, 'type'>;
const RULE_FIELDS: Record<(typeof VALIDATION_RULE_TYPES)[number], ReadonlyArray<RuleField>> = {
  NOT_NULL: ['column'],
  RANGE: ['column', 'min', 'max'],
  ALLOWED_VALUES: ['column', 'values'],
  UNIQUE: ['column'],
  REGEX: ['column', 'pattern'],
  MAX_MISSING_FRACTION: ['column', 'fraction'],
};

type StepField = Exclude<keyof CleaningStepInput, 'type'>;
const STEP_FIELDS: Record<(typeof CLEANING_STEP_TYPES)[number], ReadonlyArray<StepField>> = {
  DROP_MISSING: ['columns'],
  FILL_MISSING: ['column', 'strategy', 'value'],
  DROP_DUPLICATES: ['columns'],
  CAST: ['column', 'to'],
  DROP_COLUMNS: ['columns'],
};

/**
 * GraphQL has no input unions: a rule or step comes as one flat object with a `type`. This turns
 * it into the contract's discriminated union — the fields its type takes, those the client set —
 * and refuses a field the type does not take; the service validates the rest (and names the field).
 */
function discriminated<I extends { type: string }>(inputs: ReadonlyArray<I>, fieldsOf: (type: I['type']) => ReadonlyArray<keyof I>, list: string): Array<Record<string, unknown>> {
  const issues: Array<{ field: string; message: string }> = [];
  const out = inputs.map((input, index) => {
    const allowed = new Set<keyof I>(['type', ...fieldsOf(input.type)]);
    const value: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(input) as Array<[keyof I & string, unknown]>) {
      if (field === null || field === undefined) continue;
      if (allowed.has(key)) value[key] = field;
      else issues.push({ field: `${list}[${index}].${key}`, message: `a ${input.type} ${list === 'rules' ? 'rule' : 'step'} takes no ${key}` });
    }
    return value;
  });
  if (issues.length) throw new ValidationError(`input is invalid: ${issues.map((i) => `field "${i.field}": ${i.message}`).join('; ')}`, { issues });
  return out;
}

export function toValidationRules(rules: ReadonlyArray<ValidationRuleInput>): Array<Record<string, unknown>> {
  return discriminated(rules, (type) => RULE_FIELDS[type], 'rules');
}

export function toCleaningSteps(steps: ReadonlyArray<CleaningStepInput>): Array<Record<string, unknown>> {
  return discriminated(steps, (type) => STEP_FIELDS[type], 'steps');
}
