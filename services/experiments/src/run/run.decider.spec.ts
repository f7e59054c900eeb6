import { ConflictError, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { assertAcceptsMetrics, type RunCommand, type RunEvent, runDecider } from './run.decider';

const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const experimentId = '7d4e2f19-3c3b-5e5a-8f1d-6b2c0e9a7d43';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const trainVersion = '1b1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d12';
const testVersion = '2b1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d13';
const datasetId = '3b1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d14';
const at = '2026-11-22T10:00:00.000Z';
const later = '2026-11-22T11:00:00.000Z';
const digest = 'a'.repeat(64);

const start: Extract<RunCommand, { type: 'StartRun' }> = {
  type: 'StartRun',
  runId,
  experimentId,
  experiment: { projectId },
  params: { lr: 0.01, optimizer: 'adam', early_stopping: true },
  codeRef: { repository: 'git@example.com:ml/churn.git', commit: 'abc123', path: 'train.py' },
  datasetVersions: [
    { datasetVersionId: trainVersion, role: 'TRAIN', datasetId },
    { datasetVersionId: testVersion, role: 'TEST', datasetId },
  ],
  tags: ['baseline'],
  at,
};
const started: RunEvent = {
  type: 'experiments.RunStarted.v1',
  data: {
    runId,
    experimentId,
    projectId,
    params: { lr: 0.01, optimizer: 'adam', early_stopping: true },
    codeRef: { repository: 'git@example.com:ml/churn.git', commit: 'abc123', path: 'train.py' },
    datasetVersions: [
      { datasetVersionId: trainVersion, datasetId, role: 'TRAIN' },
      { datasetVersionId: testVersion, datasetId, role: 'TEST' },
    ],
    tags: ['baseline'],
    startedAt: at,
  },
};
const summary = [
  { key: 'loss', last: 0.2, min: 0.2, max: 0.9, count: 10, lastStep: 9 },
  { key: 'accuracy', last: 0.91, min: 0.5, max: 0.91, count: 10, lastStep: 9 },
];
const sortedSummary = [summary[1], summary[0]];
const summarized: RunEvent = { type: 'experiments.RunMetricsSummarized.v1', data: { runId, metrics: sortedSummary, summarizedAt: later } };
const completed: RunEvent = { type: 'experiments.RunCompleted.v1', data: { runId, completedAt: later } };
const failed: RunEvent = { type: 'experiments.RunFailed.v1', data: { runId, reason: 'CUDA out of memory', failedAt: later } };
const logModel = { type: 'LogArtifact' as const, runId, name: 'model.pt', uri: 's3://models/churn/model.pt', digest, size: 1024, at: later };
const modelLogged: RunEvent = { type: 'experiments.RunArtifactLogged.v1', data: { runId, name: 'model.pt', uri: 's3://models/churn/model.pt', digest, size: 1024, loggedAt: later } };

const logParams = (params: Record<string, string | number | boolean>): RunCommand => ({ type: 'LogParams', runId, params, at: later });
const paramsLogged = (params: Record<string, string | number | boolean>): RunEvent => ({ type: 'experiments.RunParamsLogged.v1', data: { runId, params, loggedAt: later } });
const manyParams = (count: number, prefix = 'p') => Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, i]));

