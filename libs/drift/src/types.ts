/**
 * The shapes of drift measurement: a reference profile frozen from a model's training data,
 * a batch of current values, the options of a measurement and its result.
 * See libs/drift/README.md for the conventions behind every number.
 */

export type FeatureKind = 'NUMERIC' | 'CATEGORICAL';

export interface FeatureSpec {
  name: string;
  kind: FeatureKind;
}

/** A numeric feature of at most this many present values is kept whole (`exact`); beyond it, a sketch. */
export const EXACT_REFERENCE_LIMIT = 1_000_000;

/**
 * Points of the sketch kept beyond the exact limit: equally spaced order statistics, the minimum
 * and the maximum included. Point j is the value of rank round(j·(n−1)/(S−1)) (0-based) of the
 * n sorted values, so the sketch's distribution function differs from the reference's by at
 * most 1/(S−1) + 1/n at any point (≈ 1.0e-5 for S = 100,001).
 */
export const SKETCH_POINTS = 100_001;

/**
 * A numeric feature with at most this many distinct values in the reference and the batch
 * together is compared as categories by the AUTO method (as Evidently does).
 */
export const FEW_VALUES_LIMIT = 5;

export interface NumericReference {
  kind: 'NUMERIC';
  name: string;
  /** Present values in the reference (missing ones excluded). */
  count: number;
  /** Missing values (null, empty, NaN) in the reference. */
  missing: number;
  /** Whether `values` holds every present value (true) or the sketch (false). */
  exact: boolean;
  /**
   * exact: every present value, sorted ascending; beyond the exact limit: the sketch of
   * SKETCH_POINTS equally spaced order statistics (minimum and maximum included), sorted.
   */
  values: Float64Array;
  /** The 9 inner decile edges of the reference (numpy's default linear quantiles at 0.1 … 0.9), from every value. */
  decileEdges: number[];
  /** The reference's share of values in each of the 10 decile bins (see `decileBin`), from every value. */
  decileShares: number[];
  mean: number;
  /** Population standard deviation (ddof = 0, as numpy's default). */
  std: number;
  /**
   * The distinct values and their counts when the reference holds at most FEW_VALUES_LIMIT of
   * them (ascending), from every value; null otherwise.
   */
  distinct: { values: number[]; counts: number[] } | null;
}

export interface CategoricalReference {
  kind: 'CATEGORICAL';
  name: string;
  count: number;
  missing: number;
  /** Present values per category. */
  counts: Record<string, number>;
}

export type FeatureReference = NumericReference | CategoricalReference;

export interface ReferenceProfile {
  formatVersion: 1;
  /** Rows of the reference data. */
  rows: number;
  features: FeatureReference[];
}

/**
 * A batch by column. A numeric feature is a Float64Array of its present values (a NaN in it
 * counts as missing); a categorical feature is a string[] of its present values. `missing`
 * (optional) counts the values left out per feature.
 */
export interface CurrentColumns {
  rows: number;
  columns: Map<string, Float64Array | string[]>;
  missing?: Map<string, number>;
}

export interface BuildReferenceOptions {
  /** Present values above which a numeric feature keeps a sketch (default EXACT_REFERENCE_LIMIT). */
  exactLimit?: number;
  /** Points of the sketch (default SKETCH_POINTS, at least 2). */
  sketchPoints?: number;
}

export type NumericMethod = 'AUTO' | 'KS' | 'WASSERSTEIN' | 'PSI';
export type CategoricalMethod = 'AUTO' | 'CHI_SQUARE' | 'JENSEN_SHANNON' | 'PSI';
export type DriftMethod = 'KS' | 'WASSERSTEIN' | 'PSI' | 'CHI_SQUARE' | 'JENSEN_SHANNON';
export type PsiBand = 'NONE' | 'MODERATE' | 'MAJOR';

export interface DriftOptions {
  numericMethod: NumericMethod;
  categoricalMethod: CategoricalMethod;
  /** KS drifts when its p-value is below this. */
  ksPValue: number;
  /** Chi-square drifts when its p-value is below this. */
  chiSquarePValue: number;
  /** Wasserstein (divided by the reference std) drifts at or above this. */
  wassersteinThreshold: number;
  /** Jensen–Shannon distance drifts at or above this. */
  jensenShannonThreshold: number;
  /** PSI drifts at or above this (bands: MODERATE from 0.1, MAJOR from 0.25, whatever the threshold). */
  psiThreshold: number;
  /** The dataset drifts when the share of drifted features is at or above this. */
  driftShare: number;
  /** Divide the p-value thresholds by the number of features decided by a p-value. */
  bonferroni: boolean;
}

export const DEFAULT_DRIFT_OPTIONS: Readonly<DriftOptions> = Object.freeze({
  numericMethod: 'AUTO',
  categoricalMethod: 'AUTO',
  ksPValue: 0.05,
  chiSquarePValue: 0.05,
  wassersteinThreshold: 0.1,
  jensenShannonThreshold: 0.1,
  psiThreshold: 0.1,
  driftShare: 0.5,
  bonferroni: false,
});

/** PSI band edges: below MODERATE is NONE, from MAJOR on is MAJOR. */
export const PSI_BANDS = Object.freeze({ MODERATE: 0.1, MAJOR: 0.25 });

/** Reference count up to which AUTO decides by a p-value test (KS, chi-square), as Evidently. */
export const SMALL_REFERENCE_LIMIT = 1_000;

/** Unseen categories listed in a FeatureDrift, at most. */
export const UNSEEN_CATEGORIES_LISTED = 20;

export interface FeatureDrift {
  feature: string;
  kind: FeatureKind;
  method: DriftMethod;
  /**
   * The statistic the decision used: for p-value tests (KS, CHI_SQUARE) the p-value, drifted
   * when score < threshold; for distances (WASSERSTEIN, JENSEN_SHANNON, PSI) the distance,
   * drifted when score ≥ threshold.
   */
  score: number;
  /** The threshold the decision used (after Bonferroni, when on). */
  threshold: number;
  drifted: boolean;
  referenceCount: number;
  currentCount: number;
  currentMissing: number;
  /** Numeric features: two-sample KS with its asymptotic p-value; null for categorical ones. */
  ks: { statistic: number; pValue: number } | null;
  /** Numeric features: Wasserstein-1 distance divided by the reference std (floored at 0.001); null for categorical ones. */
  wasserstein: number | null;
  /** PSI over the reference deciles (numeric) or the categories and "other" (categorical). */
  psi: number;
  psiBand: PsiBand;
  /** Categorical features, and numeric ones compared as categories (few distinct values); null otherwise. */
  chiSquare: { statistic: number; degreesOfFreedom: number; pValue: number } | null;
  /** Categorical features, and numeric ones compared as categories; null otherwise. Natural log. */
  jensenShannon: number | null;
  /** Categories of the batch absent from the reference, most frequent first, at most 20 listed. */
  unseenCategories: string[];
  /** How many distinct categories of the batch are absent from the reference (all of them). */
  unseenCategoryCount: number;
}

export interface DatasetDrift {
  features: FeatureDrift[];
  driftedFeatures: number;
  driftedShare: number;
  drifted: boolean;
  /** Rows of the batch. */
  rows: number;
}
