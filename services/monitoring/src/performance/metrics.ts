import { type PerformanceMetric, ValidationError } from '@modeltrail/contracts';

/** A model's output or a ground-truth value, as monitoring ingests it: a class label, a number, or a boolean class. */
export type PredictionValue = number | string | boolean;

/** A prediction and its ground truth, as a window of labelled predictions holds them. */
export interface LabelledPair {
  prediction: PredictionValue;
  actual: PredictionValue;
  /** Named in errors when present. */
  predictionId?: string;
}

export const CLASSIFICATION_METRICS = ['accuracy', 'precision', 'recall', 'f1'] as const satisfies ReadonlyArray<PerformanceMetric>;
export const REGRESSION_METRICS = ['rmse', 'mae'] as const satisfies ReadonlyArray<PerformanceMetric>;
export type ClassificationMetric = (typeof CLASSIFICATION_METRICS)[number];
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];

/** Whether a larger value of the metric is better: accuracy, precision, recall, F1 yes; RMSE, MAE no. */
export function higherIsBetter(metric: PerformanceMetric): boolean {
  return (CLASSIFICATION_METRICS as ReadonlyArray<string>).includes(metric);
}

export interface ClassificationMetrics {
  count: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** BINARY: precision, recall and F1 of `positiveLabel`; MACRO: the unweighted mean over `labels` of each class's value. */
  average: 'BINARY' | 'MACRO';
  /** The positive class (BINARY), null for MACRO. */
  positiveLabel: string | null;
  /** Every class seen among the predictions and the actual values, sorted. */
  labels: string[];
}

export interface RegressionMetrics {
  count: number;
  /** Root mean squared error. */
  rmse: number;
  /** Mean absolute error. */
  mae: number;
}

const MAX_NAMED = 20;

/**
 * Accuracy, precision, recall and F1 of classified predictions.
 *
 * Labels are compared by their text: the number 1 and the string "1" are one class (a model
 * answering 1 and ground truth read from a CSV as "1" agree), and so are true and "true".
 *
 * - With `positiveLabel`, binary: precision = TP / (TP + FP), recall = TP / (TP + FN),
 *   F1 = 2PR / (P + R), of that class against all others.
 * - Without it, when every label is 0 or 1: binary with 1 as the positive class (scikit-learn's
 *   default, `average='binary', pos_label=1`); when every label is true or false: binary with
 *   true as the positive class.
 * - Otherwise multiclass, macro averages: precision, recall and F1 are computed per class over
 *   every class seen among the predictions and the actual values, then averaged unweighted
 *   (F1 is the mean of the per-class F1s, as scikit-learn's `average='macro'`, not the F1 of
 *   the mean precision and recall).
 *
 * A ratio with nothing to divide by (no prediction of a class, no actual of it) counts as 0, as
 * scikit-learn's `zero_division` does by default. Accuracy is the share of exact matches.
 */
export function classificationMetrics(pairs: ReadonlyArray<LabelledPair>, options: { positiveLabel?: PredictionValue } = {}): ClassificationMetrics {
  if (pairs.length === 0) throw new ValidationError('classification metrics need at least one labelled prediction', { field: 'pairs' });
  const bad = pairs.flatMap((pair, index) => (isLabel(pair.prediction) && isLabel(pair.actual) ? [] : [describe(pair, index)]));
  if (bad.length) throw new ValidationError(`labels must be strings, finite numbers or booleans: ${named(bad)}`, { field: 'pairs', predictions: bad.slice(0, MAX_NAMED) });
  if (options.positiveLabel !== undefined && !isLabel(options.positiveLabel)) throw new ValidationError('positiveLabel must be a string, a finite number or a boolean', { field: 'positiveLabel' });

  const predicted = pairs.map((p) => String(p.prediction));
  const actual = pairs.map((p) => String(p.actual));
  const labels = [...new Set([...predicted, ...actual])].sort();
  const correct = predicted.filter((p, i) => p === actual[i]).length;
  const accuracy = correct / pairs.length;

  const positive =
    options.positiveLabel !== undefined
      ? String(options.positiveLabel)
      : labels.every((l) => l === '0' || l === '1')
        ? '1'
        : labels.every((l) => l === 'false' || l === 'true')
          ? 'true'
          : null;
  if (positive !== null) {
    const { precision, recall, f1 } = classScores(predicted, actual, positive);
    return { count: pairs.length, accuracy, precision, recall, f1, average: 'BINARY', positiveLabel: positive, labels };
  }
  const scores = labels.map((label) => classScores(predicted, actual, label));
  const mean = (key: 'precision' | 'recall' | 'f1') => scores.reduce((sum, s) => sum + s[key], 0) / scores.length;
  return { count: pairs.length, accuracy, precision: mean('precision'), recall: mean('recall'), f1: mean('f1'), average: 'MACRO', positiveLabel: null, labels };
}

/**
 * Root mean squared error and mean absolute error of numeric predictions. A value must be a
 * finite number, or a string holding one ("3.5"); anything else (a boolean, a word) is a
 * ValidationError naming the predictions (a classifier's labels sent to a regression monitor, say).
 */
export function regressionMetrics(pairs: ReadonlyArray<LabelledPair>): RegressionMetrics {
  if (pairs.length === 0) throw new ValidationError('regression metrics need at least one labelled prediction', { field: 'pairs' });
  const bad: string[] = [];
  let squared = 0;
  let absolute = 0;
  pairs.forEach((pair, index) => {
    const prediction = numeric(pair.prediction);
    const actual = numeric(pair.actual);
    if (prediction === null || actual === null) {
      bad.push(describe(pair, index));
      return;
    }
    const error = prediction - actual;
    squared += error * error;
    absolute += Math.abs(error);
  });
  if (bad.length) throw new ValidationError(`regression metrics need numeric predictions and actual values: ${named(bad)}`, { field: 'pairs', predictions: bad.slice(0, MAX_NAMED) });
  return { count: pairs.length, rmse: Math.sqrt(squared / pairs.length), mae: absolute / pairs.length };
}

function classScores(predicted: ReadonlyArray<string>, actual: ReadonlyArray<string>, label: string): { precision: number; recall: number; f1: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < predicted.length; i++) {
    const p = predicted[i] === label;
    const a = actual[i] === label;
    if (p && a) tp++;
    else if (p) fp++;
    else if (a) fn++;
  }
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

function isLabel(value: unknown): value is PredictionValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function numeric(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string' || value.trim() === '') return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function describe(pair: LabelledPair, index: number): string {
  const what = `${JSON.stringify(pair.prediction)} vs ${JSON.stringify(pair.actual)}`;
  return pair.predictionId !== undefined ? `${pair.predictionId} (${what})` : `#${index} (${what})`;
}

function named(items: ReadonlyArray<string>): string {
  const shown = items.slice(0, MAX_NAMED).join(', ');
  return items.length > MAX_NAMED ? `${shown} and ${items.length - MAX_NAMED} more` : shown;
}
