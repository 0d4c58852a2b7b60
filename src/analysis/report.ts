// The numbers of `btda report` (the thesis tables 5.5, 5.6 and 5.7 and what the thesis planned next), read from
// the store only. Every count is limited to the window (--since inclusive, --until exclusive) and, with
// --set, to the torrents of that set. Plain read-only SQL on the Database's connection.
import type { Database } from '../store/database.ts';
import { overlapMs, type Window } from './window.ts';

/** Report format version: bump when a key of the JSON contract changes meaning (keys are only ever added). */
export const REPORT_VERSION = 1;

export interface ReportOptions {
  window?: Window;
  /** Only the torrents of this set (--set). */
  setLabel?: string | null;
  /** Rows of the clients and countries tables (default 10). */
  top?: number;
  /** The report's `generatedAt` (tests fix it). */
  now?: Date;
}

export interface TrackerNumbers {
  tracker: string;
  /** Scrapes of this tracker in the window (with or without a `downloaded` number). */
  scrapes: number;
  /** `downloaded` at the first scrape in the window. */
  firstDownloaded: number | null;
  /** `downloaded` at the latest scrape in the window: the absolute count the tracker reports. */
  latestDownloaded: number | null;
  latestAt: string | null;
  /**
   * Growth of `downloaded` over the window: the sum of the increases between consecutive scrapes. For a
   * count that only grows this is latest − first; a drop (tracker restart) is not counted as negative growth.
   */
  growth: number | null;
  maxSeeders: number | null;
  maxLeechers: number | null;
}

export interface TorrentReport {
  id: number;
  infoHash: string;
  name: string | null;
  set: string | null;
  pieces: number | null;
  thresholdPieces: number | null;
  /** Confirmed downloads (view confirmed_downloads) with crossed_at in the window. */
  confirmed: number;
  /** Growth of `downloaded` of the best tracker (the largest growth); null without any scrape number. */
  reportedDownloaded: number | null;
  bestTracker: string | null;
  /** The best tracker's latest absolute `downloaded`. */
  reportedLatest: number | null;
  /** confirmed / reportedDownloaded; null when nothing was reported. */
  ratio: number | null;
  /** Peers evaluated (visits > 0) whose first..last visit overlaps the window. */
  uniquePeers: number;
  /** Peers first reported by any source (discovered_at) in the window. */
  peersDiscovered: number;
  /** Highest seeders / leechers any tracker's scrape reported in the window. */
  seeders: number | null;
  leechers: number | null;
  trackers: TrackerNumbers[];
}

export interface SetReport {
  /** set_label; null for torrents without one. */
  set: string | null;
  torrents: number;
  confirmed: number;
  /** Sum of the torrents' reportedDownloaded (torrents without scrape numbers add nothing). */
  reportedDownloaded: number | null;
  ratio: number | null;
  /** Sum over the torrents (a host in two torrents counts twice, as in the thesis). */
  uniquePeers: number;
  peersDiscovered: number;
  /** Sums of the torrents' maxima. */
  seeders: number | null;
  leechers: number | null;
}

export interface SourceReport {
  /** requests.kind: http | udp | dht | incoming | pex | file */
  kind: string;
  requests: number;
  errors: number;
  /** Addresses received (for incoming: connections accepted). */
  received: number;
  /** Addresses new to the crawl when received (for incoming: peers whose first source is incoming, see newFrom). */
  new: number;
  newFrom: 'requests' | 'peers';
  duplicates: number;
  /** Peers discovered in the window whose `sources` include this kind. */
  unique: number;
  /** Peers discovered in the window whose first source is this kind. */
  firstSource: number;
  /** new / received; null when nothing was received. */
  shareNew: number | null;
  /** unique / measured hours. */
  uniquePerHour: number | null;
}

export interface OutcomeReport {
  event: string;
  reason: string;
  count: number;
  /** count / all contacts of this event. */
  share: number;
}

