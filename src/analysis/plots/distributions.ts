// The figures of distributions: longest wait per contact (fig 5.1), outcomes per run, download speeds.
import type { TopLevelSpec } from 'vega-lite';
import type { Report } from '../report.ts';
import type { Series } from '../series.ts';
import { noData, SPEED_LABEL, speedText } from './render.ts';

const REASON_COLORS: [string, string][] = [
  ['success', '#54a24b'], ['timeout', '#e45756'], ['refused', '#f58518'], ['reset', '#b279a2'],
  ['unreachable', '#9d755d'], ['closed-early', '#ff9da6'], ['no-state', '#eeca3b'], ['unknown-protocol', '#4c78a8'],
  ['wrong-info-hash', '#72b7b2'], ['unknown-info-hash', '#17becf'], ['bad-message', '#bab0ac'], ['stopped', '#d6d6d6'], ['other-shard', '#a0cbe8'], ['error', '#79706e'],
];
const EVENT_ORDER = ['first', 'later', 'incoming'];
const EVENT_COLORS: Record<string, string> = { first: '#4c78a8', later: '#f58518', incoming: '#54a24b' };

/** Fig 5.1: how long peers keep us waiting for one message; what a --timeout of t seconds would cut off. */
export function waitsSpec(series: Series): TopLevelSpec {
  const title = 'Longest wait for one message per successful contact (thesis fig. 5.1)';
  if (series.waits.length === 0) return noData(title, 'no successful contacts in this window');
  // the legend lists only the events that have data
  const events = [...EVENT_ORDER.filter((e) => series.waits.some((w) => w.event === e)),
    ...[...new Set(series.waits.map((w) => w.event))].filter((e) => !EVENT_ORDER.includes(e))];
  return {
    title: { text: title, subtitle: 'whole seconds; a contact ends after --timeout seconds without a message' },
    width: 640,
    height: 260,
    data: { values: series.waits },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'waitS', type: 'ordinal', title: 'longest wait for one message (s)', axis: { labelAngle: 0 } },
      y: { field: 'count', type: 'quantitative', title: 'successful contacts', axis: { tickMinStep: 1 } },
      color: { field: 'event', type: 'nominal', title: 'event', scale: { domain: events, range: events.map((e) => EVENT_COLORS[e] ?? '#888') } },
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

