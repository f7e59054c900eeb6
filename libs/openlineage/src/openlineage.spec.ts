import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildRunEvent,
  CUSTOM_FACETS,
  customFacetSchemaUrl,
  datasetNameOfUri,
  type DatasetVersionInfo,
  type JobEmission,
  type LineageLookup,
  MODELTRAIL_PRODUCER,
  OPENLINEAGE_SCHEMA_URL,
  referencesOf,
  type RunEvent,
  type TrainingRunEmission,
  validateRunEvent,
} from './index';

const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const jobId = '1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const datasetId = '5a5a5a5a-1111-4222-8333-444444444444';
const datasetVersionId = '6b6b6b6b-1111-4222-8333-444444444444';
const modelId = '6a000000-0000-4000-8000-000000000001';
const digest = 'a'.repeat(64);

const version: DatasetVersionInfo = {
  datasetVersionId,
  datasetId,
  uri: 's3://lake/churn/2026-11/train.parquet',
  format: 'PARQUET',
  digest,
  size: 2048,
  rows: 100,
  schema: [
    { name: 'age', type: 'INTEGER', nullable: false },
    { name: 'plan', type: 'STRING', nullable: true },
  ],
  columnMetrics: { age: { nullCount: 0, distinctCount: 40, count: 100, min: 18, max: 90, quantiles: { '0.5': 41 } } },
};
const lookup: LineageLookup = {
  projects: new Map([[projectId, 'Churn']]),
  experiments: new Map([[experimentId, 'gbm']]),
  datasets: new Map([[datasetId, 'customers']]),
  models: new Map([[modelId, 'churn-model']]),
  datasetVersions: new Map([[datasetVersionId, version]]),
};

function runEmission(overrides: Partial<TrainingRunEmission> = {}): TrainingRunEmission {
  return {
    subject: 'run',
    id: 'e1',
    position: 10,
    eventType: 'COMPLETE',
    eventTime: '2026-11-22T12:00:00.000Z',
    error: null,
    runId,
    projectId,
    experimentId,
    parentJobId: null,
    codeRef: { repository: 'https://github.com/acme/churn', commit: 'abc123', path: 'train.py' },
    inputs: [{ datasetVersionId, datasetId, role: 'TRAIN' }],
    artifacts: [{ name: 'model.pkl', uri: 'file:///var/modeltrail/artifacts/run/model.pkl', digest, size: 12 }],
    modelVersions: [],
    training: { params: { lr: 0.01, depth: 6 }, tags: ['baseline'], metrics: [{ key: 'accuracy', last: 0.93, min: 0.5, max: 0.95, count: 3, lastStep: 2 }] },
    ...overrides,
  };
}

function jobEmission(overrides: Partial<JobEmission> = {}): JobEmission {
  return {
    subject: 'job',
    id: 'e2',
    position: 11,
    eventType: 'FAIL',
    eventTime: '2026-11-22T13:00:00.000Z',
    error: 'exit code 1',
    jobId,
    runId,
    projectId,
    experimentId,
    startsRun: false,
    inputs: [],
    spec: { resources: { gpus: 1 }, priority: 0, maxRetries: 2, timeoutSeconds: null, sweep: null },
    placement: { agentId: '2c2c2c2c-1111-4222-8333-444444444444', gpus: [{ index: 0, uuid: 'GPU-1' }], attempt: 1, fencingToken: 1 },
    outcome: { status: 'FAILED', reason: 'exit code 1', exitCode: 1, signal: null, durationMs: 1000 },
    ...overrides,
  };
}

