import { ConflictError, NotFoundError, type TypedEvent } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/**
 * The Experiment aggregate: a named line of work inside a project that groups runs. Its id comes
 * from the project and the name (`experimentIdFor`), so names are unique within a project.
 */

export type ExperimentCommand = {
  type: 'CreateExperiment';
  experimentId: string;
  projectId: string;
  /** The project as its stream has it when the command is handled; null when it does not exist. */
  project: { projectId: string; name: string } | null;
  name: string;
  description: string;
  at: string;
};

export type ExperimentEvent = TypedEvent<'experiments.ExperimentCreated.v1'>;

export interface ExperimentFacts {
  experimentId: string;
  projectId: string;
  name: string;
  description: string;
  createdAt: string;
}

export type ExperimentState = { status: 'Absent' } | ({ status: 'Created' } & ExperimentFacts);

export const experimentStream = (experimentId: string) => `experiment-${experimentId}`;

export const experimentDecider: Decider<ExperimentCommand, ExperimentEvent, ExperimentState> = {
  initialState: () => ({ status: 'Absent' }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateExperiment': {
        if (!command.project) throw new NotFoundError(`project ${command.projectId} does not exist`, { projectId: command.projectId });
        if (state.status === 'Created') {
          throw new ConflictError(`an experiment named "${state.name}" already exists in project "${command.project.name}": experiment ${state.experimentId}`, {
            experimentId: state.experimentId,
            projectId: state.projectId,
            name: state.name,
          });
        }
        return [
          {
            type: 'experiments.ExperimentCreated.v1',
            data: { experimentId: command.experimentId, projectId: command.projectId, name: command.name, description: command.description, createdAt: command.at },
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
      case 'experiments.ExperimentCreated.v1':
        return { status: 'Created', ...event.data };
      default: {
        const unknown: never = event.type;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};
