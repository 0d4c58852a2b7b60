// The peers an earlier run measured, read back so that a scheduled run resumes them (cli/resume-peers.ts).
// Read in pages of an id range (the table's integer primary key, so a page is a range seek, never a sort or
// a scan of the whole table, even when few rows qualify): the first page is in memory within milliseconds of
// the start, whatever the table's size, and no statement stays open between pages, so the writer may use the
// connection in between.
import type Sqlite from 'better-sqlite3';
import type { Database } from './database.ts';

/** One latest session with a stored address, as positional columns (no object per row). */
export type KnownPeerRow = [
  id: number,
  torrentId: number,
  ip: string,
  port: number,
  /** Comma list of the sources that named it (store/sources.ts). */
  sources: string,
  /** 1 when its latest successful contact spoke MSE/PE. */
  encrypted: number,
  visits: number,
  lastPieces: number | null,
  lastSeen: string | null,
  listenPort: number | null,
];

export class KnownPeerPages {
  private readonly page: Sqlite.Statement;
  private readonly nextId: Sqlite.Statement;
  /** The highest id when the run started: sessions the run itself adds are not resumed. */
  readonly lastId: number;

  constructor(db: Database) {
    // Only the latest session at an address:port is dialled again, and only where the address was stored
    // (--store-ip): the anonymized columns cannot be dialled.
    this.page = db.sqlite
      .prepare(`
        SELECT id, torrent_id, ip, port, sources, encrypted, visits, last_pieces, last_seen, listen_port
        FROM peers WHERE id > ? AND id <= ? AND latest = 1 AND ip IS NOT NULL ORDER BY id`)
      .raw(true);
    const max = db.sqlite.prepare('SELECT max(id) AS id FROM peers').get() as { id: number | null };
    this.lastId = max.id ?? 0;
    this.nextId = db.sqlite.prepare('SELECT min(id) AS id FROM peers WHERE id > ?').pluck();
  }

  /**
   * Where the next page starts after the span (afterId, afterId + span]: past the span, or, when no row lies
   * beyond it for a while, just before the next id (ids have gaps: a spool's start at its block, 2^40 × B; a
   * merge; deleted rows), so a page is never a long walk over empty id ranges. One seek on the primary key.
   */
  advance(afterId: number, span: number): number {
    const end = Math.min(afterId + span, this.lastId);
    const next = this.nextId.get(end) as number | null;
    return next === null ? this.lastId : Math.max(end, next - 1);
  }

  /** The rows with ids in (afterId, afterId + span], at most lastId, in id order. */
  next(afterId: number, span: number): KnownPeerRow[] {
    return this.page.all(afterId, Math.min(afterId + span, this.lastId)) as KnownPeerRow[];
  }
}
