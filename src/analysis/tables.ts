// The report as tables: one model for the text, CSV and HTML outputs. Cells keep raw values (CSV writes
// them as they are); `formatCell` makes them readable for text and HTML.
import { csvLine } from './csv.ts';
import { speedText } from './plots.ts';
import type { DatabaseInfo } from '../store/geolocation.ts';
import type { Report } from './report.ts';

export type ColumnKind = 'text' | 'hash' | 'int' | 'ratio' | 'share' | 'speed' | 'hours' | 'rate' | 'time' | 'bytes';

export interface Column {
  /** CSV header (the JSON key where there is one). */
  key: string;
  /** Header in text and HTML. */
  title: string;
  kind: ColumnKind;
}

export type Cell = string | number | boolean | null;

export interface ReportTable {
  /** File stem of its CSV, e.g. "sources". */
  name: string;
  title: string;
  columns: Column[];
  rows: Cell[][];
  /** How it was counted, printed under the table. */
  notes: string[];
  /** Only in CSV (and JSON): too detailed for the text and HTML pages. */
  csvOnly?: boolean;
}

const col = (key: string, title: string, kind: ColumnKind = 'int'): Column => ({ key, title, kind });

export function reportTables(r: Report): ReportTable[] {
  const hours = `${hoursText(r.window.measuredHours)} measured hours`;
  return [
    {
      name: 'torrents-measured',
      title: 'Torrents measured (thesis table 5.4)',
      columns: [
        col('infoHash', 'info hash', 'hash'), col('name', 'name', 'text'), col('set', 'set', 'text'), col('totalSize', 'size', 'bytes'),
        col('pieces', 'pieces'), col('pieceSize', 'piece size', 'bytes'), col('seedersStart', 'seeders (start)'), col('leechersStart', 'leechers (start)'),
        col('seedersEnd', 'seeders (end)'), col('leechersEnd', 'leechers (end)'), col('swarmTracker', 'tracker', 'text'),
      ],
      rows: r.torrents.map((t) => [t.infoHash, t.name, t.set, t.totalSize, t.pieces, t.pieceSize, t.seedersStart, t.leechersStart, t.seedersEnd,
        t.leechersEnd, t.swarmTracker]),
      notes: ['seeders/leechers: the first and the latest scrape in the window of one tracker per torrent (its best tracker, else the one scraped most).'],
    },
    {
      name: 'sets',
      title: 'Confirmed vs reported downloads per torrent set (thesis table 5.6)',
      columns: [
        col('set', 'set', 'text'), col('torrents', 'torrents'), col('confirmed', 'confirmed'),
        col('reportedDownloaded', 'reported'), col('ratio', 'confirmed/reported', 'ratio'),
        col('uniquePeers', 'unique peers'), col('peersDiscovered', 'peers discovered'),
        col('seeders', 'seeders (max)'), col('leechers', 'leechers (max)'),
      ],
      rows: r.sets.map((s) => [s.set, s.torrents, s.confirmed, s.reportedDownloaded, s.ratio, s.uniquePeers, s.peersDiscovered, s.seeders, s.leechers]),
      notes: [
        'confirmed: peers seen below the threshold and later at or above it, counted by crossed_at in the window.',
        'reported: highest − first scrape "downloaded" in the window at each torrent\'s best tracker (largest growth), summed.',
        'unique peers: peers contacted successfully at least once (visits > 0) whose first..last visit overlaps the window.',
      ],
    },
    {
      name: 'torrents',
      title: 'Confirmed vs reported downloads per torrent',
      columns: [
        col('infoHash', 'info hash', 'hash'), col('name', 'name', 'text'), col('set', 'set', 'text'), col('pieces', 'pieces'),
        col('confirmed', 'confirmed'), col('reportedDownloaded', 'reported'), col('ratio', 'confirmed/reported', 'ratio'),
        col('reportedLatest', 'downloaded (latest)'), col('uniquePeers', 'unique peers'), col('peersDiscovered', 'peers discovered'),
        col('seeders', 'seeders (max)'), col('leechers', 'leechers (max)'), col('dhtSeeders', 'DHT seeds (est.)'),
        col('dhtDownloaders', 'DHT downloaders (est.)'), col('bestTracker', 'best tracker', 'text'),
      ],
      rows: r.torrents.map((t) => [t.infoHash, t.name, t.set, t.pieces, t.confirmed, t.reportedDownloaded, t.ratio, t.reportedLatest,
        t.uniquePeers, t.peersDiscovered, t.seeders, t.leechers, t.dhtSeeders, t.dhtDownloaders, t.bestTracker]),
      notes: [
        'downloaded (latest): the absolute count the best tracker reported at its latest scrape in the window.',
        'seeders/leechers (max): the trackers\' numbers. DHT seeds/downloaders: the latest BEP 33 estimate in the window from the Bloom filters of '
          + 'the DHT nodes closest to the info hash (IPv4 or IPv6 DHT, the larger), beside the trackers\', never in them; empty without a DHT scrape.',
      ],
    },
    {
      name: 'classes',
      title: 'Beside the headline: crossings that are not confirmed downloads, and what peers say of themselves',
      columns: [
        col('infoHash', 'info hash', 'hash'), col('name', 'name', 'text'), col('confirmed', 'confirmed'),
        col('restarts', 'across a restart'), col('suspect', 'suspect'), col('reportedByPeer', 'reported by the peer'),
      ],
      rows: r.torrents.map((t) => [t.infoHash, t.name, t.confirmed, t.restarts, t.suspect, t.reportedByPeer]),
      notes: [
        'across a restart: below the threshold, then a new peer id of the same client name and version at the same address:port at or above it.',
        'suspect: a crossing faster than --suspect-rate, or by a peer that said upload_only while below the threshold, or (PostgreSQL, several hosts) a dual-stack twin another host counted (suspect_reason).',
        'reported by the peer: first seen complete, its extension handshake\'s complete_ago (libtorrent: seconds since it last saw a complete copy, '
          + 'its own completion or a peer finishing in front of it) falls inside a run; an upper bound.',
        'None of these is in the confirmed column; `btda explain --class restart|suspect` shows their evidence.',
      ],
    },
    {
      name: 'trackers',
      title: 'Scrape numbers per torrent and tracker',
      columns: [
        col('infoHash', 'info hash', 'hash'), col('tracker', 'tracker', 'text'), col('scrapes', 'scrapes'),
        col('firstDownloaded', 'downloaded (first)'), col('maxDownloaded', 'downloaded (highest)'), col('latestDownloaded', 'downloaded (latest)'),
        col('growth', 'growth'),
        col('best', 'best', 'text'), col('maxSeeders', 'seeders (max)'), col('maxLeechers', 'leechers (max)'), col('latestAt', 'latest scrape', 'time'),
      ],
      rows: r.torrents.flatMap((t) => t.trackers.map((k) => [t.infoHash, k.tracker, k.scrapes, k.firstDownloaded, k.maxDownloaded, k.latestDownloaded, k.growth,
        k.tracker === t.bestTracker ? 'yes' : '', k.maxSeeders, k.maxLeechers, k.latestAt])),
      notes: ['growth: highest − first "downloaded" in the window. Trackers answering from backends with different counters (1000, 990, 1000, ...) '
        + 'add nothing, and a counter reset never adds (what is counted after a reset is lost: the rule errs on fewer).'],
    },
    {
      name: 'sources',
      title: 'Peer addresses per source (thesis table 5.5)',
      columns: [
        col('kind', 'source', 'text'), col('requests', 'requests'), col('errors', 'errors'), col('received', 'received'),
        col('new', 'new'), col('shareNew', 'share new', 'share'), col('unique', 'unique'), col('uniquePerHour', 'unique/h', 'rate'),
        col('firstSource', 'first source'), col('duplicates', 'duplicates'),
      ],
      rows: [
        ...r.sources.map((s) => [s.kind, s.requests, s.errors, s.received, s.new, s.shareNew, s.unique, s.uniquePerHour, s.firstSource, s.duplicates]),
        ['all', sumCol(r.sources.map((s) => s.requests)), sumCol(r.sources.map((s) => s.errors)), r.sourcesTotal.received, r.sourcesTotal.new,
          r.sourcesTotal.shareNew, r.sourcesTotal.unique, r.sourcesTotal.uniquePerHour, r.sourcesTotal.unique, sumCol(r.sources.map((s) => s.duplicates))],
      ],
      notes: [
        'received: addresses in the replies (incoming: connections accepted); new: addresses not known before.',
        'unique: peers discovered in the window that this source reported; first source: ... that it reported first.',
        `unique/h: unique / ${hours}. incoming "new": peers first reported by an inbound connection (from the peers, as unique; an inbound peer's advertised address is not known before its handshake).`,
        ...(r.set !== null ? ['the listener\'s rows (incoming) name no torrent: with --set their received count is left out.'] : []),
      ],
    },
    {
      name: 'outcomes',
      title: 'Outcomes of contacts per event and reason (thesis table 5.7)',
      columns: [col('event', 'event', 'text'), col('reason', 'reason', 'text'), col('count', 'count'), col('share', 'share of event', 'share')],
      rows: r.outcomes.map((o) => [o.event, o.reason, o.count, o.share]),
      notes: ['first: the first attempt ever at an address:port in this database; later: any further attempt, in this run or a later one; incoming: inbound connections. Outcomes have no time: a window selects the runs that overlap it.'],
    },
    {
      name: 'clients',
      title: `Clients (top ${r.clients.length} by peers)`,
      columns: [
        col('client', 'client', 'text'), col('peers', 'peers'), col('share', 'share', 'share'), col('confirmed', 'confirmed'),
        col('encrypted', 'over MSE/PE'),
      ],
      rows: r.clients.map((c) => [c.client, c.peers, c.share, c.confirmed, c.encrypted]),
      notes: ['peers evaluated in the window, by the client decoded from the peer id; over MSE/PE: their latest contact was encrypted.'],
    },
    {
      name: 'countries',
      title: `Countries (top ${r.countries.length} by peers)`,
      columns: [
        col('country', 'country', 'text'), col('name', 'name', 'text'), col('peers', 'peers'), col('share', 'share', 'share'),
        col('evaluated', 'evaluated'), col('confirmed', 'confirmed'), col('medianSpeed', 'median speed', 'speed'),
      ],
      rows: r.countries.map((c) => [c.country, c.name, c.peers, c.share, c.evaluated, c.confirmed, c.medianSpeed]),
      notes: [
        'peers discovered in the window; country as stored by the crawl, or where it stored none, looked up now from the peer\'s network address.',
        `country database: ${databaseText(r.databases.country)}. unknown: a private or unrouted address, or no database.`,
      ],
    },
    {
      name: 'country-speeds',
      title: `Download speed per country (thesis 4.4.1; countries with at least ${r.minPeersPerCountry} peers with a speed)`,
      columns: [
        col('country', 'country', 'text'), col('name', 'name', 'text'), col('peers', 'peers'), col('median', 'median', 'speed'),
        col('mean', 'mean', 'speed'), col('stddev', 'std. deviation', 'speed'), col('min', 'min', 'speed'), col('max', 'max', 'speed'),
      ],
      rows: r.countrySpeeds.map((c) => [c.country, c.name, c.peers, c.median, c.mean, c.stddev, c.min, c.max]),
      notes: ['highest speed between two visits of evaluated peers; std. deviation of the sample (n − 1); fastest median first.'],
    },
    {
      name: 'networks',
      title: `Networks (thesis 4.4.3; top ${r.networks.length} autonomous systems by peers)`,
      columns: [
        col('asn', 'AS', 'text'), col('org', 'organisation', 'text'), col('country', 'country', 'text'), col('peers', 'peers'),
        col('share', 'share', 'share'), col('evaluated', 'evaluated'), col('seeds', 'seeds'), col('confirmed', 'confirmed'),
      ],
      rows: r.networks.map((n) => [n.asn === null ? 'unknown' : `AS${n.asn}`, n.org, n.country, n.peers, n.share, n.evaluated, n.seeds, n.confirmed]),
      notes: [
        'peers discovered in the window by the autonomous system of their address (looked up from the stored network address, no reverse DNS);',
        'seeds: evaluated peers last seen with every piece. Hosting companies and seedbox providers show many seeds and few confirmed downloads.',
        `network database: ${databaseText(r.databases.network)}.`,
      ],
    },
    {
      name: 'speeds',
      title: 'Download speed distribution (highest speed between two visits)',
      columns: [
        col('peers', 'peers'), ...(['min', 'p10', 'p25', 'median', 'p75', 'p90', 'p99', 'max', 'mean'] as const).map((k) => col(k, k, 'speed')),
      ],
      rows: [[r.speeds.peers, r.speeds.min, r.speeds.p10, r.speeds.p25, r.speeds.median, r.speeds.p75, r.speeds.p90, r.speeds.p99, r.speeds.max, r.speeds.mean]],
      notes: ['peers: evaluated peers with a speed (two visits with progress between them); quantiles interpolate linearly.'],
    },
    {
      name: 'speed-histogram',
      title: 'Download speed histogram',
      columns: [col('from', 'from (bytes/s)', 'speed'), col('to', 'to (bytes/s)', 'speed'), col('peers', 'peers')],
      rows: r.speeds.histogram.map((h) => [h.from, h.to, h.peers]),
      notes: [],
      csvOnly: true,
    },
    {
      name: 'watch',
      title: 'The watch per run (connections kept open to peers below the threshold)',
      columns: [
        col('run', 'run'), col('watched', 'peers watched'), col('crossed', 'crossings read live'), col('left', 'left before crossing'),
        col('budgetFull', 'budget full (times)'), col('budgetFullSeconds', 'budget full (s)'),
      ],
      rows: r.watch.map((w) => [w.run, w.watched, w.crossed, w.left, w.budgetFull, w.budgetFullSeconds]),
      notes: [
        'from each run\'s last statistics row (its totals). left before crossing: the peer closed the connection (or sent a bad message) while watched;',
        'budget full: candidates that found --watch connections open (they took the slot of the peer expected to cross last, or were not watched).',
      ],
    },
    {
      name: 'runs',
      title: 'Runs',
      columns: [
        col('id', 'run'), col('startedAt', 'started', 'time'), col('endedAt', 'ended', 'time'), col('lastActivity', 'last activity', 'time'), col('exitReason', 'exit', 'text'),
        col('threshold', 'threshold', 'ratio'), col('hoursInWindow', 'hours in window', 'hours'),
      ],
      rows: r.runs.map((x) => [x.id, x.startedAt, x.endedAt, x.lastActivity, x.exitReason, x.threshold, x.hoursInWindow]),
      notes: ['a run without an end time crashed or is still running: it counts until the last row it wrote.'],
    },
  ];
}

