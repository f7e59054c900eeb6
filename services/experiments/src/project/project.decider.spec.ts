import { ConflictError, ValidationError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type ProjectCommand, type ProjectEvent, projectDecider } from './project.decider';

const id = '3f1c1f5e-2d7a-5a53-9a51-0c2b0b8e9d11';
const at = '2026-11-22T10:00:00.000Z';

const define: ProjectCommand = {
  type: 'DefineProject',
  projectId: id,
  name: 'Churn',
  problem: 'Predict which customers cancel within 30 days',
  taskType: 'BINARY_CLASSIFICATION',
  target: 'churned',
  successCriteria: [
    { metric: 'accuracy', threshold: 0.9, direction: 'MAXIMIZE' },
    { metric: 'val/loss', threshold: 0.2, direction: 'MINIMIZE' },
  ],
  at,
};
const defined: ProjectEvent = {
  type: 'experiments.ProjectDefined.v1',
  data: {
    projectId: id,
    name: 'Churn',
    problem: 'Predict which customers cancel within 30 days',
    taskType: 'BINARY_CLASSIFICATION',
    target: 'churned',
    successCriteria: define.successCriteria,
    definedAt: at,
  },
};

describe('Project decider', () => {
  const spec = deciderSpec(projectDecider);

  it('defines a project with its task, target and success criteria', () => {
    spec.given([]).when(define).then([defined]);
  });

  it('refuses a second project of the same name, naming the existing one', () => {
    spec.given([defined]).when({ ...define, name: 'churn' }).thenThrows(ConflictError, `a project named "Churn" already exists: project ${id}`);
  });

  it('needs a target, except for task types without one', () => {
    spec.given([]).when({ ...define, taskType: 'REGRESSION', target: '  ' }).thenThrows(ValidationError, /a REGRESSION project needs a target/);
    spec
      .given([])
      .when({ ...define, taskType: 'CLUSTERING', target: null, successCriteria: [] })
      .then([{ ...defined, data: { ...defined.data, taskType: 'CLUSTERING', target: null, successCriteria: [] } }]);
  });

  it('refuses success criteria with an empty or repeated metric, or a threshold that is not finite', () => {
    spec
      .given([])
      .when({ ...define, successCriteria: [{ metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' }, { metric: 'auc', threshold: 0.7, direction: 'MAXIMIZE' }] })
      .thenThrows(ValidationError, /metric "auc" has more than one success criterion/);
    spec.given([]).when({ ...define, successCriteria: [{ metric: ' ', threshold: 1, direction: 'MINIMIZE' }] }).thenThrows(ValidationError, /names no metric/);
    spec
      .given([])
      .when({ ...define, successCriteria: [{ metric: 'rmse', threshold: Number.POSITIVE_INFINITY, direction: 'MINIMIZE' }] })
      .thenThrows(ValidationError, /threshold of success criterion "rmse" must be a finite number/);
  });
});
