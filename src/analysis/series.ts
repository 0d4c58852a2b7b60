// Time series behind the report's figures. Bins start at the start of the measured span (not at a round
// clock time before it) and are sized so a plot has at most 100 bins whatever its length (5 s for a
// one-minute demo, 30 min for a 48 h crawl): a 640-px panel gives each bin 6 px or more, and a bin is no
// shorter than the usual 30-minute announce interval on a crawl of days, so one torrent's announces do not
// alternate with empty bins. The last bin ends where the data ends. Cumulative counts
// (fig 5.4) are not binned at all: each step sits at the time of its event.
import { readerOf, type ReadSource } from '../store/queries/reader.ts';
import { outcomesPerRun, receivedPerBin, statisticsBefore, statisticsRows, waitsPerSecond } from '../store/queries/series.ts';
import { params, readRuns, runInWindow, type Report, type ReportOptions, type RunReport } from './report.ts';
import { byText } from './report/shared.ts';
import { downloadSeries } from './series-downloads.ts';

const BUCKETS = [5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400];
const MAX_POINTS = 200;
/** Bins per time plot (fig 5.3). */
const MAX_BINS = 100;

export interface Span {
  /** First and last moment measured in the window (ISO). */
  start: string;
  end: string;
}

export interface Series {
  /** The measured time span: every time axis shows exactly this. */
  span: Span;
  /** Bin length, seconds. */
  bucketSeconds: number;
  /** e.g. "5 s", "5 min", "1 h". */
  bucketLabel: string;
  /** Fig 5.3: addresses received per source and bin [from, to); null where no run was measuring. */
  addresses: { from: string; to: string; kind: string; received: number | null }[];
  /** Fig 5.4: per torrent, cumulative confirmed downloads and reported growth, a point per event. */
  downloads: { time: string; torrent: string; measure: 'confirmed' | 'reported (scrape)'; count: number; event: boolean }[];
  /** Contacts per minute between statistics rows, per run. */
  contacts: { time: string; run: number; series: string; perMinute: number }[];
  /** Fig 5.2: the crawler's load from the statistics rows, one row per metric and time. */
  load: { time: string; run: number; metric: string; value: number }[];
  /** Outcomes per run and event, by reason. */
  outcomes: { run: string; event: string; reason: string; count: number }[];
  /** Fig 5.1: successful contacts by their longest wait for one message (whole seconds), per event. */
  waits: { waitS: number; event: string; count: number }[];
  /** The torrents of the downloads plot, in id order. */
  torrentOrder: string[];
  /** Torrents left out of the downloads plot (it shows the first 24 by activity). */
  torrentsOmitted: number;
}

/** The metrics of fig 5.2, in panel order, with their units. */
export const LOAD_METRICS = ['queue (peers waiting)', 'in flight (open contacts)', 'contacts finished per second', 'memory (RSS, MB)', 'load average (1 min)'];

export function bucketFor(spanSeconds: number): number {
  return BUCKETS.find((b) => spanSeconds / b <= MAX_BINS) ?? BUCKETS[BUCKETS.length - 1];
}

