// The database schema: a public interface for analysts (README "Database schema").
// Times are ISO-8601 UTC text ("2026-11-22T17:32:37.123Z"), which SQLite's date functions read directly.
// Change it only by adding columns or tables, then run `npm run db:generate` and commit the migration.
import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, sqliteView, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const runs = sqliteTable('runs', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  startedAt: text('started_at').notNull(),
  endedAt: text('ended_at'),
  version: text('version').notNull(),
  args: text('args').notNull(),
  host: text('host').notNull(),
  /** completed (duration reached) | signal SIGINT/SIGTERM | error: ... ; null while running or after a crash. */
  exitReason: text('exit_reason'),
  /** The completion threshold (0..1) this run used. */
  threshold: real('threshold').notNull(),
  /** Mbit/s above which this run counted a crossing as suspect (--suspect-rate); null: a run of an older btda. */
  suspectRate: real('suspect_rate'),
  /** 'K/N' when this run was shard K of N (--shard): it contacted only its share of the peers; null: all. */
  shard: text('shard'),
  /** Where a run copied in by `btda merge` was recorded first ("FILE run ID"); null: a run of this database. */
  origin: text('origin'),
});

export const torrents = sqliteTable(
  'torrents',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    infoHash: text('info_hash').notNull(),
    infoHashV2: text('info_hash_v2'),
    name: text('name'),
    setLabel: text('set_label'),
    /** Null until the metadata of a magnet link is known. */
    pieces: integer('pieces'),
    pieceSize: integer('piece_size'),
    totalSize: integer('total_size'),
    /** JSON array of tracker URLs, all tiers flattened in order. */
    trackers: text('trackers').notNull().default('[]'),
    /** The file path or magnet link it was imported from. */
    source: text('source').notNull(),
    addedAt: text('added_at').notNull(),
    /** ceil(threshold × pieces) of the latest run: the piece count that counts as complete. */
    thresholdPieces: integer('threshold_pieces'),
  },
  (t) => [uniqueIndex('torrents_info_hash').on(t.infoHash)],
);

export const peers = sqliteTable(
  'peers',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    torrentId: integer('torrent_id').notNull(),
    /** Anonymized address: IPv4 /24 or IPv6 /48 network, e.g. "81.2.69.0/24". */
    address: text('address').notNull(),
    /** Keyed hash of the full address: tells peers of one network apart without revealing them. */
    addressKey: text('address_key').notNull(),
    /** Raw IP address, only with --store-ip. */
    ip: text('ip'),
    port: integer('port').notNull(),
    /** Hex peer id from the handshake. */
    peerId: text('peer_id'),
    /** Client decoded from the peer id, e.g. "Transmission 3.00". */
    client: text('client'),
    /** The client's own name from the extension handshake (`v`). */
    clientVersion: text('client_version'),
    /** Listen port from the extension handshake (`p`). */
    listenPort: integer('listen_port'),
    /** 1 when the latest successful contact spoke MSE/PE (the encrypted handshake), else 0. */
    encrypted: integer('encrypted').notNull().default(0),
    firstPieces: integer('first_pieces'),
    firstSeen: text('first_seen'),
    lastPieces: integer('last_pieces'),
    lastSeen: text('last_seen'),
    /** Fewest pieces any observation of this session showed (a crossing needs one below the threshold). */
    lowPieces: integer('low_pieces'),
    /**
     * The crossing, a fact recorded once when it is observed and never removed (README "What counts"):
     * when the session was first seen at or above the threshold in force after having been seen below it.
     */
    crossedAt: text('crossed_at'),
    /** Pieces of the observation that crossed. */
    crossedPieces: integer('crossed_pieces'),
    /** The threshold in force when the crossing was observed, in pieces (ceil(threshold × pieces)). */
    crossedThreshold: integer('crossed_threshold'),
    /**
     * What the crossing counts as: confirmed (the headline) | restart (below in an earlier session of the same
     * client at this address:port, at or above in this one) | suspect (see suspect_reason). Null: no crossing.
     */
    crossingClass: text('crossing_class'),
    /** Why a crossing is suspect: rate (faster than --max-rate) | upload-only (said upload_only while below). */
    suspectReason: text('suspect_reason'),
    /** The observation that crossed (observations.id). */
    crossedObservation: integer('crossed_observation'),
    /**
     * "Reported by the peer": a session first seen complete whose extension handshake said `complete_ago`
     * (libtorrent) putting its completion inside the run; that moment. Never counted as confirmed.
     */
    reportedCompleteAt: text('reported_complete_at'),
    /** The earlier session (peers.id) of the same client name and version at this address:port, when this one followed it. */
    restartOf: integer('restart_of'),
    /** When the address:port was first dialled, in any run (kept on the newest session there): outcomes' `first` is the first ever. */
    attemptedAt: text('attempted_at'),
    /** 1 for the newest session at its (torrent, address key, port); discoveries merge into that row. */
    latest: integer('latest').notNull().default(1),
    /** Successful contacts. */
    visits: integer('visits').notNull().default(0),
    /** Highest download speed between two visits, bytes/s. */
    maxSpeed: real('max_speed'),
    /** Comma-separated sources that reported this peer: http, udp, dht, incoming, pex, file. */
    sources: text('sources').notNull().default(''),
    country: text('country'),
    continent: text('continent'),
    city: text('city'),
    /** First time any collector reported this peer. */
    discoveredAt: text('discovered_at').notNull(),
  },
  (t) => [
    // one client session per row: a new peer id at an address:port is a new row, and the old one is no longer `latest`
    uniqueIndex('peers_torrent_address_port_latest').on(t.torrentId, t.addressKey, t.port).where(sql`latest = 1`),
    index('peers_torrent_peer_id_address').on(t.torrentId, t.peerId, t.addressKey, t.port),
    index('peers_crossed_at').on(t.crossedAt),
  ],
);

