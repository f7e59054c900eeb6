import { ValidationError } from '@modeltrail/contracts';
import { baselineKeys, comparePerformance } from './compare';
import { classificationMetrics, type LabelledPair, regressionMetrics } from './metrics';

/*
 * Expected figures computed independently with numpy (scikit-learn is not installed here), from
 * the confusion counts per class, zero division counted as 0 (scikit-learn's default):
 *
 *   import numpy as np
 *   def cls(actual, pred, pos=None):
 *       a = np.array(actual, dtype=object); p = np.array(pred, dtype=object)
 *       acc = np.mean(a == p)
 *       def scores(c):
 *           tp = np.sum((p == c) & (a == c)); fp = np.sum((p == c) & (a != c)); fn = np.sum((p != c) & (a == c))
 *           P = tp / (tp + fp) if tp + fp else 0.0; R = tp / (tp + fn) if tp + fn else 0.0
 *           return P, R, (2 * P * R / (P + R) if P + R else 0.0)
 *       if pos is not None: return (acc, *scores(pos))
 *       per = [scores(c) for c in sorted(set(actual) | set(pred))]
 *       return (acc, *np.mean(per, axis=0))          # macro: unweighted mean of per-class P, R, F1
 *   cls([1,0,1,1,0,1,0,0,1,1], [1,0,0,1,0,1,1,0,1,0], 1)  # 0.7, 0.8, 0.6666666666666666, 0.7272727272727272
 *   cls([1,0,1,1,0,1,0,0,1,1], [1,0,0,1,0,1,1,0,1,0], 0)  # 0.7, 0.6, 0.75, 0.6666666666666665
 *   cls(['yes','no','no','yes','no'], ['yes','yes','no','no','no'], 'yes')  # 0.6, 0.5, 0.5, 0.5
 *   cls(ANIMALS_ACTUAL, ANIMALS_PREDICTED)  # 0.6363636363636364, 0.5208333333333333, 0.47916666666666663, 0.49702380952380953
 *   a = np.array([3.0, -0.5, 2, 7, 4.2]); p = np.array([2.5, 0.0, 2, 8, 3.9])
 *   np.sqrt(np.mean((p - a) ** 2)), np.mean(np.abs(p - a))  # 0.5639148871948674, 0.4600000000000001
 *
 * By hand, the binary case: TP = 4 (rows 0, 3, 5, 8), FP = 1 (row 6), FN = 2 (rows 2, 9), TN = 3;
 * precision 4/5, recall 4/6, F1 = 2 * 0.8 * 0.667 / 1.467 = 8/11.
 */
const pairs = (actual: ReadonlyArray<number | string>, predicted: ReadonlyArray<number | string>): LabelledPair[] => actual.map((a, i) => ({ actual: a, prediction: predicted[i] }));

const BINARY_ACTUAL = [1, 0, 1, 1, 0, 1, 0, 0, 1, 1];
const BINARY_PREDICTED = [1, 0, 0, 1, 0, 1, 1, 0, 1, 0];
const ANIMALS_ACTUAL = ['cat', 'dog', 'bird', 'cat', 'dog', 'cat', 'bird', 'dog', 'cat', 'bird', 'dog'];
const ANIMALS_PREDICTED = ['cat', 'dog', 'cat', 'cat', 'bird', 'dog', 'bird', 'dog', 'cat', 'bird', 'fish'];

function expectMetrics(actual: { accuracy: number; precision: number; recall: number; f1: number }, expected: [number, number, number, number]) {
  expect(actual.accuracy).toBeCloseTo(expected[0], 12);
  expect(actual.precision).toBeCloseTo(expected[1], 12);
  expect(actual.recall).toBeCloseTo(expected[2], 12);
  expect(actual.f1).toBeCloseTo(expected[3], 12);
}

