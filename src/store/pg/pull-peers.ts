// The pull of other hosts' discoveries (README "Running on several hosts"): a sharded host dials only its share
// of the endpoints, but an endpoint of its share may be named only to another host (its tracker answer, a PEX
// message from a peer it dialled, an inbound peer's listen port there). With --store-ip that host stores it
// (src/cli/pull-peers.ts shareOtherShards) and pushes it; here the owner reads the peers rows of the other
// spools' id blocks (ids are block × 2^40 + n, spool.ts) that it has not read yet.
//
// The watermark is per block: a block's new rows reach PostgreSQL in id order (a push sends the changed rows
// in id order, one transaction per round, and a spool's new ids only grow), so "ids above the last one read"
// is exactly what is new there. The watermarks live in the spool's meta, so the next run goes on from them
// (what an earlier run pulled is in the spool as a discovery, and resumed from there).
import type pg from 'pg';
import type { PgStore } from './pg-store.ts';
import { BLOCK_IDS, pullTorrents, type Spool } from './spool.ts';

/** A peers row of another host, as the pull needs it. */
export interface OtherHostPeer {
  id: number;
  /** The torrent's info hash (PostgreSQL's torrent ids are not the spool's). */
  infoHash: string;
  /** Null: stored without --store-ip (not dialable). */
  ip: string | null;
  port: number;
  sources: string;
  listenPort: number | null;
}

export interface PullLimits {
  /** Rows read per query and block: one query stays short. */
  pageRows: number;
  /** Rows read per pull at most (all blocks); the rest waits for the next pull. */
  maxRows: number;
  /** Longest wait for one query: a server that stops answering fails the pull, never holds the crawl. */
  queryTimeoutMs: number;
}

export const PULL_LIMITS: PullLimits = { pageRows: 10_000, maxRows: 50_000, queryTimeoutMs: 30_000 };

/** Spool meta key of the watermarks: JSON {block: last id read}. */
const MARKS = 'pull_peers_marks';

/** Reads the other blocks' new peers rows, and moves the watermarks past them once they are handled. */
export class OtherHostsPeers {
  private readonly marks: Map<number, number>;

  constructor(
    private readonly spool: Spool,
    private readonly store: PgStore,
    private readonly limits: PullLimits = PULL_LIMITS,
  ) {
    this.marks = readMarks(spool);
  }

  /**
   * The rows new since the last call (at most `maxRows`), in id order per block, handed to `handle` page by
   * page; a page's watermark moves (in the spool) after `handle` returns. Throws on a database error: what
   * was not handed over is read again by the next call.
   */
  async pull(handle: (rows: OtherHostPeer[]) => void | Promise<void>): Promise<number> {
    let blocks = await this.otherBlocks();
    let read = 0;
    while (blocks.length > 0 && read < this.limits.maxRows) {
      const limit = Math.min(this.limits.pageRows, Math.ceil((this.limits.maxRows - read) / blocks.length));
      const after = blocks.map((b) => Math.max(this.marks.get(b) ?? 0, b * BLOCK_IDS));
      const { rows } = await this.store.pool.query<Record<string, unknown>>({
        // per block the next `limit` rows by id (a range scan of the primary key), their torrents' info hashes
        text: `SELECT p.id, t.info_hash, p.ip, p.port, p.sources, p.listen_port, w.block
          FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS w(block, after, below)
          CROSS JOIN LATERAL (SELECT id, torrent_id, ip, port, sources, listen_port FROM peers
            WHERE id > w.after AND id < w.below ORDER BY id LIMIT $4) p
          JOIN torrents t ON t.id = p.torrent_id
          ORDER BY p.id`,
        values: [blocks, after, blocks.map((b) => (b + 1) * BLOCK_IDS), limit],
        query_timeout: this.limits.queryTimeoutMs,
      } as pg.QueryConfig);
      const perBlock = new Map<number, number>();
      const page: OtherHostPeer[] = rows.map((r) => {
        const block = Number(r.block);
        perBlock.set(block, (perBlock.get(block) ?? 0) + 1);
        return { id: Number(r.id), infoHash: r.info_hash as string, ip: r.ip as string | null, port: r.port as number,
          sources: r.sources as string, listenPort: r.listen_port as number | null };
      });
      await handle(page);
      for (const p of page) {
        const block = Math.floor(p.id / BLOCK_IDS);
        if (p.id > (this.marks.get(block) ?? 0)) this.marks.set(block, p.id);
      }
      if (page.length > 0) this.spool.db.setMeta(MARKS, JSON.stringify(Object.fromEntries(this.marks)));
      read += page.length;
      // a block that gave fewer rows than asked has nothing more now
      blocks = blocks.filter((b) => (perBlock.get(b) ?? 0) >= limit);
    }
    return read;
  }

  /** Block 0 (rows written without a spool, e.g. `btda merge` into PostgreSQL) and every block given out but ours. */
  private async otherBlocks(): Promise<number[]> {
    const { rows } = await this.store.pool.query<{ last: string; called: boolean }>({
      text: 'SELECT last_value AS last, is_called AS called FROM spool_blocks', query_timeout: this.limits.queryTimeoutMs,
    } as pg.QueryConfig);
    const last = rows[0]?.called ? Number(rows[0].last) : 0;
    const blocks: number[] = [];
    for (let b = 0; b <= last; b++) if (b !== this.spool.block) blocks.push(b);
    return blocks;
  }
}

/** The spool's torrents, as the pull needs them. */
export interface SpoolTorrents {
  /** The spool's id of a torrent, or undefined. */
  idOf(infoHash: string): number | undefined;
  /** Takes the database's torrents the spool lacks (one imported by another host since this run started). */
  refresh(): Promise<unknown>;
}

/** The spool's torrents by info hash, and the database's taken into the spool when one is missing. */
export function spoolTorrents(spool: Spool, store: PgStore): SpoolTorrents {
  const byHash = spool.db.sqlite.prepare('SELECT id FROM torrents WHERE info_hash = ?').pluck();
  return { idOf: (infoHash) => byHash.get(infoHash) as number | undefined, refresh: () => pullTorrents(spool, store) };
}

function readMarks(spool: Spool): Map<number, number> {
  const marks = new Map<number, number>();
  try {
    for (const [b, id] of Object.entries(JSON.parse(spool.db.meta(MARKS) ?? '{}') as Record<string, number>)) {
      if (Number.isInteger(Number(b)) && Number.isFinite(id)) marks.set(Number(b), id);
    }
  } catch {
    // an unreadable value: start from the beginning (the queue skips what it knows)
  }
  return marks;
}
