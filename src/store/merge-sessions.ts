// The peer sessions and observations of several databases, merged into one (README "Merging databases").
// Sessions are replayed through the identity rules (identity.ts) in the order they were first seen, across
// all inputs, so a client measured by two hosts is one session, as it would be had one host seen it all: the
// same peer id at the same address:port, an inbound contact and an outgoing session with the same peer id,
// a dual-stack twin seen while the other was active, an address:port only discovered by one host and
// contacted by another. Observations keep their rows, re-pointed at the merged sessions and runs, and are
// interleaved by time, so each merged session's evidence is in the order it was observed.
import type Sqlite from 'better-sqlite3';
import { ELSEWHERE_LIMIT, resolveSession, storedSession, type SessionColumns } from './identity.ts';
import { mergeSources } from './sources.ts';

/** One input database and its id maps into the output. */
export interface MergeInput {
  path: string;
  db: Sqlite.Database;
  runs: Map<number, number>;
  torrents: Map<number, number>;
  sessions: Map<number, number>;
}

export interface SessionCounts {
  /** Sessions of the inputs. */
  read: number;
  /** Joined to a session of an earlier input (same client, or an address only discovered there). */
  joined: number;
  added: number;
  observations: number;
}

/** Every column of a `peers` row. */
interface PeerRow extends SessionColumns {
  torrent_id: number;
  ip: string | null;
  listen_port: number | null;
  encrypted: number;
  first_pieces: number | null;
  first_seen: string | null;
  last_pieces: number | null;
  low_pieces: number | null;
  crossed_at: string | null;
  crossed_pieces: number | null;
  crossed_threshold: number | null;
  crossing_class: string | null;
  suspect_reason: string | null;
  reported_complete_at: string | null;
  attempted_at: string | null;
  restart_of: number | null;
  visits: number;
  max_speed: number | null;
  sources: string;
  country: string | null;
  continent: string | null;
  city: string | null;
  discovered_at: string;
}

/** Every column but id, in the order of the insert and update statements. */
const COLUMNS = ['torrent_id', 'address', 'address_key', 'ip', 'port', 'peer_id', 'client', 'client_version', 'listen_port', 'encrypted',
  'first_pieces', 'first_seen', 'last_pieces', 'last_seen', 'low_pieces', 'crossed_at', 'crossed_pieces', 'crossed_threshold',
  'crossing_class', 'suspect_reason', 'reported_complete_at', 'attempted_at', 'restart_of', 'latest', 'visits', 'max_speed', 'sources', 'country', 'continent', 'city',
  'discovered_at'] as const;

interface InputSession extends PeerRow {
  /** 1 when every observation of the session was inbound. */
  inbound_only: number | null;
  first_run_started: string | null;
  seen: string;
}

export function mergeSessions(out: Sqlite.Database, inputs: MergeInput[]): SessionCounts {
  const counts: SessionCounts = { read: 0, joined: 0, added: 0, observations: 0 };
  const s = prepare(out);
  const streams = inputs.map((input) => ({
    input,
    rows: input.db.prepare(`SELECT p.*, coalesce(p.first_seen, p.discovered_at) seen,
        (SELECT min(o.direction = 'in') FROM observations o WHERE o.peer_row = p.id) inbound_only,
        (SELECT r.started_at FROM observations o JOIN runs r ON r.id = o.run_id WHERE o.peer_row = p.id ORDER BY o.id LIMIT 1) first_run_started
      FROM peers p ORDER BY seen, p.id`).iterate() as Iterator<InputSession>,
  }));
  for (const { input, row } of byKey(streams, (r) => r.seen)) {
    counts.read++;
    const torrentId = input.torrents.get(row.torrent_id);
    if (torrentId === undefined) continue; // a row of a torrent the input does not hold: nothing to join it to
    const family = row.address.includes(':') ? 6 : 4;
    const direction = row.inbound_only === 1 ? 'in' : 'out';
    // the writer's bounded lookups: every session with the peer id here, a few elsewhere (identity.ts)
    const withPeerId = row.peer_id ? [
      ...((direction === 'in' ? s.byPeerIdHere.all(torrentId, row.peer_id, row.address_key)
        : s.byPeerIdAt.all(torrentId, row.peer_id, row.address_key, row.port)) as PeerRow[]),
      ...(s.byPeerIdBelow.all(torrentId, row.peer_id, row.address_key) as PeerRow[]),
      ...(s.byPeerIdAbove.all(torrentId, row.peer_id, row.address_key) as PeerRow[]),
    ].map(storedSession) : [];
    const endpoint = s.atEndpoint.get(torrentId, row.address_key, row.port) as PeerRow | undefined;
    const decision = resolveSession({
      addressKey: row.address_key, port: row.port, peerId: row.peer_id, client: row.client, clientVersion: row.client_version,
      direction, family, runStartedAt: row.first_run_started ?? row.seen,
    }, withPeerId, endpoint && storedSession(endpoint));
    const restartOf = row.restart_of === null ? null : input.sessions.get(row.restart_of) ?? null;
    if (decision.kind === 'join') {
      const into = s.byId.get(decision.session.id) as PeerRow;
      const merged = joined(into, row, restartOf);
      s.update.run(...COLUMNS.map((c) => merged[c]), into.id);
      input.sessions.set(row.id, into.id);
      counts.joined++;
    } else {
      if (decision.demote) s.demote.run(decision.demote.id);
      const fresh: PeerRow = {
        ...row, torrent_id: torrentId, restart_of: restartOf ?? decision.restartOf?.id ?? null, latest: decision.latest ? 1 : 0,
      };
      const info = s.insert.run(...COLUMNS.map((c) => fresh[c]));
      input.sessions.set(row.id, Number(info.lastInsertRowid));
      counts.added++;
    }
  }

  const observationStreams = inputs.map((input) => ({
    input,
    rows: input.db.prepare(`SELECT * FROM observations ORDER BY id`).iterate() as Iterator<ObservationRow>,
  }));
  for (const { input, row } of byKey(observationStreams, (o) => o.at)) {
    const peerRow = input.sessions.get(row.peer_row);
    if (peerRow === undefined) continue;
    s.observe.run(peerRow, input.runs.get(row.run_id) ?? row.run_id, row.at, row.phase, row.event, row.direction, row.encrypted,
      row.family, row.pieces, row.peer_id, row.client, row.upload_only);
    counts.observations++;
  }
  return counts;
}

