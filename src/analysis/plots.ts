// The report's figures: vega-lite specs compiled to vega and rendered to SVG on the server (view.toSVG(), no
// canvas, no browser). Times are shown in UTC like everything the store writes.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { Report } from './report.ts';
import type { Series } from './series.ts';
import { vegaTextWidth } from './text-width.ts';

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

const SOURCE_COLORS: Record<string, string> = {
  http: '#4c78a8', udp: '#72b7b2', dht: '#f58518', incoming: '#54a24b', pex: '#b279a2', file: '#9d755d',
};
/** Dashes per source as well as colours: two trackers returning the same peers draw the same line. */
const SOURCE_DASHES: Record<string, number[]> = {
  http: [1, 0], udp: [6, 3], dht: [2, 2], incoming: [8, 2, 2, 2], pex: [4, 4], file: [1, 3],
};
const REASON_COLORS: [string, string][] = [
  ['success', '#54a24b'], ['timeout', '#e45756'], ['refused', '#f58518'], ['reset', '#b279a2'],
  ['unreachable', '#9d755d'], ['closed-early', '#ff9da6'], ['no-state', '#eeca3b'], ['unknown-protocol', '#4c78a8'],
  ['wrong-info-hash', '#72b7b2'], ['unknown-info-hash', '#17becf'], ['bad-message', '#bab0ac'], ['stopped', '#d6d6d6'], ['error', '#79706e'],
];
const EVENT_ORDER = ['first', 'later', 'incoming'];

const CONFIG = {
  font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
  title: { fontSize: 15, anchor: 'start' as const, offset: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12, titlePadding: 8, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  view: { stroke: '#ccc' },
};

const TIME_AXIS = { title: 'time (UTC)', format: '%b %d %H:%M', labelAngle: -30, labelOverlap: true };

/** The time axis; a window of under 15 minutes (a demo, a test run) is labelled to the second. */
function timeX(rows: { time: string }[], axis: Record<string, unknown> = {}) {
  let min = Infinity;
  let max = -Infinity;
  for (const r of rows) {
    const t = Date.parse(r.time);
    if (t < min) min = t;
    if (t > max) max = t;
  }
  const short = max - min < 15 * 60_000;
  return {
    field: 'time', type: 'temporal' as const, scale: { type: 'utc' as const },
    axis: { ...TIME_AXIS, ...(short ? { format: '%H:%M:%S' } : {}), ...axis },
  };
}

/** Renders one vega-lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = compile({ config: CONFIG, background: 'white', padding: 12, ...spec } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function noData(title: string, message = 'no data in this window'): TopLevelSpec {
  return {
    title,
    width: 560,
    height: 120,
    data: { values: [{ text: message }] },
    mark: { type: 'text', fontSize: 14, color: '#666' },
    encoding: { text: { field: 'text' }, x: { value: 280 }, y: { value: 60 } },
  };
}

export function addressesSpec(series: Series): TopLevelSpec {
  const title = 'Addresses received per source (thesis fig. 5.3)';
  if (series.addresses.length === 0) return noData(title);
  const kinds = [...new Set(series.addresses.map((a) => a.kind))];
  return {
    title,
    width: 640,
    height: 280,
    data: { values: series.addresses },
    mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8 },
    encoding: {
      x: timeX(series.addresses),
      y: { field: 'received', type: 'quantitative', title: `addresses received per ${series.bucketLabel}` },
      color: {
        field: 'kind', type: 'nominal', title: 'source',
        scale: { domain: kinds, range: kinds.map((k) => SOURCE_COLORS[k] ?? '#888') },
      },
      strokeDash: {
        field: 'kind', type: 'nominal', title: 'source',
        scale: { domain: kinds, range: kinds.map((k) => SOURCE_DASHES[k] ?? [1, 0]) },
      },
    },
  };
}

export function downloadsSpec(series: Series): TopLevelSpec {
  const title = 'Confirmed downloads vs downloads reported by scrape (thesis fig. 5.4)';
  if (series.downloads.length === 0) return noData(title);
  const torrents = new Set(series.downloads.map((d) => d.torrent)).size;
  return {
    title: {
      text: title,
      subtitle: `cumulative since the start of the window; reported = growth of the best tracker's "downloaded"` +
        (series.torrentsOmitted > 0 ? `; ${series.torrentsOmitted} less active torrents not shown` : ''),
    },
    data: { values: series.downloads },
    facet: {
      field: 'torrent', type: 'nominal', title: null, sort: series.torrentOrder,
      header: { labelLimit: 320, labelFontWeight: 'bold', labelFontSize: 11 },
    },
    columns: Math.min(3, torrents),
    spec: {
      width: torrents === 1 ? 560 : 260,
      height: torrents === 1 ? 260 : 150,
      mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8 },
      encoding: {
        x: timeX(series.downloads, { tickCount: 4 }),
        y: { field: 'count', type: 'quantitative', title: 'downloads (cumulative)', axis: { tickMinStep: 1, format: ',d' } },
        color: {
          field: 'measure', type: 'nominal', title: null,
          scale: { domain: ['confirmed', 'reported (scrape)'], range: ['#e45756', '#4c78a8'] },
          legend: { orient: 'top', direction: 'horizontal', symbolStrokeWidth: 2.5, symbolSize: 300 },
        },
        strokeDash: {
          field: 'measure', type: 'nominal', title: null,
          scale: { domain: ['confirmed', 'reported (scrape)'], range: [[1, 0], [5, 3]] },
        },
      },
    },
    // every panel keeps its own time axis (a wrapped facet would leave one under an empty cell)
    resolve: { scale: { y: 'independent', x: 'shared' }, axis: { x: 'independent' } },
  };
}

/** Fig 5.1: how long peers keep us waiting for one message; what a --timeout of t seconds would cut off. */
export function waitsSpec(series: Series): TopLevelSpec {
  const title = 'Longest wait for one message per successful contact (thesis fig. 5.1)';
  if (series.waits.length === 0) return noData(title, 'no successful contacts in this window');
  return {
    title: { text: title, subtitle: 'whole seconds; a contact ends after --timeout seconds without a message' },
    width: 640,
    height: 260,
    data: { values: series.waits },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'waitS', type: 'ordinal', title: 'longest wait for one message (s)', axis: { labelAngle: 0 } },
      y: { field: 'count', type: 'quantitative', title: 'successful contacts', axis: { tickMinStep: 1 } },
      color: { field: 'event', type: 'nominal', title: 'event', scale: { domain: EVENT_ORDER } },
    },
  };
}

