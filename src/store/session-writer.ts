// Writes one successful contact into its session: asks the identity rules which session it belongs to,
// stores the states that changed as observations, records a crossing the moment it is observed, and
// updates the session's summary. Runs inside the ResultWriter's transaction, so what it reads includes
// the contacts written before it in the same flush.
import type Sqlite from 'better-sqlite3';
import type { ContactResult, PeerSource } from '../types.ts';
import { crossingClass, crossingIndex, lowestPieces, suspectReason, type CrossingClass, type ObservedState } from './crossing.ts';
import { ELSEWHERE_LIMIT, resolveSession, storedSession, type SessionColumns, type SessionDecision } from './identity.ts';
import { hexOf, type AddressFacts, type PeerDescriber } from './peer-description.ts';
import { mergeSources } from './sources.ts';
import type { IsoClock } from './result-writer.ts';

/** What the writer needs to know of a torrent to merge a contact into its session. */
export interface TorrentFacts {
  pieceSize: number | null;
  thresholdPieces: number | null;
}

/** Crossings recorded by this writer, per class (the live counter reads these). */
export type CrossingCounts = Record<CrossingClass, number>;

/** The columns of a session the writer reads: what identity needs, and the state it continues. */
interface SessionRow extends SessionColumns {
  first_pieces: number | null;
  last_pieces: number | null;
  low_pieces: number | null;
  crossing_class: string | null;
  max_speed: number | null;
  sources: string;
  attempted_at: string | null;
}

interface State extends ObservedState {
  phase: 'open' | 'cross' | 'end';
}

const SESSION_COLUMNS = `id, address, address_key, port, peer_id, client, client_version, last_seen, latest,
  first_pieces, last_pieces, low_pieces, crossing_class, max_speed, sources, attempted_at`;

export class SessionWriter {
  readonly crossings: CrossingCounts = { confirmed: 0, restart: 0, suspect: 0 };
  private readonly runStartedAtMs: number;
  private readonly s: ReturnType<typeof prepare>;
  /**
   * Hashes of (torrent, peer id) of the IPv6 sessions this writer wrote into, i.e. seen in this run (one
   * writer per run). A collision only costs a search, so 32 bits are enough; memory grows with IPv6 sessions.
   */
  private readonly v6Sessions = new Set<number>();

  constructor(
    db: Sqlite.Database,
    private readonly runId: number,
    private readonly runStartedAt: string,
    private readonly describe: PeerDescriber,
    private readonly iso: IsoClock,
    /** Bytes per second above which a crossing is suspect. */
    private readonly maxRate: number,
  ) {
    this.s = prepare(db);
    this.runStartedAtMs = Date.parse(runStartedAt);
  }

