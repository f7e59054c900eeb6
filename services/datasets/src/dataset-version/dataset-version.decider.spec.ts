import { ConflictError, NotFoundError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type DatasetVersionCommand, type DatasetVersionEvent, datasetVersionDecider, type VersionFacts } from './dataset-version.decider';

const datasetId = '6f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const versionId = '1a2b3c4d-2d7a-4a53-9a51-0c2b0b8e9d22';
const parentId = '9f8e7d6c-2d7a-4a53-9a51-0c2b0b8e9d33';
const at = '2026-11-24T10:00:00.000Z';
const later = '2026-11-24T11:00:00.000Z';

const facts: VersionFacts = {
  datasetVersionId: versionId,
  datasetId,
  uri: 'file:///data/churn.csv',
  format: 'CSV',
  digest: 'a'.repeat(64),
  size: 1024,
  rows: 10,
  schema: [{ name: 'age', type: 'INTEGER', nullable: true }],
  profile: null,
  profiled: true,
};
const active = { status: 'Active' as const, name: 'churn' };
const register: DatasetVersionCommand = { type: 'RegisterDatasetVersion', version: facts, derivation: null, dataset: active, at };
const registered: DatasetVersionEvent = { type: 'datasets.DatasetVersionRegistered.v1', data: { ...facts, registeredAt: at } };
const rules = [{ type: 'NOT_NULL' as const, column: 'age' }];
const report = { passed: false, rowsChecked: 10, results: [{ rule: rules[0], passed: false, failingRows: 1, exampleRows: [4], observed: '1 missing value' }] };
const validationId = '2b3c4d5e-2d7a-4a53-9a51-0c2b0b8e9d44';
const validate: DatasetVersionCommand = { type: 'RecordValidation', datasetVersionId: versionId, validationId, rules, report, at: later };
const parts = {
  train: { datasetVersionId: '3c4d5e6f-2d7a-4a53-9a51-0c2b0b8e9d55', rows: 7 },
  validation: { datasetVersionId: '4d5e6f70-2d7a-4a53-9a51-0c2b0b8e9d66', rows: 2 },
  test: { datasetVersionId: '5e6f7081-2d7a-4a53-9a51-0c2b0b8e9d77', rows: 1 },
};
const split: DatasetVersionCommand = {
  type: 'RecordSplit',
  datasetVersionId: versionId,
  splitId: '6f708192-2d7a-4a53-9a51-0c2b0b8e9d88',
  seed: 42,
  fractions: { train: 0.7, validation: 0.2, test: 0.1 },
  stratifyBy: null,
  parts,
  at: later,
};

describe('DatasetVersion decider', () => {
  const spec = deciderSpec(datasetVersionDecider);

  it('registers a version of an active dataset', () => {
    spec.given([]).when(register).then([registered]);
  });

  it('records the parents and transform of a derived version in the same decision', () => {
    const derivation = { parentVersionIds: [parentId], transform: { kind: 'EXTERNAL' as const, description: 'deduplicated in Spark' } };
    spec
      .given([])
      .when({ ...register, derivation })
      .then([registered, { type: 'datasets.DatasetVersionDerived.v1', data: { datasetVersionId: versionId, ...derivation, derivedAt: at } }]);
  });

  it('returns the existing version for the same bytes registered again', () => {
    spec.given([registered]).when({ ...register, at: later }).thenNothingHappens();
  });

  it('refuses a version of a dataset that does not exist or is archived', () => {
    spec.given([]).when({ ...register, dataset: { status: 'Unregistered' } }).thenThrows(NotFoundError, `dataset ${datasetId} does not exist`);
    spec.given([]).when({ ...register, dataset: { status: 'Archived', name: 'churn' } }).thenThrows(ConflictError, 'dataset "churn" is archived: it takes no new versions');
  });

  it('records a validation report once per validation id', () => {
    const validated: DatasetVersionEvent = { type: 'datasets.DatasetValidated.v1', data: { datasetVersionId: versionId, validationId, rules, report, validatedAt: later } };
    spec.given([registered]).when(validate).then([validated]);
    spec.given([registered, validated]).when(validate).thenNothingHappens();
    spec.given([registered, validated]).when({ ...validate, validationId: '7a8b9c0d-2d7a-4a53-9a51-0c2b0b8e9d99' }).then([
      { ...validated, data: { ...validated.data, validationId: '7a8b9c0d-2d7a-4a53-9a51-0c2b0b8e9d99' } },
    ]);
  });

  it('records a split with its parts once', () => {
    const created: DatasetVersionEvent = {
      type: 'datasets.DatasetSplitCreated.v1',
      data: { datasetVersionId: versionId, splitId: split.splitId, seed: 42, fractions: split.fractions, stratifyBy: null, parts, createdAt: later },
    };
    spec.given([registered]).when(split).then([created]);
    spec.given([registered, created]).when(split).thenNothingHappens();
  });

  it('refuses validations and splits of a version that does not exist', () => {
    spec.given([]).when(validate).thenThrows(NotFoundError, `dataset version ${versionId} does not exist`);
    spec.given([]).when(split).thenThrows(NotFoundError, `dataset version ${versionId} does not exist`);
  });
});