export function contactsSpec(series: Series): TopLevelSpec {
  const title = 'Contacts over time';
  if (series.contacts.length === 0) return noData(title, 'no statistics rows in this window');
  const names = ['contacts finished', 'successful contacts', 'inbound connections'];
  return {
    title: { text: title, subtitle: 'rates between consecutive statistics rows; one line segment per run' },
    width: 640,
    height: 260,
    data: { values: series.contacts },
    mark: { type: 'line', point: series.contacts.length <= 3 * 60, strokeWidth: 1.8 },
    encoding: {
      x: timeX(series.contacts),
      y: { field: 'perMinute', type: 'quantitative', title: 'count per minute' },
      color: { field: 'series', type: 'nominal', title: null, scale: { domain: names, range: ['#4c78a8', '#54a24b', '#f58518'] } },
      detail: { field: 'run', type: 'nominal' },
    },
  };
}

export function outcomesSpec(series: Series): TopLevelSpec {
  const title = 'Outcomes of contacts per run and event (thesis table 5.7)';
  if (series.outcomes.length === 0) return noData(title);
  const present = new Set(series.outcomes.map((o) => o.reason));
  const reasons = [...REASON_COLORS.filter(([r]) => present.has(r)), ...[...present].filter((r) => !REASON_COLORS.some(([k]) => k === r)).map((r) => [r, '#888'] as [string, string])];
  const events = EVENT_ORDER.filter((e) => series.outcomes.some((o) => o.event === e));
  for (const o of series.outcomes) if (!events.includes(o.event)) events.push(o.event);
  const values = series.outcomes.map((o) => ({ ...o, order: reasons.findIndex(([r]) => r === o.reason) }));
  return {
    title: { text: title, subtitle: 'share of the contacts of each event, by how they ended' },
    data: { values },
    facet: {
      row: {
        field: 'run', type: 'nominal', title: null,
        header: { labelOrient: 'top', labelAngle: 0, labelAnchor: 'start', labelLimit: 0, labelFontWeight: 'bold', labelPadding: 4 },
      },
    },
    spec: {
      width: 520,
      height: { step: 22 },
      mark: { type: 'bar' },
      encoding: {
        y: { field: 'event', type: 'nominal', title: 'event', sort: events },
        x: {
          field: 'count', type: 'quantitative', aggregate: 'sum', stack: 'normalize',
          title: 'share of contacts of the event', axis: { format: '.0%', values: [0, 0.25, 0.5, 0.75, 1] },
        },
        color: {
          field: 'reason', type: 'nominal', title: 'reason',
          scale: { domain: reasons.map(([r]) => r), range: reasons.map(([, c]) => c) },
        },
        order: { field: 'order', type: 'quantitative' },
      },
    },
  };
}

