import { ConflictError, type SuccessCriterion, TASK_TYPES_WITHOUT_TARGET, type TaskType, type TypedEvent, ValidationError } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The Project aggregate: the problem an ML effort solves — task type, target variable and the
 * criteria a model must meet. Its id comes from its name (`projectIdFor`), so names are unique.
 */

export type ProjectCommand = {
  type: 'DefineProject';
  projectId: string;
  name: string;
  problem: string;
  taskType: TaskType;
  target: string | null;
  successCriteria: SuccessCriterion[];
  at: string;
};

export type ProjectEvent = TypedEvent<'experiments.ProjectDefined.v1'>;

export interface ProjectFacts {
  projectId: string;
  name: string;
  problem: string;
  taskType: TaskType;
  target: string | null;
  successCriteria: SuccessCriterion[];
  definedAt: string;
}

export type ProjectState = { status: 'Undefined' } | ({ status: 'Defined' } & ProjectFacts);

export const projectStream = (projectId: string) => `project-${projectId}`;

export const projectDecider: Decider<ProjectCommand, ProjectEvent, ProjectState> = {
  initialState: () => ({ status: 'Undefined' }),

  decide(command, state) {
    switch (command.type) {
      case 'DefineProject': {
        if (state.status === 'Defined') {
          // The id comes from the name, so this is a second project of that name. (A retry of the
          // first definition never gets here: the command handler recognises its command id.)
          throw new ConflictError(`a project named "${state.name}" already exists: project ${state.projectId}`, { projectId: state.projectId, name: state.name });
        }
        const target = command.target?.trim() ? command.target.trim() : null;
        if (target === null && !TASK_TYPES_WITHOUT_TARGET.includes(command.taskType)) {
          throw new ValidationError(`a ${command.taskType} project needs a target (the variable to predict)`, { field: 'target' });
        }
        checkCriteria(command.successCriteria);
        return [
          {
            type: 'experiments.ProjectDefined.v1',
            data: {
              projectId: command.projectId,
              name: command.name,
              problem: command.problem,
              taskType: command.taskType,
              target,
              successCriteria: command.successCriteria,
              definedAt: command.at,
            },
          },
        ];
      }
      default: {
        const unknown: never = command.type;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'experiments.ProjectDefined.v1':
        return { status: 'Defined', ...event.data };
      default: {
        const unknown: never = event.type;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

/** Success criteria name distinct, non-empty metrics with finite thresholds. */
function checkCriteria(criteria: SuccessCriterion[]): void {
  const seen = new Set<string>();
  criteria.forEach((criterion, index) => {
    if (!criterion.metric.trim()) throw new ValidationError(`success criterion ${index} names no metric`, { field: `successCriteria[${index}].metric` });
    if (!Number.isFinite(criterion.threshold)) {
      throw new ValidationError(`the threshold of success criterion "${criterion.metric}" must be a finite number`, { field: `successCriteria[${index}].threshold` });
    }
    if (seen.has(criterion.metric)) throw new ValidationError(`metric "${criterion.metric}" has more than one success criterion`, { field: `successCriteria[${index}].metric` });
    seen.add(criterion.metric);
  });
}
