// The watch per run (README "The watch"): the run's last `statistics` row holds its totals, since the
// watch counters count from the run's start. Runs are those that overlap the window (like outcomes: a
// counter has no time of its own). A database written before the watch existed has no such columns: no rows.
import type { Database } from '../../store/database.ts';
import type { WatchReport } from './types.ts';

const COLUMNS = ['watched', 'watch_crossed', 'watch_left', 'watch_full', 'watch_full_s'];

export function buildWatch(db: Database, runIds: number[]): WatchReport[] {
  if (runIds.length === 0 || !COLUMNS.every((c) => db.hasColumn('statistics', c))) return [];
  const rows = db.sqlite.prepare(
    `SELECT s.run_id, s.at, s.watched, s.watch_crossed, s.watch_left, s.watch_full, s.watch_full_s
       FROM statistics s
      WHERE s.id = (SELECT id FROM statistics WHERE run_id = s.run_id ORDER BY at DESC, id DESC LIMIT 1)
        AND s.run_id IN (SELECT value FROM json_each(@runs))
      ORDER BY s.run_id`,
  ).all({ runs: JSON.stringify(runIds) }) as {
    run_id: number; at: string; watched: number; watch_crossed: number; watch_left: number; watch_full: number; watch_full_s: number;
  }[];
  return rows.map((r) => ({
    run: r.run_id,
    at: r.at,
    watched: r.watched,
    crossed: r.watch_crossed,
    left: r.watch_left,
    budgetFull: r.watch_full,
    budgetFullSeconds: r.watch_full_s,
  }));
}
