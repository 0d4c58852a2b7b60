// Opens the SQLite file: WAL mode, migrations applied, and small queries used outside the hot path.
// store/ is the only place that imports drizzle or better-sqlite3.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { asc, eq } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { thresholdPieces as thresholdPiecesOf } from '../config.ts';
import type { ParsedTorrent } from '../torrents/parse-torrent.ts';
import type { Torrent } from '../types.ts';
import * as schema from './schema.ts';
import { isoTime } from './time.ts';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), 'migrations');

export class StoreError extends Error {}

export class Database {
  readonly sqlite: Sqlite.Database;
  readonly orm: BetterSQLite3Database<typeof schema>;

  private constructor(sqlite: Sqlite.Database) {
    this.sqlite = sqlite;
    this.orm = drizzle(sqlite, { schema });
  }

  /** Opens (creating if needed) the database and brings its schema up to date. */
  static open(path: string, opts: { readonly?: boolean } = {}): Database {
    let sqlite: Sqlite.Database;
    try {
      if (!opts.readonly && path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      sqlite = new Sqlite(path, { readonly: !!opts.readonly, fileMustExist: !!opts.readonly });
      // Another btda or an analyst's query may hold the lock for a moment; wait rather than fail.
      sqlite.pragma('busy_timeout = 5000');
      if (!opts.readonly) {
        sqlite.pragma('journal_mode = WAL');
        // NORMAL is durable across process crashes in WAL mode (only power loss can drop the last commits).
        sqlite.pragma('synchronous = NORMAL');
      }
    } catch (err) {
      throw new StoreError(`cannot open database ${path}: ${(err as Error).message}`);
    }
    const db = new Database(sqlite);
    if (!opts.readonly) {
      try {
        migrate(db.orm, { migrationsFolder: MIGRATIONS });
      } catch (err) {
        sqlite.close();
        throw new StoreError(`cannot prepare database ${path}: ${(err as Error).message}`);
      }
    }
    return db;
  }

  /** A database written by an older btda (opened read-only, not migrated) may lack newer tables. */
  hasTable(name: string): boolean {
    return this.sqlite.prepare("SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?").get(name) !== undefined;
  }

  /** A database of an older btda, opened read-only (not migrated), may lack newer columns. */
  hasColumn(table: string, column: string): boolean {
    return this.sqlite.prepare('SELECT 1 FROM pragma_table_info(?) WHERE name = ?').get(table, column) !== undefined;
  }

  /** A value of the `meta` table, or null. */
  meta(key: string): string | null {
    const row = this.sqlite.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  setMeta(key: string, value: string): void {
    this.sqlite.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  hasPeers(): boolean {
    return this.sqlite.prepare('SELECT 1 FROM peers LIMIT 1').get() !== undefined;
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }

  /**
   * Moves everything in the WAL into the database file and empties the WAL, so that the .sqlite file alone
   * is the whole result (a copy of it without its -wal file loses nothing). Waits (busy_timeout) for
   * readers; a reader that holds a snapshot leaves the WAL as it is, which loses nothing either.
   */
  checkpoint(): void {
    if (this.sqlite.open && !this.sqlite.readonly) this.sqlite.pragma('wal_checkpoint(TRUNCATE)');
  }

  startRun(run: { version: string; args: string; host: string; threshold: number; startedAt: number; suspectRate?: number; shard?: string | null }): number {
    const row = this.orm
      .insert(schema.runs)
      .values({ ...run, startedAt: isoTime(run.startedAt) })
      .returning({ id: schema.runs.id })
      .get();
    return row.id;
  }

  endRun(runId: number, exitReason: string, endedAt: number): void {
    this.orm
      .update(schema.runs)
      .set({ endedAt: isoTime(endedAt), exitReason })
      .where(eq(schema.runs.id, runId))
      .run();
  }

  /** Inserts a torrent; returns undefined when its info hash is already stored. */
  addTorrent(t: ParsedTorrent, source: string, setLabel: string | null, addedAt: number): Torrent | undefined {
    const row = this.orm
      .insert(schema.torrents)
      .values({
        infoHash: t.infoHash,
        infoHashV2: t.infoHashV2,
        name: t.name,
        setLabel,
        pieces: t.pieces,
        pieceSize: t.pieceSize,
        totalSize: t.totalSize,
        trackers: JSON.stringify(t.trackers),
        source,
        addedAt: isoTime(addedAt),
      })
      .onConflictDoNothing()
      .returning()
      .get();
    return row ? toTorrent(row) : undefined;
  }

  /** Fills in what a magnet link lacked once its metadata was fetched. */
  completeTorrent(id: number, t: ParsedTorrent, threshold: number): void {
    const thresholdPieces = t.pieces === null ? null : thresholdPiecesOf(t.pieces, threshold);
    this.orm
      .update(schema.torrents)
      .set({ name: t.name, pieces: t.pieces, pieceSize: t.pieceSize, totalSize: t.totalSize, infoHashV2: t.infoHashV2, thresholdPieces })
      .where(eq(schema.torrents.id, id))
      .run();
  }

  torrents(setLabel?: string): Torrent[] {
    const q = this.orm.select().from(schema.torrents);
    const rows = setLabel ? q.where(eq(schema.torrents.setLabel, setLabel)).orderBy(asc(schema.torrents.id)).all()
      : q.orderBy(asc(schema.torrents.id)).all();
    return rows.map(toTorrent);
  }

  /** Stores ceil(threshold × pieces) per torrent: the views compare against it. */
  setThreshold(threshold: number): void {
    this.sqlite.transaction(() => {
      for (const t of this.torrents()) {
        const thresholdPieces = t.pieces === null ? null : thresholdPiecesOf(t.pieces, threshold);
        this.orm.update(schema.torrents).set({ thresholdPieces }).where(eq(schema.torrents.id, t.id)).run();
      }
    })();
  }
}

function toTorrent(row: typeof schema.torrents.$inferSelect): Torrent {
  let trackers: string[] = [];
  try {
    trackers = JSON.parse(row.trackers);
  } catch {
    // an analyst edited the row by hand; treat as no trackers
  }
  return {
    id: row.id,
    infoHash: row.infoHash,
    infoHashV2: row.infoHashV2,
    name: row.name,
    setLabel: row.setLabel,
    pieces: row.pieces,
    pieceSize: row.pieceSize,
    totalSize: row.totalSize,
    trackers,
    source: row.source,
  };
}
