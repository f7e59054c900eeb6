import { ValidationError } from '@modeltrail/contracts';
import { checkFinite, countCategories, describe, sortedEntries } from './reference';
import { decileShares, distinctValues, sortedPresent } from './sorted';
import { chiSquareTest, jensenShannonDistance, ksAndWasserstein, ksPValue, psi } from './statistics';
import {
  type CategoricalReference,
  type CurrentColumns,
  type DatasetDrift,
  DEFAULT_DRIFT_OPTIONS,
  type DriftMethod,
  type DriftOptions,
  FEW_VALUES_LIMIT,
  type FeatureDrift,
  type NumericReference,
  PSI_BANDS,
  type PsiBand,
  type ReferenceProfile,
  SMALL_REFERENCE_LIMIT,
  UNSEEN_CATEGORIES_LISTED,
} from './types';

/** Wasserstein is divided by the reference std, floored at this (as Evidently's wasserstein_distance_norm), so a constant reference does not divide by 0. */
export const MIN_STD = 0.001;

/** Every statistic of one feature, before the decision. */
interface Measured {
  base: Omit<FeatureDrift, 'method' | 'score' | 'threshold' | 'drifted'>;
  /** The method AUTO picks for it. */
  auto: DriftMethod;
}

/**
 * Compares a batch with the reference, feature by feature, and decides drift (README.md has
 * the details): every statistic that applies is reported, and the one of the chosen method
 * decides. AUTO, as Evidently: with at most 1,000 reference values KS (numeric) or chi-square
 * (categorical), p < 0.05; above, Wasserstein divided by the reference std (floored at 0.001)
 * ≥ 0.1 or Jensen–Shannon ≥ 0.1; a numeric feature with at most 5 distinct values (reference and
 * batch together) is compared as categories. Bonferroni divides the p-value thresholds by the
 * number of features decided by a p-value. The dataset drifts when the drifted share ≥
 * driftShare. A batch lacking a feature column, with a column of the wrong type, or with no
 * present value in a feature is a ValidationError.
 */
export function measureDrift(reference: ReferenceProfile, current: CurrentColumns, options: Partial<DriftOptions> = {}): DatasetDrift {
  const settings: DriftOptions = { ...DEFAULT_DRIFT_OPTIONS, ...options };
  const absent = reference.features.filter((f) => !current.columns.has(f.name)).map((f) => f.name);
  if (absent.length) throw new ValidationError(`the batch lacks the feature column(s) ${absent.join(', ')}`, { missingColumns: absent });

  const measured = reference.features.map((f) => {
    const column = current.columns.get(f.name)!;
    const missing = current.missing?.get(f.name) ?? 0;
    return f.kind === 'NUMERIC' ? measureNumeric(f, column, missing) : measureCategorical(f, column, missing);
  });

  const methods = measured.map(({ base, auto }) => chooseMethod(base.kind, auto, settings));
  const pValueTests = methods.filter((m) => m === 'KS' || m === 'CHI_SQUARE').length;
  const divisor = settings.bonferroni && pValueTests > 0 ? pValueTests : 1;

  const features = measured.map(({ base }, k): FeatureDrift => {
    const method = methods[k];
    const { score, threshold, drifted } = decide(method, base, settings, divisor);
    return { feature: base.feature, kind: base.kind, method, score, threshold, drifted, ...withoutName(base) };
  });
  const driftedFeatures = features.filter((f) => f.drifted).length;
  const driftedShare = features.length ? driftedFeatures / features.length : 0;
  return { features, driftedFeatures, driftedShare, drifted: features.length > 0 && driftedShare >= settings.driftShare, rows: current.rows };
}

function withoutName(base: Measured['base']): Omit<Measured['base'], 'feature' | 'kind'> {
  const { feature: _feature, kind: _kind, ...rest } = base;
  return rest;
}

function chooseMethod(kind: FeatureDrift['kind'], auto: DriftMethod, settings: DriftOptions): DriftMethod {
  if (kind === 'NUMERIC') return settings.numericMethod === 'AUTO' ? auto : settings.numericMethod;
  return settings.categoricalMethod === 'AUTO' ? auto : settings.categoricalMethod;
}

function decide(method: DriftMethod, base: Measured['base'], settings: DriftOptions, divisor: number): { score: number; threshold: number; drifted: boolean } {
  switch (method) {
    case 'KS': {
      const threshold = settings.ksPValue / divisor;
      const score = base.ks!.pValue;
      return { score, threshold, drifted: score < threshold };
    }
    case 'CHI_SQUARE': {
      const threshold = settings.chiSquarePValue / divisor;
      const score = base.chiSquare!.pValue;
      return { score, threshold, drifted: score < threshold };
    }
    case 'WASSERSTEIN':
      return atLeast(base.wasserstein!, settings.wassersteinThreshold);
    case 'JENSEN_SHANNON':
      return atLeast(base.jensenShannon!, settings.jensenShannonThreshold);
    case 'PSI':
      return atLeast(base.psi, settings.psiThreshold);
    default: {
      const unknown: never = method;
      throw new ValidationError(`unknown drift method ${String(unknown)}`);
    }
  }
}

function atLeast(score: number, threshold: number): { score: number; threshold: number; drifted: boolean } {
  return { score, threshold, drifted: score >= threshold };
}

