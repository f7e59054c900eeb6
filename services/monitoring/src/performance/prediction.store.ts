import type { ClientBase } from 'pg';
import { ConflictError, NotFoundError, ValidationError } from '@modeltrail/contracts';
import { ident, type Migration } from '@modeltrail/postgres';
import type { PredictionValue } from './metrics';

/** What a statement needs of a client: `query` (a PoolClient inside the caller's transaction). */
export type Queryable = Pick<ClientBase, 'query'>;

export interface RecordedPrediction {
  /** The caller's id of the prediction (the serving system's request id, say). */
  predictionId: string;
  prediction: PredictionValue;
  /** When the model answered (ISO-8601); absent when the caller does not know. */
  predictedAt?: string;
}

export interface GroundTruth {
  predictionId: string;
  actual: PredictionValue;
}

/** A labelled prediction in a window, in label-arrival order. */
export interface WindowPair {
  predictionId: string;
  prediction: PredictionValue;
  actual: PredictionValue;
}

export interface PredictionWindow {
  /** 1 for the first `windowSize` labels of the deployment, 2 for the next ... (as PerformanceMeasured numbers windows). */
  window: number;
  /** The deployment's labels it holds, numbered 1, 2, ... in arrival order: `windowSize * (window - 1) + 1` to `windowSize * window`. */
  firstLabel: number;
  lastLabel: number;
  pairs: WindowPair[];
  /** The earliest and latest time its predictions were made (`predictedAt`, else when they were recorded). */
  firstPredictedAt: string;
  lastPredictedAt: string;
  /** When the window's first and last labels arrived. */
  firstLabelledAt: string;
  lastLabelledAt: string;
}

export const PREDICTION_LIMITS = { idChars: 256, labelChars: 1_024 } as const;
const MAX_NAMED = 20;

/**
 * The tables of the PredictionStore, as a migration of the monitoring service's schema (the
 * form `libs/postgres` migrations take; `id` is the place in the monitoring migrations, e.g.
 * `0002_predictions`). Not a read model: predictions and their ground truth are written
 * directly, as ingested, and are not events (there may be millions); what is measured from
 * them is (PerformanceMeasured).
 *
 * - `predictions`: one row per deployment and prediction id; `actual`, `label_seq` and
 *   `labelled_at` are set once, when its ground truth arrives. `label_seq` numbers a
 *   deployment's labels 1, 2, 3 ... in arrival order with no gaps, so window `w` (from 1) of
 *   size `n` is the labels `n*(w - 1) + 1 .. n*w`.
 * - `prediction_label_counts`: labels so far per deployment. Labelling locks the deployment's
 *   row until commit, so concurrent label calls number their labels one after the other
 *   (and a rolled-back call leaves no gap).
 */
export function predictionStoreMigration(id: string): Migration {
  return {
    id,
    up: async (client, s) => {
      await client.query(`
        CREATE TABLE ${s}.predictions (
          deployment_id  uuid NOT NULL,
          prediction_id  text NOT NULL,
          prediction     jsonb NOT NULL,
          predicted_at   timestamptz,
          recorded_at    timestamptz NOT NULL DEFAULT now(),
          actual         jsonb,
          label_seq      bigint,
          labelled_at    timestamptz,
          PRIMARY KEY (deployment_id, prediction_id),
          CHECK ((actual IS NULL) = (label_seq IS NULL) AND (actual IS NULL) = (labelled_at IS NULL))
        );
        -- Windows: a deployment's labels in arrival order.
        CREATE UNIQUE INDEX predictions_label_seq_idx ON ${s}.predictions (deployment_id, label_seq) WHERE label_seq IS NOT NULL;
        CREATE TABLE ${s}.prediction_label_counts (
          deployment_id  uuid PRIMARY KEY,
          labelled       bigint NOT NULL
        );
      `);
    },
  };
}

/**
 * Predictions of deployed models and their ground truth, in the monitoring service's schema.
 * Every method runs on the client it is given, inside the caller's transaction: the caller
 * commits what it records together with its own writes (or rolls all of it back on an error).
 */
export class PredictionStore {
  private readonly s: string;

  constructor(schema: string) {
    this.s = ident(schema);
  }