describe('OpenLineage naming', () => {
  it.each([
    ['file:///data/churn.csv', 'file', '/data/churn.csv'],
    ['file:/data/churn.csv', 'file', '/data/churn.csv'],
    ['file://localhost/data/churn.csv', 'file', '/data/churn.csv'],
    ['file://nas01/share/x.csv', 'file://nas01', '/share/x.csv'],
    ['/data/churn.csv', 'file', '/data/churn.csv'],
    ['s3://lake/churn/train.parquet', 's3://lake', 'churn/train.parquet'],
    ['s3a://lake/churn/train.parquet?versionId=3', 's3://lake', 'churn/train.parquet'],
    ['gs://bucket/a/b.csv', 'gs://bucket', 'a/b.csv'],
    ['abfss://c@acct.dfs.core.windows.net/dir/x.parquet', 'abfss://c@acct.dfs.core.windows.net', 'dir/x.parquet'],
    ['hdfs://NameNode:8020/warehouse/x', 'hdfs://namenode:8020', '/warehouse/x'],
    ['https://data.example.com/x.csv', 'https://data.example.com', '/x.csv'],
    ['data/relative.csv', 'file', 'data/relative.csv'],
  ])('names %s as %s + %s', (uri, namespace, name) => {
    expect(datasetNameOfUri(uri)).toEqual({ namespace, name });
  });
});

describe('buildRunEvent', () => {
  it('builds a COMPLETE of a training run: job <project>.<experiment>, inputs from the dataset version, artifacts as outputs, ML facets', () => {
    const event = buildRunEvent(runEmission(), lookup);
    expect(validateRunEvent(event, { customPrefix: 'modeltrail' })).toEqual([]);
    expect(event).toMatchObject({
      eventType: 'COMPLETE',
      eventTime: '2026-11-22T12:00:00.000Z',
      producer: MODELTRAIL_PRODUCER,
      schemaURL: OPENLINEAGE_SCHEMA_URL,
      run: { runId, facets: { modeltrail_training: { params: { lr: 0.01, depth: 6 }, tags: ['baseline'], metrics: [{ key: 'accuracy', last: 0.93 }] } } },
      job: {
        namespace: 'modeltrail',
        name: 'Churn.gbm',
        facets: {
          jobType: { processingType: 'BATCH', integration: 'MODELTRAIL', jobType: 'TRAINING' },
          sourceCodeLocation: { type: 'git', url: 'https://github.com/acme/churn', version: 'abc123', path: 'train.py' },
        },
      },
      inputs: [
        {
          namespace: 's3://lake',
          name: 'churn/2026-11/train.parquet',
          facets: {
            schema: { fields: [{ name: 'age', type: 'INTEGER' }, { name: 'plan', type: 'STRING' }] },
            dataSource: { name: 's3://lake', uri: 's3://lake' },
            version: { datasetVersion: datasetVersionId },
          },
          inputFacets: {
            modeltrail_datasetVersion: { datasetVersionId, datasetId, datasetName: 'customers', role: 'TRAIN', digest, size: 2048, rows: 100 },
            dataQualityMetrics: { rowCount: 100, bytes: 2048, columnMetrics: { age: { nullCount: 0, distinctCount: 40 } } },
          },
        },
      ],
      outputs: [{ namespace: 'file', name: '/var/modeltrail/artifacts/run/model.pkl', outputFacets: { modeltrail_artifact: { name: 'model.pkl', digest, size: 12 } } }],
    });
    expect(event.run.facets!.modeltrail_training._schemaURL).toBe('https://github.com/modeltrail/modeltrail/spec/openlineage/1-0-0/ModeltrailFacets.json#/$defs/ModeltrailTrainingRunFacet');
    expect(event.run.facets!.errorMessage).toBeUndefined();
  });

  it('falls back to ids when names and the dataset version are unknown, and adds model versions as outputs in the models namespace', () => {
    const event = buildRunEvent(
      runEmission({ eventType: 'OTHER', training: null, artifacts: [], modelVersions: [{ modelVersionId: datasetVersionId, modelId, version: 3, artifact: { name: 'model.pkl', uri: 's3://m/model.pkl', digest, size: 1 }, createdAt: '2026-11-22T14:00:00.000Z' }] }),
      { ...lookup, projects: new Map(), datasetVersions: new Map() },
      { jobNamespace: 'ml-prod' },
    );
    expect(validateRunEvent(event)).toEqual([]);
    expect(event.job).toMatchObject({ namespace: 'ml-prod', name: `${projectId}.gbm` });
    expect(event.inputs![0]).toMatchObject({ namespace: 'ml-prod', name: `datasets/${datasetId}/versions/${datasetVersionId}` });
    expect(event.outputs).toEqual([
      expect.objectContaining({ namespace: 'modeltrail', name: `models/${modelId}/versions/3`, facets: expect.objectContaining({ version: expect.objectContaining({ datasetVersion: '3' }), modeltrail_modelVersion: expect.objectContaining({ modelName: 'churn-model', version: 3 }) }) }),
    ]);
    expect(event.run.facets!.modeltrail_training).toBeUndefined();
  });

  it('gives a run started by a job the job as its parent, and no sourceCodeLocation for a repository that is not a URL', () => {
    const event = buildRunEvent(runEmission({ eventType: 'START', parentJobId: jobId, codeRef: { repository: 'git@github.com:acme/churn.git', commit: 'abc', path: null } }), lookup);
    expect(validateRunEvent(event)).toEqual([]);
    expect(event.run.facets!.parent).toMatchObject({ run: { runId: jobId }, job: { namespace: 'modeltrail', name: `job/${jobId}` } });
    expect(event.job.facets!.sourceCodeLocation).toBeUndefined();
  });

  it('builds a FAIL of a scheduler job: job/<jobId>, the run it trains into as parent, errorMessage and placement', () => {
    const event = buildRunEvent(jobEmission(), lookup);
    expect(validateRunEvent(event, { customPrefix: 'modeltrail' })).toEqual([]);
    expect(event).toMatchObject({
      eventType: 'FAIL',
      run: {
        runId: jobId,
        facets: {
          parent: { run: { runId }, job: { namespace: 'modeltrail', name: 'Churn.gbm' } },
          errorMessage: { message: 'exit code 1', programmingLanguage: 'UNKNOWN' },
          modeltrail_placement: { agentId: '2c2c2c2c-1111-4222-8333-444444444444', gpus: [{ index: 0, uuid: 'GPU-1' }], attempt: 1 },
          modeltrail_job: { runId, outcome: { status: 'FAILED', exitCode: 1 } },
        },
      },
      job: { namespace: 'modeltrail', name: `job/${jobId}`, facets: { jobType: { jobType: 'JOB' } } },
    });
    expect(buildRunEvent(jobEmission({ startsRun: true }), lookup).run.facets!.parent).toBeUndefined();
  });

  it('lists the ids an emission needs looked up', () => {
    expect(referencesOf([runEmission({ modelVersions: [{ modelVersionId: datasetVersionId, modelId, version: 1, artifact: { name: 'm', uri: 'u', digest, size: 1 }, createdAt: '2026-11-22T14:00:00.000Z' }] }), jobEmission()])).toEqual({
      projects: [projectId],
      experiments: [experimentId],
      datasets: [datasetId],
      models: [modelId],
      datasetVersions: [datasetVersionId],
    });
  });
});

