// The run lock on PostgreSQL: a session-level advisory lock held by one dedicated connection. The server
// releases it when that connection ends, however it ends (release, exit, kill -9, a host that vanished once
// TCP keepalive gives up), so no stale lock is ever left to take over, unlike the file lock of SQLite.
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import { RunLockedError } from '../run-lock.ts';
import { currentDatabase, redactUrl } from './connection.ts';

/**
 * A signed 64-bit advisory lock key derived from the database name and a scope. Advisory locks are already
 * local to one database; the name keeps keys apart should two btda databases ever share one lock space.
 */
export function advisoryKey(database: string, scope: string): string {
  return createHash('sha256').update(`btda:${scope}:${database}`).digest().readBigInt64BE(0).toString();
}

export class PgRunLock {
  private released = false;

  private constructor(
    private readonly client: pg.Client,
    readonly key: string,
  ) {}

  static async acquire(url: string, scope: string, onLost?: (err: Error) => void): Promise<PgRunLock> {
    const client = new pg.Client({
      connectionString: url,
      application_name: `btda ${scope} lock (pid ${process.pid} on ${hostname()})`,
      connectionTimeoutMillis: 10_000,
      // a holder whose host vanished is noticed by the server's keepalives; ours notices a vanished server
      keepAlive: true,
    });
    let lock: PgRunLock | undefined;
    client.on('error', (err) => {
      if (lock && !lock.released) onLost?.(err);
    });
    try {
      await client.connect();
      const database = await currentDatabase(client);
      const key = advisoryKey(database, scope);
      const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
      if (!r.rows[0].ok) {
        const holder = await describeHolder(client, key);
        throw new RunLockedError(
          `another btda run (${holder}) holds the ${scope} lock of ${redactUrl(url)}; ` +
            'it is released when that run ends or its connection is gone',
        );
      }
      lock = new PgRunLock(client, key);
      return lock;
    } catch (err) {
      await client.end().catch(() => {});
      throw err;
    }
  }

  /** Unlocks and closes the connection (closing alone would release it too). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    try {
      // bounded: a server that stopped answering must not hold up the end of a run (ending the connection unlocks too)
      await this.client.query({ text: 'SELECT pg_advisory_unlock($1::bigint)', values: [this.key], query_timeout: 5000 } as pg.QueryConfig);
    } catch {
      // the connection is gone, and the lock with it
    }
    await this.client.end().catch(() => {});
  }
}

/** Who holds the lock, as far as pg_stat_activity shows it to us. */
async function describeHolder(client: pg.Client, key: string): Promise<string> {
  const k = BigInt.asUintN(64, BigInt(key));
  try {
    const r = await client.query<{ application_name: string; client_addr: string | null; backend_start: Date }>(
      `SELECT a.application_name, host(a.client_addr) AS client_addr, a.backend_start
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::oid AND l.objid = $2::oid AND l.objsubid = 1
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [(k >> 32n).toString(), (k & 0xffffffffn).toString()],
    );
    const h = r.rows[0];
    if (!h) return 'a session that just ended';
    return `${h.application_name || 'unnamed session'}${h.client_addr ? ` from ${h.client_addr}` : ''}, connected ${h.backend_start.toISOString()}`;
  } catch {
    return 'another session';
  }
}
