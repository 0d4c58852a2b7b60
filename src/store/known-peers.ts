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
  private readonly following: Sqlite.Statement;
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
    this.following = db.sqlite.prepare('SELECT min(id) FROM peers WHERE id > ?').pluck();
    const max = db.sqlite.prepare('SELECT max(id) AS id FROM peers').get() as { id: number | null };
    this.lastId = max.id ?? 0;
  }

  /** The rows with ids in (afterId, afterId + span], at most lastId, in id order. */
  next(afterId: number, span: number): KnownPeerRow[] {
    return this.page.all(afterId, Math.min(afterId + span, this.lastId)) as KnownPeerRow[];
  }

  /**
   * Where the next page starts after an empty one at (afterId, afterId + span]: just before the next id (one index
   * seek), so a gap in the ids is crossed in one step. A spool's ids start at its block × 2^40 (pg/spool.ts):
   * paging from 0 through 2^40 empty ids would take hours before the first known peer.
   */
  afterGap(afterId: number, span: number): number {
    const next = this.following.get(afterId + span) as number | null;
    return next === null ? this.lastId : Math.min(next - 1, this.lastId);
  }
}
