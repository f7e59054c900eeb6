import { type MetricSummary, PERFORMANCE_METRICS, type PerformanceMetric, ValidationError } from '@modeltrail/contracts';
import { higherIsBetter } from './metrics';

/** One measured metric against the model's own figure at training time. */
export interface MetricComparison {
  metric: PerformanceMetric;
  measured: number;
  /** The snapshot key the baseline was read from. */
  baselineKey: string;
  /** The training run's `last` value of `baselineKey`; null when the snapshot has no such metric. */
  baseline: number | null;
  /** measured - baseline (null without a baseline). */
  delta: number | null;
  /**
   * How much worse than the baseline, as a fraction of it (|baseline|): positive worse,
   * negative better, in the metric's direction; null without a baseline or when it is 0.
   */
  relativeChange: number | null;
  /** Worse than the baseline by more than the tolerance, in the metric's direction; false without a baseline. */
  degraded: boolean;
}

export interface CompareOptions {
  /** The metric to compare, or several. */
  metric: PerformanceMetric | ReadonlyArray<PerformanceMetric>;
  /**
   * The snapshot key holding the baseline when it is not the metric's own name (`val_accuracy`
   * for accuracy, say); with several metrics, a key per metric (the others use their name).
   */
  baselineKey?: string | Partial<Record<PerformanceMetric, string>>;
  /**
   * How much worse than the baseline is still not degraded. RELATIVE (the default, as a
   * monitor's `performanceTolerance`): a fraction of the baseline (0.05: 5 % of it).
   * ABSOLUTE: in the metric's own units (0.02: two points of accuracy).
   */
  tolerance: number;
  toleranceKind?: 'RELATIVE' | 'ABSOLUTE';
}

/** Where a training script usually logs the held-out value of a metric, in the order looked for. */
const BASELINE_KEY_FORMS = ['{m}', 'val/{m}', 'val_{m}', 'validation/{m}', 'validation_{m}', 'eval/{m}', 'eval_{m}', 'test/{m}', 'test_{m}'] as const;

/**
 * The snapshot key that holds each metric's baseline: the metric's own name (`accuracy`) when the
 * run logged it, else its held-out forms in this order: `val/`, `val_`, `validation/`,
 * `validation_`, `eval/`, `eval_`, `test/`, `test_` (so `val/accuracy` for accuracy). Metrics
 * with none of them are left out (and compared with nothing).
 */
export function baselineKeys(snapshot: ReadonlyArray<MetricSummary>, metrics: ReadonlyArray<PerformanceMetric>): Partial<Record<PerformanceMetric, string>> {
  const logged = new Set(snapshot.map((m) => m.key));
  const keys: Partial<Record<PerformanceMetric, string>> = {};
  for (const metric of metrics) {
    const key = BASELINE_KEY_FORMS.map((form) => form.replace('{m}', metric)).find((candidate) => logged.has(candidate));
    if (key !== undefined) keys[metric] = key;
  }
  return keys;
}

/**
 * Compares measured metrics with the training-time snapshot of the deployed model's run
 * (`MetricSummary[]`, each metric's `last` value as the baseline). A metric is degraded when it
 * is worse than its baseline by more than the tolerance: lower for accuracy, precision, recall
 * and F1, higher for RMSE and MAE. A worsening equal to the tolerance (within floating-point
 * rounding: 0.9 - 0.85 is 0.05000000000000004) is not degraded. With a RELATIVE tolerance and a
 * baseline of 0 (a perfect RMSE, a zero accuracy), any worsening is degraded.
 */
export function comparePerformance(measured: Partial<Record<PerformanceMetric, number | null>>, snapshot: ReadonlyArray<MetricSummary>, options: CompareOptions): MetricComparison[] {
  if (!(Number.isFinite(options.tolerance) && options.tolerance >= 0)) throw new ValidationError(`tolerance must be a finite number >= 0, got ${options.tolerance}`, { field: 'tolerance' });
  const relative = (options.toleranceKind ?? 'RELATIVE') === 'RELATIVE';
  const metrics: ReadonlyArray<PerformanceMetric> = typeof options.metric === 'string' ? [options.metric] : options.metric;
  if (metrics.length === 0) throw new ValidationError('name at least one metric to compare', { field: 'metric' });
  if (typeof options.baselineKey === 'string' && metrics.length > 1) throw new ValidationError('with several metrics, baselineKey must be a key per metric ({ accuracy: "val_accuracy", ... })', { field: 'baselineKey' });
  const unknown = metrics.filter((m) => !(PERFORMANCE_METRICS as ReadonlyArray<string>).includes(m));
  if (unknown.length) throw new ValidationError(`cannot compare ${unknown.join(', ')}: the metrics measured are ${PERFORMANCE_METRICS.join(', ')}`, { field: 'metric' });
  const byKey = new Map(snapshot.map((s) => [s.key, s.last]));
  return metrics.map((metric) => {
    const value = measured[metric];
    if (value === undefined || value === null || !Number.isFinite(value)) {
      const given = Object.entries(measured).filter(([, v]) => v !== null && v !== undefined).map(([k]) => k);
      throw new ValidationError(`${metric} was not measured (measured: ${given.join(', ') || 'nothing'})`, { field: 'measured', metric });
    }
    const key = typeof options.baselineKey === 'string' ? options.baselineKey : (options.baselineKey?.[metric] ?? metric);
    const baseline = byKey.get(key) ?? null;
    if (baseline === null) return { metric, measured: value, baselineKey: key, baseline: null, delta: null, relativeChange: null, degraded: false };
    const worsening = higherIsBetter(metric) ? baseline - value : value - baseline;
    const scale = Math.abs(baseline);
    const relativeChange = scale === 0 ? null : worsening / scale;
    const allowed = relative ? options.tolerance * scale : options.tolerance;
    const slack = 1e-12 * Math.max(1, scale, Math.abs(value));
    return { metric, measured: value, baselineKey: key, baseline, delta: value - baseline, relativeChange, degraded: worsening > allowed + slack };
  });
}