/**
 * The evidence: every change of a peer session's state (pieces, peer id, client, upload_only) as observed,
 * with when and how. An unchanged state adds nothing, so a long crawl of seeds stays small. Every count is
 * derived from these rows (README "What counts").
 */
export const observations = sqliteTable(
  'observations',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** peers.id of the session. */
    peerRow: integer('peer_row').notNull(),
    runId: integer('run_id').notNull(),
    /** When the state was read (a have's arrival for a crossing inside a contact). */
    at: text('at').notNull(),
    /** Which moment of the contact: open (the opening state) | cross (the moment it reached the threshold) | end | migrated (summary of a row of an older btda). */
    phase: text('phase').notNull(),
    /** first | later | incoming (the contact's event). */
    event: text('event').notNull(),
    /** out (we dialled) | in (the peer dialled our listener). */
    direction: text('direction').notNull(),
    /** 1 when the contact spoke MSE/PE. */
    encrypted: integer('encrypted').notNull().default(0),
    /** 4 or 6: the address family of the contact. */
    family: integer('family').notNull(),
    pieces: integer('pieces').notNull(),
    /** Hex peer id, only where it differs from the session's previous observation. */
    peerId: text('peer_id'),
    /** Client name, only where it differs from the session's previous observation. */
    client: text('client'),
    /** 1 when the extension handshake said upload_only (BEP 21). */
    uploadOnly: integer('upload_only').notNull().default(0),
  },
  (t) => [index('observations_peer').on(t.peerRow, t.id), index('observations_run').on(t.runId)],
);

/** Facts about the database itself, e.g. the fingerprint of the address key it was written with. */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

export const requests = sqliteTable(
  'requests',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id').notNull(),
    torrentId: integer('torrent_id'),
    /** http | udp | dht | incoming | pex | file */
    kind: text('kind').notNull(),
    url: text('url'),
    startedAt: text('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    received: integer('received').notNull().default(0),
    new: integer('new').notNull().default(0),
    duplicates: integer('duplicates').notNull().default(0),
    /** Addresses the source named that the address policy kept from the queue (special-purpose, excluded, port 0, malformed). */
    skipped: integer('skipped').notNull().default(0),
    error: text('error'),
  },
  (t) => [index('requests_run').on(t.runId, t.kind)],
);

export const scrapes = sqliteTable(
  'scrapes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    runId: integer('run_id').notNull(),
    torrentId: integer('torrent_id').notNull(),
    tracker: text('tracker').notNull(),
    at: text('at').notNull(),
    seeders: integer('seeders'),
    leechers: integer('leechers'),
    downloaded: integer('downloaded'),
  },
  (t) => [index('scrapes_torrent_at').on(t.torrentId, t.at)],
);

