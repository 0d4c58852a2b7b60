// The one typed configuration of btda. Every value is documented (unit, default, why) in
// config.example.ts at the top of the repository; every value also has a command-line flag
// (src/cli/options.ts). Durations are seconds unless the name says otherwise (flushIntervalMs).
import { dirname, join } from 'node:path';

/**
 * MSE/PE (the encrypted handshake) on outgoing contacts: 'fallback' opens in plaintext and, when the peer
 * closes that at once, tries again encrypted in the same visit; 'prefer' opens encrypted and falls back to
 * plaintext; 'off' never encrypts (and does not answer encrypted inbound handshakes).
 */
export const ENCRYPTION_POLICIES = ['fallback', 'prefer', 'off'] as const;
export type EncryptionPolicy = (typeof ENCRYPTION_POLICIES)[number];

export interface Config {
  /** SQLite database file, or a PostgreSQL URL (postgres://user:password@host:5432/db; `btda run` only). */
  db: string;
  /** Concurrent outgoing peer contacts (0 = no active evaluation). */
  active: number;
  /** Accept inbound BitTorrent connections on `port`. */
  passive: boolean;
  /** TCP port of the inbound listener; also the port announced to trackers (withdrawn at once unless passive) and the DHT (passive only). */
  port: number;
  /** Address the inbound listener binds: '::' = every interface (IPv6 and IPv4), '127.0.0.1' = loopback only. */
  listenHost: string;
  /** Run our own DHT node and look up peers there. */
  dht: boolean;
  /** UDP port of our DHT node. */
  dhtPort: number;
  /** DHT bootstrap nodes, host:port. */
  dhtBootstrap: string[];
  /** File where the DHT routing table is saved at shutdown and loaded at start. */
  dhtState: string;
  /** Also run an IPv6 DHT node (BEP 32) on dhtPort, when a bootstrap entry can be IPv6 (a name or an IPv6 address). */
  dht6: boolean;
  /** After each DHT lookup, a BEP 33 scrape (seeds and downloaders estimated, stored as tracker 'dht' / 'dht6'). */
  dhtScrape: boolean;
  /** Seconds a peer may stay quiet after its last message before the contact ends. */
  timeout: number;
  /** Seconds allowed for the TCP connect and the peer's handshake. */
  connectTimeout: number;
  /** Hard limit on one contact, seconds, whatever the peer sends. */
  contactLimit: number;
  /** Seconds the contacts in flight may still take when the crawl stops, before they are cut short. */
  stopGrace: number;
  /** MSE/PE for outgoing contacts (inbound encrypted handshakes are answered unless 'off'). */
  encryption: EncryptionPolicy;
  /** Announce ut_pex to peers and queue the peers they tell us about (source 'pex'). */
  pex: boolean;
  /** Messages read per contact at most. */
  maxMessages: number;
  /** Seconds after the opening bitfield during which `have` messages still count as the opening state. */
  openingGrace: number;
  /** Share of pieces (0..1) at which a peer counts as complete. */
  threshold: number;
  /**
   * Mbit/s: a crossing whose implied download rate (from the last state below the threshold to the crossing,
   * a lower bound of the real rate) is higher counts as suspect, not confirmed.
   */
  suspectRate: number;
  /** Seconds until a peer below the threshold is visited again; also how long a due seed yields to due leechers. */
  revisitDelay: number;
  /** Keep visiting peers that have crossed the threshold, and seeds (complete or upload_only). */
  revisitComplete: boolean;
  /**
   * Connections kept open to peers downloading below the threshold, read until they cross (the watch,
   * src/evaluator/watch-pool.ts); 0 = no watch; undefined = sized from the open-file limit and `active`.
   */
  watch?: number;
  /** Seconds a watched peer may go without a new piece before its watch ends (it is then visited as usual). */
  watchStall: number;
  /** Failed contacts in a row after which a peer is retired until a collector reports it again. */
  maxFailures: number;
  /** Seconds before the first retry of a failed contact; doubles with each failure. */
  retryDelay: number;
  /** Seconds between announces to each tracker (a tracker's `min interval` wins if longer). */
  trackerInterval: number;
  /** Peers asked of a tracker per announce. */
  numwant: number;
  /** Seconds between DHT lookups for each torrent. */
  dhtInterval: number;
  /** Seconds between rows in the `statistics` table. */
  statsInterval: number;
  /** Seconds the run lasts; 0 = until SIGINT/SIGTERM. */
  duration: number;
  /**
   * Address ranges (CIDR, or single addresses) dialled although they are special-purpose (private, loopback,
   * CGNAT, ...; src/collectors/special-ranges.ts), e.g. 127.0.0.0/8 and ::1 for a swarm on loopback.
   */
  allow: string[];
  /** File of address ranges never dialled (one CIDR per line, '#' comments), e.g. opt-out requests; '' = none. Wins over `allow`. */
  exclude: string;
  /**
   * 'K/N': this host is shard K of N hosts sharing the work; it dials only the endpoints whose hash of (info
   * hash, address, port) falls to it (src/queue/shard.ts). '' = every endpoint.
   */
  shard: string;
  /** File of peers to add (`ip:port` or `infohash ip:port` per line). */
  peersFile?: string;
  /** Folder scanned (recursively) for .torrent files at the start of `btda run`. */
  inputPath: string;
  /** File of magnet links (one per line) imported at the start of `btda run`. */
  magnetFile: string;
  /** Set label given to torrents imported by `btda run` and `btda add`. */
  setLabel?: string;
  /** MaxMind City (or Country) .mmdb file for geolocation; empty = no geolocation. */
  geoipDb: string;
  /** Store raw IP addresses (off: only the anonymized prefix and a keyed hash). */
  storeIp: boolean;
  /**
   * File holding the secret key of the address hash (created on first use of a new database). Empty: `btda.key`
   * beside the database, so a run started from another folder finds the same key.
   */
  keyFile: string;
  /** Inbound connections open at once at most. */
  maxIncoming: number;
  /** Inbound connections open at once from one IP address at most. */
  maxIncomingPerIp: number;
  /** Most milliseconds of results kept in memory before they are written. */
  flushIntervalMs: number;
  /**
   * With a PostgreSQL `db`: the local SQLite working database the crawl writes and pushes from (README
   * "Running on several hosts"). Empty: `btda-spool-<hash of the URL>[-KofN].sqlite` in the key file's folder.
   */
  spool: string;
  /** With a PostgreSQL `db`: seconds between pushes of what changed in the spool. */
  pushInterval: number;
  /**
   * With a PostgreSQL `db`, --shard and --store-ip: seconds between pulls of the endpoints of this host's share
   * that other hosts learnt (README "Running on several hosts"); 0 = no pull (and nothing of other shards stored).
   */
  pullInterval: number;
  /** Log file (appended); empty = standard error. */
  log: string;
  /** Debug logging. */
  debug: boolean;
  /** No progress line and no informational logging. */
  quiet: boolean;
}

