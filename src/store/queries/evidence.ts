// The evidence behind a count: a session's summary, its recorded crossing and every observation of it (and
// of the session it restarted from). Read by `btda explain`. Quoted aliases keep their case in PostgreSQL.
import type { Reader } from './reader.ts';

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

const BASE = `SELECT p.id "row", p.torrent_id "torrentId", t.info_hash "infoHash", t.name "torrentName", t.pieces, p.address, p.port,
      p.client, p.client_version "clientVersion", p.sources, p.visits, p.crossed_at "crossedAt", p.crossed_pieces "crossedPieces",
      p.crossed_threshold "thresholdPieces", p.crossing_class "crossingClass", p.suspect_reason "suspectReason",
      p.crossed_observation "crossedObservation", p.restart_of "restartOf"
    FROM peers p JOIN torrents t ON t.id = p.torrent_id`;

export async function readEvidence(r: Reader, query: EvidenceQuery, limit = 100): Promise<SessionEvidence[]> {
  type Summary = Omit<SessionEvidence, 'observations'>;
  let rows: Summary[];
  if ('rows' in query) {
    if (query.rows.length === 0) return [];
    const found = await r.all<Summary>(`${BASE} WHERE p.id IN (@rows)`, { rows: query.rows });
    const byRow = new Map(found.map((s) => [s.row, s]));
    rows = query.rows.map((id) => byRow.get(id)).filter((s) => s !== undefined);
  } else if ('addressKey' in query) {
    rows = await r.all<Summary>(`${BASE} WHERE p.address_key = @key ORDER BY p.id LIMIT @limit`, { key: query.addressKey, limit });
  } else {
    const cls = query.crossingClass === null ? 'p.crossing_class IS NOT NULL' : 'p.crossing_class = @cls';
    rows = await r.all<Summary>(`${BASE} WHERE ${cls} ORDER BY p.crossed_at, p.id LIMIT @limit`, { cls: query.crossingClass, limit });
  }
  const out: SessionEvidence[] = [];
  for (const s of rows) {
    const observations = await r.all<ObservationRow>(`SELECT id, run_id "runId", at, phase, event, direction, encrypted, family, pieces,
      peer_id "peerId", client, upload_only "uploadOnly" FROM observations WHERE peer_row = @row ORDER BY id`, { row: s.row });
    out.push({ ...s, observations });
  }
  return out;
}
