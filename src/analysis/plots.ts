// Every figure of the HTML report, in page order. The specs live under plots/ by kind.
import type { TopLevelSpec } from 'vega-lite';
import type { Report } from './report.ts';
import type { Series } from './series.ts';
import { outcomesSpec, speedsSpec, waitsSpec } from './plots/distributions.ts';
import { mapSpec } from './plots/map.ts';
import { renderSvg, type Figure } from './plots/render.ts';
import { addressesSpec, contactsSpec, downloadsSpec, loadSpec } from './plots/time.ts';

export { renderSvg, speedText, timeTicks, type Figure } from './plots/render.ts';
export { addressesSpec, contactsSpec, downloadsSpec, loadSpec } from './plots/time.ts';
export { outcomesSpec, speedsSpec, waitsSpec } from './plots/distributions.ts';
export { mapData, mapSpec } from './plots/map.ts';

export async function renderFigures(report: Report, series: Series): Promise<Figure[]> {
  const specs: (Omit<Figure, 'svg'> & { spec: TopLevelSpec })[] = [
    {
      id: 'fig-5.1-longest-wait',
      title: 'Longest wait for one message per contact',
      caption: 'Successful contacts by the longest gap between two messages (table contact_waits), per event.',
      spec: waitsSpec(series),
    },
    {
      id: 'fig-5.2-load',
      title: 'Load during the measurement',
      caption: 'The statistics rows: peers waiting in the queue, contacts open, contacts finished per second (difference of two rows), RSS and load average.',
      spec: loadSpec(series),
    },
    {
      id: 'fig-5.3-addresses-per-source',
      title: 'Addresses received per source',
      caption: `Sum of requests.received per ${series.bucketLabel} bin from the start of the measurement, one panel per source (for incoming: connections accepted).`,
      spec: addressesSpec(series),
    },
    {
      id: 'fig-5.4-confirmed-vs-reported',
      title: 'Confirmed vs reported downloads',
      caption: 'Cumulative confirmed downloads, a step at each crossed_at; reported: highest − first scrape "downloaded" so far of each torrent\'s best tracker, a step at each scrape.',
      spec: downloadsSpec(series),
    },
    {
      id: 'map-confirmed-by-country',
      title: 'Confirmed downloads per country',
      caption: 'Confirmed downloads by the country of the peer (see the countries table for the database); country shapes: Natural Earth 1:110m via world-atlas.',
      spec: mapSpec(report),
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
