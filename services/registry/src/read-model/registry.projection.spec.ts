import type { EventMap, GateResult } from '@modeltrail/contracts';
import type { RecordedOf } from '@modeltrail/readmodel';
import { evolveModelVersion } from '../model-version/model-version.projection';
import { aliasAssignmentRow, evolveModel, evolvePromotionRequest } from '../model/model.projection';
import { registryReadModel } from './registry.read-model';

const modelId = '6a000000-0000-4000-8000-000000000001';
const projectId = '0b9a4c52-8f55-4d69-a4a1-6c1f7e1e2f00';
const modelVersionId = '7b000000-0000-4000-8000-000000000001';
const requestId = '8c000000-0000-4000-8000-00000000000a';
const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const experimentId = '7d4e2f19-3c3b-4e5a-8f1d-6b2c0e9a7d43';
const card = { intendedUse: 'u', limitations: 'l', evaluationData: 'e', ethicalConsiderations: 'x', caveats: 'c' };

let position = 0;
function recorded<K extends keyof EventMap>(type: K, data: EventMap[K], revision = 0, actor = 'ada@example.com'): RecordedOf<K> {
  position += 1;
  return { id: `e${position}`, stream: 's', revision, position, type, data, metadata: { actor, correlationId: 'c', causationId: null, occurredAt: '2026-11-22T12:00:00.000Z', prevHash: '', hash: '' } } as unknown as RecordedOf<K>;
}

const gates: GateResult[] = [
  { gate: 'RUN_COMPLETED', passed: true, detail: 'ok', criteria: [], datasets: [] },
  { gate: 'MODEL_CARD_COMPLETE', passed: false, detail: 'the model card lacks caveats', criteria: [], datasets: [] },
];

describe('registry projection', () => {
  it('keeps a model row with its latest version number and its stream revision', () => {
    let row = evolveModel(undefined, recorded('registry.ModelRegistered.v1', { modelId, projectId, name: 'churn', description: 'd', registeredAt: '2026-11-22T10:00:00.000Z' }));
    expect(row).toMatchObject({ modelId, latestVersion: 0, registeredBy: 'ada@example.com', revision: 0 });
    const created = recorded('registry.ModelVersionCreated.v1', {
      modelVersionId,
      modelId,
      projectId,
      experimentId,
      runId,
      version: 3,
      artifact: { name: 'model.pkl', uri: 's3://m', digest: 'a'.repeat(64), size: 1 },
      metrics: [],
      params: {},
      codeRef: null,
      datasetVersions: [],
      signature: { inputs: [{ name: 'a', type: 'double' }], outputs: [{ name: 'b', type: 'long' }] },
      modelCard: card,
      createdAt: '2026-11-22T11:00:00.000Z',
    });
    row = evolveModel(row, created);
    expect(row).toMatchObject({ latestVersion: 3, revision: 0 });
    row = evolveModel(row, recorded('registry.ModelVersionArchived.v1', { modelVersionId, modelId, version: 3, reason: 'r', archivedAt: '2026-11-22T12:00:00.000Z' }, 1));
    expect(row).toMatchObject({ latestVersion: 3, revision: 1 });

    let version = evolveModelVersion(undefined, created);
    expect(version).toMatchObject({ status: 'ACTIVE', version: 3, createdBy: 'ada@example.com', revision: 0 });
    version = evolveModelVersion(version, recorded('registry.ModelCardUpdated.v1', { modelVersionId, modelId, modelCard: { ...card, caveats: 'more' }, updatedAt: '2026-11-22T11:30:00.000Z' }, 1));
    expect(version).toMatchObject({ modelCard: { caveats: 'more' }, revision: 1 });
    version = evolveModelVersion(version, recorded('registry.ModelVersionArchived.v1', { modelVersionId, modelId, version: 3, reason: 'superseded', archivedAt: '2026-11-22T12:00:00.000Z' }, 4));
    expect(version).toMatchObject({ status: 'ARCHIVED', archiveReason: 'superseded', archivedAt: new Date('2026-11-22T12:00:00.000Z'), revision: 1 });
  });

  it('follows a promotion request to its decision, and keeps each alias move as a row from its position', () => {
    let row = evolvePromotionRequest(
      undefined,
      recorded('registry.PromotionRequested.v1', { requestId, modelId, modelVersionId, version: 1, alias: 'champion', justification: 'j', requestedBy: 'ada@example.com', gates, requestedAt: '2026-11-22T10:00:00.000Z' }),
    );
    expect(row).toMatchObject({ status: 'PENDING', gatesPassed: false, decidedBy: null });
    row = evolvePromotionRequest(row, recorded('registry.PromotionRejected.v1', { requestId, modelId, modelVersionId, alias: 'champion', rejectedBy: 'bob@example.com', reason: 'fill the card', rejectedAt: '2026-11-22T11:00:00.000Z' }, 2));
    expect(row).toMatchObject({ status: 'REJECTED', decidedBy: 'bob@example.com', decisionNote: 'fill the card' });

    const assigned = recorded('registry.AliasAssigned.v1', {
      modelId,
      alias: 'champion',
      modelVersionId,
      previousModelVersionId: null,
      requestId,
      requestedBy: 'ada@example.com',
      approvedBy: 'bob@example.com',
      reason: 'j',
      assignedAt: '2026-11-22T12:00:00.000Z',
    });
    expect(aliasAssignmentRow(assigned)).toEqual({
      modelId,
      alias: 'champion',
      validFromPosition: assigned.position,
      modelVersionId,
      previousModelVersionId: null,
      requestId,
      requestedBy: 'ada@example.com',
      approvedBy: 'bob@example.com',
      reason: 'j',
      validFrom: new Date('2026-11-22T12:00:00.000Z'),
    });
  });

  it('refuses an event for a row it has not seen, so a batch fails instead of writing something wrong', () => {
    expect(() => evolvePromotionRequest(undefined, recorded('registry.PromotionApproved.v1', { requestId, modelId, modelVersionId, alias: 'champion', approvedBy: 'b', comment: '', approvedAt: '2026-11-22T12:00:00.000Z' }))).toThrow(/has no row/);
    expect(() => evolveModelVersion(undefined, recorded('registry.ModelCardUpdated.v1', { modelVersionId, modelId, modelCard: card, updatedAt: '2026-11-22T12:00:00.000Z' }))).toThrow(/has no row/);
  });

  it('is one projection over the four tables, handling every registry event', () => {
    expect(registryReadModel.name).toBe('registry.read-model.v1');
    expect(registryReadModel.tables.map((t) => t.table.name)).toEqual(['models', 'promotion_requests', 'alias_assignments', 'model_versions']);
    expect([...registryReadModel.handles].sort()).toEqual([
      'registry.AliasAssigned.v1',
      'registry.ModelCardUpdated.v1',
      'registry.ModelRegistered.v1',
      'registry.ModelVersionArchived.v1',
      'registry.ModelVersionCreated.v1',
      'registry.PromotionApproved.v1',
      'registry.PromotionRejected.v1',
      'registry.PromotionRequested.v1',
    ]);
  });
});
