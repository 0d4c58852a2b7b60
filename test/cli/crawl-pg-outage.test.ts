// A scheduled run on PostgreSQL while the server is away (a restart, the network): it measures into the spool of
// the earlier runs instead of failing, its pushes fail with one line each, and once the server answers the next
// push delivers what it measured, so a crossing seen across the outage is counted. Without a spool to crawl
// into, the run refuses with one line. The server is made unreachable by a TCP relay in front of it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { StoreError } from '../../src/store/database.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { postgresPerFile, queryRows, until } from '../helpers/pg-per-file.ts';
import { startScriptedPeer } from '../helpers/scripted-peer.ts';
import { hs } from '../helpers/shard-trajectories.ts';
import { relay } from '../helpers/tcp-relay.ts';

const PIECES = 100;
const { skip, root, server: pgServer } = postgresPerFile('btda-pg-outage-');



test('the server away at the start: the run measures into its spool, and a later push delivers it', { skip, timeout: 90_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  // 10 pieces in the first run, 50 in the run during the outage, complete in the run after it
  const peer = await startScriptedPeer({ infoHash, pieces: PIECES, script: (n) => [hs, { bitfield: [10, 50][n] ?? 100 }] });
  const direct = await pgServer().createDatabase('outage');
  const r = await relay(pgServer().port);
  const url = direct.replace(`:${pgServer().port}/`, `:${r.port()}/`);
  mkdirSync(join(root, 'input'));
  copyFileSync(made.path, join(root, 'input', 'x.torrent'));
  const peersFile = join(root, 'peers.txt');
  writeFileSync(peersFile, `127.0.0.1:${peer.port}\n`);
  const keyFile = join(root, 'btda.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const spool = join(root, 'spool.sqlite');
  const config = testConfig(root, {
    db: url, spool, keyFile, inputPath: join(root, 'input'), peersFile, pushInterval: 0.3,
    active: 4, timeout: 0.6, contactLimit: 5, openingGrace: 0.2, revisitDelay: 3600, retryDelay: 0.5, maxFailures: 2,
  });
  const visit = async (visits: number) => {
    const crawl = startCrawl(config);
    await until(() => peer.accepted >= visits);
    await new Promise((res) => setTimeout(res, 500));
    assert.equal((await crawl.stop()).exitReason, 'test over');
  };
  const runs = async () => (await queryRows<{ id: number }>(direct, 'SELECT id FROM runs')).length;
  try {
    await visit(1);
    assert.equal(await runs(), 1);

    await r.down();
    await visit(2); // starts although the server cannot be reached
    assert.equal(await runs(), 1, 'nothing reached the server during the outage');
    const lite = new Sqlite(spool, { readonly: true });
    assert.deepEqual(lite.prepare('SELECT pieces FROM observations ORDER BY id').all(), [{ pieces: 10 }, { pieces: 50 }], 'the spool kept the outage run');
    lite.close();

    await r.up();
    await visit(3);
    assert.equal(await runs(), 3, 'the outage run was pushed by the next');
    const evidence = await queryRows<{ pieces: number }>(direct, 'SELECT pieces FROM observations ORDER BY id');
    assert.deepEqual(evidence.map((e) => e.pieces), [10, 50, 100]);
    assert.deepEqual(await queryRows(direct, 'SELECT count(*)::int AS n FROM confirmed_downloads'), [{ n: 1 }]);

    // no spool to crawl into: the run refuses with one line
    await r.down();
    await assert.rejects(startCrawl({ ...config, spool: join(root, 'new-spool.sqlite') }).done, (err: Error) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /^cannot open database postgres:\/\/[^\n]*$/);
      return true;
    });
  } finally {
    await r.down().catch(() => {});
    await peer.close();
  }
});

test('a run lock lost with its connection: pushes wait until the run takes it again, never while another process holds it', { skip, timeout: 90_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const peer = await startScriptedPeer({ infoHash, pieces: PIECES, script: () => [hs, { bitfield: 100 }] });
  const url = await pgServer().createDatabase('lock_lost');
  const dir = join(root, 'lock');
  mkdirSync(join(dir, 'input'), { recursive: true });
  copyFileSync(made.path, join(dir, 'input', 'x.torrent'));
  writeFileSync(join(dir, 'peers.txt'), `127.0.0.1:${peer.port}\n`);
  const keyFile = join(dir, 'btda.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const config = testConfig(dir, {
    db: url, spool: join(dir, 'spool.sqlite'), keyFile, inputPath: join(dir, 'input'), peersFile: join(dir, 'peers.txt'), pushInterval: 0.2,
    active: 2, timeout: 0.6, contactLimit: 5, openingGrace: 0.2, revisitDelay: 0.5, revisitComplete: true, retryDelay: 0.5,
  });
  const lockHolders = async () => (await queryRows<{ pid: number }>(url,
    `SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'btda run lock%'`)).map((r) => r.pid);
  const poll = async (what: () => Promise<boolean>, ms = 15_000) => {
    const end = Date.now() + ms;
    while (Date.now() < end) {
      if (await what()) return true;
      await new Promise((res) => setTimeout(res, 100));
    }
    return false;
  };
  // each revisit of the seed adds a visit to its session (its state, unchanged, adds no observation)
  const visits = async () => (await queryRows<{ n: number }>(url, 'SELECT coalesce(sum(visits), 0)::int AS n FROM peers'))[0].n;
  const crawl = startCrawl(config);
  const other = await PgStore.open(url);
  try {
    assert.ok(await poll(async () => (await lockHolders()).length === 1), 'the run holds its lock');
    assert.ok(await poll(async () => (await visits()) > 0), 'pushes deliver the visits');
    const [first] = await lockHolders();
    // the lock's connection ends: the next push takes the lock again
    await queryRows(url, `SELECT pg_terminate_backend(${first})`);
    assert.ok(await poll(async () => { const h = await lockHolders(); return h.length === 1 && h[0] !== first; }), 'taken again by the next push');
    // lost again, and another process of this shard takes it first: this run pushes nothing while that one holds it
    const [second] = await lockHolders();
    await queryRows(url, `SELECT pg_terminate_backend(${second})`);
    let taken: Awaited<ReturnType<PgStore['acquireRunLock']>> | undefined;
    assert.ok(await poll(async () => {
      taken = await other.acquireRunLock('run').catch(() => undefined);
      return taken !== undefined;
    }), 'the test takes the free lock');
    await new Promise((res) => setTimeout(res, 600)); // pushes in flight when the lock was lost end
    const before = await visits();
    await new Promise((res) => setTimeout(res, 1500)); // revisits keep coming, each a visit in the spool
    assert.equal(await visits(), before, 'no push while another process holds the lock');
    await taken!.release();
    assert.ok(await poll(async () => (await visits()) > before), 'pushes go on once the run has its lock again');
    assert.equal((await lockHolders()).length, 1);
    assert.equal((await crawl.stop()).exitReason, 'test over');
  } finally {
    await other.close();
    await peer.close();
  }
});
