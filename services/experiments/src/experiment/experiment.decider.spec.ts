import { ConflictError, NotFoundError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type ExperimentCommand, type ExperimentEvent, experimentDecider } from './experiment.decider';

const id = '7d4e2f19-3c3b-5e5a-8f1d-6b2c0e9a7d43';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const at = '2026-11-22T10:00:00.000Z';

const create: ExperimentCommand = {
  type: 'CreateExperiment',
  experimentId: id,
  projectId,
  project: { projectId, name: 'Churn' },
  name: 'gbm-baseline',
  description: 'Gradient boosting on the raw features',
  at,
};
const created: ExperimentEvent = {
  type: 'experiments.ExperimentCreated.v1',
  data: { experimentId: id, projectId, name: 'gbm-baseline', description: 'Gradient boosting on the raw features', createdAt: at },
};

describe('Experiment decider', () => {
  const spec = deciderSpec(experimentDecider);

  it('creates an experiment in an existing project', () => {
    spec.given([]).when(create).then([created]);
  });

  it('refuses a project that does not exist', () => {
    spec.given([]).when({ ...create, project: null }).thenThrows(NotFoundError, `project ${projectId} does not exist`);
  });

  it('refuses a second experiment of the same name in the project, naming the existing one', () => {
    spec
      .given([created])
      .when({ ...create, name: 'GBM-Baseline', description: 'again' })
      .thenThrows(ConflictError, `an experiment named "gbm-baseline" already exists in project "Churn": experiment ${id}`);
  });
});
