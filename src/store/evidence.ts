// The evidence behind a count: a session's summary, its recorded crossing and every observation of it
// (and of the session it restarted from). Read by `btda explain`.
import type { Database } from './database.ts';

export interface SessionEvidence {
  row: number;
  torrentId: number;
  infoHash: string;
  torrentName: string | null;
  pieces: number | null;
  address: string;
  port: number;
  client: string | null;
  clientVersion: string | null;
  sources: string;
  visits: number;
  crossedAt: string | null;
  crossedPieces: number | null;
  thresholdPieces: number | null;
  crossingClass: string | null;
  suspectReason: string | null;
  crossedObservation: number | null;
  restartOf: number | null;
  observations: ObservationRow[];
}

export interface ObservationRow {
  id: number;
  runId: number;
  at: string;
  phase: string;
  event: string;
  direction: string;
  encrypted: number;
  family: number;
  pieces: number;
  peerId: string | null;
  client: string | null;
  uploadOnly: number;
}

/** Which sessions to explain: peer rows, the sessions at an address key, or every crossing (optionally of one class). */
export type EvidenceQuery = { rows: number[] } | { addressKey: string } | { crossingClass: string | null };

export function sessionEvidence(db: Database, query: EvidenceQuery, limit = 100): SessionEvidence[] {
  const base = `SELECT p.id row, p.torrent_id torrentId, t.info_hash infoHash, t.name torrentName, t.pieces, p.address, p.port,
      p.client, p.client_version clientVersion, p.sources, p.visits, p.crossed_at crossedAt, p.crossed_pieces crossedPieces,
      p.crossed_threshold thresholdPieces, p.crossing_class crossingClass, p.suspect_reason suspectReason,
      p.crossed_observation crossedObservation, p.restart_of restartOf
    FROM peers p JOIN torrents t ON t.id = p.torrent_id`;
  let rows: Omit<SessionEvidence, 'observations'>[];
  if ('rows' in query) {
    const stmt = db.sqlite.prepare(`${base} WHERE p.id = ?`);
    rows = query.rows.map((id) => stmt.get(id) as Omit<SessionEvidence, 'observations'> | undefined).filter((r) => r !== undefined);
  } else if ('addressKey' in query) {
    rows = db.sqlite.prepare(`${base} WHERE p.address_key = ? ORDER BY p.id LIMIT ?`).all(query.addressKey, limit) as typeof rows;
  } else {
    rows = db.sqlite.prepare(`${base} WHERE p.crossing_class IS NOT NULL AND (? IS NULL OR p.crossing_class = ?) ORDER BY p.crossed_at LIMIT ?`)
      .all(query.crossingClass, query.crossingClass, limit) as typeof rows;
  }
  const observations = db.sqlite.prepare(`SELECT id, run_id runId, at, phase, event, direction, encrypted, family, pieces,
      peer_id peerId, client, upload_only uploadOnly FROM observations WHERE peer_row = ? ORDER BY id`);
  return rows.map((r) => ({ ...r, observations: observations.all(r.row) as ObservationRow[] }));
}
