// The figures over time: addresses per source (fig 5.3), confirmed vs reported downloads (fig 5.4), the
// crawler's load (fig 5.2) and contacts per minute. Every time axis spans exactly the measured time.
import type { TopLevelSpec } from 'vega-lite';
import { LOAD_METRICS, type Series } from '../series.ts';
import { noData, timeX } from './render.ts';

const SOURCE_COLORS: Record<string, string> = {
  http: '#4c78a8', udp: '#72b7b2', dht: '#f58518', incoming: '#54a24b', pex: '#b279a2', file: '#9d755d',
};

/** Fig 5.3: one panel per source, so sources that receive the same addresses (two trackers) cannot hide each other. */
export function addressesSpec(series: Series): TopLevelSpec {
  const title = 'Addresses received per source (thesis fig. 5.3)';
  if (series.addresses.length === 0) return noData(title);
  const kinds = [...new Set(series.addresses.map((a) => a.kind))];
  const gaps = series.addresses.some((a) => a.received === null);
  return {
    title: {
      text: title,
      subtitle: `addresses in the replies of each source per ${series.bucketLabel} bin` + (gaps ? '; no bar where no run was measuring' : ''),
    },
    data: { values: series.addresses.filter((a) => a.received !== null) },
    facet: {
      row: {
        field: 'kind', type: 'nominal', title: null, sort: kinds,
        header: { labelOrient: 'top', labelAngle: 0, labelAnchor: 'start', labelFontWeight: 'bold', labelPadding: 4 },
      },
    },
    spec: {
      width: 640,
      height: 70,
      mark: { type: 'rect', stroke: 'white', strokeWidth: 0.3 },
      encoding: {
        x: timeX(series.span, 'from'),
        x2: { field: 'to' },
        y: { field: 'received', type: 'quantitative', title: 'addresses', axis: { tickMinStep: 1, format: ',d', tickCount: 3 } },
        color: { field: 'kind', type: 'nominal', legend: null, scale: { domain: kinds, range: kinds.map((k) => SOURCE_COLORS[k] ?? '#888') } },
        tooltip: [{ field: 'kind' }, { field: 'from', type: 'temporal', format: '%H:%M:%S' }, { field: 'received' }],
      },
    },
    resolve: { scale: { y: 'independent' } },
    spacing: 8,
  } as TopLevelSpec;
}

/** Fig 5.4: cumulative steps at the times the downloads happened (crossings) and were reported (scrapes). */
export function downloadsSpec(series: Series): TopLevelSpec {
  const title = 'Confirmed downloads vs downloads reported by scrape (thesis fig. 5.4)';
  if (series.downloads.length === 0) return noData(title);
  const torrents = new Set(series.downloads.map((d) => d.torrent)).size;
  return {
    title: {
      text: title,
      subtitle: 'cumulative since the start of the window; a step where a peer crossed the threshold or a scrape reported more' +
        (series.torrentsOmitted > 0 ? `; ${series.torrentsOmitted} less active torrents not shown` : ''),
    },
    data: { values: series.downloads },
    facet: {
      field: 'torrent', type: 'nominal', title: null, sort: series.torrentOrder,
      header: { labelLimit: 320, labelFontWeight: 'bold', labelFontSize: 11 },
    },
    columns: Math.min(3, torrents),
    spec: {
      width: torrents === 1 ? 600 : 260,
      height: torrents === 1 ? 260 : 150,
      encoding: {
        x: timeX(series.span, 'time', torrents === 1 ? {} : { labelAngle: -40 }),
        y: { field: 'count', type: 'quantitative', title: 'downloads (cumulative)', axis: { tickMinStep: 1, format: ',d' } },
        color: {
          field: 'measure', type: 'nominal', title: null,
          scale: { domain: ['confirmed', 'reported (scrape)'], range: ['#e45756', '#4c78a8'] },
          legend: { orient: 'top', direction: 'horizontal', symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolSize: 300 },
        },
      },
      layer: [
        {
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.8 },
          encoding: {
            strokeDash: {
              field: 'measure', type: 'nominal', title: null,
              scale: { domain: ['confirmed', 'reported (scrape)'], range: [[1, 0], [5, 3]] },
            },
          },
        },
        // a dot where something happened (not at the start or the end of the span, where the line only begins or runs on)
        { transform: [{ filter: 'datum.event' }], mark: { type: 'point', filled: true, size: 16 } },
      ],
    },
    // every panel keeps its own time axis (a wrapped facet would leave one under an empty cell)
    resolve: { scale: { y: 'independent', x: 'shared' }, axis: { x: 'independent' } },
  } as TopLevelSpec;
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
      x: timeX(series.span),
      y: { field: 'perMinute', type: 'quantitative', title: 'count per minute' },
      color: {
        field: 'series', type: 'nominal', title: null, scale: { domain: names, range: ['#4c78a8', '#54a24b', '#f58518'] },
        legend: { symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolSize: 300 },
      },
      // where every contact succeeds the first two lines coincide: the dashes keep both visible
      strokeDash: { field: 'series', type: 'nominal', title: null, scale: { domain: names, range: [[1, 0], [6, 3], [2, 2]] } },
      detail: { field: 'run', type: 'nominal' },
    },
  };
}

/** Fig 5.2: what the crawler carried and what it cost, one panel per metric with its own unit. */
export function loadSpec(series: Series): TopLevelSpec {
  const title = 'Load during the measurement (thesis fig. 5.2)';
  if (series.load.length === 0) return noData(title, 'no statistics rows in this window');
  const metrics = LOAD_METRICS.filter((m) => series.load.some((l) => l.metric === m));
  const runs = new Set(series.load.map((l) => l.run)).size;
  return {
    title: { text: title, subtitle: `from the statistics rows (one every --stats-interval)${runs > 1 ? '; one line per run' : ''}` },
    data: { values: series.load },
    facet: {
      row: {
        field: 'metric', type: 'nominal', title: null, sort: metrics,
        header: { labelOrient: 'top', labelAngle: 0, labelAnchor: 'start', labelFontWeight: 'bold', labelPadding: 4, labelLimit: 0 },
      },
    },
    spec: {
      width: 640,
      height: 80,
      mark: { type: 'line', strokeWidth: 1.6, color: '#4c78a8', point: series.load.length <= 5 * 80 ? { size: 14, filled: true } : false },
      encoding: {
        x: timeX(series.span),
        // "1.5k" for large counts, but plain decimals below 1,000: '~s' wrote 0.04 contacts/s as "40m"
        y: {
          field: 'value', type: 'quantitative', title: null,
          axis: { tickCount: 3, labelExpr: "abs(datum.value) >= 1000 ? format(datum.value, '~s') : format(datum.value, ',~r')" },
        },
        detail: { field: 'run', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
    spacing: 8,
  } as TopLevelSpec;
}
