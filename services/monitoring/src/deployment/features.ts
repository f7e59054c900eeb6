import { type ColumnSchema, type ReferenceFeature, type RunDatasetVersion, type SkippedColumn, ValidationError } from '@modeltrail/contracts';

/** Features one deployment monitors at most: a window's measurement of them must fit in one event. */
export const MAX_MONITORED_FEATURES = 1_000;

/**
 * The features of a deployment, from the training data's schema: every column but the
 * project's target, INTEGER and NUMBER columns compared as numbers, STRING and BOOLEAN ones as
 * categories; DATETIME columns are skipped (a timestamp always drifts: each batch is newer than
 * the training data). `chosen` narrows them to the columns named, which must be features.
 */
export function chooseFeatures(schema: ReadonlyArray<ColumnSchema>, target: string | null, chosen?: ReadonlyArray<string>): { features: ReferenceFeature[]; skippedColumns: SkippedColumn[] } {
  const features: ReferenceFeature[] = [];
  const skippedColumns: SkippedColumn[] = [];
  for (const column of schema) {
    if (column.name === target) skippedColumns.push({ name: column.name, reason: 'TARGET' });
    else if (column.type === 'DATETIME') skippedColumns.push({ name: column.name, reason: 'DATETIME' });
    else features.push({ name: column.name, kind: column.type === 'INTEGER' || column.type === 'NUMBER' ? 'NUMERIC' : 'CATEGORICAL', columnType: column.type });
  }
  if (chosen) {
    const unknown = chosen.filter((name) => !schema.some((c) => c.name === name));
    if (unknown.length) throw new ValidationError(`features ${list(unknown)} are not columns of the training data (its columns: ${list(schema.map((c) => c.name))})`, { field: 'features', unknown });
    const notFeatures = chosen.filter((name) => !features.some((f) => f.name === name));
    if (notFeatures.length) {
      const why = notFeatures.map((name) => `${name} (${skippedColumns.find((s) => s.name === name)?.reason === 'TARGET' ? "the project's target" : 'a DATETIME column'})`);
      throw new ValidationError(`features ${why.join(', ')} cannot be monitored for drift`, { field: 'features', notFeatures });
    }
    const kept = features.filter((f) => chosen.includes(f.name));
    for (const f of features) if (!chosen.includes(f.name)) skippedColumns.push({ name: f.name, reason: 'NOT_CHOSEN' });
    features.splice(0, features.length, ...kept);
  }
  if (features.length === 0) throw new ValidationError(`the training data has no column to monitor: every column is the target or a DATETIME column (${list(schema.map((c) => `${c.name} ${c.type}`))})`, { field: 'features' });
  if (features.length > MAX_MONITORED_FEATURES) {
    throw new ValidationError(`the training data has ${features.length} feature columns; at most ${MAX_MONITORED_FEATURES} are monitored: name the ones to monitor in features`, { field: 'features' });
  }
  return { features, skippedColumns };
}

/**
 * The training dataset version the reference is built from: the version's only TRAIN dataset,
 * or the one `chosen` names when it has several (refused without a choice: which one is the
 * model's training data is not ours to guess).
 */
export function referenceDatasetVersion(modelVersionId: string, datasetVersions: ReadonlyArray<RunDatasetVersion>, chosen: string | undefined): RunDatasetVersion {
  const train = datasetVersions.filter((v) => v.role === 'TRAIN');
  if (chosen !== undefined) {
    const found = train.find((v) => v.datasetVersionId === chosen);
    if (!found) throw new ValidationError(`referenceDatasetVersionId ${chosen} is not a TRAIN dataset version of model version ${modelVersionId} (its TRAIN versions: ${list(train.map((v) => v.datasetVersionId)) || 'none'})`, { field: 'referenceDatasetVersionId' });
    return found;
  }
  if (train.length === 0) {
    throw new ValidationError(`model version ${modelVersionId} has no TRAIN dataset version: its run recorded no training data to build the drift reference from`, { field: 'modelVersionId' });
  }
  if (train.length > 1) {
    throw new ValidationError(`model version ${modelVersionId} has ${train.length} TRAIN dataset versions (${list(train.map((v) => v.datasetVersionId))}): name the reference with referenceDatasetVersionId`, {
      field: 'referenceDatasetVersionId',
    });
  }
  return train[0];
}

const list = (names: ReadonlyArray<string>) => names.join(', ');
