import type { DatasetVersionReply, ValidationReply } from '@modeltrail/contracts';
import type { DatasetValidationRow, DatasetVersionRow } from './dataset-version.entity';

/** Read-model rows in their wire shape. */
export function versionReply(row: DatasetVersionRow): DatasetVersionReply {
  return {
    datasetVersionId: row.datasetVersionId,
    datasetId: row.datasetId,
    version: row.version,
    uri: row.uri,
    format: row.format,
    digest: row.digest,
    size: row.size,
    rows: row.rows,
    schema: row.schema,
    profile: row.profile,
    profiled: row.profiled,
    parentVersionIds: row.parentVersionIds,
    transform: row.transform,
    registeredAt: row.registeredAt.toISOString(),
    registeredBy: row.registeredBy,
  };
}

export function validationReply(row: DatasetValidationRow): ValidationReply {
  return {
    validationId: row.validationId,
    datasetVersionId: row.datasetVersionId,
    rules: row.rules,
    ...row.report,
    validatedAt: row.validatedAt.toISOString(),
    validatedBy: row.validatedBy,
  };
}
