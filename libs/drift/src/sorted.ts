/** Helpers over ascending Float64Arrays. */

/** A sorted copy of `values` without its NaNs (typed-array sort puts them last), and how many there were. */
export function sortedPresent(values: Float64Array): { sorted: Float64Array; nans: number } {
  const copy = values.slice().sort();
  let end = copy.length;
  while (end > 0 && Number.isNaN(copy[end - 1])) end--;
  return { sorted: end === copy.length ? copy : copy.subarray(0, end), nans: copy.length - end };
}

/** The first index whose value is ≥ x (the number of values < x). */
export function lowerBound(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The q-quantile of sorted values by numpy's default (method='linear'): the value at the
 * virtual index (n−1)·q, interpolated between its neighbours as numpy's _lerp does.
 */
export function quantile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const index = (n - 1) * q;
  const below = Math.floor(index);
  if (below >= n - 1) return sorted[n - 1];
  const t = index - below;
  const a = sorted[below];
  const b = sorted[below + 1];
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** The 9 inner decile edges (q = 0.1 … 0.9, written k/10 as numpy's np.arange(1, 10) / 10). */
export function decileEdges(sorted: Float64Array): number[] {
  return Array.from({ length: 9 }, (_, k) => quantile(sorted, (k + 1) / 10));
}

/**
 * Shares of sorted values in the 10 bins cut by the decile edges. Bins are closed on the left:
 * a value v falls in bin #{edges ≤ v} (numpy's searchsorted(edges, v, side='right')), so a
 * value equal to an edge goes to the bin above it.
 */
export function decileShares(sorted: Float64Array, edges: ReadonlyArray<number>): number[] {
  const n = sorted.length;
  const shares: number[] = [];
  let below = 0;
  for (const edge of edges) {
    const count = lowerBound(sorted, edge);
    shares.push((count - below) / n);
    below = count;
  }
  shares.push((n - below) / n);
  return shares;
}

/** Distinct values of sorted values and their counts, or null when there are more than `limit`. */
export function distinctValues(sorted: Float64Array, limit: number): { values: number[]; counts: number[] } | null {
  const values: number[] = [];
  const counts: number[] = [];
  let i = 0;
  while (i < sorted.length) {
    if (values.length === limit) return null;
    const x = sorted[i];
    let j = i + 1;
    // The run of x ends where the values exceed it: found by galloping, so long runs cost log time.
    let step = 1;
    while (j + step <= sorted.length && sorted[j + step - 1] === x) {
      j += step;
      step *= 2;
    }
    while (j < sorted.length && sorted[j] === x) j++;
    values.push(x);
    counts.push(j - i);
    i = j;
  }
  return { values, counts };
}

/** Mean and population standard deviation (ddof = 0), by two passes. */
export function meanAndStd(values: Float64Array): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i];
  const mean = total / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    squares += d * d;
  }
  return { mean, std: Math.sqrt(squares / n) };
}

/**
 * `points` equally spaced order statistics of sorted values: point j is the value of rank
 * round(j·(n−1)/(points−1)) (0-based), so the first is the minimum and the last the maximum.
 */
export function sketch(sorted: Float64Array, points: number): Float64Array {
  const n = sorted.length;
  const out = new Float64Array(points);
  const step = (n - 1) / (points - 1);
  for (let j = 0; j < points; j++) out[j] = sorted[Math.round(j * step)];
  out[points - 1] = sorted[n - 1];
  return out;
}
