// What every PostgreSQL connection of btda shares: which URLs are PostgreSQL, how they are shown in messages,
// and how values are read back.
import pg from 'pg';

/** True for the URLs that name a PostgreSQL database rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

/**
 * int8 (count(*), bigint ids and counters) and numeric (sum, avg) as JS numbers, as SQLite returns them, so
 * that rows and the report's JSON are the same for both backends. Exact below 2^53.
 */
export const numericTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export async function currentDatabase(client: pg.ClientBase): Promise<string> {
  const r = await client.query<{ db: string }>('SELECT current_database() AS db');
  return r.rows[0].db;
}
