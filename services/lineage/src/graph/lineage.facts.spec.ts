import type { RecordedEvent } from '@modeltrail/eventstore';
import { actorNodeId, aliasNodeId, artifactNodeId, lineageFacts } from './lineage.facts';
import { evolveEdge, evolveNode, evolveNodeEvent } from './lineage.projection';
import type { LineageEdgeRow, LineageNodeRow } from './lineage.tables';

/** What one event does to the lineage graph (pure), and the rows the projection folds from it. */

let position = 0;
function recorded(type: string, data: Record<string, unknown>, actor = 'ada', causationId: string | null = null): RecordedEvent {
  position += 10;
  return {
    id: `00000000-0000-4000-8000-${String(position).padStart(12, '0')}`,
    stream: 'test',
    revision: 0,
    position,
    type,
    data,
    metadata: { actor, correlationId: 'corr', causationId, occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, position)).toISOString(), prevHash: '', hash: '' },
  };
}
const keys = (facts: ReturnType<typeof lineageFacts>) => facts.edges.map((e) => `${e.from.id} ${e.type} ${e.to.id}`).sort();

/** Folds a sequence of events into one node row / one edge row, as the runner would. */
const foldNode = (id: string, events: RecordedEvent[]) => events.reduce<LineageNodeRow | undefined>((row, e) => evolveNode(row, e, { id }), undefined);
const foldEdge = (key: { fromId: string; type: string; toId: string }, events: RecordedEvent[]) => events.reduce<LineageEdgeRow | undefined>((row, e) => evolveEdge(row, e, key), undefined);

