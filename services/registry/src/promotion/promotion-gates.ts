import {
  type CriterionResult,
  type DatasetValidationResult,
  type GateResult,
  type MetricSummary,
  missingModelCardFields,
  type ModelCard,
  type RunDatasetVersion,
  type RunStatus,
  type SuccessCriterion,
} from '@modeltrail/contracts';

/** The latest validation of a dataset version, as the datasets service reports it. */
export interface ValidationFact {
  validationId: string;
  datasetVersionId: string;
  passed: boolean;
  validatedAt: string;
}

/** What the gates of a promotion are judged on, gathered by the handler when the request is made. */
export interface GateFacts {
  /** The source run's status now. */
  runStatus: RunStatus | null;
  /** The project's success criteria. */
  successCriteria: ReadonlyArray<SuccessCriterion>;
  /** The version's metrics snapshot (the run's summary when it completed). */
  metrics: ReadonlyArray<MetricSummary>;
  /** The dataset versions the run trained and was evaluated on. */
  datasetVersions: ReadonlyArray<RunDatasetVersion>;
  /** Every validation of those dataset versions (any order). */
  validations: ReadonlyArray<ValidationFact>;
  modelCard: ModelCard;
}

/**
 * Every gate of a promotion with its result, in a fixed order (RUN_COMPLETED, SUCCESS_CRITERIA,
 * DATASET_VALIDATION, MODEL_CARD_COMPLETE). Pure: the request records exactly this, so an
 * auditor sees what was true when it was made.
 */
export function promotionGates(facts: GateFacts): GateResult[] {
  return [runCompleted(facts), successCriteria(facts), datasetValidation(facts), modelCardComplete(facts)];
}

/** The gates that did not pass, by name. */
export function failingGates(gates: ReadonlyArray<GateResult>): GateResult[] {
  return gates.filter((gate) => !gate.passed);
}

const gate = (name: GateResult['gate'], passed: boolean, detail: string, extra: Partial<Pick<GateResult, 'criteria' | 'datasets'>> = {}): GateResult => ({
  gate: name,
  passed,
  detail,
  criteria: extra.criteria ?? [],
  datasets: extra.datasets ?? [],
});

function runCompleted({ runStatus }: GateFacts): GateResult {
  if (runStatus === 'Completed') return gate('RUN_COMPLETED', true, 'the source run completed');
  return gate('RUN_COMPLETED', false, runStatus === null ? 'the source run no longer exists' : `the source run is ${runStatus}, not Completed`);
}

/** `MAXIMIZE`: the value must reach the threshold; `MINIMIZE`: it must not exceed it. */
export function meetsCriterion(criterion: SuccessCriterion, value: number): boolean {
  return criterion.direction === 'MAXIMIZE' ? value >= criterion.threshold : value <= criterion.threshold;
}

function successCriteria({ successCriteria: criteria, metrics }: GateFacts): GateResult {
  if (criteria.length === 0) return gate('SUCCESS_CRITERIA', true, 'the project defines no success criteria');
  const byKey = new Map(metrics.map((m) => [m.key, m.last]));
  const results: CriterionResult[] = criteria.map((c) => {
    const value = byKey.get(c.metric) ?? null;
    return { metric: c.metric, threshold: c.threshold, direction: c.direction, value, passed: value !== null && meetsCriterion(c, value) };
  });
  const failed = results.filter((r) => !r.passed);
  const describe = (r: CriterionResult) =>
    r.value === null ? `${r.metric} was not logged by the run` : `${r.metric} = ${r.value}, needs ${r.direction === 'MAXIMIZE' ? '>=' : '<='} ${r.threshold}`;
  return failed.length === 0
    ? gate('SUCCESS_CRITERIA', true, `all ${results.length} success criteria met: ${results.map(describe).join('; ')}`, { criteria: results })
    : gate('SUCCESS_CRITERIA', false, `${failed.length} of ${results.length} success criteria not met: ${failed.map(describe).join('; ')}`, { criteria: results });
}

function datasetValidation({ datasetVersions, validations }: GateFacts): GateResult {
  if (datasetVersions.length === 0) return gate('DATASET_VALIDATION', false, 'the run names no dataset versions: there is no validated data to trace the model to');
  const latest = new Map<string, ValidationFact>();
  for (const v of validations) {
    const seen = latest.get(v.datasetVersionId);
    if (!seen || v.validatedAt > seen.validatedAt || (v.validatedAt === seen.validatedAt && v.validationId > seen.validationId)) latest.set(v.datasetVersionId, v);
  }
  const results: DatasetValidationResult[] = datasetVersions.map((dv) => {
    const v = latest.get(dv.datasetVersionId);
    return { datasetVersionId: dv.datasetVersionId, datasetId: dv.datasetId, role: dv.role, validationId: v?.validationId ?? null, validatedAt: v?.validatedAt ?? null, passed: v?.passed ?? false };
  });
  const problems = results
    .filter((r) => !r.passed)
    .map((r) => (r.validationId === null ? `${r.role} dataset version ${r.datasetVersionId} was never validated` : `the latest validation of ${r.role} dataset version ${r.datasetVersionId} failed`));
  return problems.length === 0
    ? gate('DATASET_VALIDATION', true, `the latest validation of each of the ${results.length} dataset versions passed`, { datasets: results })
    : gate('DATASET_VALIDATION', false, problems.join('; '), { datasets: results });
}

function modelCardComplete({ modelCard }: GateFacts): GateResult {
  const missing = missingModelCardFields(modelCard);
  return missing.length === 0 ? gate('MODEL_CARD_COMPLETE', true, 'every field of the model card is filled') : gate('MODEL_CARD_COMPLETE', false, `the model card lacks ${missing.join(', ')}`);
}
