// The spool (README "Running on several hosts"): a crawl on PostgreSQL writes exactly as it writes a SQLite
// database of its own, into a local SQLite working database, and PgPusher (push.ts) sends what changed to
// PostgreSQL. The identity rules look a contact's session up in microseconds there, not in a round trip.
//
// A spool's ids are PostgreSQL's: when it is made, it reserves a block of the `spool_blocks` sequence and
// its id'd tables start at block × 2^40, so every host's rows keep their ids in the shared database and
// restart_of, crossed_observation and observations.peer_row need no mapping. Only runs and torrents are
// mapped (by origin and by info hash). The `push_dirty` log (spool-only triggers) names the peers rows
// changed since the last push.
import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Database, StoreError } from '../database.ts';
import { advisoryKey } from './advisory-lock.ts';
import { currentDatabase, redactUrl } from './connection.ts';
import type { PgStore } from './pg-store.ts';

/** Ids per block: 2^40 (a trillion rows per table and spool); blocks 1..8191 keep every id below 2^53. */
export const BLOCK_IDS = 2 ** 40;
const MAX_BLOCK = 2 ** 53 / BLOCK_IDS - 1;
/** The tables whose ids a spool gives (the rest are mapped, or keyed by run). */
export const ID_TABLES = ['peers', 'observations', 'requests', 'scrapes', 'statistics'] as const;

const BLOCK = 'spool_block';
const DATABASE = 'spool_database_id';
/** PostgreSQL meta: who this database is, so a spool never pushes into another one (its ids would clash). */
const DATABASE_ID = 'database_id';

/**
 * The spool's default file: in `folder` (the key file's), one per database and shard, named by a hash of
 * the URL without its password (a password change keeps the spool).
 */
export function defaultSpoolPath(folder: string, url: string, shard: { index: number; count: number } | null): string {
  const hash = createHash('sha256').update(redactUrl(url)).digest('hex').slice(0, 12);
  return join(folder, `btda-spool-${hash}${shard ? `-${shard.index}of${shard.count}` : ''}.sqlite`);
}

export class Spool {
  private constructor(
    readonly db: Database,
    readonly path: string,
    readonly block: number,
  ) {}

  get firstId(): number {
    return this.block * BLOCK_IDS;
  }

