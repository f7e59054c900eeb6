import { DEFAULT_MONITOR_CONFIG, monitorIdFor, monitorStream, platformEventCatalog, type RetrainTemplate } from '@modeltrail/contracts';
import { CommandHandler } from '@modeltrail/decider';
import { InMemoryEventStore } from '@modeltrail/eventstore';
import { CausationLinkingStore } from './causation';
import { type DriftWindow, monitorDecider } from './monitor.decider';

const deploymentId = '5e000000-0000-4000-8000-000000000001';
const monitorId = monitorIdFor(deploymentId);
const datasetId = '1d000000-0000-4000-8000-000000000010';
const template: RetrainTemplate = {
  source: 'CONFIGURED',
  sourceJobId: null,
  experimentId: '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43',
  command: ['python', 'train.py'],
  env: {},
  workingDir: null,
  resources: { gpus: 0, gpuMemoryMb: 0, cpus: 1, memoryMb: 1_024, labels: {} },
  priority: 0,
  maxRetries: 2,
  timeoutSeconds: null,
  cancelGraceSeconds: 10,
  params: {},
};
const window: DriftWindow = {
  measurementId: 'a0000000-0000-4000-8000-000000000001',
  source: { kind: 'INLINE', datasetVersionId: null, uri: null, format: null },
  rows: 10,
  referenceDigest: 'f'.repeat(64),
  options: { ...DEFAULT_MONITOR_CONFIG },
  features: [],
  driftedFeatures: 0,
  driftedShare: 1,
  drifted: true,
};

describe('causes inside a monitor append', () => {
  it('the alert names the window that raised it, the retraining request names the alert; the window keeps the command cause', async () => {
    const store = new CausationLinkingStore(new InMemoryEventStore({ catalog: platformEventCatalog() }));
    const monitors = new CommandHandler(store, monitorDecider);
    const context = { actor: 'ada@example.com', correlationId: 'corr-1', causationId: 'cause-of-command' };
    const stream = monitorStream(monitorId);
    await monitors.handle(
      stream,
      {
        type: 'CreateMonitor',
        monitorId,
        deploymentId,
        modelId: '6f000000-0000-4000-8000-000000000002',
        modelVersionId: '7a000000-0000-4000-8000-000000000003',
        projectId: '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00',
        experimentId: template.experimentId,
        runId: '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11',
        taskType: 'REGRESSION',
        baseline: [],
        datasetVersions: [{ datasetVersionId: '1e000000-0000-4000-8000-000000000011', datasetId, role: 'TRAIN' }],
        at: '2026-11-22T10:00:00.000Z',
      },
      context,
    );
    await monitors.handle(stream, { type: 'ConfigureMonitor', monitorId, changes: { raiseAfter: 1, retrainPolicy: 'AUTO', retrainJob: template }, at: '2026-11-22T10:00:00.000Z' }, context);
    const { events } = await monitors.handle(
      stream,
      { type: 'RecordDrift', monitorId, window, newestDatasets: { [datasetId]: '1e000000-0000-4000-8000-000000000019' }, at: '2026-11-22T11:00:00.000Z' },
      { ...context, commandId: 'cmd-7' },
    );
    const [measured, raised, requested] = events;
    expect(events.map((e) => e.type)).toEqual(['monitoring.DriftMeasured.v1', 'monitoring.AlertRaised.v1', 'monitoring.RetrainRequested.v1']);
    expect(measured.metadata.causationId).toBe('cause-of-command');
    expect(raised.metadata.causationId).toBe(measured.id);
    expect(requested.metadata.causationId).toBe(raised.id);
    for (const event of events) expect(event.metadata.correlationId).toBe('corr-1');
    // A retried command appends nothing again: its ids are the ones derived from the command id.
    const again = await new CommandHandler(store, monitorDecider).handle(stream, { type: 'RecordDrift', monitorId, window, newestDatasets: null, at: '2026-11-22T11:00:01.000Z' }, { ...context, commandId: 'cmd-7' });
    expect(again.events).toEqual([]);
    expect(await store.readStream(stream)).toHaveLength(5);
  });
});