  /**
   * Records predictions. Idempotent: a prediction id recorded before with the same value is
   * passed over (its `predictedAt` is kept as first recorded); with another value it is a
   * ConflictError naming the ids (up to 20). `recordedAt` (the service's clock; the
   * transaction's time when absent) stands in for a missing `predictedAt` in windows. Returns
   * how many were new and how many were stored before with the same value.
   */
  async record(client: Queryable, deploymentId: string, predictions: ReadonlyArray<RecordedPrediction>, recordedAt?: string): Promise<{ recorded: number; alreadyStored: number }> {
    const unique = dedupe(
      predictions.map((p) => ({ predictionId: p.predictionId, value: p.prediction, predictedAt: p.predictedAt })),
      'prediction',
    );
    for (const p of unique) {
      if (p.predictedAt !== undefined && Number.isNaN(Date.parse(p.predictedAt))) throw new ValidationError(`predictedAt of ${p.predictionId} must be an ISO-8601 date-time, got ${JSON.stringify(p.predictedAt)}`, { field: 'predictedAt', predictionId: p.predictionId });
    }
    if (recordedAt !== undefined && Number.isNaN(Date.parse(recordedAt))) throw new ValidationError(`recordedAt must be an ISO-8601 date-time, got ${JSON.stringify(recordedAt)}`, { field: 'recordedAt' });
    if (unique.length === 0) return { recorded: 0, alreadyStored: 0 };
    const ids = unique.map((p) => p.predictionId);
    const { rows: inserted } = await client.query<{ prediction_id: string }>(
      `INSERT INTO ${this.s}.predictions (deployment_id, prediction_id, prediction, predicted_at, recorded_at)
       SELECT $1, t.id, t.value, t.at, coalesce($5::timestamptz, now()) FROM unnest($2::text[], $3::jsonb[], $4::timestamptz[]) AS t(id, value, at)
       ON CONFLICT (deployment_id, prediction_id) DO NOTHING
       RETURNING prediction_id`,
      [deploymentId, ids, unique.map((p) => JSON.stringify(p.value)), unique.map((p) => p.predictedAt ?? null), recordedAt ?? null],
    );
    if (inserted.length < unique.length) {
      const fresh = new Set(inserted.map((r) => r.prediction_id));
      const repeated = unique.filter((p) => !fresh.has(p.predictionId));
      const { rows } = await client.query<{ prediction_id: string; prediction: PredictionValue }>(
        `SELECT prediction_id, prediction FROM ${this.s}.predictions WHERE deployment_id = $1 AND prediction_id = ANY($2::text[])`,
        [deploymentId, repeated.map((p) => p.predictionId)],
      );
      const stored = new Map(rows.map((r) => [r.prediction_id, r.prediction]));
      const differing = repeated.filter((p) => stored.get(p.predictionId) !== p.value);
      if (differing.length) {
        throw new ConflictError(
          `prediction${differing.length === 1 ? '' : 's'} ${named(differing.map((p) => `${p.predictionId} (recorded ${JSON.stringify(stored.get(p.predictionId))}, now ${JSON.stringify(p.value)})`))} of deployment ${deploymentId} ${differing.length === 1 ? 'was' : 'were'} recorded with another value`,
          { deploymentId, predictionIds: differing.slice(0, MAX_NAMED).map((p) => p.predictionId) },
        );
      }
    }
    return { recorded: inserted.length, alreadyStored: unique.length - inserted.length };
  }

