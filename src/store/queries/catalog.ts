// What a database holds, for the checks that a file is a btda database before reading or migrating it.
import type { Database } from '../database.ts';

/** Tables in a SQLite file (0 for a new, empty file). Synchronous: it runs before a writing command opens the store. */
export function sqliteTableCount(db: Database): number {
  return (db.sqlite.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }).n;
}
