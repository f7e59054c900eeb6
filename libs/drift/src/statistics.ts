/**
 * The statistics behind drift, each a pure function over sorted Float64Arrays or aligned
 * counts. Conventions (and the scipy functions each one matches): libs/drift/README.md.
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';

/** A share of 0 counts as this in PSI (Evidently's usual floor), and as the reference share of a bin the reference never saw in chi-square. */
export const ZERO_SHARE = 0.0001;

/** Below this λ, Q(λ) is summed by the series that converges fast for small λ. */
const SMALL_LAMBDA = 1.18;

/**
 * The survival function of the Kolmogorov distribution, Q(λ) = P(K > λ)
 * = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²} (scipy.stats.kstwobign.sf). For λ < 1.18 that series
 * converges slowly, and the equivalent 1 − (√(2π)/λ) Σ_{k≥1} e^{−(2k−1)²π²/(8λ²)} is summed
 * instead. Q(λ) = 1 for λ ≤ 0.
 */
export function kolmogorovSurvival(lambda: number): number {
  if (Number.isNaN(lambda)) return Number.NaN;
  if (lambda <= 0) return 1;
  if (lambda < SMALL_LAMBDA) {
    const f = -(Math.PI * Math.PI) / (8 * lambda * lambda);
    let sum = 0;
    for (let k = 1; k <= 50; k++) {
      const odd = 2 * k - 1;
      const term = Math.exp(f * odd * odd);
      sum += term;
      if (term <= 1e-17 * sum) break;
    }
    return clamp01(1 - (Math.sqrt(2 * Math.PI) / lambda) * sum);
  }
  const f = -2 * lambda * lambda;
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(f * k * k);
    sum += k % 2 === 1 ? term : -term;
    if (term <= 1e-17 * Math.abs(sum)) break;
  }
  return clamp01(2 * sum);
}

/**
 * The two-sample Kolmogorov–Smirnov statistic D = sup |F_a(x) − F_b(x)| of two sorted samples,
 * by one merge walk (O(n + m)); 0 when either is empty.
 */
export function ksStatistic(sortedA: Float64Array, sortedB: Float64Array): number {
  return ksAndWasserstein(sortedA, sortedB).ks;
}

/**
 * The asymptotic p-value of a two-sample KS statistic: Q(√(n·m/(n+m))·D), the Kolmogorov
 * distribution's survival function (scipy.stats.kstwobign.sf). n and m are the sample sizes
 * (for a reference kept as a sketch, its full count).
 */
export function ksPValue(statistic: number, n: number, m: number): number {
  if (n <= 0 || m <= 0) return 1;
  return kolmogorovSurvival(Math.sqrt((n * m) / (n + m)) * statistic);
}

/**
 * Two-sample KS test of two sorted samples: D and its asymptotic p-value
 * Q(√(n·m/(n+m))·D). scipy ≥ 1.5's ks_2samp(method='asymp') uses kstwo.sf(D, round(n·m/(n+m)))
 * instead, which tends to the same value as n·m/(n+m) grows; this is the classic formula
 * (Numerical Recipes §14.3 without its small-sample correction; scipy < 1.5).
 */
export function ksTwoSample(sortedA: Float64Array, sortedB: Float64Array): { statistic: number; pValue: number } {
  const statistic = ksStatistic(sortedA, sortedB);
  return { statistic, pValue: ksPValue(statistic, sortedA.length, sortedB.length) };
}

/**
 * The Wasserstein-1 distance between the empirical distributions of two sorted samples,
 * ∫ |F_a(x) − F_b(x)| dx, by one merge walk (scipy.stats.wasserstein_distance); 0 when either is empty.
 */
export function wassersteinDistance(sortedA: Float64Array, sortedB: Float64Array): number {
  return ksAndWasserstein(sortedA, sortedB).wasserstein;
}

/**
 * KS statistic and Wasserstein-1 distance of two sorted samples in one merge walk: between
 * consecutive distinct values of either sample both distribution functions are constant.
 */
