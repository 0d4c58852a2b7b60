// The watch per run: the run's last `statistics` row holds its totals (the watch counters count from the
// run's start).
import type { Reader } from './reader.ts';

const COLUMNS = ['watched', 'watch_crossed', 'watch_left', 'watch_full', 'watch_full_s'];

export interface WatchRow {
  run_id: number;
  at: string;
  watched: number;
  watch_crossed: number;
  watch_left: number;
  watch_full: number;
  watch_full_s: number;
}

/** The last statistics row of each run; none for a database written before the watch existed. */
export async function lastWatchRows(r: Reader, runIds: number[]): Promise<WatchRow[]> {
  if (runIds.length === 0) return [];
  for (const c of COLUMNS) if (!(await r.hasColumn('statistics', c))) return [];
  return r.all<WatchRow>(
    `SELECT s.run_id, s.at, s.watched, s.watch_crossed, s.watch_left, s.watch_full, s.watch_full_s
       FROM statistics s
      WHERE s.id = (SELECT id FROM statistics WHERE run_id = s.run_id ORDER BY at DESC, id DESC LIMIT 1)
        AND s.run_id IN (@runs)
      ORDER BY s.run_id`,
    { runs: runIds },
  );
}