export function bucketLabel(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? '1 day' : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** The window's measured span: from the first run start to the last activity, cut by --since/--until. */
export function measuredSpan(runs: RunReport[], w: { since: string | null; until: string | null }): { startMs: number; endMs: number } | null {
  if (runs.length === 0) return null;
  const startMs = Math.max(w.since ? Date.parse(w.since) : -Infinity, Math.min(...runs.map((r) => Date.parse(r.startedAt))));
  const endMs = Math.min(w.until ? Date.parse(w.until) : Infinity, Math.max(...runs.map((r) => Date.parse(r.lastActivity))));
  return Number.isFinite(startMs) && Number.isFinite(endMs) && endMs > startMs ? { startMs, endMs } : null;
}

export async function buildSeries(source: ReadSource, report: Report, opts: ReportOptions = {}): Promise<Series> {
  const r = readerOf(source);
  const p = params(opts);
  const w = { since: p.since, until: p.until };
  const runs = (await readRuns(r, w)).filter((x) => runInWindow(x, w));
  const measured = measuredSpan(runs, w);
  const startMs = measured?.startMs ?? Date.parse(report.generatedAt);
  const endMs = measured?.endMs ?? startMs + 60_000;
  const b = bucketFor((endMs - startMs) / 1000);
  const iso = (ms: number) => new Date(ms).toISOString();
  const span: Span = { start: iso(startMs), end: iso(endMs) };
  const bins: number[] = [];
  if (measured) for (let t = startMs; t < endMs && bins.length <= MAX_BINS + 1; t += b * 1000) bins.push(t);

  // fig 5.3: addresses per source per bin, zero where a source received nothing while a run was measuring
  const received = new Map<string, Map<number, number>>();
  if (measured) {
    for (const x of await receivedPerBin(r, p, span.start, b)) {
      let m = received.get(x.kind);
      if (!m) received.set(x.kind, (m = new Map()));
      // a request at the very end of the span belongs to the last bin
      const i = Math.min(x.bin, bins.length - 1);
      m.set(i, (m.get(i) ?? 0) + x.n);
    }
  }
  const measuring = (t: number) => runs.some((x) => Date.parse(x.startedAt) < t + b * 1000 && Date.parse(x.lastActivity) > t);
  const addresses: Series['addresses'] = [];
  for (const s of report.sources) {
    const m = received.get(s.kind);
    if (!m) continue;
    bins.forEach((t, i) => addresses.push({
      from: iso(t), to: iso(Math.min(t + b * 1000, endMs)), kind: s.kind, received: m.get(i) ?? (measuring(t) ? 0 : null),
    }));
  }

  // contacts per minute and the load (fig 5.2) from the statistics rows (their counters count from the run's start)
  const contacts: Series['contacts'] = [];
  const load: Series['load'] = [];
  for (const run of runs) {
    // the baseline is the row just before the window, or the run's start (all counters 0)
    const before = w.since === null ? undefined : await statisticsBefore(r, run.id, w.since);
    let prev: StatRow = before ?? { at: run.startedAt, evaluations: 0, successes: 0, incoming: 0 };
    for (const x of await statisticsRows(r, p, run.id)) {
      const seconds = (Date.parse(x.at) - Date.parse(prev.at)) / 1000;
      const metric = (name: string, value: number | null) => {
        if (value !== null) load.push({ time: x.at, run: run.id, metric: name, value });
      };
      metric(LOAD_METRICS[0], x.queue);
      metric(LOAD_METRICS[1], x.in_flight);
      if (seconds > 0) {
        const rate = (a: number, c: number) => Math.max(0, a - c) / (seconds / 60);
        contacts.push({ time: x.at, run: run.id, series: 'contacts finished', perMinute: rate(x.evaluations, prev.evaluations) });
        contacts.push({ time: x.at, run: run.id, series: 'successful contacts', perMinute: rate(x.successes, prev.successes) });
        contacts.push({ time: x.at, run: run.id, series: 'inbound connections', perMinute: rate(x.incoming, prev.incoming) });
        metric(LOAD_METRICS[2], Math.max(0, x.evaluations - prev.evaluations) / seconds);
      }
      metric(LOAD_METRICS[3], x.rss_mb);
      metric(LOAD_METRICS[4], x.load_average);
      prev = x;
    }
  }

  // outcomes per run, and the longest wait per successful contact (runs of the window)
  const runIds = runs.map((x) => x.id);
  const outcomes: Series['outcomes'] = (await outcomesPerRun(r, p, runIds))
    .sort((a, c) => a.run_id - c.run_id || byText(a.event, c.event) || byText(a.reason, c.reason))
    .map((x) => ({ run: runLabel(runs.find((y) => y.id === x.run_id)!), event: x.event, reason: x.reason, count: x.n }));
  const waits: Series['waits'] = (await waitsPerSecond(r, p, runIds))
    .sort((a, c) => a.wait_s - c.wait_s || byText(a.event, c.event))
    .map((x) => ({ waitS: x.wait_s, event: x.event, count: x.n }));

  const d = await downloadSeries(r, report, p, { startMs, endMs, maxPoints: MAX_POINTS });
  return {
    span, bucketSeconds: b, bucketLabel: bucketLabel(b), addresses, downloads: d.downloads, contacts, load, outcomes, waits,
    torrentOrder: d.torrentOrder, torrentsOmitted: d.torrentsOmitted,
  };
}

interface StatRow {
  at: string;
  evaluations: number;
  successes: number;
  incoming: number;
}

function runLabel(r: { id: number; startedAt: string }): string {
  return `run ${r.id}, started ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC`;
}