  /**
   * Writes the contact into its session; returns the contact's event, which for a run's first attempt at
   * an address:port becomes `later` when an earlier run attempted it (see first-attempts.ts).
   */
  write(r: ContactResult, source: PeerSource | null, torrent: TorrentFacts): ContactResult['event'] {
    const s = this.s;
    const where = this.describe.address(r.ip);
    const peerId = r.peerId ? hexOf(r.peerId) : null;
    const client = this.describe.client(peerId);
    const direction = r.event === 'incoming' ? 'in' : 'out';
    const port = direction === 'in' ? r.listenPort ?? r.port : r.port;
    const sighting = { addressKey: where.addressKey, port, peerId, client, clientVersion: r.clientVersion, direction, family: where.family, runStartedAt: this.runStartedAt } as const;
    // The lookups are few and bounded (a peer id shared by many addresses, as some clients and bots send, must
    // not cost a scan per contact): the session here with this peer id; only when there is none, the latest
    // session at the address:port and up to 2 + 2 sessions with this peer id at other addresses (two seeks).
    const hereRows = (peerId === null ? [] : direction === 'in' ? s.byPeerIdHere.all(r.torrentId, peerId, where.addressKey)
      : s.byPeerIdAt.all(r.torrentId, peerId, where.addressKey, port)) as SessionRow[];
    let endpointRow: SessionRow | undefined;
    let decision = hereRows.length > 0 ? resolveSession(sighting, hereRows.map(storedSession), undefined) : undefined;
    if (decision === undefined || r.event === 'first') endpointRow = s.atEndpoint.get(r.torrentId, where.addressKey, port) as SessionRow | undefined;
    if (decision === undefined) {
      // a dual-stack join needs a session of the other family written in this run: an IPv4 contact skips the
      // search when no IPv6 session with this peer id was (IPv6 sessions are the few; IPv6 contacts always search)
      const search = peerId !== null && (where.family === 6 || this.v6Sessions.has(peerKey(r.torrentId, peerId)));
      const elsewhere = !search ? [] : s.byPeerIdElsewhere.all(r.torrentId, peerId, where.addressKey, r.torrentId, peerId, where.addressKey) as SessionRow[];
      decision = resolveSession(sighting, elsewhere.map(storedSession), endpointRow && storedSession(endpointRow));
    }
    const event = r.event === 'first' && endpointRow?.attempted_at != null && endpointRow.attempted_at < this.runStartedAt ? 'later' : r.event;
    const sourceText = source ?? (direction === 'in' ? 'incoming' : '');
    const joined = decision.kind === 'join' ? [...hereRows, endpointRow].find((x) => x?.id === decision.session.id) : undefined;
    const row = decision.kind === 'join' ? joined ?? this.load(decision.session.id) : this.create(decision, r, where, port, sourceText, endpointRow);

    const threshold = torrent.thresholdPieces ?? Number.MAX_SAFE_INTEGER;
    const states = statesOf(r);
    // a restarted program's first states are judged against the below state of the session it follows
    const predecessor = decision.kind === 'new' && decision.restartOf ? this.load(decision.restartOf.id) : null;
    const inheritLow = row.first_pieces === null && predecessor && predecessor.crossing_class === null ? predecessor.low_pieces : null;
    const ownCross = crossingIndex(row.low_pieces, row.crossing_class !== null, states, threshold);
    const restartCross = ownCross === -1 && inheritLow !== null ? crossingIndex(inheritLow, false, states.slice(0, 1), threshold) : -1;
    const crossAt = ownCross !== -1 ? ownCross : restartCross;

    // a dual-stack twin: the first observation over the other family is evidence even when the state is the same
    const rowFamily = row.address.includes(':') ? 6 : 4;
    let newFamily = where.family !== rowFamily && s.seenFamily.get(row.id, where.family) === undefined;
    let prevPieces = row.last_pieces;
    let prevPeerId = row.peer_id;
    let prevClient = row.client;
    // the state below the threshold right before an in-contact crossing is evidence even when unchanged: the
    // crossing's rate is measured from it, and `btda rederive` must find it among the observations
    let belowInContact = -1;
    for (let i = 0; i < crossAt; i++) if (states[i].pieces < threshold) belowInContact = i;
    let crossedObservation: number | null = null;
    const uploadOnly = r.uploadOnly ? 1 : 0;
    for (let i = 0; i < states.length; i++) {
      const st = states[i];
      const newPeerId = peerId !== null && peerId !== prevPeerId;
      const newClient = client !== null && client !== prevClient;
      const changed = prevPieces === null || st.pieces !== prevPieces || newPeerId || newClient ||
        (uploadOnly === 1 && st.pieces < threshold) || i === crossAt || i === belowInContact || newFamily;
      if (!changed) continue;
      const info = s.observe.run(
        row.id, this.runId, this.iso.format(st.at), st.phase, event, direction, r.encrypted ? 1 : 0, where.family, st.pieces,
        newPeerId ? peerId : null, newClient ? client : null, uploadOnly,
      );
      if (i === crossAt) crossedObservation = Number(info.lastInsertRowid);
      prevPieces = st.pieces;
      newFamily = false;
      prevPeerId = peerId ?? prevPeerId;
      prevClient = client ?? prevClient;
    }

    let crossing: { cls: CrossingClass; reason: string | null; state: State } | null = null;
    if (crossAt !== -1) {
      const state = states[crossAt];
      const byRestart = ownCross === -1;
      const belowRow = byRestart ? predecessor!.id : row.id;
      // the last state below: in this contact when there is one, else the session's (or its predecessor's) last observation below
      const stored = belowInContact === -1 ? (s.lastBelow.get(belowRow, threshold) as { at: string; pieces: number } | undefined) : undefined;
      const lastBelow = belowInContact !== -1 ? states[belowInContact] : stored ? { at: Date.parse(stored.at), pieces: stored.pieces } : null;
      const uploadOnlyBelow = (r.uploadOnly && states.some((x) => x.pieces < threshold)) ||
        s.uploadOnlyBelow.get(belowRow, threshold) !== undefined;
      const reason = suspectReason(state, lastBelow, uploadOnlyBelow, { pieceSize: torrent.pieceSize ?? 0, maxRate: this.maxRate });
      crossing = { cls: crossingClass(byRestart, reason), reason, state };
      this.crossings[crossing.cls]++;
    }

    const first = row.first_pieces === null ? states[0] : null;
    const reportedAt = first ? reportedCompletion(first, threshold, r.completeAgo, this.runStartedAtMs) : null;
    const open = states[0];
    const end = states[states.length - 1];
    let maxSpeed = row.max_speed;
    if (row.last_seen !== null && row.last_pieces !== null && open.pieces > row.last_pieces) {
      const seconds = (open.at - Date.parse(row.last_seen)) / 1000;
      if (seconds > 0) maxSpeed = Math.max(maxSpeed ?? 0, ((open.pieces - row.last_pieces) * (torrent.pieceSize ?? 0)) / seconds);
    }
    const rowPeerId = row.peer_id ?? peerId;
    if (rowFamily === 6 && rowPeerId !== null) this.v6Sessions.add(peerKey(r.torrentId, rowPeerId));
    // in the order of the ? placeholders of the update statement
    // a dual-stack twin keeps the address it was first stored with
    const sameAddress = where.addressKey === row.address_key;
    s.update.run(
      sameAddress ? where.ip : null, peerId, client, r.clientVersion, r.listenPort, r.encrypted ? 1 : 0,
      first?.pieces ?? null, first ? this.iso.format(first.at) : null,
      end.pieces, this.iso.format(end.at), lowestPieces(row.low_pieces, states),
      crossing ? this.iso.format(crossing.state.at) : null, crossing?.state.pieces ?? null, crossing ? threshold : null,
      crossing?.cls ?? null, crossing?.reason ?? null, crossedObservation,
      // a watch segment continues the contact that handed its connection over: not another visit
      maxSpeed, r.event === 'watch' ? 0 : 1, mergeSources(row.sources, sourceText), where.country, where.continent, where.city,
      reportedAt === null ? null : this.iso.format(reportedAt), direction === 'out' ? this.iso.format(r.startedAt) : null,
      row.id,
    );
    return event;
  }

