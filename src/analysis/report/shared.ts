// What every report table shares: the window and set of the report (the store's query Filter), and the runs
// with the hours each spent in the window. The SQL itself is in src/store/queries.
import { runRows } from '../../store/queries/runs.ts';
import type { Filter } from '../../store/queries/filters.ts';
import type { Reader } from '../../store/queries/reader.ts';
import { overlapMs, type Window } from '../window.ts';
import type { ReportOptions, RunReport } from './types.ts';

/** The window (--since/--until) and set (--set) every query of the report is limited to. */
export type Params = Filter;

export function params(opts: ReportOptions): Params {
  return { since: opts.window?.since ?? null, until: opts.window?.until ?? null, set: opts.setLabel ?? null };
}

/** Rows of (k, n) as a map k → n. */
export function countMap(rows: { k: unknown; n: number }[]): Map<unknown, number> {
  return new Map(rows.map((r) => [r.k, Number(r.n)]));
}

/** Runs, with the time each spent inside the window. A crashed run (no ended_at) ends at its last write. */
export async function readRuns(r: Reader, window: Window): Promise<RunReport[]> {
  return (await runRows(r)).map((row) => ({
    id: row.id,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    lastActivity: row.last_activity,
    exitReason: row.exit_reason,
    threshold: row.threshold,
    hoursInWindow: overlapMs(row.started_at, row.last_activity, window) / 3_600_000,
  }));
}

/** A run overlaps the window (its outcomes count): started before --until, active at or after --since. */
export function runInWindow(r: RunReport, w: Window): boolean {
  return (w.until === null || r.startedAt < w.until) && (w.since === null || r.lastActivity >= w.since);
}

/** Binary (code unit) order of text, as SQLite sorts it: the same whatever a PostgreSQL server's collation. */
export function byText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