export interface ClientReport {
  client: string;
  /** Peers evaluated in the window with this client. */
  peers: number;
  share: number;
  confirmed: number;
  /** Of those, peers whose latest contact spoke MSE/PE (the encrypted handshake). */
  encrypted: number;
}

export interface CountryReport {
  country: string;
  /** Peers discovered in the window located in this country. */
  peers: number;
  share: number;
  evaluated: number;
  confirmed: number;
  /** Median max_speed (bytes/s) of its evaluated peers with a speed. */
  medianSpeed: number | null;
}

export interface SpeedReport {
  unit: 'bytes/s';
  /** Peers evaluated in the window with a max_speed > 0 (a speed needs two visits with progress between). */
  peers: number;
  min: number | null;
  p10: number | null;
  p25: number | null;
  median: number | null;
  p75: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
  /** Log-spaced bins (4 per decade): [from, to) bytes/s and the peers in each. */
  histogram: { from: number; to: number; peers: number }[];
}

export interface RunReport {
  id: number;
  startedAt: string;
  endedAt: string | null;
  /** ended_at, or after a crash the last time the run wrote anything. */
  lastActivity: string;
  exitReason: string | null;
  threshold: number;
  /** Hours of this run inside the window. */
  hoursInWindow: number;
}

export interface Report {
  version: number;
  generatedAt: string;
  window: { since: string | null; until: string | null; measuredHours: number };
  set: string | null;
  runs: RunReport[];
  torrents: TorrentReport[];
  sets: SetReport[];
  sources: SourceReport[];
  sourcesTotal: { received: number; new: number; unique: number; shareNew: number | null; uniquePerHour: number | null };
  outcomes: OutcomeReport[];
  clients: ClientReport[];
  countries: CountryReport[];
  speeds: SpeedReport;
}

const KIND_ORDER = ['http', 'udp', 'dht', 'incoming', 'pex', 'file'];
const EVENT_ORDER = ['first', 'later', 'incoming'];

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

type Row = Record<string, unknown>;