  private load(id: number): SessionRow {
    return this.s.byId.get(id) as SessionRow;
  }

  private create(decision: SessionDecision & { kind: 'new' }, r: ContactResult, where: AddressFacts, port: number, source: string, endpoint: SessionRow | undefined): SessionRow {
    if (decision.demote) this.s.demote.run(decision.demote.id);
    // a new session at a known address:port inherits what named that address
    const sources = mergeSources(endpoint?.sources ?? '', source);
    const attemptedAt = endpoint?.attempted_at ?? (r.event === 'incoming' ? null : this.iso.format(r.startedAt));
    const info = this.s.insert.run(
      r.torrentId, where.address, where.addressKey, where.ip, port, sources, this.iso.format(r.startedAt),
      where.country, where.continent, where.city, decision.restartOf?.id ?? null, decision.latest ? 1 : 0, attemptedAt,
    );
    // the row as just inserted (the columns' defaults are null): no need to read it back
    return {
      id: Number(info.lastInsertRowid), address: where.address, address_key: where.addressKey, port, peer_id: null, client: null,
      client_version: null, last_seen: null, latest: decision.latest ? 1 : 0, first_pieces: null, last_pieces: null, low_pieces: null,
      crossing_class: null, max_speed: null, sources, attempted_at: attemptedAt,
    };
  }
}

