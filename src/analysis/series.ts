// Time series behind the report's figures, bucketed so a plot has at most ~200 points per line whatever the
// length of the measurement (1 min buckets for a short demo, hours for a 48 h crawl).
import type { Database } from '../store/database.ts';
import { inSet, inWindow, params, readRuns, runInWindow, type Report, type ReportOptions } from './report.ts';

const BUCKETS = [60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 86_400, 7 * 86_400];
const MAX_POINTS = 200;

export interface Series {
  /** Bucket length, seconds. */
  bucketSeconds: number;
  /** e.g. "5 min", "1 h". */
  bucketLabel: string;
  /** Fig 5.3: addresses received per source and bucket (bucket = its start time). */
  addresses: { time: string; kind: string; received: number | null }[];
  /** Fig 5.4: per torrent, cumulative confirmed downloads and growth of the best tracker's `downloaded`. */
  downloads: { time: string; torrent: string; measure: 'confirmed' | 'reported (scrape)'; count: number }[];
  /** Contacts per minute between statistics rows, per run. */
  contacts: { time: string; run: number; series: string; perMinute: number }[];
  /** Outcomes per run and event, by reason. */
  outcomes: { run: string; event: string; reason: string; count: number }[];
  /** Fig 5.1: successful contacts by their longest wait for one message (whole seconds), per event. */
  waits: { waitS: number; event: string; count: number }[];
  /** The torrents of the downloads plot, in id order. */
  torrentOrder: string[];
  /** Torrents left out of the downloads plot (it shows the first 24 by activity). */
  torrentsOmitted: number;
}

export function bucketFor(spanSeconds: number): number {
  return BUCKETS.find((b) => spanSeconds / b <= MAX_POINTS) ?? BUCKETS[BUCKETS.length - 1];
}

