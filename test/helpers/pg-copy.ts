// Copies a btda SQLite database into a PostgreSQL database that PgStore.open has migrated: table by table,
// with the same ids, in multi-row INSERTs; then the identity sequences continue after the highest id. The
// views are PostgreSQL's own (they read the tables). Tests use it to compare what both backends make of the
// same data.
import Sqlite from 'better-sqlite3';
import type pg from 'pg';

/** Most parameters of one statement (PostgreSQL allows 65,535). */
const MAX_PARAMS = 30_000;

/** Tables copied, in an order that keeps references pointing backwards. */
export const COPIED_TABLES = ['meta', 'runs', 'torrents', 'peers', 'observations', 'requests', 'scrapes', 'outcomes', 'contact_waits', 'statistics'];

export async function copySqliteToPg(sqlitePath: string, pool: pg.Pool): Promise<Record<string, number>> {
  const src = new Sqlite(sqlitePath, { readonly: true, fileMustExist: true });
  const copied: Record<string, number> = {};
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    for (const table of COPIED_TABLES) {
      const exists = src.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table);
      if (!exists) continue;
      const target = (await client.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [table],
      )).rows.map((r) => r.column_name);
      const columns = (src.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as { name: string }[])
        .map((c) => c.name)
        .filter((c) => target.includes(c));
      const missing = target.filter((c) => !columns.includes(c));
      if (missing.length > 0) throw new Error(`${table}: the SQLite file lacks ${missing.join(', ')}`);
      const rows = src.prepare(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM "${table}"`).raw(true).all() as unknown[][];
      const perStatement = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
      for (let i = 0; i < rows.length; i += perStatement) {
        const chunk = rows.slice(i, i + perStatement);
        const values: unknown[] = [];
        const tuples = chunk.map((row) => `(${row.map((v) => {
          values.push(typeof v === 'bigint' ? v.toString() : v);
          return `$${values.length}`;
        }).join(', ')})`);
        await client.query(`INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${tuples.join(', ')}`, values);
      }
      copied[table] = rows.length;
      if (columns.includes('id')) {
        // the next row a crawl writes gets the next id, not one the copy already used
        await client.query(`SELECT setval(pg_get_serial_sequence('"${table}"', 'id'), coalesce((SELECT max(id) FROM "${table}"), 0) + 1, false)`);
      }
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
    src.close();
  }
  return copied;
}