export function buildReport(db: Database, opts: ReportOptions = {}): Report {
  const p = params(opts);
  const window: Window = { since: p.since, until: p.until };
  const all = <T = Row>(sql: string, extra: Record<string, unknown> = {}): T[] =>
    db.sqlite.prepare(sql).all({ ...p, ...extra }) as T[];
  const top = opts.top ?? 10;

  // ---- runs and measured hours
  const runs = readRuns(db, window);
  const measuredHours = runs.reduce((s, r) => s + r.hoursInWindow, 0);
  const runIds = runs.filter((r) => runInWindow(r, window)).map((r) => r.id);

  // ---- torrents (table 5.6)
  const torrentRows = all<{ id: number; info_hash: string; name: string | null; set_label: string | null; pieces: number | null; threshold_pieces: number | null }>(
    `SELECT id, info_hash, name, set_label, pieces, threshold_pieces FROM torrents WHERE (@set IS NULL OR set_label = @set) ORDER BY id`,
  );
  const confirmedBy = countMap(all(
    `SELECT torrent_id k, count(*) n FROM confirmed_downloads WHERE ${inWindow('crossed_at')} AND ${inSet('torrent_id')} GROUP BY torrent_id`,
  ));
  const peerCounts = new Map<number, { discovered: number; evaluated: number }>();
  for (const r of all<{ torrent_id: number; discovered: number; evaluated: number }>(
    `SELECT p.torrent_id, sum(${inWindow('p.discovered_at')}) discovered, sum(${EVALUATED}) evaluated
     FROM peers p WHERE ${inSet('p.torrent_id')} GROUP BY p.torrent_id`,
  )) peerCounts.set(r.torrent_id, { discovered: r.discovered ?? 0, evaluated: r.evaluated ?? 0 });
  const trackersBy = readTrackers(db, p);

  const torrents: TorrentReport[] = torrentRows.map((t) => {
    const trackers = trackersBy.get(t.id) ?? [];
    let best: TrackerNumbers | null = null;
    for (const tr of trackers) {
      if (tr.growth === null) continue;
      if (!best || tr.growth > best.growth! || (tr.growth === best.growth && (tr.latestDownloaded ?? 0) > (best.latestDownloaded ?? 0))) best = tr;
    }
    const confirmed = confirmedBy.get(t.id) ?? 0;
    const reported = best?.growth ?? null;
    return {
      id: t.id,
      infoHash: t.info_hash,
      name: t.name,
      set: t.set_label,
      pieces: t.pieces,
      thresholdPieces: t.threshold_pieces,
      confirmed,
      reportedDownloaded: reported,
      bestTracker: best?.tracker ?? null,
      reportedLatest: best?.latestDownloaded ?? null,
      ratio: ratio(confirmed, reported),
      uniquePeers: peerCounts.get(t.id)?.evaluated ?? 0,
      peersDiscovered: peerCounts.get(t.id)?.discovered ?? 0,
      seeders: maxOf(trackers.map((x) => x.maxSeeders)),
      leechers: maxOf(trackers.map((x) => x.maxLeechers)),
      trackers,
    };
  });

  const setMap = new Map<string | null, TorrentReport[]>();
  for (const t of torrents) setMap.set(t.set, [...(setMap.get(t.set) ?? []), t]);
  const sets: SetReport[] = [...setMap.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)))
    .map(([set, ts]) => {
      const confirmed = sum(ts.map((t) => t.confirmed));
      const reported = sumOrNull(ts.map((t) => t.reportedDownloaded));
      return {
        set,
        torrents: ts.length,
        confirmed,
        reportedDownloaded: reported,
        ratio: ratio(confirmed, reported),
        uniquePeers: sum(ts.map((t) => t.uniquePeers)),
        peersDiscovered: sum(ts.map((t) => t.peersDiscovered)),
        seeders: sumOrNull(ts.map((t) => t.seeders)),
        leechers: sumOrNull(ts.map((t) => t.leechers)),
      };
    });

  // ---- sources (table 5.5)
  // The listener's rows (kind incoming) name no torrent: they belong to no set.
  const requestRows = all<{ kind: string; requests: number; errors: number; received: number; new: number; duplicates: number }>(
    `SELECT kind, count(*) requests, sum(error IS NOT NULL) errors, sum(received) received, sum(new) new, sum(duplicates) duplicates
     FROM requests WHERE ${inWindow('started_at')} AND (@set IS NULL OR torrent_id IN (SELECT id FROM torrents WHERE set_label = @set))
     GROUP BY kind`,
  );
  const discoveredWhere = `${inWindow('p.discovered_at')} AND ${inSet('p.torrent_id')}`;
  const firstSourceBy = countMap(all(
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
  const sourcesTotal = {
    received: totalReceived,
    new: totalNew,
    unique: totalUnique,
    shareNew: totalReceived > 0 ? totalNew / totalReceived : null,
    uniquePerHour: measuredHours > 0 ? totalUnique / measuredHours : null,
  };

  // ---- outcomes (table 5.7): outcomes have no time, so a window selects the runs that overlap it
  const outcomeRows = runIds.length === 0 ? [] : all<{ event: string; reason: string; n: number }>(
    `SELECT event, reason, sum(count) n FROM outcomes
     WHERE run_id IN (SELECT value FROM json_each(@runs)) AND ${inSet('torrent_id')}
     GROUP BY event, reason`,
    { runs: JSON.stringify(runIds) },
  );
  const perEvent = new Map<string, number>();
  for (const r of outcomeRows) perEvent.set(r.event, (perEvent.get(r.event) ?? 0) + r.n);
  const outcomes: OutcomeReport[] = outcomeRows
    .filter((r) => r.n > 0)
    .map((r) => ({ event: r.event, reason: r.reason, count: r.n, share: r.n / perEvent.get(r.event)! }))
    .sort((a, b) => byOrder(EVENT_ORDER)(a.event, b.event) || b.count - a.count || a.reason.localeCompare(b.reason));

  // ---- clients (evaluated peers) and countries (discovered peers)
  const evaluatedWhere = `${EVALUATED} AND ${inSet('p.torrent_id')}`;
  const evaluatedTotal = (db.sqlite.prepare(`SELECT count(*) n FROM peers p WHERE ${evaluatedWhere}`).get(p) as { n: number }).n;
  const confirmedByClient = countMap(all(
    `SELECT coalesce(client, 'unknown') k, count(*) n FROM confirmed_downloads WHERE ${inWindow('crossed_at')} AND ${inSet('torrent_id')} GROUP BY k`,
  ));
  const encrypted = db.hasColumn('peers', 'encrypted') ? 'sum(p.encrypted)' : '0';
  const clients: ClientReport[] = all<{ client: string; n: number; encrypted: number }>(
    `SELECT coalesce(p.client, 'unknown') client, count(*) n, ${encrypted} encrypted FROM peers p WHERE ${evaluatedWhere}
     GROUP BY client ORDER BY n DESC, client LIMIT @top`, { top },
  ).map((r) => ({
    client: r.client, peers: r.n, share: r.n / evaluatedTotal, confirmed: confirmedByClient.get(r.client) ?? 0, encrypted: r.encrypted,
  }));

  const confirmedByCountry = countMap(all(
    `SELECT coalesce(country, 'unknown') k, count(*) n FROM confirmed_downloads WHERE ${inWindow('crossed_at')} AND ${inSet('torrent_id')} GROUP BY k`,
  ));
  const countryRows = all<{ country: string; n: number; evaluated: number }>(
    `SELECT coalesce(p.country, 'unknown') country, count(*) n, sum(${EVALUATED}) evaluated FROM peers p WHERE ${discoveredWhere}
     GROUP BY country ORDER BY n DESC, country LIMIT @top`, { top },
  );
  const countrySpeeds = new Map<string, number[]>();
  if (countryRows.length > 0) {
    const stmt = db.sqlite.prepare(
      `SELECT coalesce(p.country, 'unknown') country, p.max_speed v FROM peers p
       WHERE ${evaluatedWhere} AND p.max_speed > 0 AND coalesce(p.country, 'unknown') IN (SELECT value FROM json_each(@countries))
       ORDER BY country, v`,
    );
    for (const r of stmt.iterate({ ...p, countries: JSON.stringify(countryRows.map((c) => c.country)) }) as Iterable<{ country: string; v: number }>) {
      let list = countrySpeeds.get(r.country);
      if (!list) countrySpeeds.set(r.country, (list = []));
      list.push(r.v);
    }
  }
  const countries: CountryReport[] = countryRows.map((r) => ({
    country: r.country,
    peers: r.n,
    share: r.n / totalUnique,
    evaluated: r.evaluated ?? 0,
    confirmed: confirmedByCountry.get(r.country) ?? 0,
    medianSpeed: quantile(countrySpeeds.get(r.country) ?? [], 0.5),
  }));

  // ---- download speeds (max_speed of evaluated peers)
  const values: number[] = [];
  for (const r of db.sqlite.prepare(`SELECT p.max_speed v FROM peers p WHERE ${evaluatedWhere} AND p.max_speed > 0 ORDER BY v`)
    .iterate(p) as Iterable<{ v: number }>) values.push(r.v);
  const speeds = speedReport(values);

  return {
    version: REPORT_VERSION,
    generatedAt: (opts.now ?? new Date()).toISOString(),
    window: { since: p.since, until: p.until, measuredHours },
    set: p.set,
    runs,
    torrents,
    sets,
    sources,
    sourcesTotal,
    outcomes,
    clients,
    countries,
    speeds,
  };
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

/** Per torrent, per tracker: the scrape numbers in the window. */
function readTrackers(db: Database, p: Params): Map<number, TrackerNumbers[]> {
  const out = new Map<number, TrackerNumbers[]>();
  const stmt = db.sqlite.prepare(
    `SELECT torrent_id, tracker, at, seeders, leechers, downloaded FROM scrapes
     WHERE ${inWindow('at')} AND ${inSet('torrent_id')} ORDER BY torrent_id, tracker, at, id`,
  );
  let cur: TrackerNumbers | null = null;
  let curTorrent = -1;
  for (const r of stmt.iterate(p) as Iterable<{ torrent_id: number; tracker: string; at: string; seeders: number | null; leechers: number | null; downloaded: number | null }>) {
    if (!cur || curTorrent !== r.torrent_id || cur.tracker !== r.tracker) {
      cur = { tracker: r.tracker, scrapes: 0, firstDownloaded: null, latestDownloaded: null, latestAt: null, growth: null, maxSeeders: null, maxLeechers: null };
      curTorrent = r.torrent_id;
      const list = out.get(r.torrent_id) ?? [];
      list.push(cur);
      out.set(r.torrent_id, list);
    }
    cur.scrapes++;
    if (r.seeders !== null) cur.maxSeeders = Math.max(cur.maxSeeders ?? 0, r.seeders);
    if (r.leechers !== null) cur.maxLeechers = Math.max(cur.maxLeechers ?? 0, r.leechers);
    if (r.downloaded !== null) {
      if (cur.latestDownloaded === null) {
        cur.firstDownloaded = r.downloaded;
        cur.growth = 0;
      } else if (r.downloaded > cur.latestDownloaded) cur.growth! += r.downloaded - cur.latestDownloaded;
      cur.latestDownloaded = r.downloaded;
      cur.latestAt = r.at;
    }
  }
  return out;
}

/** Quantile with linear interpolation between closest ranks (numpy's default) of sorted values. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Quantiles and a log-binned histogram (4 bins per decade) of sorted speeds. */
export function speedReport(sorted: readonly number[]): SpeedReport {
  const histogram: SpeedReport['histogram'] = [];
  if (sorted.length > 0) {
    const perDecade = 4;
    const lo = Math.floor(Math.log10(sorted[0]) * perDecade);
    const hi = Math.floor(Math.log10(sorted[sorted.length - 1]) * perDecade);
    for (let i = lo; i <= hi; i++) histogram.push({ from: 10 ** (i / perDecade), to: 10 ** ((i + 1) / perDecade), peers: 0 });
    for (const v of sorted) {
      const i = Math.min(histogram.length - 1, Math.max(0, Math.floor(Math.log10(v) * perDecade) - lo));
      histogram[i].peers++;
    }
  }
  return {
    unit: 'bytes/s',
    peers: sorted.length,
    min: sorted.length ? sorted[0] : null,
    p10: quantile(sorted, 0.1),
    p25: quantile(sorted, 0.25),
    median: quantile(sorted, 0.5),
    p75: quantile(sorted, 0.75),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1] : null,
    mean: sorted.length ? sum(sorted) / sorted.length : null,
    histogram,
  };
}

function countMap(rows: Row[]): Map<unknown, number> {
  return new Map(rows.map((r) => [r.k, Number(r.n)]));
}

function ratio(confirmed: number, reported: number | null): number | null {
  return reported === null || reported === 0 ? null : confirmed / reported;
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

function sumOrNull(xs: (number | null)[]): number | null {
  const present = xs.filter((x): x is number => x !== null);
  return present.length === 0 ? null : sum(present);
}

function maxOf(xs: (number | null)[]): number | null {
  const present = xs.filter((x): x is number => x !== null);
  return present.length === 0 ? null : Math.max(...present);
}

function byOrder(order: string[]) {
  return (a: string, b: string): number => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? order.length : ia) - (ib < 0 ? order.length : ib) || a.localeCompare(b);
  };
}
