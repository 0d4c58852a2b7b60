// The SQL pieces every report table shares: the window, the set, "evaluated", and the runs with their hours.
// Plain read-only SQL on the Database's connection.
import type { Database } from '../../store/database.ts';
import { overlapMs, type Window } from '../window.ts';
import type { ReportOptions, RunReport } from './types.ts';

/** SQL that is true when `col` lies in the window (@since/@until parameters). */
export function inWindow(col: string): string {
  return `((@since IS NULL OR ${col} >= @since) AND (@until IS NULL OR ${col} < @until))`;
}
/** SQL that is true when torrent `col` belongs to the --set (@set parameter). */
export function inSet(col: string): string {
  return `(@set IS NULL OR ${col} IN (SELECT id FROM torrents WHERE set_label = @set))`;
}
/** Evaluated peers (alias p) whose first..last visit overlaps the window. */
export const EVALUATED = `(p.visits > 0 AND (@until IS NULL OR coalesce(p.first_seen, p.discovered_at) < @until)
  AND (@since IS NULL OR coalesce(p.last_seen, p.discovered_at) >= @since))`;

export interface Params {
  since: string | null;
  until: string | null;
  set: string | null;
}

export function params(opts: ReportOptions): Params {
  return { since: opts.window?.since ?? null, until: opts.window?.until ?? null, set: opts.setLabel ?? null };
}

export type Row = Record<string, unknown>;

/** Runs all rows of `sql` with the window/set parameters (and `extra`). */
export function queryAll<T = Row>(db: Database, p: Params, sql: string, extra: Record<string, unknown> = {}): T[] {
  return db.sqlite.prepare(sql).all({ ...p, ...extra }) as T[];
}

/** Rows of (k, n) as a map k → n. */
export function countMap(rows: Row[]): Map<unknown, number> {
  return new Map(rows.map((r) => [r.k, Number(r.n)]));
}

/** Runs, with the time each spent inside the window. A crashed run (no ended_at) ends at its last write. */
export function readRuns(db: Database, window: Window): RunReport[] {
  const rows = db.sqlite.prepare(
    `SELECT r.id, r.started_at, r.ended_at, r.exit_reason, r.threshold,
       coalesce(r.ended_at, max(r.started_at,
         coalesce((SELECT max(at) FROM statistics WHERE run_id = r.id), ''),
         coalesce((SELECT max(started_at) FROM requests WHERE run_id = r.id), ''),
         coalesce((SELECT max(at) FROM scrapes WHERE run_id = r.id), ''))) last_activity
     FROM runs r ORDER BY r.id`,
  ).all() as { id: number; started_at: string; ended_at: string | null; exit_reason: string | null; threshold: number; last_activity: string }[];
  return rows.map((r) => ({
    id: r.id,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    lastActivity: r.last_activity,
    exitReason: r.exit_reason,
    threshold: r.threshold,
    hoursInWindow: overlapMs(r.started_at, r.last_activity, window) / 3_600_000,
  }));
}

/** A run overlaps the window (its outcomes count): started before --until, active at or after --since. */
export function runInWindow(r: RunReport, w: Window): boolean {
  return (w.until === null || r.startedAt < w.until) && (w.since === null || r.lastActivity >= w.since);
}
