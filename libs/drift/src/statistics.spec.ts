import { chiSquareTest, jensenShannonDistance, kolmogorovSurvival, ksTwoSample, psi, wassersteinDistance } from '@modeltrail/drift';

/*
 * Expected values computed once with Python 3, scipy 1.17.1 and numpy 2.4.6 (never at test time):
 *
 *   import numpy as np
 *   from scipy import stats
 *   from scipy.spatial.distance import jensenshannon
 *   for lam in [0.2, 0.5, 0.8, 1.0, 1.1, 1.18, 1.2, 1.36, 1.5, 2.0, 3.0]:
 *       print(lam, repr(stats.kstwobign.sf(lam)))
 *   a = np.array(A); b = np.array(B)                       # the literals below
 *   d = stats.ks_2samp(a, b, method='asymp').statistic      # 0.4166666666666667
 *   en = len(a) * len(b) / (len(a) + len(b))
 *   stats.kstwobign.sf(np.sqrt(en) * d)                     # 0.19737850157784573
 *   stats.ks_2samp(a, b, method='asymp').pvalue             # 0.12927089670015546 (kstwo.sf(d, round(en)), see README)
 *   stats.wasserstein_distance(a, b)                        # 0.8011666666666666
 *   stats.chisquare([61, 39], [50, 50])                     # 4.84, p 0.027806895026997264
 *   stats.chisquare([30, 38, 32], [40, 35, 25])             # 4.717142857142857, p 0.09455520562250246
 *   ref = np.array([50, 30, 20, 0]); cur = np.array([40, 35, 15, 10])
 *   sh = np.where(ref > 0, ref / ref.sum(), 1e-4); sh = sh / sh.sum()
 *   stats.chisquare(cur, sh * cur.sum())                    # 9985.091741666665, p 0.0
 *   jensenshannon([50, 30, 20, 0], [40, 35, 15, 10])        # 0.20048742619539994
 *   rs = np.array([0.5, 0.3, 0.2, 0.0]); cs = np.array([0.4, 0.35, 0.15, 0.1])
 *   r2 = np.where(rs == 0, 1e-4, rs); c2 = np.where(cs == 0, 1e-4, cs)
 *   np.sum((c2 - r2) * np.log(c2 / r2))                     # 0.7344907451156885
 */
const A = [0.61, -1.2, 0.33, 2.05, -0.4, 0.33, 1.7, -0.95, 0.12, 0.88, -0.07, 1.21];
const B = [1.02, 0.33, 2.4, 1.55, 0.91, -0.3, 1.88, 0.33, 2.9, 0.47, 1.3, 1.64, 0.05, 2.2, 1.1];
const sorted = (values: number[]) => Float64Array.from(values).sort();

describe('kolmogorovSurvival', () => {
  // scipy.stats.kstwobign.sf on both sides of the branch at λ = 1.18.
  const published: Array<[number, number]> = [
    [0.2, 0.999999999999495],
    [0.5, 0.9639452436648751],
    [0.8, 0.5441424115741981],
    [1.0, 0.26999967167735456],
    [1.1, 0.1777181926064012],
    [1.18, 0.1234538094297657],
    [1.2, 0.11224966667072497],
    [1.36, 0.049485876755377876],
    [1.5, 0.022217962616525127],
    [2.0, 0.0006709252557796953],
    [3.0, 3.045995948942526e-8],
  ];

  it.each(published)('Q(%p) is scipy kstwobign.sf', (lambda, expected) => {
    expect(Math.abs(kolmogorovSurvival(lambda) - expected)).toBeLessThanOrEqual(1e-13 + 1e-12 * expected);
  });

  it('is 1 at and below 0, decreases, and vanishes far out', () => {
    expect(kolmogorovSurvival(0)).toBe(1);
    expect(kolmogorovSurvival(-1)).toBe(1);
    expect(kolmogorovSurvival(1.17999)).toBeGreaterThan(kolmogorovSurvival(1.18));
    expect(kolmogorovSurvival(40)).toBe(0);
  });
});

