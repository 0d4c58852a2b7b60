// The one writer of measurements. Results are buffered in memory and written in one transaction at
// most every `flushIntervalMs` (so a crash loses at most that much), with plain prepared statements:
// this is the hot path, drizzle is used for the schema and the cold queries only.
import type Sqlite from 'better-sqlite3';
import type { ContactResult, PeerSource, RequestLog, ScrapeLog } from '../types.ts';
import type { Database } from './database.ts';
import type { Geolocator } from './geolocation.ts';
import { clientName } from './client-name.ts';
import { anonymizeAddress, canonicalIp, type AddressHasher } from './peer-identity.ts';
import { isoTime, isoTimeOrNull } from './time.ts';

/** What the writer needs to know of a torrent to merge a contact into its peer row. */
export interface TorrentFacts {
  pieceSize: number | null;
  thresholdPieces: number | null;
}

export interface StatisticsRow {
  at: number;
  queue: number;
  inFlight: number;
  evaluations: number;
  successes: number;
  incoming: number;
  peersKnown: number;
  rssMb: number;
  loadAverage: number | null;
}

export interface ResultWriterOptions {
  runId: number;
  hasher: AddressHasher;
  geo: Geolocator;
  /** Keep raw IP addresses (--store-ip). */
  storeIp: boolean;
  /** Most milliseconds a result waits in memory (0 = the caller flushes). */
  flushIntervalMs: number;
  /** Called when a flush fails (disk full, read-only file); the rows stay buffered. */
  onError?: (err: Error) => void;
}

interface PeerDiscovery {
  torrentId: number;
  ip: string;
  port: number;
  source: PeerSource;
  at: number;
}
interface ContactRow {
  result: ContactResult;
  source: PeerSource | null;
  torrent: TorrentFacts;
}

export class ResultWriter {
  private discoveries: PeerDiscovery[] = [];
  private contacts: ContactRow[] = [];
  private requests: RequestLog[] = [];
  private scrapes: ScrapeLog[] = [];
  private stats: StatisticsRow[] = [];
  private outcomes = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly writeAll: () => void;
  /** Rows written since the writer was created. */
  written = 0;

