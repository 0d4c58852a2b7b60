// Thesis tables 5.5 (peer addresses per source) and 5.7 (outcomes of contacts per event and reason).
import type { Database } from '../../store/database.ts';
import { countMap, inSet, inWindow, queryAll, type Params } from './sql.ts';
import { byOrder, sum } from './stats.ts';
import type { OutcomeReport, Report, SourceReport } from './types.ts';

const KIND_ORDER = ['http', 'udp', 'dht', 'incoming', 'pex', 'file'];
const EVENT_ORDER = ['first', 'later', 'incoming'];

export function buildSources(db: Database, p: Params, measuredHours: number): Pick<Report, 'sources' | 'sourcesTotal'> {
  // The listener's rows (kind incoming) name no torrent: they belong to no set.
  const requestRows = queryAll<{ kind: string; requests: number; errors: number; received: number; new: number; duplicates: number }>(db, p,
    `SELECT kind, count(*) requests, sum(error IS NOT NULL) errors, sum(received) received, sum(new) new, sum(duplicates) duplicates
     FROM requests WHERE ${inWindow('started_at')} AND (@set IS NULL OR torrent_id IN (SELECT id FROM torrents WHERE set_label = @set))
     GROUP BY kind`,
  );
  const discoveredWhere = `${inWindow('p.discovered_at')} AND ${inSet('p.torrent_id')}`;
  const firstSourceBy = countMap(queryAll(db, p,
    `SELECT CASE WHEN instr(p.sources, ',') > 0 THEN substr(p.sources, 1, instr(p.sources, ',') - 1) ELSE p.sources END k, count(*) n
     FROM peers p WHERE ${discoveredWhere} GROUP BY k`,
  ));
  const kinds = new Set<string>([...requestRows.map((r) => r.kind), ...[...firstSourceBy.keys()].map(String).filter((k) => k !== '')]);
  const uniqueStmt = db.sqlite.prepare(
    `SELECT count(*) n FROM peers p WHERE ${discoveredWhere} AND instr(',' || p.sources || ',', ',' || @kind || ',') > 0`,
  );
  const sources: SourceReport[] = [...kinds].sort(byOrder(KIND_ORDER)).map((kind) => {
    const r = requestRows.find((x) => x.kind === kind);
    const unique = (uniqueStmt.get({ ...p, kind }) as { n: number }).n;
    const firstSource = firstSourceBy.get(kind) ?? 0;
    const received = r?.received ?? 0;
    // The listener cannot tell new peers (the torrent is known only after the handshake): count them from peers.
    const newFrom: 'requests' | 'peers' = kind === 'incoming' ? 'peers' : 'requests';
    const fresh = newFrom === 'peers' ? firstSource : (r?.new ?? 0);
    return {
      kind,
      requests: r?.requests ?? 0,
      errors: r?.errors ?? 0,
      received,
      new: fresh,
      newFrom,
      duplicates: r?.duplicates ?? 0,
      unique,
      firstSource,
      shareNew: received > 0 ? fresh / received : null,
      uniquePerHour: measuredHours > 0 ? unique / measuredHours : null,
    };
  });
  const totalUnique = (db.sqlite.prepare(`SELECT count(*) n FROM peers p WHERE ${discoveredWhere}`).get(p) as { n: number }).n;
  const totalReceived = sum(sources.map((s) => s.received));
  const totalNew = sum(sources.map((s) => s.new));
  return {
    sources,
    sourcesTotal: {
      received: totalReceived,
      new: totalNew,
      unique: totalUnique,
      shareNew: totalReceived > 0 ? totalNew / totalReceived : null,
      uniquePerHour: measuredHours > 0 ? totalUnique / measuredHours : null,
    },
  };
}

/** Outcomes have no time, so a window selects the runs that overlap it. */
export function buildOutcomes(db: Database, p: Params, runIds: number[]): OutcomeReport[] {
  const rows = runIds.length === 0 ? [] : queryAll<{ event: string; reason: string; n: number }>(db, p,
    `SELECT event, reason, sum(count) n FROM outcomes
     WHERE run_id IN (SELECT value FROM json_each(@runs)) AND ${inSet('torrent_id')}
     GROUP BY event, reason`,
    { runs: JSON.stringify(runIds) },
  );
  const perEvent = new Map<string, number>();
  for (const r of rows) perEvent.set(r.event, (perEvent.get(r.event) ?? 0) + r.n);
  return rows
    .filter((r) => r.n > 0)
    .map((r) => ({ event: r.event, reason: r.reason, count: r.n, share: r.n / perEvent.get(r.event)! }))
    .sort((a, b) => byOrder(EVENT_ORDER)(a.event, b.event) || b.count - a.count || a.reason.localeCompare(b.reason));
}
