import { mulberry32, ValidationError } from '@modeltrail/contracts';
import { buildReference, type CurrentColumns, type FeatureSpec, measureDrift } from '@modeltrail/drift';

/*
 * Expected values computed once with Python 3, scipy 1.17.1 and numpy 2.4.6 (never at test time):
 *
 *   import numpy as np
 *   from scipy import stats
 *   from scipy.spatial.distance import jensenshannon
 *   ref = np.array(REF); cur = np.array(CUR)                     # the literals below
 *   edges = np.quantile(ref, np.arange(1, 10) / 10)
 *   # ['3.47', '3.96', '4.3100000000000005', '4.82', '5.0', '5.14', '5.59', '5.94', '6.62']
 *   def shares(x): return np.bincount(np.searchsorted(edges, x, side='right'), minlength=10) / len(x)
 *   rs, cs = shares(ref), shares(cur)                            # rs: 0.1 ×4, 0.05, 0.15, 0.1 ×4
 *   r2 = np.where(rs == 0, 1e-4, rs); c2 = np.where(cs == 0, 1e-4, cs)
 *   np.sum((c2 - r2) * np.log(c2 / r2))                          # PSI 3.0639209793671
 *   d = stats.ks_2samp(ref, cur, method='asymp').statistic        # 0.5166666666666667
 *   en = len(ref) * len(cur) / (len(ref) + len(cur))
 *   stats.kstwobign.sf(np.sqrt(en) * d)                          # 0.02058805169097875
 *   stats.wasserstein_distance(ref, cur) / np.std(ref)           # 1.2443652576251822
 *   np.mean(ref), np.std(ref)                                    # 4.99, 1.1759676866308868
 *
 *   refc = {'red': 40, 'green': 35, 'blue': 25}
 *   curc = {'red': 30, 'green': 20, 'blue': 30, 'purple': 12, 'teal': 8}
 *   keys = sorted(refc)                                          # then one bin for purple + teal
 *   rc = np.array([refc[k] for k in keys] + [0]); cc = np.array([curc.get(k, 0) for k in keys] + [20])
 *   sh = np.where(rc > 0, rc / rc.sum(), 1e-4); sh = sh / sh.sum()
 *   stats.chisquare(cc, sh * cc.sum())                           # 39973.935564285704, p 0.0
 *   jensenshannon(rc, cc)                                        # 0.29050699735258717
 *   jensenshannon([25, 35, 40, 0, 0], [30, 20, 30, 12, 8])       # the same: unseen bins merge freely
 *   rs, cs = rc / rc.sum(), cc / cc.sum(); r2 = np.where(rs == 0, 1e-4, rs); c2 = np.where(cs == 0, 1e-4, cs)
 *   np.sum((c2 - r2) * np.log(c2 / r2))                          # PSI 1.6412470549376517
 *   stats.chisquare([61, 39], [50, 50])                          # 4.84, p 0.027806895026997264
 */
const REF = [4.1, 5.0, 3.2, 6.8, 5.5, 4.9, 5.1, 7.3, 2.9, 4.4, 5.9, 6.1, 3.8, 5.0, 4.7, 5.2, 6.6, 3.5, 4.0, 5.8];
const CUR = [5.6, 6.9, 7.4, 5.0, 6.2, 8.1, 6.6, 5.9, 7.0, 4.8, 6.4, 7.7, 6.0, 5.3, 7.9];

const repeat = (counts: Record<string, number>) => Object.entries(counts).flatMap(([category, n]) => Array<string>(n).fill(category));
const batch = (rows: number, columns: Record<string, Float64Array | string[]>): CurrentColumns => ({ rows, columns: new Map(Object.entries(columns)) });

