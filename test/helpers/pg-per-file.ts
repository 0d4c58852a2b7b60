// What every test file on a real PostgreSQL sets up: one server for the file's tests (started before them,
// stopped after), a temporary folder for its own files, a query helper, and a bounded wait.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { postgresSkipReason, startPostgres, type PgServer } from './postgres.ts';

/** Call at the top of a test file; `skip` says why there is no server here (the tests then skip). */
export function postgresPerFile(prefix: string): { skip: string | undefined; root: string; server: () => PgServer } {
  const skip = postgresSkipReason();
  const root = mkdtempSync(join(tmpdir(), prefix));
  let server: PgServer | undefined;
  before(async () => {
    if (!skip) server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });
  return { skip, root, server: () => server! };
}

/** The rows of one query on its own connection (text for bigint, as `pg` gives them). */
export async function queryRows<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Waits until `what` holds, or `ms` have passed (the assertions after it say what did not happen). */
export async function until(what: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !what()) await new Promise((r) => setTimeout(r, 100));
}
