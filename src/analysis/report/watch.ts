// The watch per run (README "The watch"): the run's last `statistics` row holds its totals, since the
// watch counters count from the run's start. Runs are those that overlap the window (like outcomes: a
// counter has no time of its own). A database written before the watch existed has no such columns: no rows.
import { lastWatchRows } from '../../store/queries/watch.ts';
import type { Reader } from '../../store/queries/reader.ts';
import type { WatchReport } from './types.ts';

export async function buildWatch(r: Reader, runIds: number[]): Promise<WatchReport[]> {
  return (await lastWatchRows(r, runIds)).map((row) => ({
    run: row.run_id,
    at: row.at,
    watched: row.watched,
    crossed: row.watch_crossed,
    left: row.watch_left,
    budgetFull: row.watch_full,
    budgetFullSeconds: row.watch_full_s,
  }));
}
