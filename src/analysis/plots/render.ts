// Rendering of the report's figures: vega-lite specs compiled to vega and rendered to SVG on the server
// (view.toSVG(), no canvas, no browser), and what every figure shares: fonts, the time axis, units.
// Times are shown in UTC like everything the store writes.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Span } from '../series.ts';
import { vegaTextWidth } from '../text-width.ts';

// Without a canvas vega guesses text widths (0.8 em a character); measure with the font's real widths instead.
(vega as unknown as { textMetrics: { width: typeof vegaTextWidth } }).textMetrics.width = vegaTextWidth;

export interface Figure {
  /** File name stem, e.g. "fig-5.3-addresses-per-source". */
  id: string;
  title: string;
  /** One sentence under the figure: what is plotted and how it was counted. */
  caption: string;
  svg: string;
}

const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  title: { fontSize: 15, anchor: 'start' as const, offset: 12, subtitleFontSize: 12, subtitleColor: '#444' },
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ccc' },
};

/** Ticks for a time span: round clock times, about 5 to 10 of them, labelled to the unit they step by. */
// vega's own interval names (vega-lite's types say 'second', 'minute', 'hour', which vega's UTC scale does not know)
type TimeUnit = 'seconds' | 'minutes' | 'hours' | 'day' | 'week';

export function timeTicks(spanMs: number): { tickCount: { interval: TimeUnit; step: number }; format: string } {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const steps: [number, TimeUnit, number, string][] = [
    [2 * m, 'seconds', 10, '%H:%M:%S'], [5 * m, 'seconds', 30, '%H:%M:%S'], [15 * m, 'minutes', 2, '%H:%M'], [h, 'minutes', 10, '%H:%M'],
    [3 * h, 'minutes', 30, '%H:%M'], [12 * h, 'hours', 2, '%b %d %H:%M'], [2 * 24 * h + m, 'hours', 6, '%b %d %H:%M'], [8 * 24 * h, 'day', 1, '%b %d'],
  ];
  const [, interval, step, format] = steps.find(([upTo]) => spanMs <= upTo) ?? [0, 'week' as const, 1, '%b %d'];
  return { tickCount: { interval, step }, format };
}

/** The time axis of a figure: exactly the measured span (no padding before the run or after it). */
export function timeX(span: Span, field = 'time', axis: Record<string, unknown> = {}) {
  const ticks = timeTicks(Date.parse(span.end) - Date.parse(span.start));
  return {
    field, type: 'temporal' as const,
    // (the cast: see TimeUnit)
    scale: { type: 'utc' as const, domain: [Date.parse(span.start), Date.parse(span.end)], nice: false },
    axis: { title: 'time (UTC)', labelAngle: -30, labelOverlap: true, ...ticks, ...axis } as Record<string, unknown>,
  };
}

// vega-lite warns on stdout about harmless merges (a facet's shared time domain); errors still throw
const QUIET = {
  level(): number | typeof QUIET { return QUIET; },
  error(...args: unknown[]) { throw new Error(args.map(String).join(' ')); },
  warn() { return QUIET; },
  info() { return QUIET; },
  debug() { return QUIET; },
} as unknown as NonNullable<Parameters<typeof compile>[1]>['logger'];

/** Renders one vega-lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ config: CONFIG, background: 'white', padding: 12, ...spec } as TopLevelSpec, { logger: QUIET }).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export function noData(title: string, message = 'no data in this window'): TopLevelSpec {
  return {
    title,
    width: 560,
    height: 120,
    data: { values: [{ text: message }] },
    mark: { type: 'text', fontSize: 14, color: '#666' },
    encoding: { text: { field: 'text' }, x: { value: 280 }, y: { value: 60 } },
  };
}

/** bytes/s → "12.3 kB/s" (SI units, like the plot axis). */
export function speedText(v: number): string {
  const units = ['B/s', 'kB/s', 'MB/s', 'GB/s'];
  let i = 0;
  let x = v;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return `${x >= 100 || i === 0 ? x.toFixed(0) : x.toFixed(1)} ${units[i]}`;
}

/** Axis labels in the units of speedText: 10 B/s, 1 kB/s, 10 MB/s. */
export const SPEED_LABEL = ['GB', 'MB', 'kB'].map((u, i) => {
  const f = 10 ** (9 - 3 * i);
  return `datum.value >= ${f} ? format(datum.value / ${f}, '~g') + ' ${u}/s' : `;
}).join('') + "format(datum.value, '~g') + ' B/s'";
