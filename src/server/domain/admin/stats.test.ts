import { describe, expect, it } from 'vitest';
import { bucketBounds, bucketOf, HISTOGRAM_BUCKETS, histogramOf, histogramThresholds, mergeHistograms, percentile } from './stats.histogram';
import { dashboardWindow } from './stats.service';

/** The dashboard's latency histograms (stats.histogram.ts) and its ranges (stats.service.ts). */

/** the exact p-th percentile (nearest rank) of a list */
const exact = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.max(1, Math.ceil(p * values.length)) - 1]!;

describe('histogram buckets', () => {
  it('are four per doubling from 1 s to 2^14 s, in whole milliseconds', () => {
    expect(HISTOGRAM_BUCKETS).toBe(58);
    expect(histogramThresholds.slice(0, 6)).toEqual([1000, 1189, 1414, 1682, 2000, 2378]);
    expect(histogramThresholds.at(-1)).toBe(16_384_000);
    // each doubles the one four before it (within the rounding to whole milliseconds)
    for (let j = 4; j < histogramThresholds.length; j++) expect(Math.abs(histogramThresholds[j]! - 2 * histogramThresholds[j - 4]!)).toBeLessThanOrEqual(1);
  });

  it('put a duration in the bucket whose bounds hold it (the lower bound in, the upper out)', () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(999)).toBe(0);
    expect(bucketOf(1000)).toBe(1);
    expect(bucketOf(1188)).toBe(1);
    expect(bucketOf(1189)).toBe(2);
    expect(bucketOf(60_000)).toBe(24); // 2^(23/4) s = 53.8 s <= 60 s < 2^(24/4) s = 64 s
    expect(bucketOf(16_383_999)).toBe(56);
    expect(bucketOf(16_384_000)).toBe(57);
    expect(bucketOf(10 ** 9)).toBe(57);
    for (const ms of [0, 1, 500, 999, 1000, 1500, 12_345, 60_000, 61_234, 600_000, 3_600_000, 16_383_999, 16_384_000, 99_999_999]) {
      const { from, to } = bucketBounds(bucketOf(ms));
      expect(ms).toBeGreaterThanOrEqual(from);
      expect(ms).toBeLessThan(to);
    }
    expect(bucketBounds(0)).toEqual({ from: 0, to: 1000 });
    expect(bucketBounds(57)).toEqual({ from: 16_384_000, to: Infinity });
  });

  it('are counted up to the last non-empty bucket', () => {
    expect(histogramOf([])).toBeNull();
    expect(histogramOf([500, 1000, 1100, 2000])).toEqual([1, 2, 0, 0, 0, 1]);
  });
});

describe('percentiles from merged histograms', () => {
  it('merging adds bucket by bucket, whatever the lengths, and skips empty hours', () => {
    expect(mergeHistograms([[1, 2], null, [0, 0, 3], undefined, [4]])).toEqual([5, 2, 3]);
    expect(mergeHistograms([])).toEqual([]);
  });

  it('the merged histograms of several hours give the same counts as one histogram of all their durations', () => {
    const hours = [
      [800, 30_000, 31_000, 45_000],
      [60_000, 61_000, 62_000, 90_000, 120_000],
      [35_000, 600_000],
    ];
    expect(mergeHistograms(hours.map(histogramOf))).toEqual(histogramOf(hours.flat()));
  });

  it('p50 and p95 fall in the bucket of the exact percentile, within one bucket width (19 %)', () => {
    // a deterministic, skewed spread of times to result: 5 s to ~20 min
    let x = 42;
    const rand = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const durations = Array.from({ length: 5000 }, () => Math.round(5000 * Math.exp(rand() * rand() * 5.5)));
    // split over 24 "hours", merged back
    const hours = Array.from({ length: 24 }, (_, h) => durations.filter((_, i) => i % 24 === h));
    const merged = mergeHistograms(hours.map(histogramOf));
    for (const p of [0.5, 0.95]) {
      const estimate = percentile(merged, p)!;
      const truth = exact(durations, p);
      expect(bucketOf(estimate)).toBe(bucketOf(truth));
      expect(Math.abs(estimate - truth) / truth).toBeLessThan(0.19);
    }
  });

  it('reads the nearest-rank bucket exactly on small samples', () => {
    // 10 successes: 9 around 40 s and one at 10 min: p50 is in the 40 s bucket, p95 (the 10th) in the 10 min one
    const h = histogramOf([38_000, 39_000, 40_000, 40_500, 41_000, 41_500, 42_000, 42_500, 43_000, 600_000])!;
    expect(bucketOf(percentile(h, 0.5)!)).toBe(bucketOf(40_500));
    expect(bucketOf(percentile(h, 0.95)!)).toBe(bucketOf(600_000));
    // one value: every percentile is in its bucket
    const one = histogramOf([75_000])!;
    expect(bucketOf(percentile(one, 0.5)!)).toBe(bucketOf(75_000));
    expect(bucketOf(percentile(one, 0.95)!)).toBe(bucketOf(75_000));
  });

  it('answers null for no data, and the lower bound for the open last bucket', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([0, 0, 0], 0.95)).toBeNull();
    const h: number[] = [];
    h[57] = 3;
    expect(percentile(mergeHistograms([h]), 0.5)).toBe(16_384_000);
    expect(() => percentile([1], 0)).toThrow(RangeError);
  });
});

describe('dashboard ranges (UTC)', () => {
  const now = new Date('2026-12-07T15:42:10Z');
  it('24h: 24 hourly points ending with the current hour, the previous 24 hours before', () => {
    const w = dashboardWindow('24h', now);
    expect(w.granularity).toBe('hour');
    expect(new Date(w.from).toISOString()).toBe('2026-12-06T16:00:00.000Z');
    expect(new Date(w.to).toISOString()).toBe('2026-12-07T16:00:00.000Z');
    expect(new Date(w.previousFrom).toISOString()).toBe('2026-12-05T16:00:00.000Z');
    expect(w.buckets).toHaveLength(24);
    expect(new Date(w.buckets.at(-1)!).toISOString()).toBe('2026-12-07T15:00:00.000Z');
  });

  it('7d, 30d, 90d: daily points ending today; the previous range is as long (to the hour)', () => {
    for (const [range, days] of [
      ['7d', 7],
      ['30d', 30],
      ['90d', 90],
    ] as const) {
      const w = dashboardWindow(range, now);
      expect(w.granularity).toBe('day');
      expect(w.buckets).toHaveLength(days);
      expect(new Date(w.from).toISOString()).toBe(new Date(Date.parse('2026-12-07T00:00:00Z') - (days - 1) * 86_400_000).toISOString());
      expect(new Date(w.buckets.at(-1)!).toISOString()).toBe('2026-12-07T00:00:00.000Z');
      expect(w.to - w.from).toBe((days - 1) * 86_400_000 + 16 * 3_600_000);
      expect(w.from - w.previousFrom).toBe(w.to - w.from);
    }
  });
});