export const outcomes = sqliteTable(
  'outcomes',
  {
    runId: integer('run_id').notNull(),
    torrentId: integer('torrent_id').notNull(),
    /** first | later | incoming */
    event: text('event').notNull(),
    /** success | timeout | refused | reset | unreachable | closed-early | unknown-protocol | wrong-info-hash | bad-message | ... */
    reason: text('reason').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [uniqueIndex('outcomes_key').on(t.runId, t.torrentId, t.event, t.reason)],
);

/** Successful contacts by the longest wait for one message, whole seconds (thesis fig. 5.1: what --timeout cuts off). */
export const contactWaits = sqliteTable(
  'contact_waits',
  {
    runId: integer('run_id').notNull(),
    torrentId: integer('torrent_id').notNull(),
    /** first | later | incoming */
    event: text('event').notNull(),
    /** The longest gap between two messages of the contact, rounded to whole seconds. */
    waitS: integer('wait_s').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [uniqueIndex('contact_waits_key').on(t.runId, t.torrentId, t.event, t.waitS)],
);

export const statistics = sqliteTable('statistics', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  runId: integer('run_id').notNull(),
  at: text('at').notNull(),
  /** Peers waiting in the queue. */
  queue: integer('queue').notNull(),
  /** Contacts open at this moment. */
  inFlight: integer('in_flight').notNull(),
  /** Contacts finished since the run started. */
  evaluations: integer('evaluations').notNull(),
  /** Successful contacts since the run started. */
  successes: integer('successes').notNull().default(0),
  /** Inbound connections accepted since the run started. */
  incoming: integer('incoming').notNull().default(0),
  /** Distinct peers known to this run. */
  peersKnown: integer('peers_known').notNull().default(0),
  rssMb: real('rss_mb').notNull(),
  loadAverage: real('load_average'),
  /** Watched connections open at this moment (src/evaluator/watch-pool.ts). */
  watching: integer('watching').notNull().default(0),
  /** Peers taken into the watch since the run started. */
  watched: integer('watched').notNull().default(0),
  /** Crossings read while watched since the run started. */
  watchCrossed: integer('watch_crossed').notNull().default(0),
  /** Watched peers that left (closed, failed) before crossing, since the run started. */
  watchLeft: integer('watch_left').notNull().default(0),
  /** Candidates that found the watch budget full, since the run started. */
  watchFull: integer('watch_full').notNull().default(0),
  /** Seconds the watch budget was full, since the run started. */
  watchFullS: integer('watch_full_s').notNull().default(0),
});

/** Every recorded crossing, whatever it counts as (crossing_class: confirmed | restart | suspect). */
export const crossings = sqliteView('crossings').as((qb) =>
  qb
    .select({
      peerId: sql<number>`p.id`.as('peer_row'),
      torrentId: sql<number>`p.torrent_id`.as('torrent_id'),
      infoHash: sql<string>`t.info_hash`.as('info_hash'),
      name: sql<string>`t.name`.as('name'),
      setLabel: sql<string>`t.set_label`.as('set_label'),
      address: sql<string>`p.address`.as('address'),
      client: sql<string>`p.client`.as('client'),
      country: sql<string>`p.country`.as('country'),
      firstPieces: sql<number>`p.first_pieces`.as('first_pieces'),
      firstSeen: sql<string>`p.first_seen`.as('first_seen'),
      lastPieces: sql<number>`p.last_pieces`.as('last_pieces'),
      lastSeen: sql<string>`p.last_seen`.as('last_seen'),
      crossedAt: sql<string>`p.crossed_at`.as('crossed_at'),
      crossedPieces: sql<number>`p.crossed_pieces`.as('crossed_pieces'),
      thresholdPieces: sql<number>`p.crossed_threshold`.as('threshold_pieces'),
      pieces: sql<number>`t.pieces`.as('pieces'),
      crossingClass: sql<string>`p.crossing_class`.as('crossing_class'),
      suspectReason: sql<string>`p.suspect_reason`.as('suspect_reason'),
      restartOf: sql<number>`p.restart_of`.as('restart_of'),
    })
    .from(sql`peers p join torrents t on t.id = p.torrent_id`)
    .where(sql`p.crossing_class is not null`),
);

/**
 * Confirmed downloads, the headline: sessions seen below the threshold and later at or above it, by the
 * fact recorded when the crossing was observed (never removed by a later, smaller state; another run's
 * threshold does not rewrite it). Restarts and suspect crossings are in `crossings`, not here.
 */
export const confirmedDownloads = sqliteView('confirmed_downloads').as((qb) =>
  qb
    .select({
      peerId: sql<number>`peer_row`.as('peer_row'),
      torrentId: sql<number>`torrent_id`.as('torrent_id'),
      infoHash: sql<string>`info_hash`.as('info_hash'),
      name: sql<string>`name`.as('name'),
      setLabel: sql<string>`set_label`.as('set_label'),
      address: sql<string>`address`.as('address'),
      client: sql<string>`client`.as('client'),
      country: sql<string>`country`.as('country'),
      firstPieces: sql<number>`first_pieces`.as('first_pieces'),
      firstSeen: sql<string>`first_seen`.as('first_seen'),
      lastPieces: sql<number>`last_pieces`.as('last_pieces'),
      lastSeen: sql<string>`last_seen`.as('last_seen'),
      crossedAt: sql<string>`crossed_at`.as('crossed_at'),
      crossedPieces: sql<number>`crossed_pieces`.as('crossed_pieces'),
      thresholdPieces: sql<number>`threshold_pieces`.as('threshold_pieces'),
      pieces: sql<number>`pieces`.as('pieces'),
    })
    .from(sql`crossings`)
    .where(sql`crossing_class = 'confirmed'`),
);

/** Confirmed downloads per torrent and hour of crossing (UTC). */
export const hourlyConfirmed = sqliteView('hourly_confirmed').as((qb) =>
  qb
    .select({
      torrentId: sql<number>`torrent_id`.as('torrent_id'),
      infoHash: sql<string>`info_hash`.as('info_hash'),
      hour: sql<string>`strftime('%Y-%m-%d %H:00', crossed_at)`.as('hour'),
      confirmed: sql<number>`count(*)`.as('confirmed'),
    })
    .from(sql`confirmed_downloads`)
    .groupBy(sql`torrent_id, info_hash, strftime('%Y-%m-%d %H:00', crossed_at)`),
);
