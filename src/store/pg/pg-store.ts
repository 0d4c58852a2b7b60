// Opens a PostgreSQL database (`--db postgres://...`, issue 15): a connection pool, the migrations of
// src/store/migrations-pg applied (one host at a time), small queries used outside the hot path, and the run
// lock as an advisory lock. A crawl writes a local SQLite spool and pushes it here (spool.ts, push.ts).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostname } from 'node:os';
import pg from 'pg';
import { eq } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { StoreError } from '../database.ts';
import { isoTime } from '../time.ts';
import { advisoryKey, PgRunLock } from './advisory-lock.ts';
import { currentDatabase, numericTypes, redactUrl } from './connection.ts';
import * as schema from './schema.ts';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '..', 'migrations-pg');

export class PgStore {
  readonly orm: NodePgDatabase<typeof schema>;

  private constructor(
    readonly pool: pg.Pool,
    readonly url: string,
  ) {
    this.orm = drizzle(pool, { schema });
  }

  /** Connects and brings the schema up to date; throws StoreError with one clear line. */
  static async open(url: string, opts: { poolSize?: number } = {}): Promise<PgStore> {
    const store = PgStore.connect(url, opts);
    try {
      await store.ready();
    } catch (err) {
      await store.close().catch(() => {});
      throw err;
    }
    return store;
  }

  /**
   * The store without a connection yet (the pool connects on first use): a crawl whose server is away at the
   * start measures into its spool and calls ready() before each push until the server answers.
   */
  static connect(url: string, opts: { poolSize?: number } = {}): PgStore {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 4,
      types: numericTypes,
      application_name: `btda (pid ${process.pid} on ${hostname()})`,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
    });
    // an idle pooled connection that the server drops must not crash the process: the next query reconnects
    pool.on('error', () => {});
    return new PgStore(pool, url);
  }

  private migrated: Promise<void> | null = null;

  /** The schema brought up to date, once; StoreError with one line while the server cannot be reached. */
  ready(): Promise<void> {
    this.migrated ??= this.migrate().catch((err: Error) => {
      this.migrated = null; // the next call tries again
      throw new StoreError(`cannot open database ${redactUrl(this.url)}: ${err.message || (err as { code?: string }).code}`);
    });
    return this.migrated;
  }

  /** Hosts that start together migrate one after the other: the first applies, the rest find it done. */
  private async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      const key = advisoryKey(await currentDatabase(client), 'migrate');
      await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
      try {
        await migrate(drizzle(client, { schema }), { migrationsFolder: MIGRATIONS });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
      }
    } finally {
      client.release();
    }
  }

  /**
   * One crawl per database and scope at a time ('run'; a shard may use its own scope). Refused with
   * RunLockedError while another session holds it; released at close() or when the holder's connection
   * ends (a killed or vanished host), by the server.
   */
  acquireRunLock(scope = 'run', onLost?: (err: Error) => void): Promise<PgRunLock> {
    return PgRunLock.acquire(this.url, scope, onLost);
  }

  async meta(key: string): Promise<string | null> {
    const rows = await this.orm.select({ value: schema.meta.value }).from(schema.meta).where(eq(schema.meta.key, key));
    return rows[0]?.value ?? null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.orm.insert(schema.meta).values({ key, value }).onConflictDoUpdate({ target: schema.meta.key, set: { value } });
  }

  async hasPeers(): Promise<boolean> {
    const r = await this.pool.query('SELECT 1 FROM peers LIMIT 1');
    return r.rowCount! > 0;
  }

  async startRun(run: { version: string; args: string; host: string; threshold: number; startedAt: number }): Promise<number> {
    const [row] = await this.orm
      .insert(schema.runs)
      .values({ ...run, startedAt: isoTime(run.startedAt) })
      .returning({ id: schema.runs.id });
    return row.id;
  }

  async endRun(runId: number, exitReason: string, endedAt: number): Promise<void> {
    await this.orm.update(schema.runs).set({ endedAt: isoTime(endedAt), exitReason }).where(eq(schema.runs.id, runId));
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