describe('Run decider', () => {
  const spec = deciderSpec(runDecider);

  it('starts a run with its params, code, dataset versions and tags', () => {
    spec.given([]).when(start).then([started]);
  });

  it('refuses an experiment that does not exist', () => {
    spec.given([]).when({ ...start, experiment: null }).thenThrows(NotFoundError, `experiment ${experimentId} does not exist`);
  });

  it('refuses dataset versions the datasets context does not know, naming them', () => {
    spec
      .given([])
      .when({ ...start, datasetVersions: [{ datasetVersionId: trainVersion, role: 'TRAIN', datasetId: null }, { datasetVersionId: testVersion, role: 'TEST', datasetId: null }] })
      .thenThrows(NotFoundError, `dataset versions ${trainVersion}, ${testVersion} do not exist`);
  });

  it('refuses to start a run twice', () => {
    spec.given([started]).when({ ...start, at: later }).thenThrows(ConflictError, `run ${runId} already exists`);
  });

  it('logs an artifact once; the same artifact again is nothing new, another one under the name is refused', () => {
    spec.given([started]).when(logModel).then([modelLogged]);
    spec.given([started, modelLogged]).when({ ...logModel, at: '2026-11-22T12:00:00.000Z' }).thenNothingHappens();
    spec.given([started, modelLogged]).when({ ...logModel, digest: 'b'.repeat(64) }).thenThrows(ConflictError, /already has an artifact named "model.pt"/);
  });

  it('completes with the metrics summary, sorted by key, in the same decision', () => {
    spec.given([started]).when({ type: 'CompleteRun', runId, summary, at: later }).then([summarized, completed]);
  });

  it('treats a repeated completion as done, and refuses to complete a failed run', () => {
    spec.given([started, summarized, completed]).when({ type: 'CompleteRun', runId, summary: [], at: '2026-11-23T00:00:00.000Z' }).thenNothingHappens();
    spec.given([started, summarized, failed]).when({ type: 'CompleteRun', runId, summary, at: later }).thenThrows(ConflictError, /already failed \(CUDA out of memory\)/);
  });

  it('fails with a reason; the same failure again is nothing new, another reason or a completed run is refused', () => {
    spec.given([started]).when({ type: 'FailRun', runId, reason: 'CUDA out of memory', summary, at: later }).then([summarized, failed]);
    spec.given([started, summarized, failed]).when({ type: 'FailRun', runId, reason: 'CUDA out of memory', summary, at: later }).thenNothingHappens();
    spec.given([started, summarized, failed]).when({ type: 'FailRun', runId, reason: 'disk full', summary, at: later }).thenThrows(ConflictError, /for another reason/);
    spec.given([started, summarized, completed]).when({ type: 'FailRun', runId, reason: 'x', summary, at: later }).thenThrows(ConflictError, /already completed/);
  });

  it('refuses artifacts on an ended run and anything on a run that does not exist', () => {
    spec.given([started, summarized, completed]).when(logModel).thenThrows(ConflictError, `run ${runId} is completed: it takes no more artifacts`);
    spec.given([started, summarized, failed]).when(logModel).thenThrows(ConflictError, /is failed/);
    spec.given([]).when(logModel).thenThrows(NotFoundError, `run ${runId} does not exist`);
    spec.given([]).when({ type: 'CompleteRun', runId, summary, at }).thenThrows(NotFoundError);
    spec.given([]).when({ type: 'FailRun', runId, reason: 'x', summary, at }).thenThrows(NotFoundError);
  });

  it('takes metrics only while the run is running', () => {
    const state = (events: RunEvent[]) => events.reduce((s, e) => runDecider.evolve(s, e), runDecider.initialState());
    expect(() => assertAcceptsMetrics(state([started, modelLogged]), runId)).not.toThrow();
    expect(() => assertAcceptsMetrics(state([]), runId)).toThrow(NotFoundError);
    expect(() => assertAcceptsMetrics(state([started, summarized, completed]), runId)).toThrow(`run ${runId} is completed: it takes no more metrics`);
    expect(() => assertAcceptsMetrics(state([started, summarized, failed]), runId)).toThrow(ConflictError);
  });

  describe('LogParams', () => {
    it('adds new params to a running run', () => {
      spec.given([started]).when(logParams({ batch_size: 64, scheduler: 'cosine' })).then([paramsLogged({ batch_size: 64, scheduler: 'cosine' })]);
    });

    it('records only the keys that are new: a key already set to the same value is nothing new', () => {
      spec.given([started]).when(logParams({ lr: 0.01, epochs: 10 })).then([paramsLogged({ epochs: 10 })]);
      spec.given([started, paramsLogged({ epochs: 10 })]).when(logParams({ epochs: 10, warmup: 500 })).then([paramsLogged({ warmup: 500 })]);
    });

    it('treats params that are all set to the same values (a retry) as done', () => {
      spec.given([started]).when(logParams({ lr: 0.01, optimizer: 'adam', early_stopping: true })).thenNothingHappens();
      spec.given([started, paramsLogged({ epochs: 10 })]).when(logParams({ epochs: 10 })).thenNothingHappens();
    });

    it('refuses another value for a key already set, naming the key, the logged and the given value, and records none of the call', () => {
      spec
        .given([started])
        .when(logParams({ lr: 0.1, epochs: 10 }))
        .thenThrows(ConflictError, `run ${runId} cannot change parameter "lr" from 0.01 to 0.1: params are immutable once logged (log the new value under another name)`);
      spec.given([started, paramsLogged({ epochs: 10 })]).when(logParams({ epochs: 20 })).thenThrows(ConflictError, /cannot change parameter "epochs" from 10 to 20/);
      // A string is not the number it spells: the message shows which is which.
      spec.given([started]).when(logParams({ lr: '0.01' })).thenThrows(ConflictError, /cannot change parameter "lr" from 0.01 to "0.01"/);
      spec
        .given([started])
        .when(logParams({ optimizer: 'sgd', early_stopping: false, seed: 1 }))
        .thenThrows(ConflictError, /cannot change parameters "optimizer" from "adam" to "sgd", "early_stopping" from true to false:/);
    });

    it('names the changed params in the error details', () => {
      expect(() => runDecider.decide(logParams({ lr: 0.1 }), runDecider.evolve(runDecider.initialState(), started))).toThrow(
        expect.objectContaining({ details: { runId, params: [{ key: 'lr', logged: 0.01, given: 0.1 }] } }),
      );
    });

    it('caps the params of a run at 200 in all, counting those it started with', () => {
      // started has 3 params: 197 more fit, 198 do not.
      spec.given([started]).when(logParams(manyParams(197))).then([paramsLogged(manyParams(197))]);
      spec
        .given([started])
        .when(logParams(manyParams(198)))
        .thenThrows(ValidationError, `run ${runId} would hold 201 parameters (3 logged, 198 new): a run holds at most 200 parameters in all`);
      spec.given([started, paramsLogged(manyParams(197))]).when(logParams({ one_more: 1 })).thenThrows(ValidationError, /would hold 201 parameters \(200 logged, 1 new\)/);
      // Keys already set with the same values do not count twice.
      spec.given([started, paramsLogged(manyParams(197))]).when(logParams({ ...manyParams(197), lr: 0.01 })).thenNothingHappens();
    });

    it('takes params only while the run is running', () => {
      spec.given([]).when(logParams({ epochs: 10 })).thenThrows(NotFoundError, `run ${runId} does not exist`);
      spec.given([started, summarized, completed]).when(logParams({ epochs: 10 })).thenThrows(ConflictError, `run ${runId} is completed: it takes no more params`);
      spec.given([started, summarized, failed]).when(logParams({ epochs: 10 })).thenThrows(ConflictError, `run ${runId} is failed: it takes no more params`);
      // Even the same values: an ended run is not asked about its params any more.
      spec.given([started, summarized, completed]).when(logParams({ lr: 0.01 })).thenThrows(ConflictError, /is completed/);
    });

    it('keeps logged params through the end of the run', () => {
      const state = [started, paramsLogged({ epochs: 10 }), summarized, completed].reduce((s, e) => runDecider.evolve(s, e), runDecider.initialState());
      expect(state).toMatchObject({ status: 'Completed', params: { lr: 0.01, optimizer: 'adam', early_stopping: true, epochs: 10 } });
    });
  });
});