  /**
   * Adds ground truth to recorded predictions, numbering the new labels in arrival order (this
   * call's in the order given). A prediction id never recorded is a NotFoundError naming up to
   * 20 of them; one labelled before with the same value is passed over, with another value it
   * is a ConflictError. Nothing is labelled when any is refused. Returns how many labels were new.
   * Runs at READ COMMITTED (PostgreSQL's default): a call waiting for another's lock then sees
   * the labels that one committed.
   */
  async label(client: Queryable, deploymentId: string, labels: ReadonlyArray<GroundTruth>, labelledAt?: string): Promise<{ labelled: number }> {
    const unique = dedupe(
      labels.map((l) => ({ predictionId: l.predictionId, value: l.actual })),
      'ground truth',
    );
    if (labelledAt !== undefined && Number.isNaN(Date.parse(labelledAt))) throw new ValidationError(`labelledAt must be an ISO-8601 date-time, got ${JSON.stringify(labelledAt)}`, { field: 'labelledAt' });
    if (unique.length === 0) return { labelled: 0 };
    // The deployment's count, locked until the caller commits: label calls of one deployment number their labels one after the other.
    const { rows: counted } = await client.query<{ labelled: string }>(
      `INSERT INTO ${this.s}.prediction_label_counts AS c (deployment_id, labelled) VALUES ($1, 0)
       ON CONFLICT (deployment_id) DO UPDATE SET labelled = c.labelled
       RETURNING labelled`,
      [deploymentId],
    );
    const base = Number(counted[0].labelled);
    const { rows } = await client.query<{ prediction_id: string; actual: PredictionValue | null }>(
      `SELECT prediction_id, actual FROM ${this.s}.predictions WHERE deployment_id = $1 AND prediction_id = ANY($2::text[])`,
      [deploymentId, unique.map((l) => l.predictionId)],
    );
    const stored = new Map(rows.map((r) => [r.prediction_id, r.actual]));
    const unknown = unique.filter((l) => !stored.has(l.predictionId)).map((l) => l.predictionId);
    if (unknown.length) {
      throw new NotFoundError(`${unknown.length === 1 ? 'prediction' : `${unknown.length} predictions`} ${named(unknown)} of deployment ${deploymentId} ${unknown.length === 1 ? 'was' : 'were'} never recorded: record predictions before their ground truth`, {
        deploymentId,
        predictionIds: unknown.slice(0, MAX_NAMED),
        unknown: unknown.length,
      });
    }
    const differing = unique.filter((l) => stored.get(l.predictionId) !== null && stored.get(l.predictionId) !== l.value);
    if (differing.length) {
      throw new ConflictError(
        `prediction${differing.length === 1 ? '' : 's'} ${named(differing.map((l) => `${l.predictionId} (labelled ${JSON.stringify(stored.get(l.predictionId))}, now ${JSON.stringify(l.value)})`))} of deployment ${deploymentId} ${differing.length === 1 ? 'was' : 'were'} labelled with another value`,
        { deploymentId, predictionIds: differing.slice(0, MAX_NAMED).map((l) => l.predictionId) },
      );
    }
    const fresh = unique.filter((l) => stored.get(l.predictionId) === null);
    if (fresh.length === 0) return { labelled: 0 };
    await client.query(
      `UPDATE ${this.s}.predictions p SET actual = t.actual, label_seq = $3 + t.n, labelled_at = coalesce($4::timestamptz, now())
         FROM unnest($2::text[], $5::jsonb[]) WITH ORDINALITY AS t(id, actual, n)
        WHERE p.deployment_id = $1 AND p.prediction_id = t.id`,
      [deploymentId, fresh.map((l) => l.predictionId), base, labelledAt ?? null, fresh.map((l) => JSON.stringify(l.value))],
    );
    await client.query(`UPDATE ${this.s}.prediction_label_counts SET labelled = $2 WHERE deployment_id = $1`, [deploymentId, base + fresh.length]);
    return { labelled: fresh.length };
  }

  /** Labels the deployment has so far (windows measured or not): with the windows taken, what waits for a window to fill. */
  async labelled(client: Queryable, deploymentId: string): Promise<number> {
    const { rows } = await client.query<{ labelled: string }>(`SELECT labelled FROM ${this.s}.prediction_label_counts WHERE deployment_id = $1`, [deploymentId]);
    return rows.length ? Number(rows[0].labelled) : 0;
  }

