// The time series behind the report's figures (fig 5.1 to 5.4): addresses per source and time bin, the
// statistics rows, outcomes and waits per run, and the events of the downloads plot.
import { filterParams, inSet, inWindow, type Filter } from './filters.ts';
import type { Reader } from './reader.ts';

/**
 * The bin of a time column: whole bins since @startMs, in integer milliseconds (exact in both dialects; a
 * fraction of a day, as julianday gives, can put a request at a bin's very start into the bin before).
 */
const binOf = (col: string) => ({
  sqlite: `CAST((round(unixepoch(${col}, 'subsec') * 1000) - @startMs) / @binMs AS INTEGER)`,
  postgres: `floor((extract(epoch FROM ${col}::timestamptz) * 1000 - @startMs) / @binMs)::integer`,
});

/** Addresses received per source kind and bin, from the start of the span on. */
export function receivedPerBin(r: Reader, f: Filter, start: string, binSeconds: number): Promise<{ kind: string; bin: number; n: number }[]> {
  const bin = binOf('started_at');
  const sql = (binExpr: string) => `SELECT kind, ${binExpr} bin, sum(received) n FROM requests
       WHERE ${inWindow('started_at', f)} AND started_at >= @start AND ${inSet('torrent_id', f)}
       GROUP BY kind, 2`;
  return r.all({ sqlite: sql(bin.sqlite), postgres: sql(bin.postgres) },
    { ...filterParams(f), start, startMs: Date.parse(start), binMs: binSeconds * 1000 });
}

export interface StatisticsRow {
  at: string;
  queue: number;
  in_flight: number;
  evaluations: number;
  successes: number;
  incoming: number;
  rss_mb: number;
  load_average: number | null;
}

/** One run's statistics rows in the window, in time order. */
export function statisticsRows(r: Reader, f: Filter, runId: number): Promise<StatisticsRow[]> {
  return r.all<StatisticsRow>(
    `SELECT at, queue, in_flight, evaluations, successes, incoming, rss_mb, load_average FROM statistics
     WHERE run_id = @run AND ${inWindow('at', f)} ORDER BY at, id`,
    { ...filterParams(f), run: runId },
  );
}

/** The run's last statistics row before `before` (the baseline of its rates), or undefined. */
export function statisticsBefore(r: Reader, runId: number, before: string):
  Promise<{ at: string; evaluations: number; successes: number; incoming: number } | undefined> {
  return r.one(
    'SELECT at, evaluations, successes, incoming FROM statistics WHERE run_id = @run AND at < @before ORDER BY at DESC, id DESC LIMIT 1',
    { run: runId, before },
  );
}

/** Outcomes per run, event and reason (those with a count). */
export function outcomesPerRun(r: Reader, f: Filter, runIds: number[]): Promise<{ run_id: number; event: string; reason: string; n: number }[]> {
  if (runIds.length === 0) return Promise.resolve([]);
  return r.all(
    `SELECT run_id, event, reason, sum(count) n FROM outcomes
     WHERE run_id IN (@runs) AND ${inSet('torrent_id', f)} GROUP BY run_id, event, reason HAVING sum(count) > 0`,
    { ...filterParams(f), runs: runIds },
  );
}

/** Successful contacts per longest wait (whole seconds) and event, for the given runs. */
export async function waitsPerSecond(r: Reader, f: Filter, runIds: number[]): Promise<{ wait_s: number; event: string; n: number }[]> {
  if (runIds.length === 0 || !(await r.hasTable('contact_waits'))) return [];
  return r.all(
    `SELECT wait_s, event, sum(count) n FROM contact_waits
     WHERE run_id IN (@runs) AND ${inSet('torrent_id', f)} GROUP BY wait_s, event HAVING sum(count) > 0`,
    { ...filterParams(f), runs: runIds },
  );
}

/** A torrent's confirmed downloads in the window, in time order (each a step of fig 5.4). */
export async function crossingTimes(r: Reader, f: Filter, torrentId: number): Promise<string[]> {
  const rows = await r.all<{ t: string }>(
    `SELECT crossed_at t FROM confirmed_downloads WHERE torrent_id = @torrent AND ${inWindow('crossed_at', f)} ORDER BY crossed_at`,
    { ...filterParams(f), torrent: torrentId },
  );
  return rows.map((x) => x.t);
}

/** One tracker's `downloaded` numbers for a torrent in the window, in time order. */
export function downloadedSteps(r: Reader, f: Filter, torrentId: number, tracker: string): Promise<{ t: string; downloaded: number }[]> {
  return r.all(
    `SELECT at t, downloaded FROM scrapes
     WHERE torrent_id = @torrent AND tracker = @tracker AND downloaded IS NOT NULL AND ${inWindow('at', f)} ORDER BY at, id`,
    { ...filterParams(f), torrent: torrentId, tracker },
  );
}
