// The runs, with their last activity: a crashed run (no ended_at) ends at its last write.
import type { Reader } from './reader.ts';

export interface RunRow {
  id: number;
  started_at: string;
  ended_at: string | null;
  exit_reason: string | null;
  threshold: number;
  last_activity: string;
}

// the latest of several times: SQLite's scalar max(), PostgreSQL's greatest()
const lastWrite = (fn: string) => `coalesce(r.ended_at, ${fn}(r.started_at,
         coalesce((SELECT max(at) FROM statistics WHERE run_id = r.id), ''),
         coalesce((SELECT max(started_at) FROM requests WHERE run_id = r.id), ''),
         coalesce((SELECT max(at) FROM scrapes WHERE run_id = r.id), '')))`;

const RUNS = (fn: string) => `SELECT r.id, r.started_at, r.ended_at, r.exit_reason, r.threshold, ${lastWrite(fn)} last_activity
     FROM runs r ORDER BY r.id`;

export function runRows(r: Reader): Promise<RunRow[]> {
  return r.all<RunRow>({ sqlite: RUNS('max'), postgres: RUNS('greatest') });
}