describe('validateRunEvent', () => {
  const valid = (): RunEvent => buildRunEvent(runEmission(), lookup);
  /** A copy of a valid event with one change made by `edit`. */
  const broken = (edit: (doc: any) => void): unknown => {
    const doc = JSON.parse(JSON.stringify(valid()));
    edit(doc);
    return doc;
  };

  it('accepts a minimal RunEvent and the examples of the spec', () => {
    expect(validateRunEvent({ eventTime: '2026-11-22T12:00:00+01:00', producer: 'https://x.org/p', schemaURL: OPENLINEAGE_SCHEMA_URL, run: { runId }, job: { namespace: 'n', name: 'j' } })).toEqual([]);
    expect(validateRunEvent(valid())).toEqual([]);
  });

  it.each<[string, (doc: any) => void, string]>([
    ['a missing eventTime', (d) => delete d.eventTime, '$.eventTime: is required'],
    ['an eventTime that is not a date-time', (d) => (d.eventTime = '2026-11-22 12:00'), '$.eventTime: must be an RFC 3339 date-time'],
    ['an eventTime on a day the month lacks', (d) => (d.eventTime = '2026-02-30T12:00:00Z'), '$.eventTime: must be an RFC 3339 date-time'],
    ['an eventTime without an offset', (d) => (d.eventTime = '2026-11-22T12:00:00'), '$.eventTime: must be an RFC 3339 date-time'],
    ['a missing producer', (d) => delete d.producer, '$.producer: is required'],
    ['a producer that is not a URI', (d) => (d.producer = 'modeltrail'), '$.producer: must be an absolute URI'],
    ['a schemaURL with a space', (d) => (d.schemaURL = 'https://openlineage.io/spec/2-0-2/Open Lineage.json'), '$.schemaURL: must be an absolute URI'],
    ['an unknown eventType', (d) => (d.eventType = 'DONE'), '$.eventType: must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER'],
    ['a missing run', (d) => delete d.run, '$.run: is required'],
    ['a run that is not an object', (d) => (d.run = 'r'), '$.run: must be a Run (an object), got a string'],
    ['a missing runId', (d) => delete d.run.runId, '$.run.runId: is required'],
    ['a runId that is not a UUID', (d) => (d.run.runId = 'run-1'), '$.run.runId: must be a UUID'],
    ['a missing job', (d) => delete d.job, '$.job: is required'],
    ['a job without namespace', (d) => delete d.job.namespace, '$.job.namespace: is required'],
    ['a job name that is not a string', (d) => (d.job.name = 3), '$.job.name: must be a string, got a number'],
    ['inputs that are not an array', (d) => (d.inputs = {}), '$.inputs: must be an array of datasets'],
    ['an input without name', (d) => delete d.inputs[0].name, '$.inputs[0].name: is required'],
    ['an output without namespace', (d) => delete d.outputs[0].namespace, '$.outputs[0].namespace: is required'],
    ['a facet without _producer', (d) => delete d.run.facets.modeltrail_training._producer, '$.run.facets.modeltrail_training._producer: is required'],
    ['a facet whose _schemaURL is not a URI', (d) => (d.job.facets.jobType._schemaURL = 'JobTypeJobFacet'), '$.job.facets.jobType._schemaURL: must be an absolute URI'],
    ['a job facet whose _deleted is not a boolean', (d) => (d.job.facets.jobType._deleted = 'yes'), '$.job.facets.jobType._deleted: must be a boolean'],
    ['a custom facet not named {prefix}_{name}', (d) => (d.run.facets.training = d.run.facets.modeltrail_training), '$.run.facets.training: is not a standard facet of this entity'],
    ['a custom facet without a JSON pointer schema URL', (d) => (d.run.facets.modeltrail_training._schemaURL = 'https://github.com/modeltrail/modeltrail/facets.json'), '$.run.facets.modeltrail_training._schemaURL: a custom facet\'s _schemaURL must point to its schema with a JSON pointer fragment'],
    ['a standard input facet under dataset facets', (d) => (d.inputs[0].facets.inputStatistics = d.inputs[0].facets.version), '$.inputs[0].facets.inputStatistics: is not a standard facet of this entity'],
    ['jobType without integration', (d) => delete d.job.facets.jobType.integration, '$.job.facets.jobType.integration: is required'],
    ['sourceCodeLocation with a url that is not a URI', (d) => (d.job.facets.sourceCodeLocation.url = 'github.com/acme'), '$.job.facets.sourceCodeLocation.url: must be an absolute URI'],
    ['errorMessage without programmingLanguage', (d) => (d.run.facets.errorMessage = { _producer: MODELTRAIL_PRODUCER, _schemaURL: 'https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet', message: 'x' }), '$.run.facets.errorMessage.programmingLanguage: is required'],
    ['parent with a run id that is not a UUID', (d) => (d.run.facets.parent = { _producer: MODELTRAIL_PRODUCER, _schemaURL: 'https://openlineage.io/spec/facets/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet', run: { runId: 'x' }, job: { namespace: 'n', name: 'j' } }), '$.run.facets.parent.run.runId: must be a UUID'],
    ['a schema field without name', (d) => delete d.inputs[0].facets.schema.fields[1].name, '$.inputs[0].facets.schema.fields[1].name: is required'],
    ['a version facet without datasetVersion', (d) => delete d.inputs[0].facets.version.datasetVersion, '$.inputs[0].facets.version.datasetVersion: is required'],
    ['a dataSource uri that is not a URI', (d) => (d.inputs[0].facets.dataSource.uri = 'lake'), '$.inputs[0].facets.dataSource.uri: must be an absolute URI'],
    ['dataQualityMetrics without columnMetrics', (d) => delete d.inputs[0].inputFacets.dataQualityMetrics.columnMetrics, '$.inputs[0].inputFacets.dataQualityMetrics.columnMetrics: is required'],
    ['a rowCount that is not an integer', (d) => (d.inputs[0].inputFacets.dataQualityMetrics.rowCount = 1.5), '$.inputs[0].inputFacets.dataQualityMetrics.rowCount: must be an integer'],
    ['a column metric that is not a number', (d) => (d.inputs[0].inputFacets.dataQualityMetrics.columnMetrics.age.min = '18'), '$.inputs[0].inputFacets.dataQualityMetrics.columnMetrics.age.min: must be a number'],
  ])('reports %s with its path', (_what, edit, message) => {
    const errors = validateRunEvent(broken(edit));
    expect(errors).toEqual([expect.stringContaining(message)]);
  });

  it('reports every failing check of a document, and a non-object', () => {
    expect(validateRunEvent(null)).toEqual(['$: must be a RunEvent (an object), got null']);
    expect(validateRunEvent({})).toEqual(['$.eventTime: is required', '$.producer: is required', '$.schemaURL: is required', '$.run: is required', '$.job: is required']);
  });

  it('pins the custom facet prefix when asked', () => {
    const doc = broken((d) => (d.run.facets.acme_training = { ...d.run.facets.modeltrail_training, _schemaURL: 'https://acme.io/f.json#/$defs/AcmeTrainingRunFacet' }));
    expect(validateRunEvent(doc)).toEqual([]);
    expect(validateRunEvent(doc, { customPrefix: 'modeltrail' })).toEqual(['$.run.facets.acme_training: a custom facet\'s name must start with the producer\'s prefix "modeltrail_"']);
    expect(customFacetSchemaUrl('https://x.org/', 'modeltrail_placement')).toBe('https://x.org/spec/openlineage/1-0-0/ModeltrailFacets.json#/$defs/ModeltrailPlacementRunFacet');
  });
});

