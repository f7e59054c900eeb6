import { ValidationError } from './errors';
import { platformEventCatalog, rpcDefinitions } from './events';
import { missingModelCardFields, modelIdFor, modelVersionIdFor, registryEvents, registryRpc } from './registry';
import { parseWith } from './schema';

const projectId = '3c9a1e7d-5f2b-4a8c-b6e4-2d0f8a1c9e32';
const modelId = '6f2a9c4e-8b1d-4e7a-a3c5-1d9e0b7f2a86';
const runId = '9a1c1f5e-2d7a-4a53-9a51-0c2b0b8e9d11';
const signature = { inputs: [{ name: 'age', type: 'double' }], outputs: [{ name: 'churn', type: 'boolean' }] };

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as Error).message;
  }
  throw new Error('expected a ValidationError');
};
const createVersion = (request: Record<string, unknown>) => parseWith(registryRpc.createModelVersion.request, { modelId, runId, artifactName: 'model.pkl', signature, ...request }, 'CreateModelVersion');

describe('registry contracts', () => {
  it('registers every registry event and exchange', () => {
    const catalog = platformEventCatalog();
    for (const type of Object.keys(registryEvents)) {
      expect(type).toMatch(/^registry\.[A-Z][A-Za-z]+\.v1$/);
      expect(catalog.has(type)).toBe(true);
    }
    for (const def of Object.values(registryRpc)) {
      expect(def.subject).toMatch(/^mt\.(cmd|qry)\.registry\.[A-Z][A-Za-z]+$/);
      expect(rpcDefinitions[def.subject as keyof typeof rpcDefinitions]).toBe(def);
    }
  });

  it('derives a model id from its project and normalised name, and a version id from its number', () => {
    expect(modelIdFor(projectId, '  Churn   Model ')).toBe(modelIdFor(projectId.toUpperCase(), 'churn model'));
    expect(modelIdFor(projectId, 'churn')).not.toBe(modelIdFor(projectId, 'churn 2'));
    expect(modelVersionIdFor(modelId, 1)).not.toBe(modelVersionIdFor(modelId, 2));
    expect(modelVersionIdFor(modelId, 1)).toBe(modelVersionIdFor(modelId.toUpperCase(), 1));
  });

  it('fills an empty model card, and says which fields a card still lacks', () => {
    const request = createVersion({});
    expect(request.modelCard).toEqual({ intendedUse: '', limitations: '', evaluationData: '', ethicalConsiderations: '', caveats: '' });
    expect(missingModelCardFields(request.modelCard)).toEqual(['intendedUse', 'limitations', 'evaluationData', 'ethicalConsiderations', 'caveats']);
    const partial = createVersion({ modelCard: { intendedUse: 'churn scoring', limitations: '  ' } }).modelCard;
    expect(missingModelCardFields(partial)).toEqual(['limitations', 'evaluationData', 'ethicalConsiderations', 'caveats']);
  });

  it('names the field of a bad signature', () => {
    expect(messageOf(() => createVersion({ signature: 'age -> churn' }))).toContain('field "signature": must be an object { inputs: [{name, type}], outputs: [{name, type}] }');
    expect(messageOf(() => createVersion({ signature: { inputs: [], outputs: signature.outputs } }))).toContain('field "signature.inputs": must list at least one input');
    expect(messageOf(() => createVersion({ signature: { inputs: [{ name: 'age' }], outputs: signature.outputs } }))).toContain('field "signature.inputs[0].type": must be a type name');
    expect(messageOf(() => createVersion({ signature: { inputs: [{ name: 'a', type: 'x' }, { name: 'a', type: 'y' }], outputs: signature.outputs } }))).toContain(
      'field "signature.inputs[1].name": "a" is listed more than once',
    );
    expect(messageOf(() => createVersion({ signature: { inputs: signature.inputs } }))).toContain('field "signature.outputs": must be a list of outputs { name, type }');
  });

  it('names the field of a bad model card', () => {
    expect(messageOf(() => createVersion({ modelCard: 'fine' }))).toContain('field "modelCard": must be an object { intendedUse, limitations, evaluationData, ethicalConsiderations, caveats }');
    expect(messageOf(() => createVersion({ modelCard: { caveats: 42 } }))).toContain('field "modelCard.caveats": must be a text');
    expect(messageOf(() => parseWith(registryRpc.updateModelCard.request, { modelVersionId: modelId, modelCard: { limitations: 'x'.repeat(10_001) } }, 'UpdateModelCard'))).toContain(
      'field "modelCard.limitations": must be at most 10000 characters',
    );
  });

  it('accepts lowercase identifiers as aliases and refuses anything else', () => {
    const request = (alias: unknown) => parseWith(registryRpc.requestPromotion.request, { modelVersionId: modelId, alias, justification: 'beats the champion' }, 'RequestPromotion');
    for (const alias of ['champion', 'challenger', 'staging', 'canary_2']) expect(request(alias).alias).toBe(alias);
    for (const alias of ['Champion', '2nd', 'blue-green', '', 'a'.repeat(64), ' champion']) {
      expect(messageOf(() => request(alias))).toContain('field "alias": must be a lowercase identifier');
    }
    expect(messageOf(() => parseWith(registryRpc.requestPromotion.request, { modelVersionId: modelId, alias: 'champion', justification: ' ' }, 'RequestPromotion'))).toContain(
      'field "justification": must say why the version should hold the alias',
    );
  });

  it('checks model names, rejections and archive reasons', () => {
    expect(messageOf(() => parseWith(registryRpc.registerModel.request, { projectId, name: '  ' }, 'RegisterModel'))).toContain('field "name": must not be empty');
    expect(messageOf(() => parseWith(registryRpc.registerModel.request, { projectId, name: '-churn' }, 'RegisterModel'))).toContain('field "name": must start with a letter or digit');
    expect(parseWith(registryRpc.registerModel.request, { projectId, name: 'churn' }, 'RegisterModel').description).toBe('');
    expect(messageOf(() => parseWith(registryRpc.rejectPromotion.request, { requestId: modelId, reason: '' }, 'RejectPromotion'))).toContain('field "reason": must say why the request is rejected');
    expect(messageOf(() => parseWith(registryRpc.archiveModelVersion.request, { modelVersionId: modelId }, 'ArchiveModelVersion'))).toContain('field "reason": must say why');
    expect(parseWith(registryRpc.approvePromotion.request, { requestId: modelId }, 'ApprovePromotion').comment).toBe('');
  });

  it('answers an alias for a time or a position, not both', () => {
    expect(messageOf(() => parseWith(registryRpc.getAlias.request, { modelId, alias: 'champion', asOf: '2026-01-01T00:00:00Z', asOfPosition: 3 }, 'GetAlias'))).toContain('give asOf or asOfPosition, not both');
    expect(messageOf(() => parseWith(registryRpc.getAlias.request, { modelId, alias: 'champion', asOf: 'yesterday' }, 'GetAlias'))).toContain('field "asOf": must be an ISO-8601 date-time');
  });
});
