// --pull-interval: two sharded crawls with --store-ip on one real PostgreSQL. A peer of shard 1's share is named
// ONLY to shard 2 (its peers file): shard 2 does not dial it but stores it, pushes it, and shard 1 pulls it,
// dials it and counts its crossing, once. A pull that fails (the server unreachable) is a counted line and
// the crawl goes on; the next pull after the server is back reads what was missed. And the watermark: a
// second pull reads nothing new.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Config } from '../../src/config.ts';
import { runCrawl } from '../../src/cli/crawl.ts';
import type { Logger } from '../../src/log.ts';
import { PeerPull, queueSource } from '../../src/cli/pull-peers.ts';
import { silentLogger } from '../../src/log.ts';
import { Shard, shardOf } from '../../src/queue/shard.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { OtherHostsPeers, spoolTorrents, type OtherHostPeer } from '../../src/store/pg/pull-peers.ts';
import { BLOCK_IDS, Spool } from '../../src/store/pg/spool.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent, type MadeTorrent } from '../helpers/make-torrent.ts';
import { postgresPerFile, queryRows, until } from '../helpers/pg-per-file.ts';
import { startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { hs } from '../helpers/shard-trajectories.ts';
import { relay } from '../helpers/tcp-relay.ts';

const PIECES = 100;
const { skip, root, server: pgServer } = postgresPerFile('btda-pg-pull-');

function keyFile(name: string): string {
  const path = join(root, name);
  writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return path;
}

/** A host's folder with the torrent and a peers file naming `peers` (none: no peers file). */
function host(name: string, made: MadeTorrent, peers: ScriptedPeer[], over: Partial<Config>): Config {
  const dir = join(root, name);
  mkdirSync(join(dir, 'input'), { recursive: true });
  copyFileSync(made.path, join(dir, 'input', 'x.torrent'));
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, peers.map((p) => `127.0.0.1:${p.port}`).join('\n') + '\n');
  return testConfig(dir, {
    inputPath: join(dir, 'input'), peersFile: peers.length > 0 ? peersFile : undefined, storeIp: true, pushInterval: 0.3, pullInterval: 0.3,
    active: 8, timeout: 0.6, contactLimit: 5, openingGrace: 0.2, revisitDelay: 3600, retryDelay: 0.5, maxFailures: 2, ...over,
  });
}

/** Scripted peers until one falls to `shard` of 2 (each port is a coin toss; bounded). */
async function peerOfShard(infoHash: Buffer, shard: number, script: Parameters<typeof startScriptedPeer>[0]['script']): Promise<ScriptedPeer> {
  for (let i = 0; i < 40; i++) {
    const p = await startScriptedPeer({ infoHash, pieces: PIECES, script });
    if (shardOf(infoHash.toString('hex'), '127.0.0.1', p.port, 2) === shard) return p;
    await p.close();
  }
  throw new Error(`no port of shard ${shard} in 40 tries`);
}

/** A crossing within one contact: 97 of 100 pieces, then the last three. */
const crosser = () => [hs, { bitfield: 97 }, { wait: 400 }, { have: [97, 98, 99] }];
const seed = () => [hs, { haveAll: true as const }];

test('a peer of shard 1 named only to shard 2 is pulled and dialled by shard 1, its crossing counted once', { skip, timeout: 90_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const onlyAtTwo = await peerOfShard(infoHash, 1, crosser); // shard 1's share, named only to shard 2
  const own = await peerOfShard(infoHash, 2, seed); // shard 2's own
  const url = await pgServer().createDatabase('pulled');
  const key = keyFile('pulled.key');
  const one = startCrawl(host('one', made, [], { db: url, shard: '1/2', keyFile: key }));
  const two = startCrawl(host('two', made, [onlyAtTwo, own], { db: url, shard: '2/2', keyFile: key }));
  try {
    await until(() => onlyAtTwo.accepted >= 1 && own.accepted >= 1, 30_000);
    await new Promise((r) => setTimeout(r, 1000)); // the contact's results written and pushed
    for (const c of [one, two]) assert.equal((await c.stop()).exitReason, 'test over');

    // (dialled by one host: shard 2 would have a session of its own below; a retry after a slow contact is shard 1's)
    assert.deepEqual(await queryRows(url, 'SELECT count(*)::int AS n FROM confirmed_downloads'), [{ n: 1 }], 'its crossing, counted once');
    // the session that dialled it is shard 1's (its run's shard); shard 2's row of it is a discovery only
    const rows = await queryRows<{ shard: string | null; contacted: boolean; crossed: boolean; latest: number }>(url,
      `SELECT r.shard, p.first_seen IS NOT NULL AS contacted, p.crossed_at IS NOT NULL AS crossed, p.latest
        FROM peers p LEFT JOIN observations o ON o.peer_row = p.id LEFT JOIN runs r ON r.id = o.run_id
        WHERE p.port = ${onlyAtTwo.port} GROUP BY p.id, r.shard ORDER BY p.id`);
    const dialled = rows.filter((r) => r.contacted);
    assert.deepEqual(dialled, [{ shard: '1/2', contacted: true, crossed: true, latest: 1 }], JSON.stringify(rows));
    assert.ok(rows.some((r) => !r.contacted && r.latest === 0), `shard 2's discovery, no longer the latest: ${JSON.stringify(rows)}`);
    // the pull queues, it does not log a request of its own: the source stays the one shard 2 learnt it from
    const sources = await queryRows<{ sources: string }>(url, `SELECT DISTINCT sources FROM peers WHERE port = ${onlyAtTwo.port}`);
    assert.deepEqual(sources, [{ sources: 'file' }]);
  } finally {
    await one.stop();
    await two.stop();
    await onlyAtTwo.close();
    await own.close();
  }
});

