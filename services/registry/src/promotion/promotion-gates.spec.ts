import type { ModelCard } from '@modeltrail/contracts';
import { failingGates, type GateFacts, promotionGates } from './promotion-gates';

const dvTrain = { datasetVersionId: '5d000000-0000-4000-8000-000000000001', datasetId: '5c000000-0000-4000-8000-000000000001', role: 'TRAIN' as const };
const dvTest = { datasetVersionId: '5d000000-0000-4000-8000-000000000002', datasetId: '5c000000-0000-4000-8000-000000000001', role: 'TEST' as const };
const card: ModelCard = { intendedUse: 'u', limitations: 'l', evaluationData: 'e', ethicalConsiderations: 'x', caveats: 'c' };
const facts: GateFacts = {
  runStatus: 'Completed',
  successCriteria: [
    { metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE' },
    { metric: 'loss', threshold: 0.3, direction: 'MINIMIZE' },
  ],
  metrics: [
    { key: 'auc', last: 0.85, min: 0.5, max: 0.9, count: 3, lastStep: 2 },
    { key: 'loss', last: 0.2, min: 0.2, max: 0.9, count: 3, lastStep: 2 },
  ],
  datasetVersions: [dvTrain, dvTest],
  validations: [
    { validationId: '11111111-0000-4000-8000-000000000001', datasetVersionId: dvTrain.datasetVersionId, passed: false, validatedAt: '2026-11-22T09:00:00.000Z' },
    { validationId: '11111111-0000-4000-8000-000000000002', datasetVersionId: dvTrain.datasetVersionId, passed: true, validatedAt: '2026-11-22T10:00:00.000Z' },
    { validationId: '11111111-0000-4000-8000-000000000003', datasetVersionId: dvTest.datasetVersionId, passed: true, validatedAt: '2026-11-22T10:00:00.000Z' },
  ],
  modelCard: card,
};
const gate = (facts: GateFacts, name: string) => promotionGates(facts).find((g) => g.gate === name)!;

describe('promotion gates', () => {
  it('passes every gate of a completed run meeting the criteria, on validated data, with a complete card', () => {
    const gates = promotionGates(facts);
    expect(gates.map((g) => [g.gate, g.passed])).toEqual([
      ['RUN_COMPLETED', true],
      ['SUCCESS_CRITERIA', true],
      ['DATASET_VALIDATION', true],
      ['MODEL_CARD_COMPLETE', true],
    ]);
    expect(failingGates(gates)).toEqual([]);
    expect(gates[1].criteria).toEqual([
      { metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE', value: 0.85, passed: true },
      { metric: 'loss', threshold: 0.3, direction: 'MINIMIZE', value: 0.2, passed: true },
    ]);
    expect(gates[2].datasets).toEqual([
      { ...dvTrain, validationId: '11111111-0000-4000-8000-000000000002', validatedAt: '2026-11-22T10:00:00.000Z', passed: true },
      { ...dvTest, validationId: '11111111-0000-4000-8000-000000000003', validatedAt: '2026-11-22T10:00:00.000Z', passed: true },
    ]);
  });

  it('fails the run gate for a run that is not completed or is gone', () => {
    expect(gate({ ...facts, runStatus: 'Failed' }, 'RUN_COMPLETED')).toMatchObject({ passed: false, detail: 'the source run is Failed, not Completed' });
    expect(gate({ ...facts, runStatus: null }, 'RUN_COMPLETED')).toMatchObject({ passed: false, detail: 'the source run no longer exists' });
  });

  it('fails a criterion below (MAXIMIZE) or above (MINIMIZE) its threshold, or not logged, with the value', () => {
    const result = gate({ ...facts, metrics: [{ key: 'auc', last: 0.79, min: 0, max: 1, count: 1, lastStep: 0 }] }, 'SUCCESS_CRITERIA');
    expect(result.passed).toBe(false);
    expect(result.criteria).toEqual([
      { metric: 'auc', threshold: 0.8, direction: 'MAXIMIZE', value: 0.79, passed: false },
      { metric: 'loss', threshold: 0.3, direction: 'MINIMIZE', value: null, passed: false },
    ]);
    expect(result.detail).toBe('2 of 2 success criteria not met: auc = 0.79, needs >= 0.8; loss was not logged by the run');
    expect(gate({ ...facts, metrics: [facts.metrics[0], { ...facts.metrics[1], last: 0.31 }] }, 'SUCCESS_CRITERIA').detail).toBe('1 of 2 success criteria not met: loss = 0.31, needs <= 0.3');
  });

  it('passes the criteria gate of a project without criteria, saying so', () => {
    expect(gate({ ...facts, successCriteria: [] }, 'SUCCESS_CRITERIA')).toMatchObject({ passed: true, detail: 'the project defines no success criteria', criteria: [] });
  });

  it('judges each dataset version by its latest validation, and fails one never validated', () => {
    const lastFailed = gate({ ...facts, validations: [...facts.validations, { validationId: '11111111-0000-4000-8000-000000000004', datasetVersionId: dvTrain.datasetVersionId, passed: false, validatedAt: '2026-11-22T11:00:00.000Z' }] }, 'DATASET_VALIDATION');
    expect(lastFailed).toMatchObject({ passed: false, detail: `the latest validation of TRAIN dataset version ${dvTrain.datasetVersionId} failed` });
    const never = gate({ ...facts, validations: facts.validations.filter((v) => v.datasetVersionId !== dvTest.datasetVersionId) }, 'DATASET_VALIDATION');
    expect(never).toMatchObject({ passed: false, detail: `TEST dataset version ${dvTest.datasetVersionId} was never validated` });
    expect(never.datasets[1]).toMatchObject({ validationId: null, validatedAt: null, passed: false });
  });

  it('fails the data gate of a run that names no dataset versions', () => {
    expect(gate({ ...facts, datasetVersions: [], validations: [] }, 'DATASET_VALIDATION')).toMatchObject({ passed: false, detail: expect.stringContaining('names no dataset versions') });
  });

  it('fails the card gate naming every empty field', () => {
    expect(gate({ ...facts, modelCard: { ...card, limitations: ' ', caveats: '' } }, 'MODEL_CARD_COMPLETE')).toMatchObject({ passed: false, detail: 'the model card lacks limitations, caveats' });
  });
});