/** 32-bit FNV-1a of the peer id's hex text, mixed with the torrent id (a Set of small integers stays compact). */
function peerKey(torrentId: number, peerIdHex: string): number {
  let h = 0x811c9dc5 ^ torrentId;
  for (let i = 0; i < peerIdHex.length; i++) h = Math.imul(h ^ peerIdHex.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * When a session first seen complete says it completed (`complete_ago`, libtorrent), if that is inside the
 * run: the peer's own word, its own class beside the confirmed downloads (README "What counts").
 */
function reportedCompletion(first: ObservedState, thresholdPieces: number, completeAgo: number | null, runStartedAt: number): number | null {
  if (completeAgo === null || first.pieces < thresholdPieces) return null;
  const at = first.at - completeAgo * 1000;
  return at >= runStartedAt ? at : null;
}

/** The states a contact read, in order: its opening state, the crossing inside it, its end. */
function statesOf(r: ContactResult): State[] {
  const states: State[] = [{ phase: 'open', at: r.openedAt ?? r.startedAt, pieces: r.openingPieces! }];
  if (r.crossedAt !== null && r.crossedPieces !== null) states.push({ phase: 'cross', at: r.crossedAt, pieces: r.crossedPieces });
  if (r.endPieces !== null) states.push({ phase: 'end', at: r.endedAt, pieces: r.endPieces });
  return states;
}

function prepare(db: Sqlite.Database) {
  return {
    byPeerIdAt: db.prepare(`SELECT ${SESSION_COLUMNS} FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key = ? AND port = ?`),
    byPeerIdHere: db.prepare(`SELECT ${SESSION_COLUMNS} FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key = ? LIMIT 64`),
    // either side of our address in the index (torrent, peer id, address key, port): two seeks in one statement;
    // the LIMIT is literal: with a bound one SQLite sorts the whole range instead of stepping the index
    byPeerIdElsewhere: db.prepare(`
      SELECT * FROM (SELECT ${SESSION_COLUMNS} FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key < ? ORDER BY address_key DESC LIMIT ${ELSEWHERE_LIMIT})
      UNION ALL
      SELECT * FROM (SELECT ${SESSION_COLUMNS} FROM peers WHERE torrent_id = ? AND peer_id = ? AND address_key > ? ORDER BY address_key LIMIT ${ELSEWHERE_LIMIT})`),
    atEndpoint: db.prepare(`SELECT ${SESSION_COLUMNS} FROM peers WHERE torrent_id = ? AND address_key = ? AND port = ? AND latest = 1`),
    byId: db.prepare(`SELECT ${SESSION_COLUMNS} FROM peers WHERE id = ?`),
    demote: db.prepare('UPDATE peers SET latest = 0 WHERE id = ?'),
    insert: db.prepare(`
      INSERT INTO peers (torrent_id, address, address_key, ip, port, sources, discovered_at, country, continent, city, restart_of, latest, attempted_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    observe: db.prepare(`
      INSERT INTO observations (peer_row, run_id, at, phase, event, direction, encrypted, family, pieces, peer_id, client, upload_only)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    lastBelow: db.prepare('SELECT at, pieces FROM observations WHERE peer_row = ? AND pieces < ? ORDER BY id DESC LIMIT 1'),
    seenFamily: db.prepare('SELECT 1 FROM observations WHERE peer_row = ? AND family = ? LIMIT 1'),
    uploadOnlyBelow: db.prepare('SELECT 1 FROM observations WHERE peer_row = ? AND upload_only = 1 AND pieces < ? LIMIT 1'),
    // crossing columns are written once: coalesce keeps a recorded fact
    update: db.prepare(`
      UPDATE peers SET
        ip = coalesce(?, ip), peer_id = coalesce(peer_id, ?), client = coalesce(?, client), client_version = coalesce(?, client_version),
        listen_port = coalesce(?, listen_port), encrypted = ?,
        first_pieces = coalesce(first_pieces, ?), first_seen = coalesce(first_seen, ?),
        last_pieces = ?, last_seen = ?, low_pieces = ?,
        crossed_at = coalesce(crossed_at, ?), crossed_pieces = coalesce(crossed_pieces, ?), crossed_threshold = coalesce(crossed_threshold, ?),
        crossing_class = coalesce(crossing_class, ?), suspect_reason = coalesce(suspect_reason, ?), crossed_observation = coalesce(crossed_observation, ?),
        max_speed = ?, visits = visits + ?, sources = ?,
        country = coalesce(country, ?), continent = coalesce(continent, ?), city = coalesce(city, ?),
        reported_complete_at = coalesce(reported_complete_at, ?), attempted_at = coalesce(attempted_at, ?)
      WHERE id = ?`),
  };
}
