// btda configuration: copy to my-config.ts (any folder), change what you need, run
// `btda --config my-config.ts`. Every value here is the default; leave out what you do not change.
// Every setting also has a flag (shown in brackets); a flag given on the command line wins over the file.
// Durations take a unit, as on the command line: '500ms', '6s', '5m', '1h30m', '1d'; a plain number is
// seconds (flushIntervalMs: milliseconds). The 2015 tool's values are quoted where they were the starting
// point (the thesis behind btda). A .js file or a .json file with the same keys works too.
import type { ConfigFile } from './src/config.ts';

const config: ConfigFile = {
  // --- storage ---
  /** [--db] SQLite database file. Scheduled runs append to the same file. `btda run` also takes a PostgreSQL
   *  URL, postgres://user:password@host:5432/db, that several hosts share (README "Running on several hosts"). */
  db: 'data/btda.sqlite',
  /** [--store-ip] Store raw IP addresses. Off by default: peers are stored as their /24 (IPv4) or /48 (IPv6)
   *  network plus a keyed hash that tells hosts apart, and --debug lines show the network too. Only turn on
   *  where the law and your ethics board allow. The peer id is stored raw either way (README, Privacy). */
  storeIp: false,
  /** [--key-file] Secret key of the address hash. Empty (default): `btda.key` beside the database, created
   *  with a new database. Keep it out of shared copies of the database: with it a /24 has only 256 candidates.
   *  The database records the key's fingerprint: a run with another key, or without the key once the database
   *  has peers, stops with one line (exit 2) instead of silently splitting every peer's history. */
  keyFile: '',
  /** [--flush-interval] How long results are kept in memory before they are written (in one transaction).
   *  This is the most a crash (kill -9, power loss aside) can lose. A plain number is milliseconds. */
  flushIntervalMs: '1s',
  /** [--spool] With a PostgreSQL --db: the local SQLite working database the crawl writes into (the identity
   *  rules look sessions up there in microseconds, not in a round trip each) and pushes from. It persists
   *  across scheduled runs on this host, so a later run finds the sessions of earlier ones. Empty (default):
   *  `btda-spool-<hash of the URL without password>[-KofN].sqlite` in the key file's folder, one per database
   *  and shard. */
  spool: '',
  /** [--push-interval] With a PostgreSQL --db: how often what changed in the spool is sent to PostgreSQL (one
   *  transaction per push), and once more when the run ends. 10 s keeps the shared database (and reports on
   *  it) within seconds of the crawl while each push carries thousands of rows (a batch, not a round trip
   *  per row). A push that fails (the server unreachable) loses nothing: the spool keeps it for the next. */
  pushInterval: '10s',
  /** [--pull-interval] With a PostgreSQL --db, --shard and --store-ip: how often this host reads from PostgreSQL
   *  the endpoints of its own share that other hosts learnt and it does not know (an address named only to
   *  another host: its tracker answer, PEX from a peer it dialled, an inbound peer's listen port there), and
   *  queues them; in turn it stores the endpoints of the other shards' shares it learns (once per run each), so
   *  that their owners pull them. A minute: the other hosts push every --push-interval, and an address waits at
   *  most about a minute more than on the host that learnt it, while a pull is a few range reads of the
   *  primary key a minute (at most 50,000 rows, a 30-s timeout; a failed pull is one line and the next one
   *  reads what it missed).
   *  0 = off (nothing pulled, nothing of other shards stored). Without --shard or --store-ip nothing is pulled:
   *  an unsharded host dials every endpoint, and a row without its address cannot be dialled. */
  pullInterval: '1m',

  // --- what is measured ---
  /** [--input] Folder scanned recursively for .torrent files at the start of every run (2015: input/). */
  inputPath: 'input',
  /** [--magnet-file] Magnet links, one per line, imported at the start of every run (2015: magnet.txt). */
  magnetFile: 'magnet.txt',
  /** [--set] Set label given to newly imported torrents (the thesis compared sets A, B, C); `btda run` with a
   *  set measures only the torrents of that set. Not set: imports get no label, and run measures all. */
  setLabel: undefined,
  /** [--threshold] Share of pieces (0..1) at which a peer counts as complete: it needs ceil(threshold × pieces)
   *  pieces. 0.98, as in 2015, tolerates clients that announce a few pieces late or skip unwanted files. */
  threshold: 0.98,
  /** [--suspect-rate] Mbit/s. A crossing whose implied rate (from the last state below the threshold to the
   *  crossing: a lower bound of the real rate) is higher is counted as "suspect", apart from the confirmed
   *  downloads. 10,000 (10 Gbit/s) is above nearly every home link; what crosses faster was copied in,
   *  rechecked, or two clients behind one identity. */
  suspectRate: 10_000,

  // --- evaluation of peers ---
  /** [--active] Outgoing contacts in flight at once. 2015: 1024 threads (512 in the thesis run). Async I/O
   *  makes this cheap; the limit is file descriptors (ulimit -n) and what the network tolerates. 0 = none.
   *  btda reads ulimit -n at start and lowers --active (and --max-incoming) to fit, with one warning. */
  active: 512,
  /** [--timeout] How long a peer may stay quiet after its last message before the contact ends. 2015: 6 s,
   *  because 93.9% of the longest waits for one message were below 6 s (thesis fig. 5.1). */
  timeout: '6s',
  /** [--connect-timeout] Time for the TCP connect plus the peer's handshake. */
  connectTimeout: '6s',
  /** [--contact-limit] Hard limit on one contact, whatever the peer sends. */
  contactLimit: '1m',
  /** [--stop-grace] Time the contacts in flight may still take when the run stops (--duration, SIGINT,
   *  SIGTERM). Then they are cut short: what they read is kept (a peer whose state was read counts as a
   *  success), the others count as `stopped`. Bounds the time a stop takes, whatever --contact-limit is. */
  stopGrace: '3s',
  /** [--encryption] MSE/PE, the encrypted handshake most clients offer and some require (a transmission set to
   *  "require encryption" closes a plaintext handshake at once; the 2015 tool lost 21% of inbound peers as
   *  "unknown protocol"). 'fallback': plaintext first, and encrypted again in the same visit when the peer
   *  closes or resets it before its handshake; 'prefer': encrypted first, then plaintext; 'off': plaintext only,
   *  and encrypted inbound handshakes are not answered. Inbound encrypted handshakes are answered otherwise.
   *  With 'fallback' or 'prefer' a peer's next visit opens the way that worked last time, and a peer a PEX
   *  message flags as preferring encryption (BEP 11 added.f 0x01) opens encrypted on its first visit. */
  encryption: 'fallback',
  /** [--pex, --no-pex] Peer exchange (ut_pex, BEP 11): announce it in our extension handshake and queue the
   *  peers a peer tells us about during a contact (source `pex`, one `requests` row per contact that told
   *  any). libtorrent clients send their first PEX message right after the handshake; others every minute
   *  or so, which a short contact may not see. The flags it gives each peer (added.f) order the visits: a
   *  flagged seed waits behind due leechers and is contacted once (README: Visit order). */
  pex: true,
  /** [--max-messages] Messages read per contact at most (2015: 256). */
  maxMessages: 256,
  /** [--opening-grace] Time after the first bitfield during which `have` messages still belong to the
   *  opening state: many clients send a "lazy" bitfield and add the left-out pieces as haves at once. */
  openingGrace: '1s',
  /** [--revisit-delay] Time until a peer below the threshold is visited again (2015: 300 s). Also how long
   *  a due seed yields to due leechers before it goes first (seeds are never starved). */
  revisitDelay: '5m',
  /** [--revisit-complete] Keep visiting peers that crossed the threshold, and seeds (complete, or upload_only:
   *  BEP 21), in the seed lane (off: they are done after one successful contact, as a seed is never a
   *  download to confirm). */
  revisitComplete: false,
  /** [--watch] Connections kept open, silent, to peers downloading below the threshold, read until they cross
   *  (README "The watch"): a peer that quits the moment it completes is still seen crossing. 0 = no watch.
   *  Unset: twice --active, lowered to what the open-file limit leaves after --active and the listener. */
  watch: undefined,
  /** [--watch-stall] A watched peer without a new piece this long is let go and visited as usual. 5 minutes:
   *  above rtorrent's 2-minute `have` bursts and transmission's 10 s batches, so a slow downloader is kept. */
  watchStall: '5m',
  /** [--max-failures] Failed contacts in a row after which a peer is retired until a collector reports it
   *  again. The 2015 tool dropped a peer after one failure and lost ~85% of peers that way. */
  maxFailures: 4,
  /** [--retry-delay] Time before the first retry of a failed contact; doubles with each failure. */
  retryDelay: '1m',

  // --- collection of peers ---
  /** [--tracker-interval] Time between announces to each tracker (2015: 300 s). A tracker's own
   *  `min interval` wins when it is longer (logged). Scrapes run on the same schedule, on a loop of their
   *  own (batches of 74 hashes over UDP, 50 over HTTP). A tracker that does not answer backs off as a
   *  whole (interval, 2×, 4×, ... up to 1 h), then one request probes it. Each tracker is asked over each
   *  address family its host has (A and AAAA). */
  trackerInterval: '5m',
  /** [--numwant] Peers asked of a tracker per announce. */
  numwant: 200,
  /** [--dht] Run our own DHT node and look up peers there (BEP 5). */
  dht: false,
  /** [--dht-port] UDP port of our DHT node; announced to peers in PORT messages. */
  dhtPort: 6881,
  /** [--dht-bootstrap] DHT bootstrap nodes as host:port (comma-separated on the command line). */
  dhtBootstrap: ['router.bittorrent.com:6881', 'router.utorrent.com:6881', 'dht.transmissionbt.com:6881'],
  /** [--dht-state] The DHT routing table is saved here at shutdown and loaded at start, so runs start warm. */
  dhtState: 'data/dht-state.json',
  /**
   * [--dht6] Also run an IPv6 DHT node (BEP 32) on the same UDP port; its table goes to the state file
   * with '.v6' before '.json'. IPv6 peers are often reachable where their IPv4 side is behind NAT. It
   * starts only when a bootstrap entry can be IPv6 (a host name with an AAAA record, or an IPv6 address).
   */
  dht6: true,
  /**
   * [--dht-scrape] After each DHT lookup, a BEP 33 scrape: the Bloom filters of the closest nodes give
   * seeds and downloaders (estimates, counted by address) where trackers are dead or missing. One more
   * lookup per torrent and interval.
   */
  dhtScrape: true,
  /** [--dht-interval] Time between DHT lookups of each torrent (2015: 300 s). */
  dhtInterval: '5m',
  /** [--passive] Accept inbound connections: peers behind NAT can only be measured when they dial us. */
  passive: false,
  /** [--port] TCP port of the inbound listener, and the port told to trackers. Without --passive btda
   *  announces it too (trackers refuse port 0) but withdraws every announce at once with `stopped`, so no
   *  swarm lists an address that never answers (README, "What btda announces"). (2015: 6884.) */
  port: 6884,
  /** [--listen-host] Address the listener binds: '::' = every interface (IPv6 and, on dual-stack hosts, IPv4);
   *  '127.0.0.1' keeps it on loopback (tests, demos). */
  listenHost: '::',
  /** [--max-incoming] Inbound connections open at once. */
  maxIncoming: 256,
  /** [--max-incoming-per-ip] Inbound connections open at once from one address. */
  maxIncomingPerIp: 4,
  /** [--peers-file] Extra peers, `ip:port` (or `infohash ip:port`) per line, source `file`. */
  peersFile: undefined,
  /** [--allow] Address ranges (CIDR, or one address) dialled although they are special-purpose. Default: none,
   *  because trackers, PEX and the DHT routinely name LAN, CGNAT, loopback and link-local addresses, and
   *  dialling them reaches into your own network (or lets a hostile tracker scan it). The built-in ranges are
   *  every entry of the IANA IPv4/IPv6 special-purpose registries, multicast, 240/4 and IPv6 outside 2000::/3
   *  (README "Address policy"). A swarm on loopback needs ['127.0.0.0/8', '::1']. */
  allow: [],
  /** [--exclude] File of ranges never dialled, one CIDR (or address) per line, `#` comments: opt-out requests.
   *  Wins over `allow`. A line that is not a range stops the run with the file and line named (exit 2). '' = none. */
  exclude: '',
  /** [--shard] 'K/N': this host is shard K of N hosts crawling the same torrents; it dials only the endpoints
   *  whose hash of (info hash, address, port) falls to K, so no two hosts dial the same endpoint and each does
   *  1/N of the contacts. Every host must use the same --key-file (copy btda.key), or `btda merge` refuses
   *  their databases. '' (default) = this host dials every endpoint. README "Running on several hosts". */
  shard: '',

  // --- run control and output ---
  /** [--duration] How long the run lasts ('90m', '2h', '1d'); 0 = until SIGINT/SIGTERM. */
  duration: 0,
  /** [--stats-interval] Time between rows of the `statistics` table (2015: 300 s). */
  statsInterval: '5m',
  /**
   * [--geoip] MaxMind City or Country .mmdb file for country/continent/city. Empty = the built-in country database
   * (@ip-location-db/geo-whois-asn-country-mmdb, CC0, installed with btda); 'none' = no geolocation.
   */
  geoipDb: '',
  /** [--log] Append log lines to this file instead of standard error. */
  log: '',
  /** [--debug] Debug logging: every contact, DHT and listener event, and the settings the run uses. Peer
   *  addresses in it are written as their network (81.2.69.0/24) unless storeIp is on. */
  debug: false,
  /** [--quiet] Warnings and errors only. */
  quiet: false,
};

export default config;