/** A cell for text and HTML. `short` shortens info hashes (the full one is in JSON and CSV). */
export function formatCell(value: Cell, kind: ColumnKind, short = true): string {
  if (value === null || value === '') return value === '' ? '' : '-';
  if (typeof value === 'string' || typeof value === 'boolean') {
    if (kind === 'hash' && short) return String(value).slice(0, 12);
    if (kind === 'time') return String(value).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return String(value);
  }
  switch (kind) {
    case 'int':
      return Number.isInteger(value) ? value.toLocaleString('en-US') : value.toFixed(2);
    case 'ratio':
      return value.toFixed(2);
    case 'share':
      return `${(value * 100).toFixed(1)}%`;
    case 'speed':
      return speedText(value);
    case 'bytes':
      return bytesText(value);
    case 'hours':
      return hoursText(value);
    case 'rate':
      return value.toFixed(1);
    default:
      return String(value);
  }
}

/** The CSV text of a table: a header row, then the rows. */
export function tableCsv(t: ReportTable): string {
  return csvLine(t.columns.map((c) => c.key)) + t.rows.map((r) => csvLine(r)).join('');
}

/** "name, date (licence)" of an offline database, or what its absence means. */
export function databaseText(d: DatabaseInfo | null): string {
  return d === null ? 'none' : `${d.name}, data of ${d.date ?? 'an unknown date'} (${d.licence})`;
}

/** Hours with one decimal, but two significant digits below one hour: a one-minute demo is 0.017 h, not 0.0. */
export function hoursText(h: number): string {
  return h > 0 && h < 1 ? h.toPrecision(2) : h.toFixed(1);
}

/** 1536 → "1.5 KiB": sizes of files and pieces are binary by custom. */
export function bytesText(v: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${i === 0 || x >= 100 ? x.toFixed(0) : x.toFixed(1)} ${units[i]}`;
}

function sumCol(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}