describe('classificationMetrics', () => {
  it('measures a binary classifier against its positive label, 1 by default when the labels are 0 and 1', () => {
    const byDefault = classificationMetrics(pairs(BINARY_ACTUAL, BINARY_PREDICTED));
    expect(byDefault).toMatchObject({ count: 10, average: 'BINARY', positiveLabel: '1', labels: ['0', '1'] });
    expectMetrics(byDefault, [0.7, 0.8, 0.6666666666666666, 0.7272727272727272]);
    expectMetrics(classificationMetrics(pairs(BINARY_ACTUAL, BINARY_PREDICTED), { positiveLabel: 0 }), [0.7, 0.6, 0.75, 0.6666666666666665]);
    const words = classificationMetrics(pairs(['yes', 'no', 'no', 'yes', 'no'], ['yes', 'yes', 'no', 'no', 'no']), { positiveLabel: 'yes' });
    expect(words).toMatchObject({ average: 'BINARY', positiveLabel: 'yes' });
    expectMetrics(words, [0.6, 0.5, 0.5, 0.5]);
  });

  it('macro-averages a multiclass classifier over every class seen, a class never predicted or never true scoring 0', () => {
    const result = classificationMetrics(pairs(ANIMALS_ACTUAL, ANIMALS_PREDICTED));
    expect(result).toMatchObject({ count: 11, average: 'MACRO', positiveLabel: null, labels: ['bird', 'cat', 'dog', 'fish'] });
    expectMetrics(result, [0.6363636363636364, 0.5208333333333333, 0.47916666666666663, 0.49702380952380953]);
  });

  it('takes the number 1 and the string "1" for one class, true as the positive of booleans, and has nothing to divide by as 0', () => {
    expectMetrics(classificationMetrics(pairs(['1', '0', 1], [1, 0, '1'])), [1, 1, 1, 1]);
    // The binary fixture above with true for 1.
    const booleans = classificationMetrics(BINARY_ACTUAL.map((a, i) => ({ actual: a === 1, prediction: BINARY_PREDICTED[i] === 1 })));
    expect(booleans).toMatchObject({ average: 'BINARY', positiveLabel: 'true' });
    expectMetrics(booleans, [0.7, 0.8, 0.6666666666666666, 0.7272727272727272]);
    expectMetrics(classificationMetrics(pairs([0, 0], [0, 0])), [1, 0, 0, 0]);
  });

  it('refuses an empty window and values that are not labels', () => {
    expect(() => classificationMetrics([])).toThrow(ValidationError);
    expect(() => classificationMetrics([{ predictionId: 'p-7', prediction: Number.NaN, actual: 1 }])).toThrow(/p-7/);
    expect(() => regressionMetrics([{ predictionId: 'p-8', prediction: true, actual: 1 }])).toThrow(/p-8/);
  });
});