export function psiBand(value: number): PsiBand {
  return value >= PSI_BANDS.MAJOR ? 'MAJOR' : value >= PSI_BANDS.MODERATE ? 'MODERATE' : 'NONE';
}

function measureNumeric(reference: NumericReference, column: Float64Array | string[], missing: number): Measured {
  const name = reference.name;
  if (!(column instanceof Float64Array)) throw new ValidationError(`numeric feature ${name} needs a Float64Array column in the batch, got ${describe(column)}`);
  const { sorted, nans } = sortedPresent(column);
  const currentMissing = missing + nans;
  if (sorted.length === 0) throw new ValidationError(`numeric feature ${name} has no value in the batch (${currentMissing} missing)`);
  checkFinite(name, sorted, 'batch');

  const { ks, wasserstein } = ksAndWasserstein(reference.values, sorted);
  const psiValue = psi(reference.decileShares, decileShares(sorted, reference.decileEdges));
  const small = reference.count <= SMALL_REFERENCE_LIMIT;
  const categories = fewValues(reference, sorted);
  const base: Measured['base'] = {
    feature: name,
    kind: 'NUMERIC',
    referenceCount: reference.count,
    currentCount: sorted.length,
    currentMissing,
    ks: { statistic: ks, pValue: ksPValue(ks, reference.count, sorted.length) },
    wasserstein: wasserstein / Math.max(reference.std, MIN_STD),
    psi: psiValue,
    psiBand: psiBand(psiValue),
    chiSquare: null,
    jensenShannon: null,
    unseenCategories: [],
    unseenCategoryCount: 0,
  };
  if (!categories) return { base, auto: small ? 'KS' : 'WASSERSTEIN' };
  const compared = compareCategories(categories.reference, categories.current);
  return {
    base: { ...base, chiSquare: compared.chiSquare, jensenShannon: compared.jensenShannon, unseenCategories: compared.unseenCategories, unseenCategoryCount: compared.unseenCategoryCount },
    auto: small ? 'CHI_SQUARE' : 'JENSEN_SHANNON',
  };
}

/**
 * A numeric feature's counts by value when the reference and the batch together hold at most
 * FEW_VALUES_LIMIT distinct values (then AUTO compares it as categories, as Evidently); null otherwise.
 */
function fewValues(reference: NumericReference, sorted: Float64Array): { reference: Map<string, number>; current: Map<string, number> } | null {
  if (!reference.distinct) return null;
  const batch = distinctValues(sorted, FEW_VALUES_LIMIT);
  if (!batch) return null;
  const known = new Set(reference.distinct.values);
  if (known.size + batch.values.filter((x) => !known.has(x)).length > FEW_VALUES_LIMIT) return null;
  const current = new Map(batch.values.map((v, k) => [String(v), batch.counts[k]] as [string, number]));
  const referenceCounts = new Map(reference.distinct.values.map((v, k) => [String(v), reference.distinct!.counts[k]] as [string, number]));
  return { reference: referenceCounts, current };
}

function measureCategorical(reference: CategoricalReference, column: Float64Array | string[], missing: number): Measured {
  const name = reference.name;
  if (!Array.isArray(column)) throw new ValidationError(`categorical feature ${name} needs a string[] column in the batch, got ${describe(column)}`);
  if (column.length === 0) throw new ValidationError(`categorical feature ${name} has no value in the batch (${missing} missing)`);
  const compared = compareCategories(new Map(Object.entries(reference.counts)), countCategories(column));
  return {
    base: {
      feature: name,
      kind: 'CATEGORICAL',
      referenceCount: reference.count,
      currentCount: column.length,
      currentMissing: missing,
      ks: null,
      wasserstein: null,
      psi: compared.psi,
      psiBand: psiBand(compared.psi),
      chiSquare: compared.chiSquare,
      jensenShannon: compared.jensenShannon,
      unseenCategories: compared.unseenCategories,
      unseenCategoryCount: compared.unseenCategoryCount,
    },
    auto: reference.count <= SMALL_REFERENCE_LIMIT ? 'CHI_SQUARE' : 'JENSEN_SHANNON',
  };
}

/**
 * Chi-square, Jensen–Shannon and PSI over the reference's categories (sorted by name) and, when
 * the batch holds categories the reference never saw, one more bin gathering them all.
 */
export function compareCategories(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): { chiSquare: FeatureDrift['chiSquare']; jensenShannon: number; psi: number; unseenCategories: string[]; unseenCategoryCount: number } {
  const known = sortedEntries(new Map(reference));
  const refCounts = known.map(([, n]) => n);
  const curCounts = known.map(([category]) => current.get(category) ?? 0);
  const unseen = [...current.entries()].filter(([category]) => !reference.has(category));
  if (unseen.length) {
    refCounts.push(0);
    curCounts.push(unseen.reduce((n, [, c]) => n + c, 0));
  }
  const refTotal = refCounts.reduce((a, b) => a + b, 0);
  const curTotal = curCounts.reduce((a, b) => a + b, 0);
  unseen.sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  return {
    chiSquare: chiSquareTest(refCounts, curCounts),
    jensenShannon: jensenShannonDistance(refCounts, curCounts),
    psi: psi(
      refCounts.map((n) => n / refTotal),
      curCounts.map((n) => n / curTotal),
    ),
    unseenCategories: unseen.slice(0, UNSEEN_CATEGORIES_LISTED).map(([category]) => category),
    unseenCategoryCount: unseen.length,
  };
}
