/**
 * The dashboard's latency histogram (issue 18): time to result (finished_at - created_at) of the
 * generations that succeeded, counted in fixed, log-scale buckets so that the hourly histograms of
 * `stats_hourly` can be merged (added bucket by bucket) over any range and any models, and p50/p95
 * read from the merged counts.
 *
 * Buckets: four per doubling, from 1 s to 2^14 s (4 h 33 min). The thresholds are whole
 * milliseconds, `round(1000 * 2^(j/4))` for j = 0..56, so PostgreSQL (`width_bucket(ms,
 * thresholds)`, in stats.repo.ts) and this module put a duration in the same bucket:
 * - bucket 0: under 1 s;
 * - bucket b (1..56): [thresholds[b-1], thresholds[b]);
 * - bucket 57: 2^14 s or more.
 * A percentile read from a bucket is at most one bucket width (19 %) off; it is interpolated
 * within the bucket, so it is usually much closer.
 *
 * The stored array is the bucket counts from bucket 0 up to the last non-empty one (trailing
 * zeros are left out, so most rows are shorter than 58); `null` when there is no success.
 */

export const HISTOGRAM_STEPS_PER_DOUBLING = 4;
export const HISTOGRAM_DOUBLINGS = 14;

/** the lower bounds (ms) of buckets 1..57 */
export const histogramThresholds: readonly number[] = Array.from({ length: HISTOGRAM_DOUBLINGS * HISTOGRAM_STEPS_PER_DOUBLING + 1 }, (_, j) =>
  Math.round(1000 * 2 ** (j / HISTOGRAM_STEPS_PER_DOUBLING)),
);

export const HISTOGRAM_BUCKETS = histogramThresholds.length + 1;

/** The bucket of a duration in milliseconds (what `width_bucket(ms, thresholds)` answers). */
export function bucketOf(ms: number): number {
  // the number of thresholds at or below ms (binary search: the thresholds ascend)
  let lo = 0;
  let hi = histogramThresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((histogramThresholds[mid] ?? Infinity) <= ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The range [from, to) of a bucket in milliseconds; the last bucket's `to` is Infinity. */
export function bucketBounds(bucket: number): { from: number; to: number } {
  const from = bucket === 0 ? 0 : (histogramThresholds[bucket - 1] ?? Infinity);
  const to = histogramThresholds[bucket] ?? Infinity;
  return { from, to };
}

/** A histogram of these durations (counts up to the last non-empty bucket), or null for none. */
export function histogramOf(durationsMs: readonly number[]): number[] | null {
  if (!durationsMs.length) return null;
  const counts: number[] = [];
  for (const ms of durationsMs) {
    const b = bucketOf(ms);
    while (counts.length <= b) counts.push(0);
    counts[b] = (counts[b] ?? 0) + 1;
  }
  return counts;
}

/** Adds histograms bucket by bucket (of any lengths; nulls count as empty). */
export function mergeHistograms(histograms: readonly (readonly number[] | null | undefined)[]): number[] {
  const out: number[] = [];
  for (const h of histograms) {
    if (!h) continue;
    for (let i = 0; i < h.length; i++) out[i] = (out[i] ?? 0) + (h[i] ?? 0);
  }
  for (let i = 0; i < out.length; i++) out[i] ??= 0;
  return out;
}

/**
 * The p-th percentile (0 < p <= 1) in milliseconds, read from bucket counts: the bucket holding the
 * ceil(p * n)-th smallest duration, and a linear position inside it by rank. The last bucket has
 * no upper bound: its lower bound is answered (a floor). Null for an empty histogram.
 */
export function percentile(counts: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 1)) throw new RangeError('percentile: p must be in (0, 1]');
  const n = counts.reduce((a, b) => a + b, 0);
  if (n <= 0) return null;
  const rank = Math.max(1, Math.ceil(p * n));
  let seen = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b] ?? 0;
    if (c <= 0) continue;
    if (seen + c >= rank) {
      const { from, to } = bucketBounds(b);
      if (!Number.isFinite(to)) return from;
      // the rank-th value sits at (rank - seen) of c, spread evenly over the bucket
      return Math.round(from + ((to - from) * (rank - seen - 0.5)) / c);
    }
    seen += c;
  }
  return null;
}