/** n draws of N(mean, 1) by Box–Muller from a seeded generator. */
function normal(seed: number, n: number, mean: number): Float64Array {
  const random = mulberry32(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return out;
}

describe('measureDrift', () => {
  const specs: FeatureSpec[] = [
    { name: 'x', kind: 'NUMERIC' },
    { name: 'colour', kind: 'CATEGORICAL' },
  ];

  it('finds no drift between the reference and itself: D = 0, p = 1, PSI = 0, W = 0, JS = 0', () => {
    const data = batch(100, { x: Float64Array.from(REF), colour: repeat({ red: 40, green: 35, blue: 25 }) });
    const result = measureDrift(buildReference(specs, data), data);
    const [x, colour] = result.features;
    expect(x).toMatchObject({ method: 'KS', score: 1, drifted: false, ks: { statistic: 0, pValue: 1 }, wasserstein: 0, psi: 0, psiBand: 'NONE', chiSquare: null, jensenShannon: null });
    expect(colour).toMatchObject({ method: 'CHI_SQUARE', drifted: false, chiSquare: { statistic: 0, degreesOfFreedom: 2, pValue: 1 }, jensenShannon: 0, psi: 0, unseenCategories: [] });
    expect(result).toMatchObject({ driftedFeatures: 0, driftedShare: 0, drifted: false, rows: 100 });
  });

  it('reports KS, normed Wasserstein and decile PSI as scipy and numpy compute them', () => {
    const reference = buildReference([specs[0]], batch(20, { x: Float64Array.from(REF) }));
    const ref = reference.features[0];
    if (ref.kind !== 'NUMERIC') throw new Error('numeric expected');
    expect(ref.decileEdges).toEqual([3.47, 3.96, 4.3100000000000005, 4.82, 5.0, 5.14, 5.59, 5.94, 6.62]);
    expect(ref.decileShares.map((s) => Math.round(s * 100) / 100)).toEqual([0.1, 0.1, 0.1, 0.1, 0.05, 0.15, 0.1, 0.1, 0.1, 0.1]);
    expect(ref.mean).toBeCloseTo(4.99, 14);
    expect(ref.std).toBeCloseTo(1.1759676866308868, 14);

    const [x] = measureDrift(reference, batch(15, { x: Float64Array.from(CUR) })).features;
    expect(x.ks!.statistic).toBeCloseTo(0.5166666666666667, 14);
    expect(x.ks!.pValue).toBeCloseTo(0.02058805169097875, 13);
    expect(x.wasserstein).toBeCloseTo(1.2443652576251822, 13);
    expect(x.psi).toBeCloseTo(3.0639209793671, 12);
    expect(x).toMatchObject({ method: 'KS', threshold: 0.05, drifted: true, psiBand: 'MAJOR', referenceCount: 20, currentCount: 15 });
    expect(x.score).toBe(x.ks!.pValue);
  });

  it('gathers unseen categories in one "other" bin, lists them most frequent first, and drifts', () => {
    const reference = buildReference([specs[1]], batch(100, { colour: repeat({ red: 40, green: 35, blue: 25 }) }));
    const current = batch(103, { colour: repeat({ red: 30, green: 20, blue: 30, purple: 12, teal: 8 }) });
    const [colour] = measureDrift(reference, { ...current, missing: new Map([['colour', 3]]) }).features;
    expect(colour.chiSquare!.statistic).toBeCloseTo(39973.935564285704, 7);
    expect(colour.chiSquare!.degreesOfFreedom).toBe(3);
    expect(colour.jensenShannon).toBeCloseTo(0.29050699735258717, 14);
    expect(colour.psi).toBeCloseTo(1.6412470549376517, 13);
    expect(colour).toMatchObject({ method: 'CHI_SQUARE', score: 0, drifted: true, unseenCategories: ['purple', 'teal'], unseenCategoryCount: 2, currentCount: 100, currentMissing: 3, ks: null, wasserstein: null });
  });

  it('decides by Wasserstein and Jensen–Shannon above 1,000 reference values, drifting on N(0,1) against N(0.5,1)', () => {
    const reference = buildReference([specs[0]], batch(5_000, { x: normal(1, 5_000, 0) }));
    const same = measureDrift(reference, batch(5_000, { x: normal(2, 5_000, 0) })).features[0];
    const shifted = measureDrift(reference, batch(5_000, { x: normal(3, 5_000, 0.5) })).features[0];
    expect(same).toMatchObject({ method: 'WASSERSTEIN', threshold: 0.1, drifted: false });
    expect(same.wasserstein).toBeLessThan(0.05);
    expect(shifted).toMatchObject({ method: 'WASSERSTEIN', drifted: true, psiBand: 'MODERATE' });
    expect(shifted.wasserstein).toBeGreaterThan(0.4);
    expect(shifted.wasserstein).toBeLessThan(0.6);
    expect(shifted.ks!.pValue).toBeLessThan(1e-12);

    const small = buildReference([specs[0]], batch(500, { x: normal(4, 500, 0) }));
    const ks = measureDrift(small, batch(500, { x: normal(5, 500, 0.5) })).features[0];
    expect(ks).toMatchObject({ method: 'KS', drifted: true });
    expect(ks.score).toBeLessThan(1e-6);

    const colours = buildReference([specs[1]], batch(2_000, { colour: repeat({ red: 800, green: 700, blue: 500 }) }));
    const js = measureDrift(colours, batch(100, { colour: repeat({ red: 41, green: 34, blue: 25 }) })).features[0];
    expect(js).toMatchObject({ method: 'JENSEN_SHANNON', threshold: 0.1, drifted: false });
  });

  it('measures against a sketched reference within the sketch bound, its p-value from the full count', () => {
    const data = batch(5_000, { x: normal(6, 5_000, 0) });
    const current = batch(2_000, { x: normal(7, 2_000, 0.1) });
    const exact = measureDrift(buildReference([specs[0]], data), current, { numericMethod: 'KS' }).features[0];
    const sketched = measureDrift(buildReference([specs[0]], data, { exactLimit: 1_000, sketchPoints: 1_001 }), current, { numericMethod: 'KS' }).features[0];
    expect(sketched.referenceCount).toBe(5_000);
    expect(Math.abs(sketched.ks!.statistic - exact.ks!.statistic)).toBeLessThanOrEqual(1 / 1_000 + 1 / 5_000);
    expect(sketched.psi).toBe(exact.psi);
    expect(sketched.drifted).toBe(exact.drifted);
  });

  it('compares a numeric feature with at most 5 distinct values as categories, as Evidently', () => {
    const flags = Float64Array.from([...Array<number>(50).fill(0), ...Array<number>(50).fill(1)]);
    const reference = buildReference([specs[0]], batch(100, { x: flags }));
    const [x] = measureDrift(reference, batch(100, { x: Float64Array.from([...Array<number>(61).fill(0), ...Array<number>(39).fill(1)]) })).features;
    expect(x.method).toBe('CHI_SQUARE');
    expect(x.chiSquare!.statistic).toBeCloseTo(4.84, 12);
    expect(x.chiSquare!.pValue).toBeCloseTo(0.027806895026997264, 12);
    expect(x.ks).not.toBeNull();

    // Six distinct values with the batch's: KS again.
    const [wide] = measureDrift(reference, batch(6, { x: Float64Array.of(0, 1, 2, 3, 4, 5) })).features;
    expect(wide.method).toBe('KS');
    expect(wide.chiSquare).toBeNull();
  });

  it('divides the p-value thresholds by the number of p-value tests under Bonferroni', () => {
    const flags = (zeros: number, ones: number) => Float64Array.from([...Array<number>(zeros).fill(0), ...Array<number>(ones).fill(1)]);
    const twoSpecs: FeatureSpec[] = [
      { name: 'flag', kind: 'NUMERIC' },
      { name: 'colour', kind: 'CATEGORICAL' },
    ];
    const reference = buildReference(twoSpecs, batch(100, { flag: flags(50, 50), colour: repeat({ red: 50, blue: 50 }) }));
    const current = batch(100, { flag: flags(61, 39), colour: repeat({ red: 50, blue: 50 }) });

    const plain = measureDrift(reference, current);
    expect(plain.features[0]).toMatchObject({ method: 'CHI_SQUARE', threshold: 0.05, drifted: true });
    expect(plain).toMatchObject({ driftedFeatures: 1, driftedShare: 0.5, drifted: true });

    const corrected = measureDrift(reference, current, { bonferroni: true });
    expect(corrected.features[0]).toMatchObject({ threshold: 0.025, drifted: false });
    expect(corrected).toMatchObject({ driftedFeatures: 0, drifted: false });
  });

  it('uses the method and thresholds asked for', () => {
    const reference = buildReference(specs, batch(20, { x: Float64Array.from(REF), colour: repeat({ red: 10, blue: 10 }) }));
    const current = batch(15, { x: Float64Array.from(CUR), colour: repeat({ red: 8, blue: 7 }) });
    const result = measureDrift(reference, current, { numericMethod: 'PSI', categoricalMethod: 'PSI', psiThreshold: 5, driftShare: 0.4 });
    expect(result.features.map((f) => [f.method, f.threshold, f.drifted])).toEqual([
      ['PSI', 5, false],
      ['PSI', 5, false],
    ]);
    const wasserstein = measureDrift(reference, current, { numericMethod: 'WASSERSTEIN', categoricalMethod: 'JENSEN_SHANNON', driftShare: 0.5 });
    expect(wasserstein.features.map((f) => [f.method, f.drifted])).toEqual([
      ['WASSERSTEIN', true],
      ['JENSEN_SHANNON', false],
    ]);
    expect(wasserstein.drifted).toBe(true);
  });

  it('divides Wasserstein by 0.001 when the reference is constant', () => {
    const reference = buildReference([specs[0]], batch(3, { x: Float64Array.of(2, 2, 2) }));
    const [x] = measureDrift(reference, batch(2, { x: Float64Array.of(2, 2.001) }), { numericMethod: 'WASSERSTEIN' }).features;
    expect(x.wasserstein).toBeCloseTo(0.5, 9);
  });

  it('counts NaNs as missing and rejects a batch that lacks a feature or any value of one', () => {
    const reference = buildReference(specs, batch(20, { x: Float64Array.from(REF), colour: repeat({ red: 10, blue: 10 }) }));
    const [x] = measureDrift(reference, batch(3, { x: Float64Array.of(5, Number.NaN, 6), colour: ['red', 'blue', 'red'] })).features;
    expect(x).toMatchObject({ currentCount: 2, currentMissing: 1 });
    expect(() => measureDrift(reference, batch(3, { x: Float64Array.of(1, 2, 3) }))).toThrow(new ValidationError('the batch lacks the feature column(s) colour'));
    expect(() => measureDrift(reference, batch(2, { x: Float64Array.of(Number.NaN, Number.NaN), colour: ['red', 'red'] }))).toThrow('numeric feature x has no value in the batch (2 missing)');
    expect(() => measureDrift(reference, batch(1, { x: ['1'], colour: ['red'] }))).toThrow('numeric feature x needs a Float64Array column in the batch, got an array');
  });
});
