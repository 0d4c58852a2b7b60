// Thesis tables 5.5 (peer addresses per source) and 5.7 (outcomes of contacts per event and reason).
import { filterParams, flag, inSet, inWindow, STANDS_FOR_ENDPOINT, type Filter } from './filters.ts';
import type { Reader } from './reader.ts';
import type { CountRow } from './torrents.ts';

export interface RequestKindRow {
  kind: string;
  requests: number;
  errors: number;
  received: number;
  new: number;
  duplicates: number;
}

/** Requests per source kind in the window. The listener's rows (kind incoming) name no torrent: they belong to no set. */
export function requestsPerKind(r: Reader, f: Filter): Promise<RequestKindRow[]> {
  return r.all<RequestKindRow>(
    `SELECT kind, count(*) requests, sum(${flag('error IS NOT NULL')}) errors, sum(received) received, sum("new") "new", sum(duplicates) duplicates
     FROM requests WHERE ${inWindow('started_at', f)} AND ${inSet('torrent_id', f)}
     GROUP BY kind`,
    filterParams(f),
  );
}

const discovered = (f: Filter) => `${inWindow('p.discovered_at', f)} AND ${inSet('p.torrent_id', f)} AND ${STANDS_FOR_ENDPOINT}`;

/** The first source in the comma-separated `sources` list: SQLite's instr/substr, PostgreSQL's split_part. */
export function peersPerFirstSource(r: Reader, f: Filter): Promise<CountRow[]> {
  const where = discovered(f);
  return r.all<CountRow>({
    sqlite: `SELECT CASE WHEN instr(p.sources, ',') > 0 THEN substr(p.sources, 1, instr(p.sources, ',') - 1) ELSE p.sources END k, count(*) n
      FROM peers p WHERE ${where} GROUP BY k`,
    postgres: `SELECT split_part(p.sources, ',', 1) k, count(*) n FROM peers p WHERE ${where} GROUP BY 1`,
  }, filterParams(f));
}

/** Peers discovered in the window whose sources include `kind`. */
export async function peersFromSource(r: Reader, f: Filter, kind: string): Promise<number> {
  const row = await r.one<{ n: number }>({
    sqlite: `SELECT count(*) n FROM peers p WHERE ${discovered(f)} AND instr(',' || p.sources || ',', ',' || @kind || ',') > 0`,
    postgres: `SELECT count(*) n FROM peers p WHERE ${discovered(f)} AND strpos(',' || p.sources || ',', ',' || @kind || ',') > 0`,
  }, { ...filterParams(f), kind });
  return row!.n;
}

export async function peersDiscovered(r: Reader, f: Filter): Promise<number> {
  return (await r.one<{ n: number }>(`SELECT count(*) n FROM peers p WHERE ${discovered(f)}`, filterParams(f)))!.n;
}

/** Outcomes of the given runs (a counter has no time: a window selects runs), per event and reason. */
export function outcomeCounts(r: Reader, f: Filter, runIds: number[]): Promise<{ event: string; reason: string; n: number }[]> {
  if (runIds.length === 0) return Promise.resolve([]);
  return r.all(
    `SELECT event, reason, sum(count) n FROM outcomes WHERE run_id IN (@runs) AND ${inSet('torrent_id', f)} GROUP BY event, reason`,
    { ...filterParams(f), runs: runIds },
  );
}
