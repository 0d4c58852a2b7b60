// Fig 5.4's lines: per torrent, cumulative confirmed downloads (one step at each crossed_at) and the reported
// downloads of its best tracker (highest − first `downloaded` so far, one step at each scrape). Points sit at
// the time of their event; a line runs on flat to the end of the measured span. More events than fit are
// thinned to the last event of each of ~maxPoints equal slices, which keeps every value the line passes.
import type { Reader } from '../store/queries/reader.ts';
import { crossingTimes, downloadedSteps } from '../store/queries/series.ts';
import { type Params, type Report, ReportedDownloads } from './report.ts';
import type { Series } from './series.ts';

const SHOWN_TORRENTS = 24;

export async function downloadSeries(r: Reader, report: Report, p: Params, o: { startMs: number; endMs: number; maxPoints: number }):
  Promise<Pick<Series, 'downloads' | 'torrentOrder' | 'torrentsOmitted'>> {
  const active = report.torrents
    .filter((t) => t.confirmed > 0 || t.reportedDownloaded !== null)
    .sort((a, c) => c.confirmed + (c.reportedDownloaded ?? 0) - (a.confirmed + (a.reportedDownloaded ?? 0)) || a.id - c.id);
  const shown = active.slice(0, SHOWN_TORRENTS).sort((a, c) => a.id - c.id);
  const iso = (ms: number) => new Date(ms).toISOString();
  const start = iso(o.startMs);
  const end = iso(o.endMs);
  const slice = (o.endMs - o.startMs) / o.maxPoints;
  const downloads: Series['downloads'] = [];
  const torrentOrder: string[] = [];
  for (const t of shown) {
    let label = torrentLabel(t.name, t.infoHash);
    if (torrentOrder.includes(label)) label = `${label} (${t.infoHash.slice(0, 8)})`;
    torrentOrder.push(label);
    const line = (measure: 'confirmed' | 'reported (scrape)', points: [string, number][], from: [string, number] | null) => {
      if (from) downloads.push({ time: from[0], torrent: label, measure, count: from[1], event: false });
      const out: [string, number][] = [];
      // thin: keep the last point of each slice of the span
      for (let i = 0; i < points.length; i++) {
        const next = points[i + 1];
        const sliceOf = (time: string) => Math.floor((Date.parse(time) - o.startMs) / slice);
        if (next === undefined || points.length <= o.maxPoints || sliceOf(next[0]) !== sliceOf(points[i][0])) out.push(points[i]);
      }
      for (const [time, count] of out) downloads.push({ time, torrent: label, measure, count, event: true });
      const last = out.at(-1) ?? from;
      if (last && last[0] < end) downloads.push({ time: end, torrent: label, measure, count: last[1], event: false });
    };
    // confirmed: 0 at the start, +1 at each crossing
    const crossings = (await crossingTimes(r, p, t.id)).map((time, i): [string, number] => [time, i + 1]);
    line('confirmed', crossings, [start, 0]);
    if (t.bestTracker !== null) {
      // reported: the same rule as the report's table, step by step; it starts at the first scrape
      const c = new ReportedDownloads();
      const steps: [string, number][] = [];
      for (const x of await downloadedSteps(r, p, t.id, t.bestTracker)) {
        c.add(x.downloaded);
        steps.push([x.t, c.growth!]);
      }
      line('reported (scrape)', steps, null);
    }
  }
  return { downloads, torrentOrder, torrentsOmitted: active.length - shown.length };
}

export function torrentLabel(name: string | null, infoHash: string): string {
  const n = name ?? infoHash.slice(0, 12);
  return n.length > 40 ? `${n.slice(0, 39)}…` : n;
}