describe('custom facet schemas (spec/ModeltrailFacets.json)', () => {
  const schema = JSON.parse(readFileSync(join(__dirname, '..', 'spec', 'ModeltrailFacets.json'), 'utf8')) as { $id: string; $defs: Record<string, { allOf: [unknown, { required: string[] }] }> };

  it('defines every custom facet at the URL its _schemaURL names', () => {
    for (const [key, definition] of Object.entries(CUSTOM_FACETS)) {
      expect(schema.$defs[definition]).toBeDefined();
      expect(customFacetSchemaUrl(MODELTRAIL_PRODUCER, key as keyof typeof CUSTOM_FACETS)).toBe(`${schema.$id}#/$defs/${definition}`);
    }
  });

  it('is matched by the facets the builders write: every required field is there', () => {
    const events = [
      buildRunEvent(runEmission(), lookup),
      buildRunEvent(runEmission({ eventType: 'OTHER', training: null, artifacts: [], modelVersions: [{ modelVersionId: datasetVersionId, modelId, version: 3, artifact: { name: 'm', uri: 's3://m/m', digest, size: 1 }, createdAt: '2026-11-22T14:00:00.000Z' }] }), lookup),
      buildRunEvent(jobEmission(), lookup),
    ];
    const seen = new Set<string>();
    const check = (facets: Record<string, Record<string, unknown>> | undefined) => {
      for (const [key, facet] of Object.entries(facets ?? {})) {
        const definition = CUSTOM_FACETS[key as keyof typeof CUSTOM_FACETS];
        if (!definition) continue;
        seen.add(key);
        for (const field of schema.$defs[definition].allOf[1].required) expect([key, field, facet[field] !== undefined]).toEqual([key, field, true]);
      }
    };
    for (const event of events) {
      check(event.run.facets);
      for (const input of event.inputs ?? []) check(input.inputFacets);
      for (const output of event.outputs ?? []) {
        check(output.facets);
        check(output.outputFacets);
      }
    }
    expect([...seen].sort()).toEqual(Object.keys(CUSTOM_FACETS).sort());
  });
});
