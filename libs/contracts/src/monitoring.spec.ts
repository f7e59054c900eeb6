import { ValidationError } from './errors';
import { platformEventCatalog, rpcDefinitions } from './events';
import {
  alertIdFor,
  DEFAULT_MONITOR_CONFIG,
  MONITORING_LIMITS,
  MonitorConfig,
  monitorIdFor,
  monitoringEvents,
  monitoringRpc,
  retrainIdFor,
  retrainJobId,
} from './monitoring';
import { parseWith } from './schema';

const deploymentId = '5e1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const datasetVersionId = '8e2d7c4a-1b6f-4e3d-8c2a-9f5b0d7e6a21';

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError');
};
const ingest = (request: Record<string, unknown>) => parseWith(monitoringRpc.ingestFeatureBatch.request, { deploymentId, ...request }, 'IngestFeatureBatch');
const configure = (request: Record<string, unknown>) => parseWith(monitoringRpc.configureMonitor.request, { deploymentId, ...request }, 'ConfigureMonitor');

describe('monitoring contracts', () => {
  it('registers every monitoring event and exchange', () => {
    const catalog = platformEventCatalog();
    for (const type of Object.keys(monitoringEvents)) {
      expect(type).toMatch(/^monitoring\.[A-Z][A-Za-z]+\.v1$/);
      expect(catalog.has(type)).toBe(true);
    }
    for (const def of Object.values(monitoringRpc)) {
      expect(def.subject).toMatch(/^mt\.(cmd|qry)\.monitoring\.[A-Z][A-Za-z]+$/);
      expect(rpcDefinitions[def.subject as keyof typeof rpcDefinitions]).toBe(def);
    }
  });

  it('derives one monitor per deployment, one alert per window, one retraining per alert and one job per retraining', () => {
    const monitorId = monitorIdFor(deploymentId);
    expect(monitorIdFor(deploymentId.toUpperCase())).toBe(monitorId);
    const alertId = alertIdFor(monitorId, 'DRIFT', 3);
    expect(alertIdFor(monitorId, 'DRIFT', 3)).toBe(alertId);
    expect(new Set([alertId, alertIdFor(monitorId, 'DRIFT', 4), alertIdFor(monitorId, 'PERFORMANCE', 3)]).size).toBe(3);
    expect(retrainIdFor(alertId)).toBe(retrainIdFor(alertId.toUpperCase()));
    expect(retrainJobId(retrainIdFor(alertId))).not.toBe(retrainIdFor(alertId));
  });

  it('the default monitor configuration is a valid configuration', () => {
    expect(MonitorConfig.parse(DEFAULT_MONITOR_CONFIG)).toEqual(DEFAULT_MONITOR_CONFIG);
  });

  it('a feature batch has exactly one source', () => {
    expect(ingest({ datasetVersionId }).datasetVersionId).toBe(datasetVersionId);
    expect(ingest({ uri: '/srv/data/batch.csv' }).uri).toBe('/srv/data/batch.csv');
    expect(messageOf(() => ingest({}))).toMatch(/give the batch: datasetVersionId, uri or rows/);
    expect(messageOf(() => ingest({ datasetVersionId, uri: '/srv/data/batch.csv' }))).toMatch(/exactly one source of the batch, not datasetVersionId and uri/);
    expect(messageOf(() => ingest({ datasetVersionId, format: 'CSV' }))).toMatch(/field "format": is the format of the file at uri/);
  });

  it('inline rows are a table of at most 10,000 rows, each as wide as the header', () => {
    const rows = { columns: ['age', 'plan'], rows: [[31, 'pro'], [45, null]] };
    expect(ingest({ rows }).rows).toEqual(rows);
    expect(messageOf(() => ingest({ rows: { columns: ['age'], rows: [] } }))).toMatch(/at least one row: an empty batch/);
    expect(messageOf(() => ingest({ rows: { columns: ['age', 'plan'], rows: [[31]] } }))).toMatch(/row 1 has 1 cells for 2 columns/);
    expect(messageOf(() => ingest({ rows: { columns: ['age', 'age'], rows: [[1, 2]] } }))).toMatch(/must not name a column twice/);
    const tooMany = Array.from({ length: MONITORING_LIMITS.inlineRows + 1 }, (_, i) => [i]);
    expect(messageOf(() => ingest({ rows: { columns: ['age'], rows: tooMany } }))).toMatch(/at most 10000 rows per call/);
    expect(messageOf(() => ingest({ rows: { columns: ['age'], rows: [[{ nested: 1 }]] } }))).toMatch(/string, a finite number, a boolean or null/);
  });

  it('a configuration change names at least one setting, each within its range', () => {
    expect(configure({ raiseAfter: 1, retrainPolicy: 'AUTO' })).toMatchObject({ raiseAfter: 1, retrainPolicy: 'AUTO' });
    expect(messageOf(() => configure({}))).toMatch(/must change at least one setting/);
    expect(messageOf(() => configure({ raiseAfter: 0 }))).toMatch(/field "raiseAfter": must be at least 1/);
    expect(messageOf(() => configure({ ksPValue: 0 }))).toMatch(/field "ksPValue": must be a p-value threshold/);
    expect(messageOf(() => configure({ retrainPolicy: 'SOMETIMES' }))).toMatch(/must be one of OFF, APPROVAL, AUTO/);
    const job = configure({ retrainJob: { command: ['python', 'train.py'] } }).retrainJob;
    expect(job).toMatchObject({ command: ['python', 'train.py'], env: {}, workingDir: null, priority: 0 });
    expect(configure({ retrainJob: null }).retrainJob).toBeNull();
  });

  it('predictions and labels name each prediction once, at most 10,000 a call', () => {
    const predictions = parseWith(monitoringRpc.ingestPredictions.request, { deploymentId, predictions: [{ predictionId: 'p1', prediction: 1 }] }, 'IngestPredictions');
    expect(predictions.predictions).toHaveLength(1);
    expect(
      messageOf(() =>
        parseWith(
          monitoringRpc.ingestGroundTruth.request,
          {
            deploymentId,
            labels: [
              { predictionId: 'p1', actual: 1 },
              { predictionId: 'p1', actual: 0 },
            ],
          },
          'IngestGroundTruth',
        ),
      ),
    ).toMatch(/prediction p1 is listed more than once/);
  });
});