export function ksAndWasserstein(a: Float64Array, b: Float64Array): { ks: number; wasserstein: number } {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return { ks: 0, wasserstein: 0 };
  let i = 0;
  let j = 0;
  let ks = 0;
  let area = 0;
  let previous = a[0] < b[0] ? a[0] : b[0];
  while (i < n || j < m) {
    const x = j >= m || (i < n && a[i] <= b[j]) ? a[i] : b[j];
    // F_a = i/n and F_b = j/m on [previous, x).
    const gap = Math.abs(i / n - j / m);
    area += gap * (x - previous);
    while (i < n && a[i] === x) i++;
    while (j < m && b[j] === x) j++;
    const after = Math.abs(i / n - j / m);
    if (after > ks) ks = after;
    previous = x;
  }
  return { ks, wasserstein: area };
}

/**
 * Population stability index Σ (cur − ref)·ln(cur / ref) over aligned bin shares, a share of 0
 * counting as 0.0001 (ZERO_SHARE, Evidently's usual floor; the shares are not renormalised).
 */
export function psi(refShares: ArrayLike<number>, curShares: ArrayLike<number>): number {
  sameLength(refShares, curShares, 'psi');
  let total = 0;
  for (let k = 0; k < refShares.length; k++) {
    const r = refShares[k] > 0 ? refShares[k] : ZERO_SHARE;
    const c = curShares[k] > 0 ? curShares[k] : ZERO_SHARE;
    total += (c - r) * Math.log(c / r);
  }
  return total;
}

/**
 * Chi-square goodness of fit of the current counts to the reference's shares: expected count
 * of bin k = reference share of k × current total. A bin the reference never saw (share 0)
 * gets the share 0.0001 (ZERO_SHARE) and the shares are then renormalised to sum to 1, so the
 * expected counts add up to the observed total (as scipy.stats.chisquare requires).
 * Degrees of freedom: bins − 1; p-value 1 − F(χ², df) with F the chi-square CDF of @stdlib
 * (so it bottoms out near 1e-16). One bin (or none) has no test: statistic 0, p-value 1.
 */
export function chiSquareTest(refCounts: ArrayLike<number>, curCounts: ArrayLike<number>): { statistic: number; degreesOfFreedom: number; pValue: number } {
  sameLength(refCounts, curCounts, 'chiSquareTest');
  const bins = refCounts.length;
  const refTotal = sum(refCounts);
  const curTotal = sum(curCounts);
  const degreesOfFreedom = Math.max(0, bins - 1);
  if (bins < 2 || curTotal === 0 || refTotal === 0) return { statistic: 0, degreesOfFreedom, pValue: 1 };
  let shareTotal = 0;
  for (let k = 0; k < bins; k++) shareTotal += refCounts[k] > 0 ? refCounts[k] / refTotal : ZERO_SHARE;
  let statistic = 0;
  for (let k = 0; k < bins; k++) {
    const share = (refCounts[k] > 0 ? refCounts[k] / refTotal : ZERO_SHARE) / shareTotal;
    const expected = share * curTotal;
    const diff = curCounts[k] - expected;
    statistic += (diff * diff) / expected;
  }
  return { statistic, degreesOfFreedom, pValue: clamp01(1 - chisquareCdf(statistic, degreesOfFreedom)) };
}

/**
 * Jensen–Shannon distance √JSD(p‖q) with natural logarithms (scipy.spatial.distance.jensenshannon's
 * default base), between two aligned count or share vectors, each normalised to sum to 1.
 * Between 0 and √ln 2 ≈ 0.8326. 0 when either vector is all zeros.
 */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  sameLength(p, q, 'jensenShannonDistance');
  const pTotal = sum(p);
  const qTotal = sum(q);
  if (!(pTotal > 0) || !(qTotal > 0)) return 0;
  let divergence = 0;
  for (let k = 0; k < p.length; k++) {
    const pk = p[k] / pTotal;
    const qk = q[k] / qTotal;
    const mk = (pk + qk) / 2;
    if (pk > 0) divergence += pk * Math.log(pk / mk);
    if (qk > 0) divergence += qk * Math.log(qk / mk);
  }
  return Math.sqrt(Math.max(0, divergence / 2));
}

function sum(values: ArrayLike<number>): number {
  let total = 0;
  for (let k = 0; k < values.length; k++) total += values[k];
  return total;
}

function sameLength(a: ArrayLike<number>, b: ArrayLike<number>, name: string): void {
  if (a.length !== b.length) throw new RangeError(`${name}: the two vectors have ${a.length} and ${b.length} bins`);
}

function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}