describe('lineageFacts', () => {
  it('a model version: VERSION_OF its model, PRODUCED_BY its run, PACKAGES its artifact; its creator is on the node, not an edge', () => {
    const facts = lineageFacts(
      recorded('registry.ModelVersionCreated.v1', { modelVersionId: 'mv1', modelId: 'm1', projectId: 'p1', version: 3, runId: 'r1', artifact: { name: 'model.pkl', digest: 'sha' } }, 'bob'),
    );
    expect(facts.nodes).toEqual([{ id: 'mv1', kind: 'model_version', name: 'v3', projectId: 'p1', attributes: { modelId: 'm1', version: 3, artifactDigest: 'sha' } }]);
    expect(keys(facts)).toEqual([`${artifactNodeId('r1', 'model.pkl')} PACKAGES mv1`, 'm1 VERSION_OF mv1', 'r1 PRODUCED_BY mv1'].sort());
    expect(facts.edges.find((e) => e.type === 'PACKAGES')!.from).toEqual({ id: 'artifact:r1:model.pkl', kind: 'artifact' });
    expect(facts.subjects).toEqual(['mv1']);
    expect(new Set(facts.related)).toEqual(new Set(['m1', 'r1', 'artifact:r1:model.pkl']));
    expect(facts.ends).toEqual([]);
    expect(facts.endsNodes).toEqual([]);
  });

  it('an alias moving: ends the POINTS_TO from the previous version, draws one to the new; the alias is never declared', () => {
    const facts = lineageFacts(recorded('registry.AliasAssigned.v1', { modelId: 'm1', alias: 'champion', modelVersionId: 'mv2', previousModelVersionId: 'mv1', requestId: 'req1' }));
    const alias = aliasNodeId('m1', 'champion');
    expect(facts.nodes).toEqual([]);
    expect(facts.ends).toEqual([{ fromId: 'mv1', type: 'POINTS_TO', toId: alias }]);
    expect(keys(facts)).toEqual([`m1 BELONGS_TO ${alias}`, `mv2 POINTS_TO ${alias}`, `req1 ASSIGNED_BY ${alias}`].sort());
    expect(facts.subjects).toEqual(['mv2']);
    expect(facts.related).not.toContain('mv2');
    // assigned to the version it already points to: nothing ends
    expect(lineageFacts(recorded('registry.AliasAssigned.v1', { modelId: 'm1', alias: 'champion', modelVersionId: 'mv2', previousModelVersionId: 'mv2', requestId: null })).ends).toEqual([]);
  });

  it('a split: SPLITS from its source version, PART_OF to each of its three parts with the part and rows', () => {
    const facts = lineageFacts(
      recorded('datasets.DatasetSplitCreated.v1', {
        splitId: 's1',
        datasetVersionId: 'dv0',
        seed: 7,
        fractions: { train: 0.8, validation: 0.1, test: 0.1 },
        stratifyBy: null,
        parts: { train: { datasetVersionId: 'dvt', rows: 8 }, validation: { datasetVersionId: 'dvv', rows: 1 }, test: { datasetVersionId: 'dvx', rows: 1 } },
      }),
    );
    expect(facts.nodes.map((n) => [n.id, n.kind])).toEqual([['s1', 'split']]);
    expect(keys(facts)).toEqual(['dv0 SPLITS s1', 's1 PART_OF dvt', 's1 PART_OF dvv', 's1 PART_OF dvx'].sort());
    expect(facts.edges.filter((e) => e.type === 'PART_OF').map((e) => [e.to.id, e.to.kind, e.attributes])).toEqual([
      ['dvt', 'dataset_version', { part: 'train', rows: 8 }],
      ['dvv', 'dataset_version', { part: 'validation', rows: 1 }],
      ['dvx', 'dataset_version', { part: 'test', rows: 1 }],
    ]);
  });

  it('archived and resolved nodes are ended, and are the subjects of their event', () => {
    const archived = lineageFacts(recorded('registry.ModelVersionArchived.v1', { modelVersionId: 'mv1', reason: 'superseded' }));
    expect(archived.endsNodes).toEqual([{ id: 'mv1', reason: 'archived: superseded' }]);
    expect(archived.subjects).toEqual(['mv1']);
    expect(archived.edges).toEqual([]);
    const resolved = lineageFacts(recorded('monitoring.AlertResolved.v1', { alertId: 'al1', monitorId: 'mon1' }));
    expect(resolved.endsNodes).toEqual([{ id: 'al1', reason: 'resolved' }]);
    expect(new Set(resolved.subjects)).toEqual(new Set(['al1', 'mon1']));
    expect(lineageFacts(recorded('datasets.DatasetArchived.v1', { datasetId: 'd1', reason: 'gdpr' })).endsNodes).toEqual([{ id: 'd1', reason: 'archived: gdpr' }]);
  });

  it('subjects vs related: a job started on an agent is about the job; the agent is only related', () => {
    const facts = lineageFacts(recorded('scheduler.JobStarted.v1', { jobId: 'j1', agentId: 'ag1' }));
    expect(facts.subjects).toEqual(['j1']);
    expect(facts.related).toEqual(['ag1']);
    const assigned = lineageFacts(recorded('scheduler.JobAssigned.v1', { jobId: 'j1', agentId: 'ag2', gpus: [{ uuid: 'g0' }] }));
    expect(assigned.subjects).toEqual(['j1']);
    expect(assigned.related).toEqual(['ag2']);
    expect(keys(assigned)).toEqual(['ag2 EXECUTED_ON j1']);
    // a run started: the run is the subject; its experiment, data and the actor are related
    const run = lineageFacts(recorded('experiments.RunStarted.v1', { runId: 'r1', projectId: 'p1', experimentId: 'e1', codeRef: null, datasetVersions: [{ datasetVersionId: 'dv1', role: 'train' }] }));
    expect(run.subjects).toEqual(['r1']);
    expect(new Set(run.related)).toEqual(new Set(['e1', 'dv1']));
  });

  it('retrainings: AUTO requests declare the node, APPROVAL ones only touch it; a declined one ends', () => {
    const auto = lineageFacts(recorded('monitoring.RetrainRequested.v1', { policy: 'AUTO', retrainId: 'rt1', monitorId: 'mon1', alertId: 'al1', modelVersionId: 'mv1', datasetChanges: [], job: { jobId: 'j9' } }));
    expect(auto.nodes.map((n) => n.id)).toEqual(['rt1']);
    expect(keys(auto)).toEqual(['al1 TRIGGERED_BY rt1', 'mon1 PROPOSED_BY rt1', 'rt1 TRIGGERED_BY j9'].sort());
    const approval = lineageFacts(recorded('monitoring.RetrainRequested.v1', { policy: 'APPROVAL', retrainId: 'rt2', monitorId: 'mon1', alertId: null, modelVersionId: 'mv1', datasetChanges: [], job: { jobId: 'j8' } }));
    expect(approval.nodes).toEqual([]);
    expect(keys(approval)).toEqual(['rt2 TRIGGERED_BY j8']);
    const declined = lineageFacts(recorded('monitoring.RetrainDeclined.v1', { retrainId: 'rt3', declinedBy: 'cyd', reason: 'noise' }));
    expect(declined.endsNodes).toEqual([{ id: 'rt3', reason: 'declined: noise' }]);
    expect(keys(declined)).toEqual(['actor:cyd REJECTED_BY rt3']);
  });

  it('an event the graph does not read says nothing', () => {
    expect(lineageFacts(recorded('experiments.RunMetricLogged.v1', { runId: 'r1' }))).toEqual({ nodes: [], edges: [], ends: [], endsNodes: [], subjects: [], related: [] });
  });
});

