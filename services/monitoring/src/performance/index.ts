/**
 * Performance measurement of deployed models: predictions and their ground truth kept per
 * deployment, windows of labelled predictions in label-arrival order, the metrics of a window,
 * and their comparison with the model's training-time figures.
 *
 * Pure functions (no I/O):
 *   classificationMetrics(pairs, { positiveLabel? }) -> { count, accuracy, precision, recall, f1, average: 'BINARY' | 'MACRO', positiveLabel, labels }
 *       binary with `positiveLabel` (or when every label is 0/1: positive 1; true/false:
 *       positive true); otherwise multiclass with macro averages (unweighted mean of the
 *       per-class values, as scikit-learn's average='macro'); a ratio with nothing to divide by
 *       counts 0. Labels compare by their text (1 and "1" are one class).
 *   regressionMetrics(pairs) -> { count, rmse, mae }
 *       values must be finite numbers (or strings holding one): ValidationError otherwise.
 *   comparePerformance(measured, snapshot: MetricSummary[], { metric, baselineKey?, tolerance, toleranceKind? })
 *       -> [{ metric, measured, baselineKey, baseline (the snapshot's `last`, or null), delta, relativeChange, degraded }]
 *       degraded = worse than the baseline by more than the tolerance: RELATIVE (default, a
 *       fraction of the baseline, as a monitor's performanceTolerance) or ABSOLUTE (metric
 *       units); worse = lower for accuracy / precision / recall / f1, higher for rmse / mae.
 *       `relativeChange` is the contract's PerformanceComparison.relativeChange.
 *   higherIsBetter(metric), CLASSIFICATION_METRICS, REGRESSION_METRICS
 *
 * PredictionStore (new PredictionStore(schema)), every method on a pg client inside the
 * caller's transaction (READ COMMITTED):
 *   record(client, deploymentId, [{ predictionId, prediction, predictedAt? }], recordedAt?) -> { recorded, alreadyStored }
 *       idempotent per id and value; the same id with another value: ConflictError naming ids.
 *   label(client, deploymentId, [{ predictionId, actual }], labelledAt?) -> { labelled }
 *       new labels numbered in arrival order; unknown ids: NotFoundError naming up to 20;
 *       labelled before with another value: ConflictError; the same value: passed over.
 *   labelled(client, deploymentId) -> number of labels so far
 *       pending (IngestGroundTruthReply) = labelled - windowSize * (windows measured).
 *   takeWindows(client, deploymentId, windowSize, nextWindow, { maxWindows? })
 *       -> [{ window, firstLabel, lastLabel, pairs: [{ predictionId, prediction, actual }], firstPredictedAt, lastPredictedAt, firstLabelledAt, lastLabelledAt }]
 *       the complete windows from `nextWindow` (1-based, as PerformanceMeasured.window) on;
 *       measure each once (one PerformanceMeasured per window), then ask again from the
 *       window after the last. firstPredictedAt/lastPredictedAt fall back to the time a
 *       prediction was recorded when it came without predictedAt.
 *
 * predictionStoreMigration(id) is the store's tables as a migration: append it to the
 * monitoring service's migrations under the next free id (e.g. `0002_predictions`).
 */
export { baselineKeys, comparePerformance, type CompareOptions, type MetricComparison } from './compare';
export {
  CLASSIFICATION_METRICS,
  type ClassificationMetric,
  classificationMetrics,
  type ClassificationMetrics,
  higherIsBetter,
  type LabelledPair,
  type PredictionValue,
  REGRESSION_METRICS,
  type RegressionMetric,
  regressionMetrics,
  type RegressionMetrics,
} from './metrics';
export {
  type GroundTruth,
  PREDICTION_LIMITS,
  type PredictionWindow,
  PredictionStore,
  predictionStoreMigration,
  type Queryable,
  type RecordedPrediction,
  type WindowPair,
} from './prediction.store';
