/**
 * Drift statistics for model monitoring: a reference profile frozen from a model's training
 * data, and the comparison of a batch of current values with it (KS, Wasserstein, PSI,
 * chi-square, Jensen–Shannon). Pure functions: no I/O. Conventions: libs/drift/README.md.
 */
export * from './types';
export { buildReference, decodeReference, encodeReference } from './reference';
export { ColumnCollector, type Cell } from './collector';
export { measureDrift } from './drift';
export { chiSquareTest, jensenShannonDistance, kolmogorovSurvival, ksTwoSample, psi, wassersteinDistance } from './statistics';
