// The PostgreSQL schema: the same tables, columns, indexes and views under the same names as the SQLite one
// (src/store/schema.ts, where every column is documented), so that analysts' queries and the report's JSON
// do not depend on the backend. Change both together, then generate each dialect's migration:
//   npx drizzle-kit generate --config drizzle.pg.config.ts
// Types: times stay ISO-8601 UTC text as in SQLite (the JSON and the queries stay identical; text sorts in
// time order; the views cast to timestamptz where they need a calendar). Ids, references and counters that
// may pass 2^31 are bigint (SQLite's integer is 64-bit), read back as JS numbers (exact below 2^53); SQLite's
// real is a double, so double precision. Columns are in the order SQLite has them after its migrations
// (added columns last), so that `SELECT *` gives the same columns in the same order on both backends.
import { sql } from 'drizzle-orm';
import { bigint, doublePrecision, index, integer, pgTable, pgView, text, uniqueIndex } from 'drizzle-orm/pg-core';

/** A row id: bigint, assigned by the database unless given (a merge may carry ids over). */
const id = () => bigint('id', { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity();
/** Another row's id, or a count that may pass 2^31. */
const big = (name: string) => bigint(name, { mode: 'number' });

export const runs = pgTable('runs', {
  id: id(),
  startedAt: text('started_at').notNull(),
  endedAt: text('ended_at'),
  version: text('version').notNull(),
  args: text('args').notNull(),
  host: text('host').notNull(),
  exitReason: text('exit_reason'),
  threshold: doublePrecision('threshold').notNull(),
  suspectRate: doublePrecision('suspect_rate'),
  shard: text('shard'),
  origin: text('origin'),
});

export const torrents = pgTable(
  'torrents',
  {
    id: id(),
    infoHash: text('info_hash').notNull(),
    infoHashV2: text('info_hash_v2'),
    name: text('name'),
    setLabel: text('set_label'),
    pieces: integer('pieces'),
    pieceSize: big('piece_size'),
    totalSize: big('total_size'),
    trackers: text('trackers').notNull().default('[]'),
    source: text('source').notNull(),
    addedAt: text('added_at').notNull(),
    thresholdPieces: integer('threshold_pieces'),
  },
  (t) => [uniqueIndex('torrents_info_hash').on(t.infoHash)],
);

export const peers = pgTable(
  'peers',
  {
    id: id(),
    torrentId: big('torrent_id').notNull(),
    address: text('address').notNull(),
    addressKey: text('address_key').notNull(),
    ip: text('ip'),
    port: integer('port').notNull(),
    peerId: text('peer_id'),
    client: text('client'),
    clientVersion: text('client_version'),
    listenPort: integer('listen_port'),
    firstPieces: integer('first_pieces'),
    firstSeen: text('first_seen'),
    lastPieces: integer('last_pieces'),
    lastSeen: text('last_seen'),
    crossedAt: text('crossed_at'),
    visits: integer('visits').notNull().default(0),
    maxSpeed: doublePrecision('max_speed'),
    sources: text('sources').notNull().default(''),
    country: text('country'),
    continent: text('continent'),
    city: text('city'),
    discoveredAt: text('discovered_at').notNull(),
    encrypted: integer('encrypted').notNull().default(0),
    lowPieces: integer('low_pieces'),
    crossedPieces: integer('crossed_pieces'),
    crossedThreshold: integer('crossed_threshold'),
    crossingClass: text('crossing_class'),
    suspectReason: text('suspect_reason'),
    crossedObservation: big('crossed_observation'),
    restartOf: big('restart_of'),
    latest: integer('latest').notNull().default(1),
    reportedCompleteAt: text('reported_complete_at'),
    attemptedAt: text('attempted_at'),
  },
  (t) => [
    // one client session per row, as in SQLite: a partial unique index over the latest session
    uniqueIndex('peers_torrent_address_port_latest').on(t.torrentId, t.addressKey, t.port).where(sql`latest = 1`),
    index('peers_torrent_peer_id_address').on(t.torrentId, t.peerId, t.addressKey, t.port),
    index('peers_crossed_at').on(t.crossedAt),
  ],
);

export const observations = pgTable(
  'observations',
  {
    id: id(),
    peerRow: big('peer_row').notNull(),
    runId: big('run_id').notNull(),
    at: text('at').notNull(),
    phase: text('phase').notNull(),
    event: text('event').notNull(),
    direction: text('direction').notNull(),
    encrypted: integer('encrypted').notNull().default(0),
    family: integer('family').notNull(),
    pieces: integer('pieces').notNull(),
    peerId: text('peer_id'),
    client: text('client'),
    uploadOnly: integer('upload_only').notNull().default(0),
  },
  (t) => [index('observations_peer').on(t.peerRow, t.id), index('observations_run').on(t.runId)],
);

export const meta = pgTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

export const requests = pgTable(
  'requests',
  {
    id: id(),
    runId: big('run_id').notNull(),
    torrentId: big('torrent_id'),
    kind: text('kind').notNull(),
    url: text('url'),
    startedAt: text('started_at').notNull(),
    durationMs: integer('duration_ms').notNull(),
    received: integer('received').notNull().default(0),
    new: integer('new').notNull().default(0),
    duplicates: integer('duplicates').notNull().default(0),
    error: text('error'),
    skipped: integer('skipped').notNull().default(0),
  },
  (t) => [index('requests_run').on(t.runId, t.kind)],
);

export const scrapes = pgTable(
  'scrapes',
  {
    id: id(),
    runId: big('run_id').notNull(),
    torrentId: big('torrent_id').notNull(),
    tracker: text('tracker').notNull(),
    at: text('at').notNull(),
    // a tracker's figures are foreign input: bigint so that a huge one is stored, not an insert error
    seeders: big('seeders'),
    leechers: big('leechers'),
    downloaded: big('downloaded'),
  },
  (t) => [index('scrapes_torrent_at').on(t.torrentId, t.at)],
);

export const outcomes = pgTable(
  'outcomes',
  {
    runId: big('run_id').notNull(),
    torrentId: big('torrent_id').notNull(),
    event: text('event').notNull(),
    reason: text('reason').notNull(),
    count: big('count').notNull().default(0),
  },
  (t) => [uniqueIndex('outcomes_key').on(t.runId, t.torrentId, t.event, t.reason)],
);

export const contactWaits = pgTable(
  'contact_waits',
  {
    runId: big('run_id').notNull(),
    torrentId: big('torrent_id').notNull(),
    event: text('event').notNull(),
    waitS: integer('wait_s').notNull(),
    count: big('count').notNull().default(0),
  },
  (t) => [uniqueIndex('contact_waits_key').on(t.runId, t.torrentId, t.event, t.waitS)],
);

export const statistics = pgTable('statistics', {
  id: id(),
  runId: big('run_id').notNull(),
  at: text('at').notNull(),
  queue: big('queue').notNull(),
  inFlight: integer('in_flight').notNull(),
  evaluations: big('evaluations').notNull(),
  successes: big('successes').notNull().default(0),
  incoming: big('incoming').notNull().default(0),
  peersKnown: big('peers_known').notNull().default(0),
  rssMb: doublePrecision('rss_mb').notNull(),
  loadAverage: doublePrecision('load_average'),
  watching: integer('watching').notNull().default(0),
  watched: big('watched').notNull().default(0),
  watchCrossed: big('watch_crossed').notNull().default(0),
  watchLeft: big('watch_left').notNull().default(0),
  watchFull: big('watch_full').notNull().default(0),
  watchFullS: big('watch_full_s').notNull().default(0),
});

/** Every recorded crossing, whatever it counts as (crossing_class: confirmed | restart | suspect). */
export const crossings = pgView('crossings').as((qb) =>
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
 * (PostgreSQL: reads the tables, not `crossings`, because drizzle-kit creates views in name order and
 * PostgreSQL, unlike SQLite, needs a view's sources to exist; same rows and columns.)
 * Confirmed downloads, the headline: sessions seen below the threshold and later at or above it, by the
 * fact recorded when the crossing was observed (never removed by a later, smaller state; another run's
 * threshold does not rewrite it). Restarts and suspect crossings are in `crossings`, not here.
 */
export const confirmedDownloads = pgView('confirmed_downloads').as((qb) =>
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
    })
    .from(sql`peers p join torrents t on t.id = p.torrent_id`)
    .where(sql`p.crossing_class = 'confirmed'`),
);

/** Confirmed downloads per torrent and hour of crossing (UTC). */
export const hourlyConfirmed = pgView('hourly_confirmed').as((qb) =>
  qb
    .select({
      torrentId: sql<number>`torrent_id`.as('torrent_id'),
      infoHash: sql<string>`info_hash`.as('info_hash'),
      hour: sql<string>`to_char(crossed_at::timestamptz at time zone 'UTC', 'YYYY-MM-DD HH24:00')`.as('hour'),
      confirmed: sql<number>`count(*)`.as('confirmed'),
    })
    .from(sql`confirmed_downloads`)
    .groupBy(sql`torrent_id, info_hash, to_char(crossed_at::timestamptz at time zone 'UTC', 'YYYY-MM-DD HH24:00')`),
);
