/**
 * Drift statistics for model monitoring: a reference profile frozen from a model's training
 * data, and the comparison of a batch of current values with it (KS, Wasserstein, PSI,
 * chi-square, Jensen–Shannon). Pure functions: no I/O. Conventions: libs/drift/README.md.
 */
export * from './types';
export { buildReference, decodeReference, encodeReference } from './reference';
export { compareCategories, measureDrift, MIN_STD, psiBand } from './drift';
export { ColumnCollector, type Cell, type ColumnCollectorOptions } from './collector';
export { chiSquareTest, jensenShannonDistance, kolmogorovSurvival, ksAndWasserstein, ksPValue, ksStatistic, ksTwoSample, psi, wassersteinDistance, ZERO_SHARE } from './statistics';