describe('ksTwoSample', () => {
  it('matches scipy ks_2samp on a sample with ties, its p-value the Kolmogorov survival at √(nm/(n+m))·D', () => {
    const { statistic, pValue } = ksTwoSample(sorted(A), sorted(B));
    expect(statistic).toBeCloseTo(0.4166666666666667, 15);
    expect(pValue).toBeCloseTo(0.19737850157784573, 13);
  });

  it('gives D = 0 and p = 1 for identical samples', () => {
    expect(ksTwoSample(sorted(A), sorted(A))).toEqual({ statistic: 0, pValue: 1 });
  });
});

describe('wassersteinDistance', () => {
  it('matches scipy wasserstein_distance', () => {
    expect(wassersteinDistance(sorted(A), sorted(B))).toBeCloseTo(0.8011666666666666, 13);
    expect(wassersteinDistance(sorted(B), sorted(A))).toBeCloseTo(0.8011666666666666, 13);
  });

  it('is 0 for identical samples and the shift for a shifted one', () => {
    expect(wassersteinDistance(sorted(A), sorted(A))).toBe(0);
    expect(wassersteinDistance(Float64Array.of(0, 1, 2), Float64Array.of(3, 4, 5))).toBeCloseTo(3, 14);
  });
});

describe('chiSquareTest', () => {
  it('matches scipy chisquare with expected = reference share × current total', () => {
    const two = chiSquareTest([50, 50], [61, 39]);
    expect(two.statistic).toBeCloseTo(4.84, 12);
    expect(two.degreesOfFreedom).toBe(1);
    expect(two.pValue).toBeCloseTo(0.027806895026997264, 12);
    const three = chiSquareTest([40, 35, 25], [30, 38, 32]);
    expect(three.statistic).toBeCloseTo(4.717142857142857, 12);
    expect(three.degreesOfFreedom).toBe(2);
    expect(three.pValue).toBeCloseTo(0.09455520562250246, 12);
  });

  it('gives a bin the reference never saw the share 0.0001, renormalised', () => {
    const result = chiSquareTest([50, 30, 20, 0], [40, 35, 15, 10]);
    expect(result.statistic).toBeCloseTo(9985.091741666665, 8);
    expect(result.degreesOfFreedom).toBe(3);
    expect(result.pValue).toBe(0);
  });

  it('gives statistic 0 and p 1 for the reference proportions and for a single bin', () => {
    expect(chiSquareTest([10, 30], [20, 60])).toEqual({ statistic: 0, degreesOfFreedom: 1, pValue: 1 });
    expect(chiSquareTest([10], [3])).toEqual({ statistic: 0, degreesOfFreedom: 0, pValue: 1 });
  });
});

describe('jensenShannonDistance', () => {
  it('matches scipy jensenshannon (natural log) on counts', () => {
    expect(jensenShannonDistance([50, 30, 20, 0], [40, 35, 15, 10])).toBeCloseTo(0.20048742619539994, 14);
  });

  it('is 0 for proportional vectors and √ln 2 for disjoint ones', () => {
    expect(jensenShannonDistance([1, 2, 3], [2, 4, 6])).toBe(0);
    expect(jensenShannonDistance([1, 0], [0, 1])).toBeCloseTo(Math.sqrt(Math.LN2), 15);
  });
});

describe('psi', () => {
  it('counts a zero share as 0.0001', () => {
    expect(psi([0.5, 0.3, 0.2, 0], [0.4, 0.35, 0.15, 0.1])).toBeCloseTo(0.7344907451156885, 14);
  });

  it('is 0 for equal shares', () => {
    expect(psi([0.25, 0.25, 0.5, 0], [0.25, 0.25, 0.5, 0])).toBe(0);
  });
});