export function speedsSpec(report: Report): TopLevelSpec {
  const title = 'Download speeds of peers';
  const s = report.speeds;
  if (s.histogram.length === 0) return noData(title, 'no peer was seen twice with progress in this window');
  const lo = Math.floor(Math.log10(s.histogram[0].from));
  const hi = Math.ceil(Math.log10(s.histogram[s.histogram.length - 1].to));
  const ticks: number[] = [];
  for (let e = lo; e <= hi; e++) ticks.push(10 ** e);
  const maxPeers = Math.max(...s.histogram.map((h) => h.peers));
  // label rows in pixels from the top: inside the headroom, one line each so they never overlap
  const side = (v: number) => ((Math.log10(v) - lo) / (hi - lo) > 0.7 ? 'right' : 'left');
  const marks = [
    { label: `median ${speedText(s.median!)}`, value: s.median!, row: 16, align: side(s.median!) },
    { label: `p90 ${speedText(s.p90!)}`, value: s.p90!, row: 32, align: side(s.p90!) },
  ];
  const x = {
    scale: { type: 'log' as const, domain: [10 ** lo, 10 ** hi] },
    axis: { values: ticks, labelExpr: SPEED_LABEL, grid: true },
  };
  return {
    title: {
      text: title,
      subtitle: `highest speed between two visits of ${s.peers} peers (pieces gained × piece size / time between visits)`,
    },
    width: 640,
    height: 260,
    layer: [
      {
        data: { values: s.histogram },
        mark: { type: 'rect', color: '#4c78a8', stroke: 'white', strokeWidth: 0.5 },
        encoding: {
          x: { field: 'from', type: 'quantitative', title: 'highest download speed (bytes/s, log scale)', ...x },
          x2: { field: 'to' },
          // headroom above the highest bar for the median/p90 labels
          y: {
            field: 'peers', type: 'quantitative', title: 'peers',
            scale: { domainMax: Math.ceil(maxPeers * 1.2), nice: false }, axis: { tickMinStep: 1, format: ',d' },
          },
        },
      },
      {
        data: { values: marks },
        mark: { type: 'rule', color: '#e45756', strokeDash: [4, 3], strokeWidth: 1.5 },
        encoding: { x: { field: 'value', type: 'quantitative', ...x } },
      },
      // labels right of their line, or left of it near the right edge; a white halo keeps them readable over bars and lines
      ...(['left', 'right'] as const).flatMap((align) => [
        { halo: true, color: 'white' },
        { halo: false, color: '#b03030' },
      ].map(({ halo, color }) => ({
        data: { values: marks.filter((m) => m.align === align) },
        mark: {
          type: 'text', align, dx: align === 'left' ? 4 : -4, baseline: 'bottom', color, fontSize: 11,
          ...(halo ? { stroke: 'white', strokeWidth: 4, strokeJoin: 'round' } : {}),
        },
        encoding: {
          x: { field: 'value', type: 'quantitative', ...x },
          y: { field: 'row', type: 'quantitative', scale: null },
          text: { field: 'label' },
        },
      }))),
    ],
  } as TopLevelSpec;
}

/** Axis labels in the units of speedText: 10 B/s, 1 kB/s, 10 MB/s. */
const SPEED_LABEL = ['GB', 'MB', 'kB'].map((u, i) => {
  const f = 10 ** (9 - 3 * i);
  return `datum.value >= ${f} ? format(datum.value / ${f}, '~g') + ' ${u}/s' : `;
}).join('') + "format(datum.value, '~g') + ' B/s'";

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

/** Every figure of the report, rendered. */
export async function renderFigures(report: Report, series: Series): Promise<Figure[]> {
  const specs: (Omit<Figure, 'svg'> & { spec: TopLevelSpec })[] = [
    {
      id: 'fig-5.1-longest-wait',
      title: 'Longest wait for one message per contact',
      caption: 'Successful contacts by the longest gap between two messages (table contact_waits), per event.',
      spec: waitsSpec(series),
    },
    {
      id: 'fig-5.3-addresses-per-source',
      title: 'Addresses received per source',
      caption: `Sum of requests.received per ${series.bucketLabel} and kind (for incoming: connections accepted).`,
      spec: addressesSpec(series),
    },
    {
      id: 'fig-5.4-confirmed-vs-reported',
      title: 'Confirmed vs reported downloads',
      caption: `Cumulative confirmed downloads by crossed_at, and growth of the scrape "downloaded" of each torrent's best tracker, at the end of each ${series.bucketLabel}.`,
      spec: downloadsSpec(series),
    },
    {
      id: 'contacts-over-time',
      title: 'Contacts over time',
      caption: 'Differences of the statistics counters (evaluations, successes, incoming) between consecutive rows, per minute.',
      spec: contactsSpec(series),
    },
    {
      id: 'outcomes-per-run',
      title: 'Outcomes per run',
      caption: 'Outcomes have no time column: one bar per run and event, split by reason.',
      spec: outcomesSpec(series),
    },
    {
      id: 'download-speeds',
      title: 'Download speed distribution',
      caption: 'Histogram of peers.max_speed (4 bins per decade), with the median and the 90th percentile.',
      spec: speedsSpec(report),
    },
  ];
  const out: Figure[] = [];
  for (const f of specs) out.push({ id: f.id, title: f.title, caption: f.caption, svg: await renderSvg(f.spec) });
  return out;
}