  /**
   * The spool of an earlier run, opened while its database cannot be reached: the crawl measures into it and
   * the pushes catch up once the server answers (verifySpool() first). Only a spool that already has its block can
   * be written without the server; StoreError otherwise.
   */
  static openOffline(path: string): Spool {
    if (!existsSync(path)) throw new StoreError(`no spool ${path} to crawl into until the database answers`);
    const db = Database.open(path);
    try {
      const block = Number(db.meta(BLOCK) ?? 0);
      if (block === 0 || db.meta(DATABASE) === null) throw new StoreError(`${path} is not a spool that has been pushed: it needs the database to start`);
      trackChangedPeers(db);
      return new Spool(db, path, block);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Opens (or makes) the spool of the database `store` at `path`; StoreError with one line when it cannot be. */
  static async open(path: string, store: PgStore): Promise<Spool> {
    const databaseId = await ensureDatabaseId(store);
    const db = Database.open(path);
    try {
      let block = Number(db.meta(BLOCK) ?? 0);
      if (block === 0) {
        const used = ID_TABLES.find((t) => db.sqlite.prepare(`SELECT 1 FROM ${t} LIMIT 1`).get() !== undefined);
        if (used) throw new StoreError(`${path} has ${used} rows but is not a spool: pass --spool with a new file`);
        block = await reserveBlock(store);
        db.sqlite.transaction(() => {
          for (const t of ID_TABLES) {
            const seq = block * BLOCK_IDS;
            if (db.sqlite.prepare('UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?').run(seq, t).changes === 0) {
              db.sqlite.prepare('INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)').run(t, seq);
            }
          }
          db.setMeta(BLOCK, String(block));
          db.setMeta(DATABASE, databaseId);
        })();
      } else if (db.meta(DATABASE) !== databaseId) {
        throw new StoreError(`${path} is the spool of another database than ${redactUrl(store.url)}: pass --spool with another file`);
      }
      trackChangedPeers(db);
      return new Spool(db, path, block);
    } catch (err) {
      db.close();
      throw err;
    }
  }
}

/** Before the first push of a spool opened offline: the database answering is the one the spool belongs to. */
export async function verifySpool(spool: Spool, store: PgStore): Promise<void> {
  const databaseId = await ensureDatabaseId(store);
  if (spool.db.meta(DATABASE) !== databaseId) {
    throw new StoreError(`${spool.path} is the spool of another database than ${redactUrl(store.url)}: its rows are not pushed there`);
  }
}

/**
 * The torrents of the shared database that the spool lacks (imported by another host), and what another host
 * learnt of a magnet's metadata: every host crawls the database's torrents, as a crawl of a SQLite file does.
 * Returns how many torrents were added or completed.
 */
export async function pullTorrents(spool: Spool, store: PgStore): Promise<number> {
  const { rows } = await store.pool.query<Record<string, unknown>>(
    'SELECT info_hash, info_hash_v2, name, set_label, pieces, piece_size, total_size, trackers, source, added_at, threshold_pieces FROM torrents');
  const db = spool.db.sqlite;
  const add = db.prepare(`INSERT INTO torrents (info_hash, info_hash_v2, name, set_label, pieces, piece_size, total_size, trackers, source, added_at, threshold_pieces)
    VALUES (@info_hash, @info_hash_v2, @name, @set_label, @pieces, @piece_size, @total_size, @trackers, @source, @added_at, @threshold_pieces)
    ON CONFLICT (info_hash) DO UPDATE SET name = coalesce(torrents.name, excluded.name), pieces = coalesce(torrents.pieces, excluded.pieces),
      piece_size = coalesce(torrents.piece_size, excluded.piece_size), total_size = coalesce(torrents.total_size, excluded.total_size),
      info_hash_v2 = coalesce(torrents.info_hash_v2, excluded.info_hash_v2)
    WHERE torrents.pieces IS NULL AND excluded.pieces IS NOT NULL`);
  let changed = 0;
  db.transaction(() => {
    for (const t of rows) changed += add.run(t).changes;
  })();
  return changed;
}

/** The database's id in meta, made by the first host (hosts starting at once agree on one). */
async function ensureDatabaseId(store: PgStore): Promise<string> {
  await store.pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [DATABASE_ID, randomUUID()]);
  return (await store.meta(DATABASE_ID))!;
}

/** The next free block; the sequence is made by the first spool (no migration: only spools use it). */
async function reserveBlock(store: PgStore): Promise<number> {
  const client = await store.pool.connect();
  try {
    await client.query('BEGIN');
    // two hosts making their first spools at once must not both try to create the sequence
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [advisoryKey(await currentDatabase(client), 'spool_blocks')]);
    await client.query('CREATE SEQUENCE IF NOT EXISTS spool_blocks START 1');
    const r = await client.query<{ block: number }>("SELECT nextval('spool_blocks') AS block");
    await client.query('COMMIT');
    const block = Number(r.rows[0].block);
    if (block > MAX_BLOCK) throw new StoreError(`${redactUrl(store.url)} has given out all ${MAX_BLOCK} spool blocks`);
    return block;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Every insert or update of a peers row adds its id to push_dirty (once: a row changed a thousand times is one
 * entry, and the trigger is one index probe). A push moves the ids it sends into push_sending, in the same
 * SQLite transaction as its read: a row changed again while the push is on its way is back in push_dirty for
 * the next one. After the commit in PostgreSQL push_sending is emptied; after a failed push its ids go back,
 * and so they do here when the spool opens after a crash in the middle of a push.
 * Made here, not by a migration: only spools have it (an ordinary database pays nothing).
 */
/**
 * push_dirty: the peers rows changed since the last push. push_contacted: rows first contacted since (a
 * discovery that became a session), whose endpoint the push settles again: a contacted session outranks
 * another host's discovery there (push-peers.ts).
 */
function trackChangedPeers(db: Database): void {
  // an upsert, not INSERT OR IGNORE: a trigger fired by an upsert of peers takes the outer statement's conflict policy
  const mark = 'BEGIN INSERT INTO push_dirty (id) VALUES (new.id) ON CONFLICT (id) DO NOTHING; END';
  db.sqlite.exec(`
    CREATE TABLE IF NOT EXISTS push_dirty (id INTEGER PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS push_sending (id INTEGER PRIMARY KEY);
    CREATE TRIGGER IF NOT EXISTS push_dirty_insert AFTER INSERT ON peers ${mark};
    CREATE TRIGGER IF NOT EXISTS push_dirty_update AFTER UPDATE ON peers ${mark};
    CREATE TABLE IF NOT EXISTS push_contacted (id INTEGER PRIMARY KEY);
    CREATE TRIGGER IF NOT EXISTS push_contacted_update AFTER UPDATE OF first_seen ON peers
      WHEN old.first_seen IS NULL AND new.first_seen IS NOT NULL
      BEGIN INSERT INTO push_contacted (id) VALUES (new.id) ON CONFLICT (id) DO NOTHING; END;`);
  returnUnsent(db);
}

/** The ids of a push that did not commit go back to push_dirty. */
export function returnUnsent(db: Database): void {
  db.sqlite.transaction(() => {
    db.sqlite.exec('INSERT INTO push_dirty (id) SELECT id FROM push_sending WHERE true ON CONFLICT (id) DO NOTHING; DELETE FROM push_sending;');
  })();
}