export function bucketLabel(seconds: number): string {
  if (seconds % 86_400 === 0) return seconds === 86_400 ? '1 day' : `${seconds / 86_400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  return `${seconds / 60} min`;
}

export function buildSeries(db: Database, report: Report, opts: ReportOptions = {}): Series {
  const p = params(opts);
  const w = { since: p.since, until: p.until };
  const runs = readRuns(db, w).filter((r) => runInWindow(r, w));
  const startMs = Math.max(w.since ? Date.parse(w.since) : -Infinity, Math.min(...runs.map((r) => Date.parse(r.startedAt))));
  const endMs = Math.min(w.until ? Date.parse(w.until) : Infinity, Math.max(...runs.map((r) => Date.parse(r.lastActivity))));
  const span = Number.isFinite(startMs) && Number.isFinite(endMs) && endMs > startMs ? (endMs - startMs) / 1000 : 3600;
  const b = bucketFor(span);
  const first = Number.isFinite(startMs) ? Math.floor(startMs / 1000 / b) * b : 0;
  // buckets cover [start, end] (a scrape at the very end of a run is in the last one)
  const last = Number.isFinite(endMs) ? Math.floor(endMs / 1000 / b) * b : -1;
  const buckets: number[] = [];
  for (let t = first; t <= last && buckets.length <= MAX_POINTS + 2; t += b) buckets.push(t);
  const iso = (sec: number) => new Date(sec * 1000).toISOString();
  // better-sqlite3 binds a JS number as REAL: cast, or the division would not round down to the bucket
  const bucketOf = (col: string) => `(CAST(strftime('%s', ${col}) AS INTEGER) / CAST(@b AS INTEGER)) * CAST(@b AS INTEGER)`;
  const q = { ...p, b };

  // fig 5.3: addresses per source per bucket, zero where a source received nothing
  const received = new Map<string, Map<number, number>>();
  for (const r of db.sqlite.prepare(
    `SELECT kind, ${bucketOf('started_at')} bucket, sum(received) n FROM requests
     WHERE ${inWindow('started_at')} AND (@set IS NULL OR torrent_id IN (SELECT id FROM torrents WHERE set_label = @set))
     GROUP BY kind, bucket`,
  ).iterate(q) as Iterable<{ kind: string; bucket: number; n: number }>) {
    if (!received.has(r.kind)) received.set(r.kind, new Map());
    received.get(r.kind)!.set(r.bucket, r.n);
  }
  // a bucket no run was measuring is null (a gap in the line), not 0
  const measured = (t: number) => runs.some((r) => Date.parse(r.startedAt) < (t + b) * 1000 && Date.parse(r.lastActivity) > t * 1000);
  const addresses: Series['addresses'] = [];
  for (const s of report.sources) {
    const m = received.get(s.kind);
    if (!m) continue;
    for (const t of buckets) addresses.push({ time: iso(t), kind: s.kind, received: m.get(t) ?? (measured(t) ? 0 : null) });
  }

  // fig 5.4: cumulative confirmed (by crossed_at) and cumulative scrape growth, at the end of each bucket
  const active = report.torrents
    .filter((t) => t.confirmed > 0 || t.reportedDownloaded !== null)
    .sort((a, c) => c.confirmed + (c.reportedDownloaded ?? 0) - (a.confirmed + (a.reportedDownloaded ?? 0)) || a.id - c.id);
  const shown = active.slice(0, 24).sort((a, c) => a.id - c.id);
  const downloads: Series['downloads'] = [];
  const confirmedStmt = db.sqlite.prepare(
    `SELECT ${bucketOf('crossed_at')} bucket, count(*) n FROM confirmed_downloads
     WHERE torrent_id = @torrent AND ${inWindow('crossed_at')} GROUP BY bucket`,
  );
  const scrapeStmt = db.sqlite.prepare(
    `SELECT ${bucketOf('at')} bucket, downloaded FROM scrapes
     WHERE torrent_id = @torrent AND tracker = @tracker AND downloaded IS NOT NULL AND ${inWindow('at')} ORDER BY at, id`,
  );
  const torrentOrder: string[] = [];
  for (const t of shown) {
    let label = torrentLabel(t.name, t.infoHash);
    if (torrentOrder.includes(label)) label = `${label} (${t.infoHash.slice(0, 8)})`;
    torrentOrder.push(label);
    const perBucket = new Map<number, number>();
    for (const r of confirmedStmt.iterate({ ...q, torrent: t.id }) as Iterable<{ bucket: number; n: number }>) perBucket.set(r.bucket, r.n);
    let cumulative = 0;
    for (const bt of buckets) {
      cumulative += perBucket.get(bt) ?? 0;
      downloads.push({ time: iso(bt + b), torrent: label, measure: 'confirmed', count: cumulative });
    }
    if (t.bestTracker !== null) {
      // same rule as the report: the sum of increases, the value at the last scrape of each bucket
      const growthAt = new Map<number, number>();
      let prev: number | null = null;
      let growth = 0;
      for (const r of scrapeStmt.iterate({ ...q, torrent: t.id, tracker: t.bestTracker }) as Iterable<{ bucket: number; downloaded: number }>) {
        if (prev !== null && r.downloaded > prev) growth += r.downloaded - prev;
        prev = r.downloaded;
        growthAt.set(r.bucket, growth);
      }
      let seen = false;
      let value = 0;
      for (const bt of buckets) {
        if (growthAt.has(bt)) {
          seen = true;
          value = growthAt.get(bt)!;
        }
        if (seen) downloads.push({ time: iso(bt + b), torrent: label, measure: 'reported (scrape)', count: value });
      }
    }
  }

  // contacts per minute from the statistics rows (evaluations etc. count from the run's start)
  const contacts: Series['contacts'] = [];
  const statStmt = db.sqlite.prepare(
    `SELECT at, evaluations, successes, incoming FROM statistics WHERE run_id = @run AND ${inWindow('at')} ORDER BY at, id`,
  );
  for (const run of runs) {
    // the baseline is the row just before the window, or the run's start (all counters 0)
    const before = w.since === null ? undefined : db.sqlite.prepare(
      `SELECT at, evaluations, successes, incoming FROM statistics WHERE run_id = ? AND at < ? ORDER BY at DESC, id DESC LIMIT 1`,
    ).get(run.id, w.since) as StatRow | undefined;
    let prev: StatRow = before ?? { at: run.startedAt, evaluations: 0, successes: 0, incoming: 0 };
    for (const r of statStmt.iterate({ ...q, run: run.id }) as Iterable<StatRow>) {
      const minutes = (Date.parse(r.at) - Date.parse(prev.at)) / 60_000;
      if (minutes > 0) {
        const rate = (a: number, c: number) => Math.max(0, a - c) / minutes;
        contacts.push({ time: r.at, run: run.id, series: 'contacts finished', perMinute: rate(r.evaluations, prev.evaluations) });
        contacts.push({ time: r.at, run: run.id, series: 'successful contacts', perMinute: rate(r.successes, prev.successes) });
        contacts.push({ time: r.at, run: run.id, series: 'inbound connections', perMinute: rate(r.incoming, prev.incoming) });
      }
      prev = r;
    }
  }

  // outcomes per run
  const runIds = runs.map((r) => r.id);
  const outcomes: Series['outcomes'] = runIds.length === 0 ? [] : (db.sqlite.prepare(
    `SELECT run_id, event, reason, sum(count) n FROM outcomes
     WHERE run_id IN (SELECT value FROM json_each(@runs)) AND ${inSet('torrent_id')} GROUP BY run_id, event, reason HAVING n > 0
     ORDER BY run_id, event, reason`,
  ).all({ ...q, runs: JSON.stringify(runIds) }) as { run_id: number; event: string; reason: string; n: number }[])
    .map((r) => ({ run: runLabel(runs.find((x) => x.id === r.run_id)!), event: r.event, reason: r.reason, count: r.n }));

  // longest wait per successful contact (runs of the window, like outcomes)
  const waits: Series['waits'] = runIds.length === 0 || !db.hasTable('contact_waits') ? [] : (db.sqlite.prepare(
    `SELECT wait_s, event, sum(count) n FROM contact_waits
     WHERE run_id IN (SELECT value FROM json_each(@runs)) AND ${inSet('torrent_id')} GROUP BY wait_s, event HAVING n > 0
     ORDER BY wait_s, event`,
  ).all({ ...q, runs: JSON.stringify(runIds) }) as { wait_s: number; event: string; n: number }[])
    .map((r) => ({ waitS: r.wait_s, event: r.event, count: r.n }));

  return { bucketSeconds: b, bucketLabel: bucketLabel(b), addresses, downloads, contacts, outcomes, waits, torrentOrder, torrentsOmitted: active.length - shown.length };
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

export function torrentLabel(name: string | null, infoHash: string): string {
  const n = name ?? infoHash.slice(0, 12);
  return n.length > 40 ? `${n.slice(0, 39)}…` : n;
}
