import { ConflictError, NotFoundError, type TypedEvent } from '@modeltrail/contracts';
import type { Decider } from '@modeltrail/decider';

/** The Dataset aggregate: a named collection of data whose versions are registered over time. */

export type DatasetCommand =
  | { type: 'RegisterDataset'; datasetId: string; name: string; description: string; projectId: string | null; at: string }
  | { type: 'ChangeDatasetDescription'; datasetId: string; description: string; at: string }
  | { type: 'ArchiveDataset'; datasetId: string; reason: string; at: string };

export type DatasetEvent = TypedEvent<'datasets.DatasetRegistered.v1' | 'datasets.DatasetDescriptionChanged.v1' | 'datasets.DatasetArchived.v1'>;

interface DatasetFacts {
  datasetId: string;
  name: string;
  description: string;
  projectId: string | null;
}

export type DatasetState = { status: 'Unregistered' } | ({ status: 'Active' } & DatasetFacts) | ({ status: 'Archived'; reason: string } & DatasetFacts);

export const datasetStream = (datasetId: string) => `dataset-${datasetId}`;

export const datasetDecider: Decider<DatasetCommand, DatasetEvent, DatasetState> = {
  initialState: () => ({ status: 'Unregistered' }),

  decide(command, state) {
    switch (command.type) {
      case 'RegisterDataset': {
        if (state.status !== 'Unregistered') {
          // The id comes from the project and the name, so this is a second dataset of that name.
          // (A retry of the first registration never gets here: the command handler recognises its id.)
          const where = state.projectId ? `in project ${state.projectId}` : 'outside any project';
          const archived = state.status === 'Archived' ? ' (archived)' : '';
          throw new ConflictError(`a dataset named "${state.name}" already exists ${where}${archived}: dataset ${state.datasetId}`, {
            datasetId: state.datasetId,
            name: state.name,
          });
        }
        return [
          {
            type: 'datasets.DatasetRegistered.v1',
            data: { datasetId: command.datasetId, name: command.name, description: command.description, projectId: command.projectId, registeredAt: command.at },
          },
        ];
      }
      case 'ChangeDatasetDescription': {
        const active = requireActive(state, command.datasetId, 'change the description of');
        if (active.description === command.description) return [];
        return [{ type: 'datasets.DatasetDescriptionChanged.v1', data: { datasetId: command.datasetId, description: command.description, changedAt: command.at } }];
      }
      case 'ArchiveDataset': {
        if (state.status === 'Unregistered') throw new NotFoundError(`dataset ${command.datasetId} does not exist`, { datasetId: command.datasetId });
        if (state.status === 'Archived') return [];
        return [{ type: 'datasets.DatasetArchived.v1', data: { datasetId: command.datasetId, reason: command.reason, archivedAt: command.at } }];
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'datasets.DatasetRegistered.v1': {
        const { datasetId, name, description, projectId } = event.data;
        return { status: 'Active', datasetId, name, description, projectId };
      }
      case 'datasets.DatasetDescriptionChanged.v1':
        return state.status === 'Unregistered' ? state : { ...state, description: event.data.description };
      case 'datasets.DatasetArchived.v1':
        return state.status === 'Unregistered' ? state : { ...state, status: 'Archived', reason: event.data.reason };
      default: {
        const unknown: never = event;
        throw new Error(`unknown event ${JSON.stringify(unknown)}`);
      }
    }
  },
};

function requireActive(state: DatasetState, datasetId: string, action: string): Extract<DatasetState, { status: 'Active' }> {
  if (state.status === 'Unregistered') throw new NotFoundError(`dataset ${datasetId} does not exist`, { datasetId });
  if (state.status === 'Archived') throw new ConflictError(`cannot ${action} dataset "${state.name}": it is archived`, { datasetId });
  return state;
}
