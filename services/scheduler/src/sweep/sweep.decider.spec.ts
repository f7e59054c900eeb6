import { ConflictError, jobRunId, NotFoundError, platformEventCatalog, type SweepJobTemplate, sweepTrialJobId, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { bestTrial, type SweepCommand, sweepDecider, type SweepEvent, type SweepState, trialJob } from './sweep.decider';
import { trialParams } from './sweep-space';

const sweepId = '5e000000-0000-4000-8000-000000000001';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const t0 = '2026-11-22T10:00:00.000Z';
const t1 = '2026-11-22T11:00:00.000Z';
const t2 = '2026-11-22T12:00:00.000Z';
const t3 = '2026-11-22T13:00:00.000Z';

const space = { lr: { values: [0.1, 0.01, 0.001], range: null } };
const jobTemplate: SweepJobTemplate = {
  command: ['python', 'train.py'],
  env: {},
  workingDir: null,
  resources: { gpus: 1, gpuMemoryMb: 0, cpus: 4, memoryMb: 16_000, labels: {} },
  priority: 0,
  maxRetries: 2,
  timeoutSeconds: null,
  cancelGraceSeconds: 10,
  params: { epochs: 10 },
  datasetVersions: [],
};
const criteria = [
  { metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' as const },
  { metric: 'loss', threshold: 0.3, direction: 'MINIMIZE' as const },
];
const submit: Extract<SweepCommand, { type: 'SubmitSweep' }> = {
  type: 'SubmitSweep',
  sweepId,
  experimentId,
  experiment: { projectId, successCriteria: criteria },
  strategy: 'GRID',
  space,
  maxTrials: null,
  maxConcurrent: 2,
  seed: 7,
  objective: null,
  jobTemplate,
  trialLimit: 100,
  at: t0,
};
const submitted: SweepEvent = {
  type: 'scheduler.SweepSubmitted.v1',
  data: { sweepId, experimentId, projectId, strategy: 'GRID', space, maxTrials: 3, maxConcurrent: 2, seed: 7, objective: { metric: 'auc', direction: 'MAXIMIZE', source: 'PROJECT' }, jobTemplate, submittedAt: t0 },
};
const lrs = [0.1, 0.01, 0.001];
const trialQueued = (trial: number, at = t0): SweepEvent => ({
  type: 'scheduler.SweepTrialQueued.v1',
  data: { sweepId, trial, params: { lr: lrs[trial] }, jobId: sweepTrialJobId(sweepId, trial), queuedAt: at },
});
const finish = (trial: number, outcome: 'SUCCEEDED' | 'FAILED', value: number | null, at = t1): Extract<SweepCommand, { type: 'RecordTrialFinished' }> => ({
  type: 'RecordTrialFinished',
  sweepId,
  trial,
  jobId: sweepTrialJobId(sweepId, trial),
  runId: jobRunId(sweepTrialJobId(sweepId, trial)),
  outcome,
  objectiveValue: value,
  at,
});
const trialFinished = (trial: number, outcome: 'SUCCEEDED' | 'FAILED', value: number | null, at = t1): SweepEvent => {
  const { type: _type, ...data } = finish(trial, outcome, value, at);
  const { at: finishedAt, ...rest } = data;
  return { type: 'scheduler.SweepTrialFinished.v1', data: { ...rest, finishedAt } };
};
const fold = (events: SweepEvent[]): SweepState => events.reduce((s, e) => sweepDecider.evolve(s, e), sweepDecider.initialState());

describe('Sweep decider', () => {
  const spec = deciderSpec(sweepDecider);

  it('submits a grid sweep, taking the objective from the project, and queues up to maxConcurrent trials', () => {
    spec.given([]).when(submit).then([submitted, trialQueued(0), trialQueued(1)]);
  });

  it('takes a given objective, or the direction of the project criterion for a given metric', () => {
    const [given] = sweepDecider.decide({ ...submit, objective: { metric: 'f1', direction: 'MAXIMIZE' } }, sweepDecider.initialState());
    expect(given.data).toMatchObject({ objective: { metric: 'f1', direction: 'MAXIMIZE', source: 'GIVEN' } });
    const [fromProject] = sweepDecider.decide({ ...submit, objective: { metric: 'loss', direction: null } }, sweepDecider.initialState());
    expect(fromProject.data).toMatchObject({ objective: { metric: 'loss', direction: 'MINIMIZE', source: 'PROJECT' } });
  });

  it('refuses a sweep without an objective to optimise, naming what is missing', () => {
    spec
      .given([])
      .when({ ...submit, experiment: { projectId, successCriteria: [] } })
      .thenThrows(ValidationError, `give an objective {metric, direction}: project ${projectId} defines no success criteria to take it from`);
    spec.given([]).when({ ...submit, objective: { metric: 'f1', direction: null } }).thenThrows(ValidationError, /objective.direction is required: .* no success criterion for metric "f1"/);
  });

  it('refuses an empty space or one over the trial limit, a missing experiment, and a second submit', () => {
    spec.given([]).when({ ...submit, space: {} }).thenThrows(ValidationError, 'the space must define at least one parameter');
    spec.given([]).when({ ...submit, trialLimit: 2 }).thenThrows(ValidationError, 'the grid has 3 points (lr 3), more than the limit of 2 trials');
    spec.given([]).when({ ...submit, strategy: 'RANDOM', maxTrials: 500 }).thenThrows(ValidationError, 'maxTrials 500 is more than the limit of 100 trials');
    spec.given([]).when({ ...submit, experiment: null }).thenThrows(NotFoundError, `experiment ${experimentId} does not exist`);
    spec.given([submitted]).when(submit).thenThrows(ConflictError, `sweep ${sweepId} already exists`);
  });

  it('queues random trials with params reproducible from the seed', () => {
    const randomSpace = { lr: { values: null, range: { min: 1e-4, max: 1e-1, log: true, int: false } } };
    const events = sweepDecider.decide({ ...submit, strategy: 'RANDOM', space: randomSpace, maxTrials: 10, maxConcurrent: 3 }, sweepDecider.initialState());
    expect(events.map((e) => e.type)).toEqual(['scheduler.SweepSubmitted.v1', 'scheduler.SweepTrialQueued.v1', 'scheduler.SweepTrialQueued.v1', 'scheduler.SweepTrialQueued.v1']);
    events.slice(1).forEach((e, trial) => expect(e.data).toMatchObject({ trial, params: trialParams('RANDOM', randomSpace, 7, trial), jobId: sweepTrialJobId(sweepId, trial) }));
  });

  it('records a finished trial and queues the next one', () => {
    spec.given([submitted, trialQueued(0), trialQueued(1)]).when(finish(0, 'SUCCEEDED', 0.81)).then([trialFinished(0, 'SUCCEEDED', 0.81), trialQueued(2, t1)]);
  });

  it('completes with the best trial after the last one, counting failures', () => {
    const history = [submitted, trialQueued(0), trialQueued(1), trialFinished(0, 'SUCCEEDED', 0.81), trialQueued(2, t1), trialFinished(1, 'FAILED', null, t2)];
    spec
      .given(history)
      .when(finish(2, 'SUCCEEDED', 0.9, t3))
      .then([
        trialFinished(2, 'SUCCEEDED', 0.9, t3),
        {
          type: 'scheduler.SweepCompleted.v1',
          data: { sweepId, best: { trial: 2, jobId: sweepTrialJobId(sweepId, 2), runId: jobRunId(sweepTrialJobId(sweepId, 2)), value: 0.9 }, trialsSucceeded: 2, trialsFailed: 1, completedAt: t3 },
        },
      ]);
  });

  it('picks the best by the direction, the lower trial on a tie, and none when no trial succeeded with a value', () => {
    const minimizing = { ...submitted, data: { ...(submitted.data as object), objective: { metric: 'loss', direction: 'MINIMIZE', source: 'GIVEN' } } } as SweepEvent;
    const state = fold([minimizing, trialQueued(0), trialQueued(1), trialFinished(0, 'SUCCEEDED', 0.2), trialQueued(2), trialFinished(1, 'SUCCEEDED', 0.2), trialFinished(2, 'SUCCEEDED', 0.5)]);
    expect(state.status !== 'None' && bestTrial(state)).toMatchObject({ trial: 0, value: 0.2 });
    const none = fold([submitted, trialQueued(0), trialFinished(0, 'FAILED', null)]);
    expect(none.status !== 'None' && bestTrial(none)).toBeNull();
  });

  it('takes a repeated finish as done; refuses a different one, an unknown trial and the wrong job', () => {
    const history = [submitted, trialQueued(0), trialQueued(1), trialFinished(0, 'SUCCEEDED', 0.81), trialQueued(2, t1)];
    spec.given(history).when(finish(0, 'SUCCEEDED', 0.81)).thenNothingHappens();
    spec.given(history).when(finish(0, 'FAILED', null)).thenThrows(ConflictError, `trial 0 of sweep ${sweepId} already finished SUCCEEDED`);
    spec.given(history).when({ ...finish(1, 'SUCCEEDED', 1), trial: 7 }).thenThrows(NotFoundError, `sweep ${sweepId} has no trial 7 queued`);
    spec.given(history).when({ ...finish(1, 'SUCCEEDED', 1), jobId: sweepTrialJobId(sweepId, 2) }).thenThrows(ConflictError, /runs as job/);
  });

  it('cancels, listing the open trial jobs; afterwards queues nothing more but records finishes', () => {
    const history = [submitted, trialQueued(0), trialQueued(1), trialFinished(0, 'SUCCEEDED', 0.81), trialQueued(2, t1)];
    const cancelled: SweepEvent = { type: 'scheduler.SweepCancelled.v1', data: { sweepId, reason: 'enough', openJobIds: [sweepTrialJobId(sweepId, 1), sweepTrialJobId(sweepId, 2)], cancelledAt: t2 } };
    spec.given(history).when({ type: 'CancelSweep', sweepId, reason: 'enough', at: t2 }).then([cancelled]);
    spec.given([...history, cancelled]).when({ type: 'CancelSweep', sweepId, reason: 'again', at: t3 }).thenNothingHappens();
    spec.given([...history, cancelled]).when(finish(1, 'FAILED', null, t3)).then([trialFinished(1, 'FAILED', null, t3)]);
  });

  it('refuses to cancel a completed sweep and anything on an unknown sweep', () => {
    const completed: SweepEvent = { type: 'scheduler.SweepCompleted.v1', data: { sweepId, best: null, trialsSucceeded: 0, trialsFailed: 3, completedAt: t3 } };
    spec.given([submitted, completed]).when({ type: 'CancelSweep', sweepId, reason: 'x', at: t3 }).thenThrows(ConflictError, `sweep ${sweepId} has already completed: it cannot be cancelled`);
    spec.given([]).when({ type: 'CancelSweep', sweepId, reason: 'x', at: t3 }).thenThrows(NotFoundError, `sweep ${sweepId} does not exist`);
  });

  it('builds the job of a trial from the template, with the trial params over the fixed ones', () => {
    const state = fold([submitted, trialQueued(0)]);
    if (state.status === 'None') throw new Error('no sweep');
    const jobId = sweepTrialJobId(sweepId, 0);
    expect(trialJob(state, state.trials[0], t1)).toEqual({
      type: 'SubmitJob',
      jobId,
      run: { kind: 'NEW', runId: jobRunId(jobId), experimentId, experiment: { projectId }, params: { epochs: 10, lr: 0.1 }, datasetVersions: [] },
      command: ['python', 'train.py'],
      env: {},
      workingDir: null,
      resources: jobTemplate.resources,
      priority: 0,
      maxRetries: 2,
      timeoutSeconds: null,
      cancelGraceSeconds: 10,
      sweep: { sweepId, trial: 0 },
      at: t1,
    });
  });

  it('decides events that fit their schemas', () => {
    const catalog = platformEventCatalog();
    for (const event of [...sweepDecider.decide(submit, sweepDecider.initialState()), trialFinished(0, 'SUCCEEDED', 0.8)]) {
      expect(() => catalog.validate(event.type, event.data)).not.toThrow();
    }
  });
});