describe('evolveNode, evolveEdge, evolveNodeEvent', () => {
  it('a node named by an edge before it is declared: created on first appearance, filled in when declared', () => {
    const queued = recorded('scheduler.JobQueued.v1', { jobId: 'j1', runId: 'r1', projectId: 'p1', command: ['train'], resources: { gpus: 1 }, newRun: true }, 'bob');
    const started = recorded('experiments.RunStarted.v1', { runId: 'r1', projectId: 'p1', experimentId: 'e1', codeRef: 'git:abc', datasetVersions: [] }, 'ada');
    const referenced = foldNode('r1', [queued])!;
    expect(referenced).toMatchObject({ id: 'r1', kind: 'run', name: null, projectId: null, attributes: {}, createdPosition: queued.position, createdBy: 'bob', createdEventId: queued.id, definedPosition: null, endedPosition: null });
    const declared = evolveNode(referenced, started, { id: 'r1' })!;
    expect(declared).toMatchObject({ kind: 'run', projectId: 'p1', attributes: { codeRef: 'git:abc' }, createdPosition: queued.position, createdBy: 'bob', definedPosition: started.position });
    // declared once: a later declaration-like event changes nothing
    expect(evolveNode(declared, started, { id: 'r1' })).toEqual(declared);
    // an event that touches a node not seen yet records nothing
    expect(evolveNode(undefined, recorded('experiments.RunCompleted.v1', { runId: 'zz' }), { id: 'zz' })).toBeUndefined();
    // a person is a node of their own once they decide something, named after them (a creator is only the node's createdBy)
    expect(foldNode('actor:bob', [queued])).toBeUndefined();
    const approved = recorded('registry.PromotionApproved.v1', { requestId: 'q1', modelId: 'm1', modelVersionId: 'mv1', alias: 'champion', approvedBy: 'bob' }, 'bob');
    expect(foldNode('actor:bob', [queued, approved])).toMatchObject({ kind: 'actor', name: 'bob', createdPosition: approved.position });
  });

  it('an archived node ends once, at its first end, and stays in the graph', () => {
    const created = recorded('registry.ModelVersionCreated.v1', { modelVersionId: 'mv1', modelId: 'm1', projectId: 'p1', version: 1, runId: 'r1', artifact: { name: 'a', digest: 'd' } });
    const archived = recorded('registry.ModelVersionArchived.v1', { modelVersionId: 'mv1', reason: 'old' });
    const again = recorded('registry.ModelVersionArchived.v1', { modelVersionId: 'mv1', reason: 'older' });
    const row = foldNode('mv1', [created, archived, again])!;
    expect(row).toMatchObject({ endedPosition: archived.position, endReason: 'archived: old', endedAt: new Date(archived.metadata.occurredAt) });
    // an end of a node never seen records nothing
    expect(evolveNode(undefined, archived, { id: 'mv1' })).toBeUndefined();
  });

  it('an alias moving v1 -> v2 -> v1: the POINTS_TO edge to v1 ends, then holds again, every holding in intervals', () => {
    const alias = aliasNodeId('m1', 'champion');
    const toV1 = recorded('registry.AliasAssigned.v1', { modelId: 'm1', alias: 'champion', modelVersionId: 'v1', previousModelVersionId: null, requestId: null });
    const toV2 = recorded('registry.AliasAssigned.v1', { modelId: 'm1', alias: 'champion', modelVersionId: 'v2', previousModelVersionId: 'v1', requestId: null });
    const backToV1 = recorded('registry.AliasAssigned.v1', { modelId: 'm1', alias: 'champion', modelVersionId: 'v1', previousModelVersionId: 'v2', requestId: null });
    const awayAgain = recorded('registry.AliasAssigned.v1', { modelId: 'm1', alias: 'champion', modelVersionId: 'v2', previousModelVersionId: 'v1', requestId: null });
    const v1 = { fromId: 'v1', type: 'POINTS_TO', toId: alias };
    const v2 = { fromId: 'v2', type: 'POINTS_TO', toId: alias };

    expect(foldEdge(v1, [toV1])).toMatchObject({ createdPosition: toV1.position, endedPosition: null, intervals: null });
    expect(foldEdge(v1, [toV1, toV2])).toMatchObject({ createdPosition: toV1.position, endedPosition: toV2.position, endedEventId: toV2.id, intervals: null });
    expect(foldEdge(v1, [toV1, toV2, backToV1])).toMatchObject({
      createdPosition: toV1.position,
      endedPosition: null,
      endedEventId: null,
      intervals: [
        [toV1.position, toV2.position],
        [backToV1.position, null],
      ],
    });
    expect(foldEdge(v1, [toV1, toV2, backToV1, awayAgain])).toMatchObject({
      endedPosition: awayAgain.position,
      intervals: [
        [toV1.position, toV2.position],
        [backToV1.position, awayAgain.position],
      ],
    });
    expect(foldEdge(v2, [toV1, toV2, backToV1])).toMatchObject({ createdPosition: toV2.position, endedPosition: backToV1.position, intervals: null });
    // an event that neither draws nor ends the edge leaves the row as it was (the same object)
    const row = foldEdge(v1, [toV1])!;
    expect(evolveEdge(row, recorded('experiments.RunCompleted.v1', { runId: 'r1' }), v1)).toBe(row);
    // drawing an edge that holds changes nothing
    expect(evolveEdge(row, toV1, v1)).toBe(row);
  });

  it("an event's timeline row, for a node it is about: written once", () => {
    const started = recorded('scheduler.JobStarted.v1', { jobId: 'j1', agentId: 'ag1' }, 'bob', '00000000-0000-4000-8000-000000000001');
    const job = evolveNodeEvent(undefined, started, { nodeId: 'j1', position: started.position });
    expect(job).toEqual({
      nodeId: 'j1',
      position: started.position,
      eventId: started.id,
      type: 'scheduler.JobStarted.v1',
      stream: 'test',
      revision: 0,
      occurredAt: new Date(started.metadata.occurredAt),
      actor: 'bob',
      correlationId: 'corr',
      causationId: '00000000-0000-4000-8000-000000000001',
    });
    expect(evolveNodeEvent(job, started, { nodeId: 'j1', position: started.position })).toBe(job);
  });
});
