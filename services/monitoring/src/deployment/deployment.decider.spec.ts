import { type ColumnSchema, ConflictError, monitorIdFor, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type DeploymentCommand, deploymentDecider, type DeploymentEvent, type DeployedVersion } from './deployment.decider';
import { chooseFeatures, referenceDatasetVersion } from './features';

const deploymentId = '5e000000-0000-4000-8000-000000000001';
const modelVersionId = '7a000000-0000-4000-8000-000000000003';
const datasetVersionId = '1e000000-0000-4000-8000-000000000011';
const datasetId = '1d000000-0000-4000-8000-000000000010';
const t0 = '2026-11-22T10:00:00.000Z';
const version: DeployedVersion = {
  modelVersionId,
  modelId: '6f000000-0000-4000-8000-000000000002',
  version: 3,
  projectId: '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00',
  experimentId: '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43',
  runId: '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11',
  status: 'ACTIVE',
};
const reference: DeploymentCommand['reference'] = {
  datasetVersionId,
  datasetId,
  dataUri: 'file:///srv/data/train.csv',
  format: 'CSV',
  digest: 'a'.repeat(64),
  uri: 'file:///srv/artifacts/sha256/aa/aaaa.mtref',
  size: 100,
  rows: 20,
  features: [{ name: 'age', kind: 'NUMERIC', columnType: 'INTEGER' }],
  skippedColumns: [{ name: 'churned', reason: 'TARGET' }],
  target: 'churned',
};
const deploy: DeploymentCommand = { type: 'DeployModel', deploymentId, monitorId: monitorIdFor(deploymentId), version, modelVersionId, environment: 'production', endpoint: 'https://m.example.com/churn', reference, at: t0 };
const deployed: DeploymentEvent[] = [
  {
    type: 'monitoring.ModelDeployed.v1',
    data: {
      deploymentId,
      monitorId: monitorIdFor(deploymentId),
      modelId: version.modelId,
      modelVersionId,
      version: 3,
      projectId: version.projectId,
      experimentId: version.experimentId,
      runId: version.runId,
      environment: 'production',
      endpoint: 'https://m.example.com/churn',
      deployedAt: t0,
    },
  },
  { type: 'monitoring.ReferenceProfileSet.v1', data: { deploymentId, ...reference, setAt: t0 } },
];
const spec = deciderSpec(deploymentDecider);

describe('Deployment decider', () => {
  it('deploys a version with its reference in one append; the same deployment again is nothing new', () => {
    spec.given([]).when(deploy).then(deployed);
    spec.given(deployed).when(deploy).thenNothingHappens();
    spec.given(deployed).when({ ...deploy, environment: 'staging' }).thenThrows(ConflictError, /already exists/);
  });

  it('refuses an unknown version (NOT_FOUND) and an archived one (CONFLICT)', () => {
    spec.given([]).when({ ...deploy, version: null }).thenThrows(NotFoundError, /does not exist/);
    spec.given([]).when({ ...deploy, version: { ...version, status: 'ARCHIVED' } }).thenThrows(ConflictError, /archived version cannot be deployed/);
  });
});

describe('features of a deployment', () => {
  const schema: ColumnSchema[] = [
    { name: 'age', type: 'INTEGER', nullable: false },
    { name: 'spend', type: 'NUMBER', nullable: true },
    { name: 'plan', type: 'STRING', nullable: false },
    { name: 'active', type: 'BOOLEAN', nullable: false },
    { name: 'signedUp', type: 'DATETIME', nullable: false },
    { name: 'churned', type: 'STRING', nullable: false },
  ];

  it('every column but the target, numbers as NUMERIC, strings and booleans as CATEGORICAL, DATETIME skipped', () => {
    expect(chooseFeatures(schema, 'churned')).toEqual({
      features: [
        { name: 'age', kind: 'NUMERIC', columnType: 'INTEGER' },
        { name: 'spend', kind: 'NUMERIC', columnType: 'NUMBER' },
        { name: 'plan', kind: 'CATEGORICAL', columnType: 'STRING' },
        { name: 'active', kind: 'CATEGORICAL', columnType: 'BOOLEAN' },
      ],
      skippedColumns: [
        { name: 'signedUp', reason: 'DATETIME' },
        { name: 'churned', reason: 'TARGET' },
      ],
    });
  });

  it('a chosen subset, naming unknown columns and columns that cannot be features', () => {
    expect(chooseFeatures(schema, 'churned', ['plan', 'age']).features.map((f) => f.name)).toEqual(['age', 'plan']);
    expect(() => chooseFeatures(schema, 'churned', ['agee'])).toThrow(/features agee are not columns of the training data/);
    expect(() => chooseFeatures(schema, 'churned', ['churned', 'signedUp'])).toThrow(/churned \(the project's target\), signedUp \(a DATETIME column\) cannot be monitored/);
    expect(() => chooseFeatures([{ name: 'y', type: 'NUMBER', nullable: false }], 'y')).toThrow(ValidationError);
  });

  it('the reference is the only TRAIN dataset version, or the one named among several', () => {
    const train = { datasetVersionId, datasetId, role: 'TRAIN' as const };
    const train2 = { datasetVersionId: '1e000000-0000-4000-8000-000000000012', datasetId, role: 'TRAIN' as const };
    const test = { datasetVersionId: '1e000000-0000-4000-8000-000000000013', datasetId, role: 'TEST' as const };
    expect(referenceDatasetVersion(modelVersionId, [test, train], undefined)).toBe(train);
    expect(() => referenceDatasetVersion(modelVersionId, [test], undefined)).toThrow(/has no TRAIN dataset version/);
    expect(() => referenceDatasetVersion(modelVersionId, [train, train2], undefined)).toThrow(/has 2 TRAIN dataset versions .* name the reference with referenceDatasetVersionId/);
    expect(referenceDatasetVersion(modelVersionId, [train, train2], train2.datasetVersionId)).toBe(train2);
    expect(() => referenceDatasetVersion(modelVersionId, [train, test], test.datasetVersionId)).toThrow(/is not a TRAIN dataset version/);
  });
});
