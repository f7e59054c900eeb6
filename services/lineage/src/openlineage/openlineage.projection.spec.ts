import type { EventMap } from '@modeltrail/contracts';
import type { TrainingRunEmission } from '@modeltrail/openlineage';
import type { RecordedOf } from '@modeltrail/readmodel';
import { columnMetricsOf, emissionId, evolveJob, evolveName, evolveTrainingRun, openLineageProjection, type OpenLineageRunRow } from './openlineage.projection';

const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const jobId = '1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const agentId = '2c2c2c2c-1111-4222-8333-444444444444';
const digest = 'a'.repeat(64);

let position = 0;
function recorded<K extends keyof EventMap>(type: K, data: EventMap[K]): RecordedOf<K> {
  position += 1;
  const id = `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`;
  return { id, stream: 's', revision: 0, position, type, data, metadata: { actor: 'ada@example.com', correlationId: 'c', causationId: null, occurredAt: '2026-11-22T12:00:00.000Z', prevHash: '', hash: '' } } as unknown as RecordedOf<K>;
}

const started = () =>
  recorded('experiments.RunStarted.v1', { runId, experimentId, projectId, params: { lr: 0.1 }, codeRef: null, datasetVersions: [], tags: ['sweep:x', `job:${jobId.toUpperCase()}`], startedAt: '2026-11-22T12:00:00.000Z' });
const modelVersion = (version: number) =>
  recorded('registry.ModelVersionCreated.v1', {
    modelVersionId: `7b000000-0000-4000-8000-00000000000${version}`,
    modelId: '6a000000-0000-4000-8000-000000000001',
    projectId,
    experimentId,
    runId,
    version,
    artifact: { name: 'model.pkl', uri: 's3://m/model.pkl', digest, size: 1 },
    metrics: [],
    params: {},
    codeRef: null,
    datasetVersions: [],
    signature: { inputs: [{ name: 'a', type: 'double' }], outputs: [{ name: 'b', type: 'long' }] },
    modelCard: { intendedUse: '', limitations: '', evaluationData: '', ethicalConsiderations: '', caveats: '' },
    createdAt: '2026-11-22T12:30:00.000Z',
  });
const queued = () =>
  recorded('scheduler.JobQueued.v1', {
    jobId,
    projectId,
    experimentId,
    runId,
    newRun: null,
    command: ['python', 'train.py'],
    env: { SECRET: 'x' },
    workingDir: null,
    resources: { gpus: 1, gpuMemoryMb: 0, cpus: 1, memoryMb: 1024, labels: {} },
    priority: 0,
    maxRetries: 2,
    timeoutSeconds: 3600,
    cancelGraceSeconds: 10,
    sweep: null,
    queuedAt: '2026-11-22T12:00:00.000Z',
  });
const assigned = (attempt: number) =>
  recorded('scheduler.JobAssigned.v1', { jobId, agentId, gpus: [{ index: 1, uuid: 'GPU-1' }], fencingToken: attempt, leaseExpiresAt: '2026-11-22T12:05:00.000Z', attempt, assignedAt: '2026-11-22T12:01:00.000Z' });
const jobStarted = (token: number) => recorded('scheduler.JobStarted.v1', { jobId, agentId, fencingToken: token, pid: 10, startedAt: '2026-11-22T12:02:00.000Z' });