/**
 * What a config file holds: any Config value, and for time settings also a duration text with a unit
 * ('500ms', '6s', '5m', '1h30m'), as on the command line.
 */
export type ConfigFile = { [K in keyof Config]?: Config[K] extends number ? number | string : Config[K] };

export const DEFAULT_DHT_BOOTSTRAP = [
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
];

export const defaultConfig: Readonly<Config> = Object.freeze({
  db: 'data/btda.sqlite',
  active: 512,
  passive: false,
  port: 6884,
  listenHost: '::',
  dht: false,
  dhtPort: 6881,
  dhtBootstrap: DEFAULT_DHT_BOOTSTRAP,
  dhtState: 'data/dht-state.json',
  dht6: true,
  dhtScrape: true,
  timeout: 6,
  connectTimeout: 6,
  contactLimit: 60,
  stopGrace: 3,
  encryption: 'fallback',
  pex: true,
  maxMessages: 256,
  openingGrace: 1,
  threshold: 0.98,
  suspectRate: 10_000,
  revisitDelay: 300,
  revisitComplete: false,
  watch: undefined,
  watchStall: 300,
  maxFailures: 4,
  retryDelay: 60,
  trackerInterval: 300,
  numwant: 200,
  dhtInterval: 300,
  statsInterval: 300,
  duration: 0,
  allow: [],
  exclude: '',
  shard: '',
  peersFile: undefined,
  inputPath: 'input',
  magnetFile: 'magnet.txt',
  setLabel: undefined,
  geoipDb: '',
  storeIp: false,
  keyFile: '',
  maxIncoming: 256,
  maxIncomingPerIp: 4,
  flushIntervalMs: 1000,
  spool: '',
  pushInterval: 10,
  pullInterval: 60,
  log: '',
  debug: false,
  quiet: false,
});

/** Bytes per second of a rate in Mbit/s. */
export function bytesPerSecond(mbit: number): number {
  return (mbit * 1e6) / 8;
}

/** The key file in use: the configured one, else `btda.key` beside the database (a database URL: in `data/`). */
export function keyFileOf(config: Pick<Config, 'keyFile' | 'db'>): string {
  return config.keyFile || join(isDatabaseUrl(config.db) ? dirname(defaultConfig.db) : dirname(config.db), 'btda.key');
}

/** `postgres://...` and other URLs, as opposed to a SQLite file. */
export function isDatabaseUrl(db: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(db);
}

/** Pieces a peer must have to count as complete: ceil(threshold × pieces). */
export function thresholdPieces(pieces: number, threshold: number): number {
  return Math.ceil(threshold * pieces - 1e-9);
}
