// The JSON contract of `btda report --format json`. Keys are only ever added; REPORT_VERSION changes when a
// key changes meaning.
import type { DatabaseInfo, Geolocator } from '../../store/geolocation.ts';
import type { Window } from '../window.ts';

/** Report format version: bump when a key of the JSON contract changes meaning (keys are only ever added). */
export const REPORT_VERSION = 2;

export interface ReportOptions {
  window?: Window;
  /** Only the torrents of this set (--set). */
  setLabel?: string | null;
  /** Rows of the clients, countries and networks tables (default 10). */
  top?: number;
  /** Countries need at least this many peers with a speed for the speed-per-country table (default 10, thesis 4.4.1). */
  minPeersPerCountry?: number;
  /**
   * Looks up what the store lacks: the network (AS) of every peer, and the country of peers stored without one.
   * Without it the networks table is empty and countries are only what the crawl stored.
   */
  geo?: Geolocator;
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
  /** The highest `downloaded` of any scrape in the window. */
  maxDownloaded: number | null;
  latestAt: string | null;
  /**
   * Reported downloads over the window: highest − first `downloaded`. A tracker whose backends answer with
   * slightly different counters (1000, 990, 1000, ...) adds nothing, and a counter reset is never counted
   * as growth (it can only lower the highest-minus-first, never raise it).
   */
  growth: number | null;
  maxSeeders: number | null;
  maxLeechers: number | null;
  /** Seeders and leechers at the first and at the latest scrape of the window that had them. */
  firstSeeders: number | null;
  firstLeechers: number | null;
  latestSeeders: number | null;
  latestLeechers: number | null;
}

export interface TorrentReport {
  id: number;
  infoHash: string;
  name: string | null;
  set: string | null;
  pieces: number | null;
  pieceSize: number | null;
  /** Bytes. */
  totalSize: number | null;
  thresholdPieces: number | null;
  /** Confirmed downloads (view confirmed_downloads) with crossed_at in the window. */
  confirmed: number;
  /** Beside the headline: crossings across a restart of the same client (class restart) in the window. */
  restarts: number;
  /** Beside the headline: suspect crossings (too fast, or upload_only while below) in the window. */
  suspect: number;
  /** Beside the headline: sessions first seen complete whose `complete_ago` puts their completion in a run, in the window. */
  reportedByPeer: number;
  /** Growth (highest − first) of `downloaded` of the best tracker (the largest growth); null without any scrape number. */
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
  /** Highest seeders / leechers any tracker's scrape reported in the window (the DHT's estimates are apart: dhtSeeders). */
  seeders: number | null;
  leechers: number | null;
  /** Table 5.4: the tracker whose swarm numbers are shown (the best tracker, else the one scraped most). */
  swarmTracker: string | null;
  seedersStart: number | null;
  leechersStart: number | null;
  seedersEnd: number | null;
  leechersEnd: number | null;
  /**
   * BEP 33 DHT scrape, beside the trackers' numbers (not in them): the latest estimate in the window of seeds
   * and of downloaders, from the IPv4 DHT (scrapes of tracker `dht`) or the IPv6 DHT (`dht6`), the larger of
   * the two (they estimate the same swarm through different nodes: a sum would count dual-stack peers twice).
   * Null when the DHT was not scraped in the window.
   */
  dhtSeeders: number | null;
  dhtDownloaders: number | null;
  /** Time of that estimate. */
  dhtAt: string | null;
  trackers: TrackerNumbers[];
}

export interface SetReport {
  /** set_label; null for torrents without one. */
  set: string | null;
  torrents: number;
  confirmed: number;
  restarts: number;
  suspect: number;
  reportedByPeer: number;
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
  /** ISO 3166-1 alpha-2, or "unknown". */
  country: string;
  /** English name; null for "unknown" or a code the name list lacks. */
  name: string | null;
  /** Peers discovered in the window located in this country. */
  peers: number;
  share: number;
  evaluated: number;
  confirmed: number;
  /** Median max_speed (bytes/s) of its evaluated peers with a speed. */
  medianSpeed: number | null;
}

/** Thesis 4.4.1: download speed per country, for countries with enough peers that have a speed. */
export interface CountrySpeedReport {
  country: string;
  name: string | null;
  /** Evaluated peers with a max_speed > 0 (at least minPeersPerCountry). */
  peers: number;
  median: number;
  mean: number;
  /** Sample standard deviation (n − 1). */
  stddev: number;
  min: number;
  max: number;
}

/** Thesis 4.4.3 without reverse DNS: peers per autonomous system, so hosting and seedbox networks stand out. */
export interface NetworkReport {
  /** Autonomous system number; null = "unknown" (no database, a private or unrouted address). */
  asn: number | null;
  org: string | null;
  /** Peers discovered in the window in this network. */
  peers: number;
  share: number;
  evaluated: number;
  /** Evaluated peers last seen with every piece: seedboxes and hosting show high shares. */
  seeds: number;
  confirmed: number;
  /** The country most of its peers are in. */
  country: string | null;
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

/** The watch of one run: its last statistics row (the counters count from the run's start). */
export interface WatchReport {
  run: number;
  /** Time of that row. */
  at: string;
  /** Peers taken into the watch. */
  watched: number;
  /** Crossings read live on a watched connection. */
  crossed: number;
  /** Watched peers that left (closed, failed) before crossing. */
  left: number;
  /** Candidates that found the budget (--watch) full: took the slot of the last-ranked peer, or were turned away. */
  budgetFull: number;
  /** Seconds the budget was full. */
  budgetFullSeconds: number;
}

export interface Report {
  version: number;
  generatedAt: string;
  window: { since: string | null; until: string | null; measuredHours: number };
  set: string | null;
  /** The offline databases behind countries and networks, with their dates (their answers change with updates). */
  databases: { country: DatabaseInfo | null; network: DatabaseInfo | null };
  runs: RunReport[];
  torrents: TorrentReport[];
  sets: SetReport[];
  sources: SourceReport[];
  sourcesTotal: { received: number; new: number; unique: number; shareNew: number | null; uniquePerHour: number | null };
  outcomes: OutcomeReport[];
  clients: ClientReport[];
  countries: CountryReport[];
  /** Confirmed downloads per country code (every country, for the map); "unknown" included. */
  confirmedByCountry: Record<string, number>;
  countrySpeeds: CountrySpeedReport[];
  /** The threshold used for countrySpeeds. */
  minPeersPerCountry: number;
  networks: NetworkReport[];
  speeds: SpeedReport;
  /** The watch per run that overlaps the window (empty for a database without the watch columns). */
  watch: WatchReport[];
}