describe('regressionMetrics', () => {
  it('measures RMSE and MAE, numeric strings read as numbers', () => {
    const result = regressionMetrics(pairs([3.0, -0.5, 2, 7, 4.2], [2.5, 0.0, 2, 8, '3.9']));
    expect(result.count).toBe(5);
    expect(result.rmse).toBeCloseTo(0.5639148871948674, 12);
    expect(result.mae).toBeCloseTo(0.4600000000000001, 12);
  });

  it('refuses values that are not numbers, naming the predictions', () => {
    const error = (() => {
      try {
        regressionMetrics([
          { predictionId: 'a', prediction: 1, actual: 2 },
          { predictionId: 'b', prediction: 'cat', actual: 2 },
          { predictionId: 'c', prediction: 1, actual: '' },
        ]);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a ValidationError');
    })();
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('regression metrics need numeric predictions and actual values: b ("cat" vs 2), c (1 vs "")');
    expect(() => regressionMetrics([])).toThrow(ValidationError);
  });
});

describe('comparePerformance', () => {
  const snapshot = [
    { key: 'accuracy', last: 0.9, min: 0.5, max: 0.92, count: 10, lastStep: 9 },
    { key: 'val_f1', last: 0.8, min: 0.4, max: 0.8, count: 10, lastStep: 9 },
    { key: 'rmse', last: 1.5, min: 1.5, max: 4, count: 10, lastStep: 9 },
    { key: 'mae', last: 0, min: 0, max: 1, count: 10, lastStep: 9 },
  ];

  it('is degraded when worse than the baseline by more than a fraction of it, by the metric direction', () => {
    // 5 % of 0.9 is 0.045: 0.855 is exactly that much worse (0.9 - 0.855 = 0.04500000000000004 in floating point), 0.85 more.
    const [edge] = comparePerformance({ accuracy: 0.855 }, snapshot, { metric: 'accuracy', tolerance: 0.05 });
    expect(edge).toMatchObject({ metric: 'accuracy', measured: 0.855, baselineKey: 'accuracy', baseline: 0.9, degraded: false });
    expect(edge.delta).toBeCloseTo(-0.045, 12);
    expect(edge.relativeChange).toBeCloseTo(0.05, 12);
    const [worse] = comparePerformance({ accuracy: 0.85 }, snapshot, { metric: 'accuracy', tolerance: 0.05 });
    expect(worse.degraded).toBe(true);
    expect(worse.relativeChange).toBeCloseTo(0.05 / 0.9, 12);
    expect(comparePerformance({ accuracy: 0.99 }, snapshot, { metric: 'accuracy', tolerance: 0 })[0]).toMatchObject({ degraded: false, relativeChange: expect.any(Number) });
    expect(comparePerformance({ accuracy: 0.99 }, snapshot, { metric: 'accuracy', tolerance: 0 })[0].relativeChange).toBeCloseTo(-0.1, 12);
    // Lower is better for errors: a higher RMSE is the worse one (20 % of 1.5 is 0.3).
    expect(comparePerformance({ rmse: 1.8 }, snapshot, { metric: 'rmse', tolerance: 0.2 })[0]).toMatchObject({ baseline: 1.5, degraded: false });
    const [rmse] = comparePerformance({ rmse: 1.81 }, snapshot, { metric: 'rmse', tolerance: 0.2 });
    expect(rmse.degraded).toBe(true);
    expect(rmse.delta).toBeCloseTo(0.31, 12);
    expect(comparePerformance({ rmse: 1.0 }, snapshot, { metric: 'rmse', tolerance: 0 })[0].degraded).toBe(false);
    // A baseline of 0 has no fraction: any worsening is degraded.
    expect(comparePerformance({ mae: 0.01 }, snapshot, { metric: 'mae', tolerance: 0.5 })[0]).toMatchObject({ baseline: 0, relativeChange: null, degraded: true });
  });

  it('takes an absolute tolerance in the metric units when asked', () => {
    expect(comparePerformance({ accuracy: 0.85 }, snapshot, { metric: 'accuracy', tolerance: 0.05, toleranceKind: 'ABSOLUTE' })[0].degraded).toBe(false);
    expect(comparePerformance({ accuracy: 0.84 }, snapshot, { metric: 'accuracy', tolerance: 0.05, toleranceKind: 'ABSOLUTE' })[0].degraded).toBe(true);
    expect(comparePerformance({ mae: 0.01 }, snapshot, { metric: 'mae', tolerance: 0.05, toleranceKind: 'ABSOLUTE' })[0].degraded).toBe(false);
  });

  it('reads the baseline under another key, compares several metrics, and has no baseline for a metric the run did not log', () => {
    const result = comparePerformance({ f1: 0.7, accuracy: 0.9, precision: 0.5 }, snapshot, { metric: ['f1', 'accuracy', 'precision'], baselineKey: { f1: 'val_f1' }, tolerance: 0.05 });
    expect(result).toEqual([
      { metric: 'f1', measured: 0.7, baselineKey: 'val_f1', baseline: 0.8, delta: 0.7 - 0.8, relativeChange: (0.8 - 0.7) / 0.8, degraded: true },
      { metric: 'accuracy', measured: 0.9, baselineKey: 'accuracy', baseline: 0.9, delta: 0, relativeChange: 0, degraded: false },
      { metric: 'precision', measured: 0.5, baselineKey: 'precision', baseline: null, delta: null, relativeChange: null, degraded: false },
    ]);
    expect(comparePerformance({ f1: 0.8 }, snapshot, { metric: 'f1', baselineKey: 'val_f1', tolerance: 0 })[0]).toMatchObject({ baseline: 0.8, degraded: false });
  });

  it('refuses a metric not measured, an unknown metric and a negative tolerance', () => {
    expect(() => comparePerformance({ accuracy: 0.9, rmse: null }, snapshot, { metric: 'rmse', tolerance: 0 })).toThrow('rmse was not measured (measured: accuracy)');
    expect(() => comparePerformance({ accuracy: 0.9 }, snapshot, { metric: 'auc' as never, tolerance: 0 })).toThrow(ValidationError);
    expect(() => comparePerformance({ accuracy: 0.9 }, snapshot, { metric: 'accuracy', tolerance: -0.1 })).toThrow(ValidationError);
    expect(() => comparePerformance({ accuracy: 0.9, f1: 0.1 }, snapshot, { metric: ['accuracy', 'f1'], baselineKey: 'val_f1', tolerance: 0 })).toThrow(ValidationError);
  });
});

describe('baselineKeys', () => {
  const summary = (key: string) => ({ key, last: 0.9, min: 0.5, max: 0.95, count: 10, lastStep: 9 });

  it("takes the metric's own name first, then its held-out forms (val/ before val_ before test/), and leaves out what the run never logged", () => {
    expect(baselineKeys([summary('train/accuracy'), summary('val/accuracy'), summary('test/accuracy')], ['accuracy', 'precision'])).toEqual({ accuracy: 'val/accuracy' });
    expect(baselineKeys([summary('val/f1'), summary('f1'), summary('val_recall'), summary('eval/precision')], ['f1', 'recall', 'precision'])).toEqual({ f1: 'f1', recall: 'val_recall', precision: 'eval/precision' });
    expect(baselineKeys([summary('train/rmse')], ['rmse', 'mae'])).toEqual({});
  });

  it('lets comparePerformance judge a window against the held-out value of the training run', () => {
    const snapshot = [summary('val/accuracy')];
    const [compared] = comparePerformance({ accuracy: 0.7 }, snapshot, { metric: ['accuracy'], tolerance: 0.05, baselineKey: baselineKeys(snapshot, ['accuracy']) });
    expect(compared).toMatchObject({ metric: 'accuracy', baselineKey: 'val/accuracy', baseline: 0.9, degraded: true });
  });
});