interface ObservationRow {
  peer_row: number;
  run_id: number;
  at: string;
  phase: string;
  event: string;
  direction: string;
  encrypted: number;
  family: number;
  pieces: number;
  peer_id: string | null;
  client: string | null;
  upload_only: number;
}

/** The summary of a session seen by two hosts: first of the earlier, last of the later, sums and unions. */
function joined(a: PeerRow, b: PeerRow, restartOf: number | null): PeerRow {
  const bFirst = b.first_seen !== null && (a.first_seen === null || b.first_seen < a.first_seen);
  const bLast = b.last_seen !== null && (a.last_seen === null || b.last_seen > a.last_seen);
  return {
    ...a,
    ip: a.ip ?? b.ip,
    peer_id: a.peer_id ?? b.peer_id,
    client: a.client ?? b.client,
    client_version: a.client_version ?? b.client_version,
    listen_port: a.listen_port ?? b.listen_port,
    encrypted: bLast ? b.encrypted : a.encrypted,
    first_pieces: bFirst ? b.first_pieces : a.first_pieces,
    first_seen: bFirst ? b.first_seen : a.first_seen,
    last_pieces: bLast ? b.last_pieces : a.last_pieces,
    last_seen: bLast ? b.last_seen : a.last_seen,
    // the peer's own word about its completion belongs to the first state of the session
    reported_complete_at: bFirst ? b.reported_complete_at : a.reported_complete_at,
    low_pieces: minOf(a.low_pieces, b.low_pieces),
    // the first dial of the address:port by any host
    attempted_at: a.attempted_at === null ? b.attempted_at : b.attempted_at === null ? a.attempted_at : (a.attempted_at < b.attempted_at ? a.attempted_at : b.attempted_at),
    restart_of: a.restart_of ?? restartOf,
    visits: a.visits + b.visits,
    max_speed: a.max_speed === null ? b.max_speed : b.max_speed === null ? a.max_speed : Math.max(a.max_speed, b.max_speed),
    sources: mergeSources(a.sources, b.sources),
    country: a.country ?? b.country,
    continent: a.continent ?? b.continent,
    city: a.city ?? b.city,
    discovered_at: b.discovered_at < a.discovered_at ? b.discovered_at : a.discovered_at,
  };
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}


/**
 * The rows of several streams, each in its own order, interleaved by `key` (the head with the smallest key
 * goes first; ties to the earlier input): a k-way merge that never holds more than one row per input.
 */
function* byKey<T, I>(streams: { input: I; rows: Iterator<T> }[], key: (row: T) => string): Generator<{ input: I; row: T }> {
  const heads = streams.map((st) => ({ ...st, head: st.rows.next() }));
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) {
      if (heads[i].head.done) continue;
      if (best === -1 || key(heads[i].head.value as T) < key(heads[best].head.value as T)) best = i;
    }
    if (best === -1) return;
    const h = heads[best];
    const row = h.head.value as T;
    h.head = h.rows.next();
    yield { input: h.input, row };
  }
}

function prepare(db: Sqlite.Database) {
  return {
    byPeerIdAt: db.prepare('SELECT * FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key = ? AND port = ?'),
    byPeerIdHere: db.prepare('SELECT * FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key = ? LIMIT 64'),
    // a literal LIMIT: with a bound one SQLite sorts the whole range instead of stepping the index
    byPeerIdBelow: db.prepare(`SELECT * FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key < ? ORDER BY address_key DESC LIMIT ${ELSEWHERE_LIMIT}`),
    byPeerIdAbove: db.prepare(`SELECT * FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key > ? ORDER BY address_key LIMIT ${ELSEWHERE_LIMIT}`),
    atEndpoint: db.prepare('SELECT * FROM peers WHERE torrent_id = ? AND address_key = ? AND port = ? AND latest = 1'),
    byId: db.prepare('SELECT * FROM peers WHERE id = ?'),
    demote: db.prepare('UPDATE peers SET latest = 0 WHERE id = ?'),
    insert: db.prepare(`INSERT INTO peers (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`),
    update: db.prepare(`UPDATE peers SET ${COLUMNS.map((c) => `${c} = ?`).join(', ')} WHERE id = ?`),
    observe: db.prepare(`INSERT INTO observations (peer_row, run_id, at, phase, event, direction, encrypted, family, pieces, peer_id, client, upload_only)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  };
}
