// Small statistics over plain numbers: quantiles, mean and deviation, the speed histogram.
import type { SpeedReport } from './types.ts';

/** Quantile with linear interpolation between closest ranks (numpy's default) of sorted values. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

export function mean(xs: readonly number[]): number | null {
  return xs.length === 0 ? null : sum(xs) / xs.length;
}

/** Sample standard deviation (n − 1); 0 for a single value. */
export function stddev(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  if (xs.length === 1) return 0;
  const m = sum(xs) / xs.length;
  let s = 0;
  for (const x of xs) s += (x - m) ** 2;
  return Math.sqrt(s / (xs.length - 1));
}

export function sumOrNull(xs: (number | null)[]): number | null {
  const present = xs.filter((x): x is number => x !== null);
  return present.length === 0 ? null : sum(present);
}

export function maxOf(xs: (number | null)[]): number | null {
  let m: number | null = null;
  for (const x of xs) if (x !== null && (m === null || x > m)) m = x;
  return m;
}

export function ratio(confirmed: number, reported: number | null): number | null {
  return reported === null || reported === 0 ? null : confirmed / reported;
}

/** Sorts by the position in `order` (unknown names last, then alphabetically). */
export function byOrder(order: string[]) {
  return (a: string, b: string): number => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
  };
}

/** Quantiles and a log-binned histogram (4 bins per decade) of sorted speeds. */
export function speedReport(sorted: readonly number[]): SpeedReport {
  const histogram: SpeedReport['histogram'] = [];
  if (sorted.length > 0) {
    const perDecade = 4;
    const lo = Math.floor(Math.log10(sorted[0]) * perDecade);
    const hi = Math.floor(Math.log10(sorted[sorted.length - 1]) * perDecade);
    for (let i = lo; i <= hi; i++) histogram.push({ from: 10 ** (i / perDecade), to: 10 ** ((i + 1) / perDecade), peers: 0 });
    for (const v of sorted) {
      const i = Math.min(histogram.length - 1, Math.max(0, Math.floor(Math.log10(v) * perDecade) - lo));
      histogram[i].peers++;
    }
  }
  return {
    unit: 'bytes/s',
    peers: sorted.length,
    min: sorted.length ? sorted[0] : null,
    p10: quantile(sorted, 0.1),
    p25: quantile(sorted, 0.25),
    median: quantile(sorted, 0.5),
    p75: quantile(sorted, 0.75),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    mean: mean(sorted),
    histogram,
  };
}