describe('openlineage projection (pure)', () => {
  it('starts a run with its job tag as parent, and puts a model version created before the end into the end event, after it into an OTHER event', () => {
    let row = evolveTrainingRun(undefined, started())!;
    expect(row.emissions.map((e) => e.eventType)).toEqual(['START']);
    expect((row.emissions[0] as TrainingRunEmission).parentJobId).toBe(jobId);
    row = evolveTrainingRun(row, modelVersion(1))!;
    expect(row.emissions).toHaveLength(1);
    row = evolveTrainingRun(row, recorded('experiments.RunArtifactLogged.v1', { runId, name: 'model.pkl', uri: 's3://m/model.pkl', digest, size: 1, loggedAt: '2026-11-22T12:10:00.000Z' }))!;
    row = evolveTrainingRun(row, recorded('experiments.RunParamsLogged.v1', { runId, params: { depth: 3 }, loggedAt: '2026-11-22T12:11:00.000Z' }))!;
    row = evolveTrainingRun(row, recorded('experiments.RunCompleted.v1', { runId, completedAt: '2026-11-22T12:20:00.000Z' }))!;
    const complete = row.emissions[1] as TrainingRunEmission;
    expect(complete).toMatchObject({ eventType: 'COMPLETE', eventTime: '2026-11-22T12:20:00.000Z', training: { params: { lr: 0.1, depth: 3 } } });
    expect(complete.modelVersions.map((m) => m.version)).toEqual([1]);
    expect(complete.artifacts.map((a) => a.name)).toEqual(['model.pkl']);
    const mv2 = modelVersion(2);
    const again = evolveTrainingRun(row, mv2)!;
    expect(again.emissions.map((e) => e.eventType)).toEqual(['START', 'COMPLETE', 'OTHER']);
    expect(again.emissions[2]).toMatchObject({ id: emissionId(mv2.id, 'OTHER'), eventTime: '2026-11-22T12:30:00.000Z', modelVersions: [{ version: 2 }], artifacts: [], inputs: [], training: null });
    // The same model version again changes nothing (the row is not written).
    expect(evolveTrainingRun(again, mv2)).toBe(again);
  });

  it('refuses a run event for a run it has not seen, and passes over a model version of an unknown run', () => {
    expect(() => evolveTrainingRun(undefined, recorded('experiments.RunCompleted.v1', { runId, completedAt: '2026-11-22T12:20:00.000Z' }))).toThrow(/has no row/);
    expect(evolveTrainingRun(undefined, modelVersion(1))).toBeUndefined();
    expect(() => evolveJob(undefined, jobStarted(1))).toThrow(/has no row/);
  });

  it('follows a job: placement, START, RUNNING for a later attempt, FAIL on time-out with the reason; no env or command in its state', () => {
    let row: OpenLineageRunRow = evolveJob(undefined, queued());
    expect(row).toMatchObject({ runId: jobId, subject: 'job', emissions: [] });
    expect(JSON.stringify(row.state)).not.toContain('SECRET');
    row = evolveJob(evolveJob(row, assigned(1)), jobStarted(1));
    row = evolveJob(evolveJob(row, assigned(2)), jobStarted(2));
    row = evolveJob(row, recorded('scheduler.JobTimedOut.v1', { jobId, agentId, fencingToken: 2, exitCode: null, signal: 'SIGKILL', durationMs: 3_600_000, timeoutSeconds: 3600, reason: 'ran over 3600 s', endedAt: '2026-11-22T13:02:00.000Z' }));
    expect(row.emissions.map((e) => e.eventType)).toEqual(['START', 'RUNNING', 'FAIL']);
    expect(row.emissions[1]).toMatchObject({ placement: { attempt: 2, fencingToken: 2 } });
    expect(row.emissions[2]).toMatchObject({ error: 'ran over 3600 s', outcome: { status: 'TIMED_OUT', signal: 'SIGKILL' }, startsRun: false });
  });

  it('gives a job cancelled before it started a START and an ABORT at the cancel', () => {
    const row = evolveJob(evolveJob(undefined, queued()), recorded('scheduler.JobCancelled.v1', { jobId, agentId: null, fencingToken: null, exitCode: null, signal: null, durationMs: null, reason: 'not needed', neverStarted: true, endedAt: '2026-11-22T12:03:00.000Z' }));
    expect(row.emissions.map((e) => [e.eventType, e.eventTime])).toEqual([
      ['START', '2026-11-22T12:03:00.000Z'],
      ['ABORT', '2026-11-22T12:03:00.000Z'],
    ]);
    expect(new Set(row.emissions.map((e) => e.id)).size).toBe(2);
    expect(row.emissions[1]).toMatchObject({ error: null, outcome: { status: 'CANCELLED', reason: 'not needed' } });
  });

  it('keeps the first name given, and profile metrics as the dataQualityMetrics columns', () => {
    const defined = recorded('experiments.ProjectDefined.v1', { projectId, name: 'Churn', problem: '', taskType: 'OTHER', target: null, successCriteria: [], definedAt: '2026-11-22T12:00:00.000Z' });
    const row = evolveName(undefined, defined);
    expect(row).toEqual({ kind: 'project', id: projectId, name: 'Churn', position: defined.position });
    expect(evolveName(row, defined)).toBe(row);
    expect(
      columnMetricsOf({
        rows: 3,
        columns: [{ name: 'x', type: 'NUMBER', count: 3, missing: 0, distinct: 1000, distinctExact: false, numeric: { min: 1, max: 2, mean: 1.5, stddev: 0.5, quantiles: [{ q: 0.25, value: 1.2 }], histogram: [] }, categorical: null }],
      }),
    ).toEqual({ x: { nullCount: 0, count: 3, min: 1, max: 2, quantiles: { '0.25': 1.2 } } });
    expect(columnMetricsOf(null)).toBeNull();
  });

  it('derives emission ids from the store event and the RunEvent type only', () => {
    const id = '11111111-2222-4333-8444-555555555555';
    expect(emissionId(id, 'START')).toBe(emissionId(id.toUpperCase(), 'START'));
    expect(emissionId(id, 'START')).not.toBe(emissionId(id, 'ABORT'));
    expect(emissionId(id, 'START')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('is one projection over three tables', () => {
    expect(openLineageProjection.tables.map((t) => t.table.name)).toEqual(['openlineage_names', 'openlineage_dataset_versions', 'openlineage_runs']);
    expect(openLineageProjection.handles.has('scheduler.JobLost.v1')).toBe(false);
    expect(openLineageProjection.handles.has('registry.ModelVersionCreated.v1')).toBe(true);
  });
});
