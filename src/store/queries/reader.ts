// The one interface every read of src/analysis goes through (issue 15): a Reader runs read-only SQL against
// the store, SQLite (the embedded default, synchronous underneath) or PostgreSQL (a pool). The queries
// themselves live beside this file, one module per report table or job; each is written once where both
// dialects accept the same text and as two texts side by side (`{ sqlite, postgres }`) where they differ.
// Parameters are written `@name` in both; arrays expand into a list (`IN (@runs)`), so no dialect's own
// JSON or array functions are needed.
import { hostname } from 'node:os';
import pg from 'pg';
import type Sqlite from 'better-sqlite3';
import { StoreError, type Database } from '../database.ts';
import { numericTypes, redactUrl } from '../pg/connection.ts';

export type Dialect = 'sqlite' | 'postgres';
/** SQL both dialects accept, or one text per dialect. */
export type Sql = string | { sqlite: string; postgres: string };
export type Params = Record<string, unknown>;
export type Row = Record<string, unknown>;

export interface Reader {
  readonly dialect: Dialect;
  /** Every row of the query, as objects keyed by column name. */
  all<T = Row>(sql: Sql, params?: Params): Promise<T[]>;
  /** The first row, or undefined. */
  one<T = Row>(sql: Sql, params?: Params): Promise<T | undefined>;
  /** Rows in batches (memory stays flat whatever the size): column names and arrays in column order. */
  batches(sql: Sql, params: Params, onBatch: (columns: string[], rows: unknown[][]) => void): Promise<void>;
  /** A database of an older btda (opened read-only, not migrated) may lack newer tables and columns. */
  hasTable(name: string): Promise<boolean>;
  hasColumn(table: string, column: string): Promise<boolean>;
  close(): Promise<void>;
}

const BATCH = 2000;

/** `@name` → the dialect's placeholder; arrays become one placeholder per element. Names used twice bind once (PostgreSQL). */
export function bind(sql: string, params: Params, dialect: Dialect): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  const slots = new Map<string, string>();
  const placeholder = (v: unknown) => {
    values.push(typeof v === 'boolean' ? Number(v) : v);
    return dialect === 'sqlite' ? '?' : `$${values.length}`;
  };
  const text = sql.replace(/@([A-Za-z_][A-Za-z0-9_]*)/g, (_, name: string) => {
    if (!(name in params)) throw new Error(`query parameter @${name} has no value`);
    const known = dialect === 'postgres' ? slots.get(name) : undefined;
    if (known) return known;
    const v = params[name];
    // an empty list is NULL: `IN (NULL)` is valid in both dialects and matches nothing
    const slot = Array.isArray(v) ? (v.length === 0 ? 'NULL' : v.map(placeholder).join(', ')) : placeholder(v);
    slots.set(name, slot);
    return slot;
  });
  return { text, values };
}

export function textOf(sql: Sql, dialect: Dialect): string {
  return typeof sql === 'string' ? sql : sql[dialect];
}

/** SQLite through better-sqlite3: synchronous underneath, promises on top. Closing closes the Database. */
export class SqliteReader implements Reader {
  readonly dialect = 'sqlite';
  private readonly statements = new Map<string, Sqlite.Statement>();

  constructor(readonly db: Database) {}

  private statement(sql: Sql, params: Params): { stmt: Sqlite.Statement; values: unknown[] } {
    const { text, values } = bind(textOf(sql, 'sqlite'), params, 'sqlite');
    let stmt = this.statements.get(text);
    if (!stmt) this.statements.set(text, (stmt = this.db.sqlite.prepare(text)));
    return { stmt, values };
  }

  async all<T = Row>(sql: Sql, params: Params = {}): Promise<T[]> {
    const { stmt, values } = this.statement(sql, params);
    return stmt.all(...values) as T[];
  }

  async one<T = Row>(sql: Sql, params: Params = {}): Promise<T | undefined> {
    const { stmt, values } = this.statement(sql, params);
    return stmt.get(...values) as T | undefined;
  }

  async batches(sql: Sql, params: Params, onBatch: (columns: string[], rows: unknown[][]) => void): Promise<void> {
    const { text, values } = bind(textOf(sql, 'sqlite'), params, 'sqlite');
    const stmt = this.db.sqlite.prepare(text);
    const columns = stmt.columns().map((c) => c.name);
    let rows: unknown[][] = [];
    // raw() gives arrays in column order: no object per row, and duplicate column names survive
    for (const row of stmt.raw(true).iterate(...values) as Iterable<unknown[]>) {
      rows.push(row);
      if (rows.length >= BATCH) {
        onBatch(columns, rows);
        rows = [];
      }
    }
    onBatch(columns, rows);
  }

  async hasTable(name: string): Promise<boolean> {
    return this.db.hasTable(name);
  }

  async hasColumn(table: string, column: string): Promise<boolean> {
    return this.db.hasColumn(table, column);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}

/** PostgreSQL through a pool. Closing ends the pool. */
export class PgReader implements Reader {
  readonly dialect = 'postgres';

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Connects for reading only: no migrations (an analyst's role may only SELECT) and every transaction
   * read-only, so the analysis cannot write whatever it runs. Throws StoreError with one clear line.
   */
  static async open(url: string): Promise<PgReader> {
    const pool = new pg.Pool({
      connectionString: url,
      max: 2,
      types: numericTypes,
      application_name: `btda reader (pid ${process.pid} on ${hostname()})`,
      connectionTimeoutMillis: 10_000,
      options: '-c default_transaction_read_only=on',
    });
    pool.on('error', () => {}); // an idle connection the server drops: the next query reconnects
    try {
      await pool.query('SELECT 1');
    } catch (err) {
      await pool.end().catch(() => {});
      throw new StoreError(`cannot open database ${redactUrl(url)}: ${(err as Error).message}`);
    }
    return new PgReader(pool);
  }

  async all<T = Row>(sql: Sql, params: Params = {}): Promise<T[]> {
    const { text, values } = bind(textOf(sql, 'postgres'), params, 'postgres');
    return (await this.pool.query(text, values)).rows as T[];
  }

  async one<T = Row>(sql: Sql, params: Params = {}): Promise<T | undefined> {
    return (await this.all<T>(sql, params))[0];
  }

  /** A server-side cursor in a read-only transaction: BATCH rows per round trip. */
  async batches(sql: Sql, params: Params, onBatch: (columns: string[], rows: unknown[][]) => void): Promise<void> {
    const { text, values } = bind(textOf(sql, 'postgres'), params, 'postgres');
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      await client.query(`DECLARE btda_batches NO SCROLL CURSOR FOR ${text}`, values);
      for (;;) {
        const r = await client.query({ text: `FETCH ${BATCH} FROM btda_batches`, rowMode: 'array' });
        onBatch(r.fields.map((f) => f.name), r.rows as unknown[][]);
        if (r.rows.length < BATCH) break;
      }
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async hasTable(name: string): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
      "WHERE n.nspname = current_schema() AND c.relname = $1 AND c.relkind IN ('r', 'v', 'p')", [name]);
    return r.rowCount! > 0;
  }

  async hasColumn(table: string, column: string): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2',
      [table, column]);
    return r.rowCount! > 0;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A Database (SQLite) or an open Reader: analysis accepts either, so callers with a Database need no wrapper. */
export type ReadSource = Reader | Database;

export function readerOf(source: ReadSource): Reader {
  return 'dialect' in source ? source : new SqliteReader(source);
}
