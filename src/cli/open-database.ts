// How every command opens --db, by one rule: commands that write (run, add, demo) create the file and its
// folder; commands that read (torrents, report, export) need an existing btda database and say so
// otherwise, instead of creating an empty file from a typo. Every error names the file. The analysis
// commands (report, export, explain) read through a Reader, from a SQLite file or a postgres:// URL.
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Database } from '../store/database.ts';
import { isPostgresUrl, redactUrl } from '../store/pg/connection.ts';
import { sqliteTableCount } from '../store/queries/catalog.ts';
import { PgReader, SqliteReader, type Reader } from '../store/queries/reader.ts';

/** --help of --db for the commands that read through openReader. */
export const READ_DB = 'SQLite database file, or a PostgreSQL database: postgres://user:password@host:5432/db (read only)';

/** A btda database to analyse, read-only: a SQLite file or a PostgreSQL database. */
export async function openReader(db: string): Promise<Reader> {
  if (!isPostgresUrl(db)) return new SqliteReader(openForReading(db));
  // read-only: no migrations (the crawl's hosts migrate); a database of an older btda lacks newer columns,
  // which the queries allow for, as they do for an old SQLite file
  const reader = await PgReader.open(db);
  if (!(await reader.hasTable('torrents')) || !(await reader.hasTable('runs'))) {
    await reader.close();
    throw new Error(`${redactUrl(db)} is not a btda database (it has no runs and torrents tables)`);
  }
  return reader;
}

/** An existing btda database, read-only. */
export function openForReading(path: string): Database {
  if (path !== ':memory:' && !existsSync(path)) {
    throw new Error(`cannot open database ${path}: no such file (btda add or btda run creates one)`);
  }
  const db = Database.open(path, { readonly: true });
  checkBtdaDatabase(db, path);
  return db;
}

/** The database, created with its folder if needed; refuses a SQLite file of something else. */
export function openForWriting(path: string): Database {
  prepareForWriting(path);
  return Database.open(path);
}

/**
 * What a writing command checks before it creates anything but the folder: `run` takes its lock file
 * next to the database first, and a run that cannot start leaves no database behind.
 */
export function prepareForWriting(path: string): void {
  if (path === ':memory:') return;
  mkdirSync(dirname(path), { recursive: true });
  if (existsSync(path) && statSync(path).size > 0) {
    // say so plainly: SQLite's own words for a read-only file system are "unable to open database file"
    try {
      accessSync(path, constants.W_OK);
    } catch (err) {
      throw new Error(`cannot write to database ${path}: it is read-only (${(err as NodeJS.ErrnoException).code})`);
    }
    // migrations would add btda's tables to someone else's database
    const probe = Database.open(path, { readonly: true });
    try {
      checkBtdaDatabase(probe, path, { allowEmpty: true });
    } finally {
      probe.close();
    }
  }
}

function checkBtdaDatabase(db: Database, path: string, opts: { allowEmpty?: boolean } = {}): void {
  let tables: number;
  let isBtda: boolean;
  try {
    tables = sqliteTableCount(db);
    isBtda = db.hasTable('torrents') && db.hasTable('runs');
  } catch (err) {
    db.close();
    throw new Error(`cannot read database ${path}: ${(err as Error).message}`);
  }
  if (isBtda || (opts.allowEmpty && tables === 0)) return;
  db.close();
  throw new Error(`${path} is not a btda database (it has no runs and torrents tables)`);
}
