// PgStore on a real PostgreSQL on loopback: migrations (also by several hosts at once), small queries, and
// the run lock as an advisory lock: refused while held, released at release() and when the holder dies.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { StoreError } from '../../src/store/database.ts';
import { redactUrl } from '../../src/store/pg/connection.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { RunLockedError } from '../../src/store/run-lock.ts';
import { postgresSkipReason, startPostgres, type PgServer } from '../helpers/postgres.ts';

const HOLDER = fileURLToPath(new URL('../helpers/pg-lock-holder.ts', import.meta.url));
const skip = postgresSkipReason();
let server: PgServer | undefined;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

test('hosts that open a new database at once migrate it once; reopening changes nothing', { skip }, async () => {
  const url = await server!.createDatabase('migrate_once');
  const stores = await Promise.all([PgStore.open(url), PgStore.open(url), PgStore.open(url)]);
  const again = await PgStore.open(url);
  try {
    const applied = await again.pool.query<{ n: number }>('SELECT count(*) AS n FROM drizzle.__drizzle_migrations');
    // each migration once, however many hosts raced to apply them
    const migrations = readdirSync(new URL('../../src/store/migrations-pg/', import.meta.url)).filter((f) => f.endsWith('.sql')).length;
    assert.equal(applied.rows[0].n, migrations);
    await again.setMeta('address_key', 'abc');
    await again.setMeta('address_key', 'def');
    assert.equal(await stores[0].meta('address_key'), 'def');
    assert.equal(await stores[1].meta('missing'), null);
    assert.equal(await stores[2].hasPeers(), false);
    const run = await stores[0].startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: Date.parse('2026-01-01T00:00:00Z') });
    await stores[1].endRun(run, 'completed', Date.parse('2026-01-01T01:00:00Z'));
    const row = (await again.pool.query('SELECT id, started_at, ended_at, exit_reason, threshold FROM runs')).rows[0];
    assert.deepEqual(row, { id: run, started_at: '2026-01-01T00:00:00.000Z', ended_at: '2026-01-01T01:00:00.000Z', exit_reason: 'completed', threshold: 0.98 });
  } finally {
    await Promise.all([...stores, again].map((s) => s.close()));
  }
});

test('a server that does not answer is one clear line, without the password', { skip }, async () => {
  // a port that was free a moment ago: nothing listens there
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const url = `postgres://btda:secret@127.0.0.1:${port}/nothing`;
  await assert.rejects(PgStore.open(url), (err: Error) => {
    assert.ok(err instanceof StoreError);
    assert.match(err.message, /^cannot open database postgres:\/\/btda:\*\*\*@127\.0\.0\.1:\d+\/nothing: .*ECONNREFUSED/);
    assert.ok(!err.message.includes('secret'));
    assert.ok(!err.message.includes('\n'));
    return true;
  });
  assert.equal(redactUrl('postgresql://u:p@h/db'), 'postgresql://u:***@h/db');
});

test('the run lock: a second run is refused while the first holds it, and may take it after release', { skip }, async () => {
  const url = await server!.createDatabase('lock_release');
  const a = await PgStore.open(url);
  const b = await PgStore.open(url);
  try {
    const lock = await a.acquireRunLock();
    await assert.rejects(b.acquireRunLock(), (err: Error) => {
      assert.ok(err instanceof RunLockedError);
      assert.match(err.message, new RegExp(`another btda run \\(btda run lock \\(pid ${process.pid} on .+\\) from 127\\.0\\.0\\.1, connected .+\\) holds the run lock of postgres://btda@127\\.0\\.0\\.1:\\d+/lock_release`));
      return true;
    });
    // another scope (a shard) is another lock
    const shard = await b.acquireRunLock('shard 2/2');
    await shard.release();
    await lock.release();
    const taken = await b.acquireRunLock();
    await taken.release();
  } finally {
    await a.close();
    await b.close();
  }
});

test('a killed holder: the server releases its lock when its connection is gone', { skip }, async () => {
  const url = await server!.createDatabase('lock_killed');
  const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, url], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const store = await PgStore.open(url);
  try {
    const first = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('holder did not report within 30 s')), 30_000);
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) {
          clearTimeout(timer);
          resolve(out.trim());
        }
      });
    });
    assert.equal(first, 'locked');
    await assert.rejects(store.acquireRunLock(), RunLockedError);
    child.kill('SIGKILL');
    await exited;
    // the server notices the closed socket at once on loopback; allow a loaded machine some time
    let lock;
    for (let i = 0; i < 100 && !lock; i++) {
      lock = await store.acquireRunLock().catch((err) => {
        if (!(err instanceof RunLockedError)) throw err;
        return undefined;
      });
      if (!lock) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(lock, 'the lock of the killed run was released within 10 s');
    await lock.release();
  } finally {
    child.kill('SIGKILL');
    await store.close();
  }
});

test('a lock whose connection the server ends is reported lost', { skip }, async () => {
  const url = await server!.createDatabase('lock_lost');
  const store = await PgStore.open(url);
  try {
    let lost: Error | undefined;
    let reported!: () => void;
    const lockLost = new Promise<void>((resolve) => (reported = resolve));
    await store.acquireRunLock('run', (err) => {
      lost = err;
      reported();
    });
    // the administrator (or a failover) ends the holder's session
    await store.pool.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'btda run lock%' AND datname = current_database()");
    await Promise.race([lockLost, new Promise((_, reject) => setTimeout(() => reject(new Error('not reported within 10 s')), 10_000))]);
    assert.ok(lost);
    const again = await store.acquireRunLock();
    await again.release();
  } finally {
    await store.close();
  }
});
