// A database as earlier runs leave it, built fast: one transaction of prepared inserts writes a run, its peer
// sessions (with --store-ip: the address stored beside its network and keyed hash) and their observations.
// For the resume test and scripts/bench/resume.ts. Each session's kind is a function of its number: a seed
// (complete since its first contact), a leecher seen twice below the threshold, one that crossed, one whose
// only attempt failed (no state), one known from its inbound contact alone (no listen port: not dialable).
import { anonymizeAddress, canonicalIp, type AddressHasher } from '../../src/store/peer-identity.ts';
import type { Database } from '../../src/store/database.ts';
import { isoTime } from '../../src/store/time.ts';

export interface KnownPeer {
  torrentId: number;
  ip: string;
  port: number;
}

export interface KnownPeersOptions {
  /** Pieces of every torrent, and the threshold in pieces. */
  pieces: number;
  thresholdPieces: number;
  /** When the earlier run ended (ms): sessions were last seen up to an hour before. */
  endedAt: number;
  /** Share of sessions known only from an inbound contact without a listen port (default 0). */
  inboundOnlyShare?: number;
}

export interface KnownPeersWritten {
  runId: number;
  sessions: number;
  observations: number;
  /** Sessions a resuming run can dial (all but the inbound-only ones). */
  dialable: number;
}

const PEER_ID_PREFIX = Buffer.from('-TR3000-').toString('hex');

/** The peer id (hex) stored for the n-th session written (1-based), so a test's real peer can be that session. */
export function knownPeerId(n: number): string {
  return PEER_ID_PREFIX + n.toString(16).padStart(24, '0');
}

/** Writes `peers` (a generator is fine: 1,000,000 need not sit in memory) as one earlier run's sessions. */
export function writeKnownPeers(db: Database, hasher: AddressHasher, peers: Iterable<KnownPeer>, o: KnownPeersOptions): KnownPeersWritten {
  const sqlite = db.sqlite;
  const startedAt = o.endedAt - 3_600_000;
  const runId = db.startRun({ version: 'fixture', args: '[]', host: 'fixture', threshold: 0.95, startedAt });
  const insertPeer = sqlite.prepare(`
    INSERT INTO peers (torrent_id, address, address_key, ip, port, peer_id, client, client_version, listen_port, encrypted,
      first_pieces, first_seen, last_pieces, last_seen, low_pieces, crossed_at, crossed_pieces, crossed_threshold, crossing_class,
      attempted_at, latest, visits, sources, country, continent, city, discovered_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, NULL, NULL, NULL, ?)`);
  const observe = sqlite.prepare(`
    INSERT INTO observations (peer_row, run_id, at, phase, event, direction, encrypted, family, pieces, peer_id, client, upload_only)
    VALUES (?, ?, ?, 'open', ?, ?, ?, 4, ?, ?, ?, 0)`);
  const crossedObservation = sqlite.prepare('UPDATE peers SET crossed_observation = ? WHERE id = ?');
  const keys = new Map<string, { address: string; key: string; ip: string }>();
  const inboundEvery = o.inboundOnlyShare ? Math.round(1 / o.inboundOnlyShare) : 0;
  const written: KnownPeersWritten = { runId, sessions: 0, observations: 0, dialable: 0 };
  const below = Math.max(0, o.thresholdPieces - 1);
  sqlite.transaction(() => {
    let n = 0;
    for (const p of peers) {
      n++;
      let k = keys.get(p.ip);
      if (k === undefined) {
        k = { address: anonymizeAddress(p.ip), key: hasher.hash(p.ip), ip: canonicalIp(p.ip) };
        // one entry per address: the bench's endpoints share few addresses
        if (keys.size < 100_000) keys.set(p.ip, k);
      }
      const seenAt = o.endedAt - (n % 3600) * 1000;
      const seen = isoTime(seenAt);
      const first = isoTime(seenAt - 600_000);
      const peerId = knownPeerId(n);
      const inbound = inboundEvery > 0 && n % inboundEvery === 0;
      const kind = inbound ? 'inbound' : KINDS[n % KINDS.length];
      const encrypted = n % 7 === 0 ? 1 : 0;
      let row: number;
      if (kind === 'failed') {
        row = Number(insertPeer.run(p.torrentId, k.address, k.key, k.ip, p.port, null, null, null, null, 0, null, null, null, null, null,
          null, null, null, null, first, 0, 'dht', first).lastInsertRowid);
      } else {
        const firstPieces = kind === 'seed' ? o.pieces : Math.floor(below / 2);
        const lastPieces = kind === 'seed' || kind === 'crossed' ? o.pieces : below;
        const crossed = kind === 'crossed';
        row = Number(insertPeer.run(p.torrentId, k.address, k.key, k.ip, p.port, peerId, 'Transmission 3.00', 'Transmission 3.00',
          inbound ? null : p.port, encrypted, firstPieces, first, lastPieces, seen, Math.min(firstPieces, lastPieces),
          crossed ? seen : null, crossed ? lastPieces : null, crossed ? o.thresholdPieces : null, crossed ? 'confirmed' : null,
          inbound ? null : first, kind === 'seed' ? 1 : 2, inbound ? 'incoming' : n % 3 === 0 ? 'http,dht' : 'dht', first).lastInsertRowid);
        const event = inbound ? 'incoming' : 'first';
        const direction = inbound ? 'in' : 'out';
        observe.run(row, runId, first, event, direction, encrypted, firstPieces, peerId, 'Transmission 3.00');
        written.observations++;
        if (lastPieces !== firstPieces) {
          const info = observe.run(row, runId, seen, inbound ? 'incoming' : 'later', direction, encrypted, lastPieces, null, null);
          written.observations++;
          if (crossed) crossedObservation.run(Number(info.lastInsertRowid), row);
        }
      }
      written.sessions++;
      if (!inbound) written.dialable++;
    }
  })();
  db.endRun(runId, 'completed', o.endedAt);
  return written;
}

const KINDS = ['seed', 'leecher', 'seed', 'leecher', 'crossed', 'failed', 'seed', 'leecher'] as const;