  constructor(
    private readonly db: Database,
    private readonly opts: ResultWriterOptions,
  ) {
    this.stmt = prepare(db.sqlite);
    this.writeAll = db.sqlite.transaction(() => this.writeBuffered());
    if (opts.flushIntervalMs > 0) {
      this.timer = setInterval(() => this.flush(), opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  get pending(): number {
    return this.discoveries.length + this.contacts.length + this.requests.length + this.scrapes.length +
      this.stats.length + this.outcomes.size;
  }

  peerDiscovered(torrentId: number, ip: string, port: number, source: PeerSource, at: number): void {
    this.discoveries.push({ torrentId, ip, port, source, at });
  }

  /** A finished contact: counted as an outcome; merged into the peer row when it read a state. */
  contact(result: ContactResult, source: PeerSource | null, torrent: TorrentFacts): void {
    this.outcome(result.torrentId, result.event, result.reason);
    if (result.reason === 'success' && result.openingPieces !== null && result.torrentId >= 0) {
      this.contacts.push({ result, source, torrent });
    }
  }

  outcome(torrentId: number, event: string, reason: string, count = 1): void {
    const key = `${torrentId}\t${event}\t${reason}`;
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + count);
  }

  request(entry: RequestLog): void {
    this.requests.push(entry);
  }

  scrape(entry: ScrapeLog): void {
    this.scrapes.push(entry);
  }

  statistics(row: StatisticsRow): void {
    this.stats.push(row);
  }

  /** Writes everything buffered in one transaction. Returns false (and keeps the rows) on failure. */
  flush(): boolean {
    if (this.pending === 0) return true;
    try {
      this.writeAll();
    } catch (err) {
      this.opts.onError?.(err as Error);
      return false;
    }
    return true;
  }

  /** Final flush; stops the timer. */
  close(): boolean {
    clearInterval(this.timer);
    this.timer = undefined;
    return this.flush();
  }

  private writeBuffered(): void {
    const { runId, storeIp } = this.opts;
    const s = this.stmt;
    let rows = 0;
    for (const d of this.discoveries) {
      const place = this.opts.geo.locate(d.ip);
      s.discover.run({
        torrentId: d.torrentId,
        address: anonymizeAddress(d.ip),
        addressKey: this.opts.hasher.hash(d.ip),
        ip: storeIp ? canonicalIp(d.ip) : null,
        port: d.port,
        source: d.source,
        at: isoTime(d.at),
        ...place,
      });
      rows++;
    }
    for (const { result: r, source, torrent } of this.contacts) {
      const addressKey = this.opts.hasher.hash(r.ip);
      const peerIdHex = r.peerId ? hex(r.peerId) : null;
      let port = r.port;
      if (r.event === 'incoming') {
        // An inbound peer dialled from an ephemeral port: match it to the peer we know by its listen port,
        // else by its peer id.
        const byId = peerIdHex ? (s.portByPeerId.get(r.torrentId, addressKey, peerIdHex) as { port: number } | undefined) : undefined;
        port = r.listenPort ?? byId?.port ?? r.port;
      }
      const place = this.opts.geo.locate(r.ip);
      s.contact.run({
        torrentId: r.torrentId,
        address: anonymizeAddress(r.ip),
        addressKey,
        ip: storeIp ? canonicalIp(r.ip) : null,
        port,
        peerId: peerIdHex,
        client: clientName(peerIdHex),
        clientVersion: r.clientVersion,
        listenPort: r.listenPort,
        firstPieces: r.openingPieces,
        firstSeen: isoTimeOrNull(r.openedAt),
        lastPieces: r.endPieces,
        lastSeen: isoTime(r.endedAt),
        crossedAt: isoTimeOrNull(r.crossedAt),
        thresholdPieces: torrent.thresholdPieces ?? Number.MAX_SAFE_INTEGER,
        pieceSize: torrent.pieceSize ?? 0,
        source: source ?? (r.event === 'incoming' ? 'incoming' : ''),
        at: isoTime(r.startedAt),
        ...place,
      });
      rows++;
    }
    for (const q of this.requests) {
      s.request.run({ ...q, runId, startedAt: isoTime(q.startedAt), durationMs: Math.round(q.durationMs) });
      rows++;
    }
    for (const q of this.scrapes) {
      s.scrape.run({ ...q, runId, at: isoTime(q.at) });
      rows++;
    }
    for (const q of this.stats) {
      s.statistics.run({ ...q, runId, at: isoTime(q.at) });
      rows++;
    }
    for (const [key, count] of this.outcomes) {
      const [torrentId, event, reason] = key.split('\t');
      s.outcome.run({ runId, torrentId: Number(torrentId), event, reason, count });
      rows++;
    }
    // only reached when every statement succeeded: the transaction commits right after
    this.discoveries = [];
    this.contacts = [];
    this.requests = [];
    this.scrapes = [];
    this.stats = [];
    this.outcomes.clear();
    this.written += rows;
  }
}

function hex(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

/** Appends a source to a comma list unless it is there already. */
const MERGE_SOURCES = `CASE
  WHEN excluded.sources = '' OR instr(',' || peers.sources || ',', ',' || excluded.sources || ',') > 0 THEN peers.sources
  WHEN peers.sources = '' THEN excluded.sources
  ELSE peers.sources || ',' || excluded.sources END`;

function prepare(db: Sqlite.Database) {
  return {
    discover: db.prepare(`
      INSERT INTO peers (torrent_id, address, address_key, ip, port, sources, discovered_at, country, continent, city)
      VALUES (@torrentId, @address, @addressKey, @ip, @port, @source, @at, @country, @continent, @city)
      ON CONFLICT (torrent_id, address_key, port) DO UPDATE SET
        sources = ${MERGE_SOURCES},
        ip = coalesce(excluded.ip, peers.ip)`),
    // Every right-hand side reads the row as it was before this update (SQLite semantics), so the
    // previous visit's last_pieces/last_seen give the speed between visits.
    contact: db.prepare(`
      INSERT INTO peers (torrent_id, address, address_key, ip, port, peer_id, client, client_version, listen_port,
        first_pieces, first_seen, last_pieces, last_seen, crossed_at, visits, sources, discovered_at,
        country, continent, city)
      VALUES (@torrentId, @address, @addressKey, @ip, @port, @peerId, @client, @clientVersion, @listenPort,
        @firstPieces, @firstSeen, @lastPieces, @lastSeen, @crossedAt, 1, @source, @at,
        @country, @continent, @city)
      ON CONFLICT (torrent_id, address_key, port) DO UPDATE SET
        ip = coalesce(excluded.ip, peers.ip),
        peer_id = coalesce(excluded.peer_id, peers.peer_id),
        client = coalesce(excluded.client, peers.client),
        client_version = coalesce(excluded.client_version, peers.client_version),
        listen_port = coalesce(excluded.listen_port, peers.listen_port),
        first_pieces = coalesce(peers.first_pieces, excluded.first_pieces),
        first_seen = coalesce(peers.first_seen, excluded.first_seen),
        crossed_at = coalesce(peers.crossed_at, CASE
          WHEN peers.first_pieces IS NULL THEN excluded.crossed_at
          WHEN peers.first_pieces < @thresholdPieces AND excluded.last_pieces >= @thresholdPieces
            THEN coalesce(excluded.crossed_at, excluded.first_seen)
          END),
        max_speed = CASE
          WHEN peers.last_seen IS NOT NULL AND excluded.first_pieces > peers.last_pieces
            AND julianday(excluded.first_seen) > julianday(peers.last_seen)
          THEN max(coalesce(peers.max_speed, 0), (excluded.first_pieces - peers.last_pieces) * @pieceSize
            / ((julianday(excluded.first_seen) - julianday(peers.last_seen)) * 86400.0))
          ELSE peers.max_speed END,
        last_pieces = excluded.last_pieces,
        last_seen = excluded.last_seen,
        visits = peers.visits + 1,
        sources = ${MERGE_SOURCES},
        country = coalesce(peers.country, excluded.country),
        continent = coalesce(peers.continent, excluded.continent),
        city = coalesce(peers.city, excluded.city)`),
    portByPeerId: db.prepare(
      'SELECT port FROM peers WHERE torrent_id = ? AND address_key = ? AND peer_id = ? ORDER BY last_seen DESC LIMIT 1',
    ),
    request: db.prepare(`
      INSERT INTO requests (run_id, torrent_id, kind, url, started_at, duration_ms, received, new, duplicates, error)
      VALUES (@runId, @torrentId, @kind, @url, @startedAt, @durationMs, @received, @new, @duplicates, @error)`),
    scrape: db.prepare(`
      INSERT INTO scrapes (run_id, torrent_id, tracker, at, seeders, leechers, downloaded)
      VALUES (@runId, @torrentId, @tracker, @at, @seeders, @leechers, @downloaded)`),
    statistics: db.prepare(`
      INSERT INTO statistics (run_id, at, queue, in_flight, evaluations, successes, incoming, peers_known, rss_mb, load_average)
      VALUES (@runId, @at, @queue, @inFlight, @evaluations, @successes, @incoming, @peersKnown, @rssMb, @loadAverage)`),
    outcome: db.prepare(`
      INSERT INTO outcomes (run_id, torrent_id, event, reason, count) VALUES (@runId, @torrentId, @event, @reason, @count)
      ON CONFLICT (run_id, torrent_id, event, reason) DO UPDATE SET count = outcomes.count + excluded.count`),
  };
}
