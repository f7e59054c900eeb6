import { ConflictError, NotFoundError } from '@modeltrail/contracts';
import { deciderSpec } from '@modeltrail/testing';
import { type DatasetEvent, datasetDecider } from './dataset.decider';

const id = '6f1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const project = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const at = '2026-11-22T10:00:00.000Z';
const later = '2026-11-22T11:00:00.000Z';

const registered: DatasetEvent = {
  type: 'datasets.DatasetRegistered.v1',
  data: { datasetId: id, name: 'churn-events', description: 'Customer churn events', projectId: project, registeredAt: at },
};
const archived: DatasetEvent = { type: 'datasets.DatasetArchived.v1', data: { datasetId: id, reason: 'superseded', archivedAt: later } };
const register = { type: 'RegisterDataset' as const, datasetId: id, name: 'churn-events', description: 'Customer churn events', projectId: project, at };

describe('Dataset decider', () => {
  const spec = deciderSpec(datasetDecider);

  it('registers a new dataset', () => {
    spec.given([]).when(register).then([registered]);
  });

  it('refuses a second dataset of the same name in the project, naming the existing one', () => {
    spec.given([registered]).when({ ...register, at: later }).thenThrows(ConflictError, new RegExp(`a dataset named "churn-events" already exists in project ${project}: dataset ${id}`));
  });

  it('refuses the name of an archived dataset too, and says it is archived', () => {
    spec.given([registered, archived]).when({ ...register, at: later }).thenThrows(ConflictError, /already exists .*\(archived\)/);
  });

  it('changes the description', () => {
    spec
      .given([registered])
      .when({ type: 'ChangeDatasetDescription', datasetId: id, description: 'Churn events, 2026', at: later })
      .then([{ type: 'datasets.DatasetDescriptionChanged.v1', data: { datasetId: id, description: 'Churn events, 2026', changedAt: later } }]);
  });

  it('does nothing when the description is unchanged', () => {
    spec.given([registered]).when({ type: 'ChangeDatasetDescription', datasetId: id, description: 'Customer churn events', at: later }).thenNothingHappens();
  });

  it('refuses to change an archived dataset', () => {
    spec.given([registered, archived]).when({ type: 'ChangeDatasetDescription', datasetId: id, description: 'x', at: later }).thenThrows(ConflictError, /archived/);
  });

  it('refuses to act on a dataset that does not exist', () => {
    spec.given([]).when({ type: 'ArchiveDataset', datasetId: id, reason: 'x', at }).thenThrows(NotFoundError, /does not exist/);
    spec.given([]).when({ type: 'ChangeDatasetDescription', datasetId: id, description: 'x', at }).thenThrows(NotFoundError);
  });

  it('archives once', () => {
    spec.given([registered]).when({ type: 'ArchiveDataset', datasetId: id, reason: 'superseded', at: later }).then([archived]);
    spec.given([registered, archived]).when({ type: 'ArchiveDataset', datasetId: id, reason: 'again', at: later }).thenNothingHappens();
  });
});
