import { projectOfEvent, streamEntityId } from './event-project';

const project = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const dataset = '5a5a5a5a-1111-4222-8333-444444444444';
const version = '6b6b6b6b-1111-4222-8333-444444444444';
const model = '6a000000-0000-4000-8000-000000000001';
const agent = '2c2c2c2c-1111-4222-8333-444444444444';
const job = '1b2c3d4e-5f60-4718-8a9b-0c1d2e3f4a5b';

describe('the project of an event', () => {
  it('is the projectId an event names, and teaches it for the stream and the ids the event carries', () => {
    const result = projectOfEvent({ type: 'datasets.DatasetRegistered.v1', stream: `dataset-${dataset}`, data: { datasetId: dataset, projectId: project } }, new Map());
    expect(result).toEqual({ projectId: project, learned: [[dataset, project]] });
  });

  it('is, for an event without projectId, the known project of its stream or of an id it carries', () => {
    const known = new Map([[dataset, project]]);
    expect(projectOfEvent({ type: 'datasets.DatasetVersionRegistered.v1', stream: `dataset-version-${version}`, data: { datasetVersionId: version, datasetId: dataset } }, known)).toEqual({ projectId: project, learned: [[version, project]] });
    expect(projectOfEvent({ type: 'registry.PromotionApproved.v1', stream: `model-${model}`, data: { modelId: model } }, new Map([[model, project]]))).toEqual({ projectId: project, learned: [] });
  });

  it('is none for agents, and an agent never takes the project of a job it runs', () => {
    const known = new Map([[job, project]]);
    expect(projectOfEvent({ type: 'scheduler.AgentRegistered.v1', stream: `agent-${agent}`, data: { agentId: agent } }, known).projectId).toBeNull();
    const assigned = projectOfEvent({ type: 'scheduler.JobAssigned.v1', stream: `job-${job}`, data: { jobId: job, agentId: agent } }, known);
    expect(assigned).toEqual({ projectId: project, learned: [] });
  });

  it('is the scope of a role grant, none for the platform scope', () => {
    expect(projectOfEvent({ type: 'access.RoleGranted.v1', stream: `access-${project}`, data: { scope: project } }, new Map()).projectId).toBe(project);
    expect(projectOfEvent({ type: 'access.RoleGranted.v1', stream: 'access-platform', data: { scope: 'platform' } }, new Map()).projectId).toBeNull();
  });

  it('is none for a dataset registered outside any project, and for what is made from it', () => {
    const shared = projectOfEvent({ type: 'datasets.DatasetRegistered.v1', stream: `dataset-${dataset}`, data: { datasetId: dataset, projectId: null } }, new Map());
    expect(shared).toEqual({ projectId: null, learned: [] });
    expect(projectOfEvent({ type: 'datasets.DatasetVersionRegistered.v1', stream: `dataset-version-${version}`, data: { datasetVersionId: version, datasetId: dataset } }, new Map()).projectId).toBeNull();
  });

  it('reads the id at the end of a stream id', () => {
    expect(streamEntityId(`model-version-${model.toUpperCase()}`)).toBe(model);
    expect(streamEntityId('access-platform')).toBeNull();
  });
});
