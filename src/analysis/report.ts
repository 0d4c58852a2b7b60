// The numbers of `btda report` (the thesis tables 5.4 to 5.7 and its planned peer analyses 4.4.1 to 4.4.3),
// read from the store only. Every count is limited to the window (--since inclusive, --until exclusive) and,
// with --set, to the torrents of that set. One module per table under report/.
import type { Database } from '../store/database.ts';
import { buildClients, buildPeerTables } from './report/peers.ts';
import { buildOutcomes, buildSources } from './report/sources.ts';
import { params, readRuns, runInWindow } from './report/sql.ts';
import { buildSets, buildTorrents } from './report/torrents.ts';
import { buildWatch } from './report/watch.ts';
import { REPORT_VERSION, type Report, type ReportOptions } from './report/types.ts';
import type { Window } from './window.ts';

export type * from './report/types.ts';
export { REPORT_VERSION } from './report/types.ts';
export { EVALUATED, inSet, inWindow, params, readRuns, runInWindow, type Params } from './report/sql.ts';
export { quantile, speedReport } from './report/stats.ts';
export { ReportedDownloads } from './report/torrents.ts';

export function buildReport(db: Database, opts: ReportOptions = {}): Report {
  const p = params(opts);
  const window: Window = { since: p.since, until: p.until };
  const top = opts.top ?? 10;
  const minPeersPerCountry = opts.minPeersPerCountry ?? 10;

  const runs = readRuns(db, window);
  const measuredHours = runs.reduce((s, r) => s + r.hoursInWindow, 0);
  const runIds = runs.filter((r) => runInWindow(r, window)).map((r) => r.id);
  const torrents = buildTorrents(db, p);
  const peerTables = buildPeerTables(db, p, { top, minPeersPerCountry, geo: opts.geo });

  return {
    version: REPORT_VERSION,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    window: { since: p.since, until: p.until, measuredHours },
    set: p.set,
    databases: { country: opts.geo?.countryDatabase ?? null, network: opts.geo?.networkDatabase ?? null },
    runs,
    torrents,
    sets: buildSets(torrents),
    ...buildSources(db, p, measuredHours),
    outcomes: buildOutcomes(db, p, runIds),
    clients: buildClients(db, p, top),
    countries: peerTables.countries,
    confirmedByCountry: peerTables.confirmedByCountry,
    countrySpeeds: peerTables.countrySpeeds,
    minPeersPerCountry,
    networks: peerTables.networks,
    speeds: peerTables.speeds,
    watch: buildWatch(db, runIds),
  };
}