test('a pull that fails (the server unreachable) is a counted line, the crawl goes on, and the next pull reads what it missed', { skip, timeout: 90_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const late = await peerOfShard(infoHash, 1, crosser);
  const direct = await pgServer().createDatabase('failing');
  const r = await relay(pgServer().port);
  const url = direct.replace(`:${pgServer().port}/`, `:${r.port()}/`);
  const key = keyFile('failing.key');
  const lines: string[] = [];
  const log: Logger = { debug: () => {}, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const controller = new AbortController();
  const crawl = runCrawl(host('fail1', made, [], { db: url, shard: '1/2', keyFile: key, pullInterval: 0.2 }), { log, signal: controller.signal });
  try {
    await until(() => lines.some((l) => l.includes('pushed to')), 10_000); // started
    await r.down();
    await until(() => lines.some((l) => l.startsWith('warn cannot pull')), 10_000);
    assert.ok(lines.some((l) => /^warn cannot pull the other hosts' peers: .*\(failed pulls: \d+; the next pull retries\)$/.test(l)), lines.join('\n'));
    await new Promise((res) => setTimeout(res, 600)); // more failed pulls: one line while they keep failing
    assert.equal(lines.filter((l) => l.startsWith('warn cannot pull')).length, 1, lines.join('\n'));

    // meanwhile another host (shard 2, here straight on the server) stores a peer of shard 1's share
    const two = startCrawl(host('fail2', made, [late], { db: direct, shard: '2/2', keyFile: key }));
    await new Promise((res) => setTimeout(res, 1500));
    assert.equal((await two.stop()).exitReason, 'test over');
    assert.equal(late.accepted, 0, 'shard 2 does not dial it');

    await r.up();
    await until(() => late.accepted >= 1, 20_000);
    assert.ok(late.accepted >= 1, 'the crawl went on, and a pull after the outage read it');
  } finally {
    controller.abort('test over');
    const summary = await crawl;
    assert.equal(summary.exitReason, 'test over');
    await r.down().catch(() => {});
    await late.close();
  }
  const last = lines.find((l) => l.startsWith('info pulled '));
  assert.match(last ?? '', /^info pulled 1 endpoints of shard 1\/2 that other hosts learnt \(1 new, 0 known, 0 skipped; \d+ rows read\) in \d+ pulls; \d+ pulls failed$/, lines.join('\n'));
});

test('the watermark: a second pull reads nothing new, a new row of another block is read once, the cap bounds a pull', { skip, timeout: 60_000 }, async () => {
  const url = await pgServer().createDatabase('watermark');
  const store = PgStore.connect(url);
  await store.ready();
  const mine = await Spool.open(join(root, 'wm-mine.sqlite'), store);
  const other = await Spool.open(join(root, 'wm-other.sqlite'), store); // another host's block
  try {
    const [{ id: torrent }] = (await store.pool.query<{ id: number }>(`INSERT INTO torrents (info_hash, source, added_at, trackers)
      VALUES ('${'ab'.repeat(20)}', 'test', '2026-01-01T00:00:00Z', '[]') RETURNING id`)).rows;
    let n = 0;
    const addRows = async (block: number, count: number) => {
      for (let i = 0; i < count; i++) {
        n++;
        await store.pool.query(`INSERT INTO peers (id, torrent_id, address, address_key, ip, port, sources, discovered_at)
          VALUES ($1, $2, '127.0.0.0/24', $3, '127.0.0.1', $4, 'dht', '2026-01-01T00:00:00Z')`, [block * BLOCK_IDS + n, torrent, `k${n}`, 1000 + n]);
      }
    };
    await addRows(other.block, 5);
    await addRows(mine.block, 2); // our own rows are never pulled
    await addRows(0, 1); // a row written without a spool (a merge into PostgreSQL)
    const pull = async (p: OtherHostsPeers) => {
      const got: OtherHostPeer[] = [];
      const read = await p.pull((rows) => {
        got.push(...rows);
      });
      assert.equal(read, got.length);
      return got.map((r) => r.port).sort();
    };
    const capped = new OtherHostsPeers(mine, store, { pageRows: 2, maxRows: 4, queryTimeoutMs: 10_000 });
    const first = await pull(capped);
    assert.equal(first.length, 4, 'the cap: at most 4 rows per pull');
    const second = await pull(capped);
    assert.deepEqual([...first, ...second].sort(), [1001, 1002, 1003, 1004, 1005, 1008], 'every other block\'s row once, none of ours');
    assert.deepEqual(await pull(capped), [], 'nothing new');
    await addRows(other.block, 1);
    assert.deepEqual(await pull(capped), [1009]);
    // the watermarks are in the spool: the next run goes on from them
    assert.deepEqual(await pull(new OtherHostsPeers(mine, store)), []);
    const info = (await pull(new OtherHostsPeers(other, store))).length;
    assert.equal(info, 3, 'the other host reads our two rows and block 0\'s');
  } finally {
    mine.db.close();
    other.db.close();
    await store.close();
  }
});

test('pulled rows: the run\'s torrents are queued with the source the other host recorded, another torrent\'s are kept in the spool', { skip, timeout: 60_000 }, async () => {
  const url = await pgServer().createDatabase('kept');
  const store = PgStore.connect(url);
  await store.ready();
  const mine = await Spool.open(join(root, 'kept-mine.sqlite'), store);
  const other = await Spool.open(join(root, 'kept-other.sqlite'), store);
  try {
    // two torrents another host imported after this run started: the spool has neither yet
    const hashes = ['cd'.repeat(20), 'ef'.repeat(20)];
    const ids: number[] = [];
    for (const h of hashes) {
      ids.push((await store.pool.query<{ id: number }>(`INSERT INTO torrents (info_hash, source, added_at, trackers)
        VALUES ('${h}', 'test', '2026-01-01T00:00:00Z', '[]') RETURNING id`)).rows[0].id);
    }
    let n = 0;
    const ports: Record<string, number[]> = { [hashes[0]]: [], [hashes[1]]: [] };
    for (const [t, h] of hashes.entries()) {
      for (let port = 2000; ports[h].length < 3; port++) {
        n++;
        // shard 1's rows, one of shard 2's, one without an address
        const shard = shardOf(h, '127.0.0.1', port, 2);
        if (shard === 1) ports[h].push(port);
        else if (n % 3 !== 0) continue;
        await store.pool.query(`INSERT INTO peers (id, torrent_id, address, address_key, ip, port, sources, discovered_at)
          VALUES ($1, $2, '127.0.0.0/24', $3, $4, $5, 'dht,pex', '2026-01-01T00:00:00Z')`,
        [other.block * BLOCK_IDS + n, ids[t], `k${n}`, shard === 1 || n % 2 === 0 ? '127.0.0.1' : null, port]);
      }
    }
    // the run crawls the first torrent (as if in the spool at the start)
    const [first] = hashes;
    mine.db.sqlite.prepare(`INSERT INTO torrents (info_hash, source, added_at, trackers) VALUES (?, 'test', '2026-01-01T00:00:00Z', '[]')`).run(first);
    const firstId = mine.db.sqlite.prepare('SELECT id FROM torrents WHERE info_hash = ?').pluck().get(first) as number;
    const queued: { torrentId: number; ports: number[]; source: string }[] = [];
    const kept: { torrentId: number; port: number; source: string }[] = [];
    const pull = new PeerPull(new OtherHostsPeers(mine, store), spoolTorrents(mine, store), Shard.parse('1/2')!, silentLogger);
    const controller = new AbortController();
    pull.start({
      addPeers: (torrentId, peers, source) => {
        queued.push({ torrentId, ports: peers.map((p) => p.port), source });
        return { new: peers.length, duplicates: 0, skipped: 0 };
      },
      infoHashes: new Map([[firstId, first]]),
      writer: { peerDiscovered: (torrentId, _ip, port, source) => kept.push({ torrentId, port, source }) },
      signal: controller.signal,
    }, 60_000);
    await pull.pull();
    controller.abort();
    await pull.stop();
    assert.deepEqual(queued, [{ torrentId: firstId, ports: ports[first], source: 'dht' }]);
    const secondId = mine.db.sqlite.prepare('SELECT id FROM torrents WHERE info_hash = ?').pluck().get(hashes[1]) as number;
    assert.ok(secondId > 0, 'the torrent imported by another host was taken into the spool');
    assert.deepEqual(kept, ports[hashes[1]].map((port) => ({ torrentId: secondId, port, source: 'dht' })));
    assert.equal(pull.counts.failures, 0);
    assert.equal(pull.counts.kept, 3);
    assert.equal(pull.counts.new, 3);
    assert.match(pull.summary(), /^pulled 6 endpoints of shard 1\/2 that other hosts learnt \(3 new, 0 known, 0 skipped, 3 of torrents this run does not crawl kept for a later run; \d+ rows read\) in 1 pulls$/);
  } finally {
    mine.db.close();
    other.db.close();
    await store.close();
  }
});

test('the source a pulled peer is queued with', () => {
  assert.equal(queueSource('http,udp,dht'), 'http');
  assert.equal(queueSource('dht,pex'), 'dht');
  assert.equal(queueSource('incoming,file'), 'file', 'incoming belongs to this host\'s listener');
  assert.equal(queueSource('incoming'), 'pex');
  assert.equal(queueSource(''), 'file');
});