  /**
   * The complete windows of `windowSize` labelled predictions from window `nextWindow` on (1 is
   * the deployment's first `windowSize` labels), in label-arrival order, each with its pairs in
   * that order; a window not yet full is not returned. At most `maxWindows` windows (all by
   * default). The caller measures each window once and then asks from the window after the
   * last it measured. The numbering follows the window size: a monitor whose window size
   * changes starts again from the window that holds its first unmeasured label.
   */
  async takeWindows(client: Queryable, deploymentId: string, windowSize: number, nextWindow: number, options: { maxWindows?: number } = {}): Promise<PredictionWindow[]> {
    if (!Number.isInteger(windowSize) || windowSize < 1) throw new ValidationError(`windowSize must be a whole number >= 1, got ${windowSize}`, { field: 'windowSize' });
    if (!Number.isInteger(nextWindow) || nextWindow < 1) throw new ValidationError(`nextWindow must be a whole number >= 1, got ${nextWindow}`, { field: 'nextWindow' });
    const maxWindows = options.maxWindows ?? Number.POSITIVE_INFINITY;
    if (!(maxWindows >= 1)) throw new ValidationError(`maxWindows must be at least 1, got ${maxWindows}`, { field: 'maxWindows' });
    // Windows nextWindow .. last, all complete.
    const last = Math.min(Math.floor((await this.labelled(client, deploymentId)) / windowSize), nextWindow - 1 + maxWindows);
    if (last < nextWindow) return [];
    const { rows } = await client.query<{ prediction_id: string; prediction: PredictionValue; actual: PredictionValue; predicted: Date; labelled_at: Date }>(
      `SELECT prediction_id, prediction, actual, coalesce(predicted_at, recorded_at) AS predicted, labelled_at FROM ${this.s}.predictions
        WHERE deployment_id = $1 AND label_seq > $2 AND label_seq <= $3 ORDER BY label_seq`,
      [deploymentId, (nextWindow - 1) * windowSize, last * windowSize],
    );
    const windows: PredictionWindow[] = [];
    for (let w = nextWindow; w <= last; w++) {
      const slice = rows.slice((w - nextWindow) * windowSize, (w - nextWindow + 1) * windowSize);
      const times = (pick: (r: (typeof slice)[number]) => Date) => {
        let min = Number.POSITIVE_INFINITY;
        let max = Number.NEGATIVE_INFINITY;
        for (const r of slice) {
          const ms = pick(r).getTime();
          if (ms < min) min = ms;
          if (ms > max) max = ms;
        }
        return [new Date(min).toISOString(), new Date(max).toISOString()];
      };
      const [firstPredictedAt, lastPredictedAt] = times((r) => r.predicted);
      const [firstLabelledAt, lastLabelledAt] = times((r) => r.labelled_at);
      windows.push({ window: w, firstLabel: (w - 1) * windowSize + 1, lastLabel: w * windowSize, pairs: slice.map((r) => ({ predictionId: r.prediction_id, prediction: r.prediction, actual: r.actual })), firstPredictedAt, lastPredictedAt, firstLabelledAt, lastLabelledAt });
    }
    return windows;
  }
}

/** The entries with their ids and values checked; an id given twice with one value counts once, with two is a ValidationError. */
function dedupe<T extends { predictionId: string; value: unknown }>(entries: ReadonlyArray<T>, what: string): Array<T & { value: PredictionValue }> {
  const seen = new Map<string, T & { value: PredictionValue }>();
  const twice: string[] = [];
  const bad: string[] = [];
  for (const entry of entries) {
    const id = entry.predictionId;
    if (typeof id !== 'string' || id.length === 0 || id.length > PREDICTION_LIMITS.idChars) {
      bad.push(`${JSON.stringify(id)} (a prediction id must be 1 to ${PREDICTION_LIMITS.idChars} characters)`);
      continue;
    }
    const value = entry.value;
    const valid = (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean' || (typeof value === 'string' && value.length <= PREDICTION_LIMITS.labelChars);
    if (!valid) {
      bad.push(`${id} (${what} must be a finite number, a boolean or a string of at most ${PREDICTION_LIMITS.labelChars} characters, got ${JSON.stringify(value) ?? String(value)})`);
      continue;
    }
    const earlier = seen.get(id);
    if (earlier && earlier.value !== value) twice.push(id);
    else if (!earlier) seen.set(id, entry as T & { value: PredictionValue });
  }
  if (bad.length) throw new ValidationError(`invalid ${what}: ${named(bad)}`, { field: what === 'prediction' ? 'predictions' : 'labels' });
  if (twice.length) throw new ValidationError(`${named(twice)} ${twice.length === 1 ? 'is' : 'are'} given twice with different values in one call`, { field: what === 'prediction' ? 'predictions' : 'labels', predictionIds: twice.slice(0, MAX_NAMED) });
  return [...seen.values()];
}

function named(items: ReadonlyArray<string>): string {
  const shown = items.slice(0, MAX_NAMED).join(', ');
  return items.length > MAX_NAMED ? `${shown} and ${items.length - MAX_NAMED} more` : shown;
}
