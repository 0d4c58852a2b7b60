// The numbers of `btda report` (the thesis tables 5.4 to 5.7 and its planned peer analyses 4.4.1 to 4.4.3),
// read from the store only, through its query layer (src/store/queries: SQLite or PostgreSQL). Every count is
// limited to the window (--since inclusive, --until exclusive) and, with --set, to the torrents of that set.
// One module per table under report/.
import { readerOf, type ReadSource } from '../store/queries/reader.ts';
import { buildClients, buildPeerTables } from './report/peers.ts';
import { buildOutcomes, buildSources } from './report/sources.ts';
import { params, readRuns, runInWindow } from './report/shared.ts';
import { buildSets, buildTorrents } from './report/torrents.ts';
import { buildWatch } from './report/watch.ts';
import { REPORT_VERSION, type Report, type ReportOptions } from './report/types.ts';
import type { Window } from './window.ts';

export type * from './report/types.ts';
export { REPORT_VERSION } from './report/types.ts';
export { params, readRuns, runInWindow, type Params } from './report/shared.ts';
export { quantile, speedReport } from './report/stats.ts';
export { ReportedDownloads } from './report/torrents.ts';

/** The report of a store: a Reader (either backend) or an open SQLite Database. */
export async function buildReport(source: ReadSource, opts: ReportOptions = {}): Promise<Report> {
  const r = readerOf(source);
  const p = params(opts);
  const window: Window = { since: p.since, until: p.until };
  const top = opts.top ?? 10;
  const minPeersPerCountry = opts.minPeersPerCountry ?? 10;

  const runs = await readRuns(r, window);
  const measuredHours = runs.reduce((s, x) => s + x.hoursInWindow, 0);
  const runIds = runs.filter((x) => runInWindow(x, window)).map((x) => x.id);
  const torrents = await buildTorrents(r, p);
  const peerTables = await buildPeerTables(r, p, { top, minPeersPerCountry, geo: opts.geo });
  const sources = await buildSources(r, p, measuredHours);

  return {
    version: REPORT_VERSION,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    window: { since: p.since, until: p.until, measuredHours },
    set: p.set,
    databases: { country: opts.geo?.countryDatabase ?? null, network: opts.geo?.networkDatabase ?? null },
    runs,
    torrents,
    sets: buildSets(torrents),
    ...sources,
    outcomes: await buildOutcomes(r, p, runIds),
    clients: await buildClients(r, p, top),
    countries: peerTables.countries,
    confirmedByCountry: peerTables.confirmedByCountry,
    countrySpeeds: peerTables.countrySpeeds,
    minPeersPerCountry,
    networks: peerTables.networks,
    speeds: peerTables.speeds,
    watch: await buildWatch(r, runIds),
  };
}
