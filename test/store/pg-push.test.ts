// Spool and push on a real PostgreSQL: after crawl-like writes into a spool (the ResultWriter, as a crawl
// writes), a push makes every table in PostgreSQL equal to the spool's (same ids; runs and torrents mapped);
// a second push sends only the delta; a push while the server is unreachable fails with one line and the
// next one delivers everything; a newer session of another host at the same endpoint stays `latest`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { StoreError } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { PgPusher } from '../../src/store/pg/push.ts';
import { BLOCK_IDS, pullTorrents, Spool } from '../../src/store/pg/spool.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { postgresPerFile } from '../helpers/pg-per-file.ts';
import { relay } from '../helpers/tcp-relay.ts';

const { skip, root, server: pgServer } = postgresPerFile('btda-push-');

const T0 = Date.parse('2026-01-01T10:00:00Z');
const at = (s: number) => T0 + s * 1000;
const KEY = Buffer.alloc(32, 7); // every host crawls with one key
const FACTS = { pieceSize: 16_384, thresholdPieces: 98 };
const HASH = 'ab'.repeat(20);
let spools = 0;

/** A spool of `url` with one torrent and a run being written, as a crawl opens it. */
async function host(url: string, name: string, roundRows?: number) {
  const store = await PgStore.open(url);
  const spool = await Spool.open(join(root, `${name}-${spools++}.sqlite`), store);
  const db = spool.db;
  // another torrent first, so that spool ids and PostgreSQL ids differ and the mapping shows
  db.addTorrent({ infoHash: `${name.length}`.padEnd(40, 'c'), infoHashV2: null, name: 'other', pieces: 10, pieceSize: 16_384, totalSize: 163_840, trackers: [] }, 'o.torrent', null, T0);
  const t = db.addTorrent({ infoHash: HASH, infoHashV2: null, name: 'x', pieces: 100, pieceSize: 16_384, totalSize: 1_638_400, trackers: ['udp://127.0.0.1:1'] }, 'x.torrent', 'A', T0)!;
  db.setThreshold(0.98);
  const runId = db.startRun({ version: 't', args: JSON.stringify(['--db', url.replace('btda@', 'btda:secret@')]), host: name, threshold: 0.98, startedAt: T0, shard: '1/2' });
  const writer = new ResultWriter(db, { runId, hasher: new AddressHasher(KEY), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0, runStartedAt: T0 });
  const pusher = new PgPusher(spool, store, { roundRows });
  pusher.liveRun = runId;
  const close = async () => {
    db.close();
    await store.close();
  };
  return { store, spool, db, torrentId: t.id, runId, writer, pusher, close };
}
type Host = Awaited<ReturnType<typeof host>>;

/** A crawl's worth of everything: crossings across visits and inside one, a restart, a seed, an inbound peer, failures, collectors' rows. */
function crawlLikeWrites(h: Host, offset = 0): void {
  const { writer, torrentId: t } = h;
  const c = (ip: string, over: Parameters<typeof contactResult>[0]) => writer.contact(contactResult({ torrentId: t, ip, ...over }), 'http', FACTS);
  writer.peerDiscovered(t, '81.2.69.1', 6881, 'http', at(offset));
  writer.peerDiscovered(t, '81.2.69.9', 51413, 'dht', at(offset));
  c('81.2.69.1', { openingPieces: 10, endPieces: 10, startedAt: at(offset), openedAt: at(offset), endedAt: at(offset + 5) });
  c('81.2.69.1', { event: 'later', openingPieces: 98, endPieces: 100, startedAt: at(offset + 300), openedAt: at(offset + 300), endedAt: at(offset + 305) });
  c('81.2.69.2', { openingPieces: 100, endPieces: 100, longestWaitMs: 3200 });
  c('81.2.69.3', { openingPieces: 90, endPieces: 100, crossedAt: at(offset + 3), crossedPieces: 98, startedAt: at(offset), openedAt: at(offset), endedAt: at(offset + 6) });
  // a restart: the same program at the same address:port with a new peer id, now complete
  c('81.2.69.4', { openingPieces: 50, endPieces: 50, startedAt: at(offset), openedAt: at(offset), peerId: Buffer.from('-TR3000-aaaaaaaaaaaa') });
  c('81.2.69.4', { event: 'later', openingPieces: 100, endPieces: 100, startedAt: at(offset + 400), openedAt: at(offset + 400), peerId: Buffer.from('-TR3000-bbbbbbbbbbbb') });
  c('2001:db8::5', { event: 'incoming', port: 40000, listenPort: 6882, openingPieces: 20, endPieces: 21, encrypted: true });
  c('81.2.69.6', { reason: 'refused', openingPieces: null, endPieces: null });
  c('81.2.69.7', { event: 'later', reason: 'timeout', openingPieces: null, endPieces: null });
  writer.request({ torrentId: t, kind: 'udp', url: 'udp://127.0.0.1:1', startedAt: at(offset), durationMs: 12, received: 5, new: 4, duplicates: 1, skipped: 0, error: null });
  writer.request({ torrentId: null, kind: 'incoming', url: null, startedAt: at(offset), durationMs: 60_000, received: 1, new: 1, duplicates: 0, skipped: 0, error: 'a "quoted", {odd} \\ value' });
  writer.scrape({ torrentId: t, tracker: 'udp://127.0.0.1:1', at: at(offset), seeders: 5, leechers: null, downloaded: 5_000_000_000 });
  writer.statistics({ at: at(offset + 60), queue: 10, inFlight: 2, evaluations: 9, successes: 7, incoming: 1, peersKnown: 8, rssMb: 123.5, loadAverage: null, watching: 1 });
  assert.ok(writer.flush());
}

const ORDER: Record<string, string> = {
  peers: 'id', observations: 'id', requests: 'id', scrapes: 'id', statistics: 'id',
  outcomes: 'run_id, torrent_id, event, reason', contact_waits: 'run_id, torrent_id, event, wait_s',
};

/** Every table of the spool equals its rows in PostgreSQL: the same ids and values, run and torrent ids mapped. */
async function assertPushed(h: Host): Promise<void> {
  const { db, store, spool, pusher } = h;
  const lite = (sql: string) => db.sqlite.prepare(sql).all() as Record<string, unknown>[];
  const pgRows = async (sql: string, params: unknown[] = []) => (await store.pool.query(sql, params)).rows as Record<string, unknown>[];
  const torrentIds = new Map<unknown, unknown>();
  for (const t of lite('SELECT * FROM torrents ORDER BY id')) {
    const [row] = await pgRows('SELECT * FROM torrents WHERE info_hash = $1', [t.info_hash]);
    assert.ok(row, `torrent ${t.info_hash} pushed`);
    torrentIds.set(t.id, row.id);
    assert.deepEqual({ ...row, id: t.id }, t);
  }
  const runIds = new Map<unknown, unknown>();
  for (const r of lite('SELECT * FROM runs ORDER BY id')) {
    const id = pusher.pgRunId(r.id as number);
    const [row] = await pgRows('SELECT * FROM runs WHERE id = $1', [id]);
    runIds.set(r.id, id);
    assert.equal(row.origin, `spool block ${spool.block} run ${r.id}`);
    assert.ok(!String(row.args).includes('secret'), 'the password stays out of runs.args');
    assert.deepEqual({ ...row, id: r.id, origin: r.origin, args: r.args }, { ...r, args: r.args });
  }
  const map = (row: Record<string, unknown>) => ({
    ...row,
    ...('run_id' in row ? { run_id: runIds.get(row.run_id) } : {}),
    ...('torrent_id' in row && row.torrent_id !== null ? { torrent_id: torrentIds.get(row.torrent_id) ?? row.torrent_id } : {}),
  });
  for (const [table, order] of Object.entries(ORDER)) {
    const mine = lite(`SELECT * FROM ${table} ORDER BY ${order}`).map(map);
    const where = order === 'id' ? 'id >= $1 AND id < $2' : 'run_id = ANY($3::bigint[])';
    const theirs = await pgRows(`SELECT * FROM ${table} WHERE ${where.replace('$3', order === 'id' ? '$3' : '$1')} ORDER BY ${order}`,
      order === 'id' ? [spool.firstId, spool.firstId + BLOCK_IDS] : [[...runIds.values()]]);
    assert.ok(mine.length > 0, `${table} has rows`);
    assert.deepEqual(theirs, mine, `${table} in PostgreSQL equals the spool's`);
  }
}

test('a push makes PostgreSQL equal the spool, table by table; a second push sends only the delta', { skip }, async () => {
  const url = await pgServer().createDatabase('push_equal');
  const h = await host(url, 'host1');
  try {
    assert.ok(h.spool.firstId >= BLOCK_IDS, 'the spool ids start at its block');
    crawlLikeWrites(h);
    const first = await h.pusher.push();
    await assertPushed(h);
    assert.equal(first.runs, 1);
    assert.equal(first.torrents, 2);
    const peers = (h.db.sqlite.prepare('SELECT count(*) n FROM peers').get() as { n: number }).n;
    assert.equal(first.peers, peers);
    const [{ n: confirmed }] = (await h.store.pool.query('SELECT count(*) AS n FROM confirmed_downloads')).rows;
    assert.equal(confirmed, 2);

    // nothing new: nothing but the live run's counters again
    const idle = await h.pusher.push();
    assert.deepEqual({ ...idle, outcomes: 0, contact_waits: 0 }, { torrents: 0, runs: 0, peers: 0, demoted: 0, twins: 0, observations: 0, requests: 0, scrapes: 0, statistics: 0, outcomes: 0, contact_waits: 0 });

    // one more visit of one peer, a request: only those travel
    const before = (h.db.sqlite.prepare('SELECT max(id) m FROM observations').get() as { m: number }).m;
    h.writer.contact(contactResult({ torrentId: h.torrentId, ip: '81.2.69.2', event: 'later', openingPieces: 100, endPieces: 100, startedAt: at(900), peerId: Buffer.from('-qB4500-cccccccccccc') }), 'http', FACTS);
    h.writer.request({ torrentId: h.torrentId, kind: 'dht', url: null, startedAt: at(900), durationMs: 1, received: 0, new: 0, duplicates: 0, skipped: 0, error: null });
    assert.ok(h.writer.flush());
    const newObservations = (h.db.sqlite.prepare('SELECT count(*) n FROM observations WHERE id > ?').get(before) as { n: number }).n;
    const delta = await h.pusher.push();
    assert.equal(delta.peers, 2, 'the new session and the one it demoted');
    assert.equal(delta.observations, newObservations);
    assert.equal(delta.requests, 1);
    assert.equal(delta.runs + delta.torrents, 0);
    await assertPushed(h);

    // the run ends: its row and final counts arrive, and its counters are not sent again
    h.db.endRun(h.runId, 'completed', at(1000));
    h.pusher.liveRun = null;
    assert.equal((await h.pusher.push()).runs, 1);
    await assertPushed(h);
    const done = await h.pusher.push();
    assert.equal(done.outcomes + done.contact_waits, 0);
  } finally {
    await h.close();
  }
});

test('a spool larger than a round is pushed in rounds, each its own transaction, to the same result', { skip }, async () => {
  const h = await host(await pgServer().createDatabase('push_rounds'), 'host1', 3);
  try {
    crawlLikeWrites(h);
    crawlLikeWrites(h, 3600);
    const counts = await h.pusher.push();
    await assertPushed(h);
    const peers = (h.db.sqlite.prepare('SELECT count(*) n FROM peers').get() as { n: number }).n;
    assert.equal(counts.peers, peers, 'each changed peers row sent once, however often it changed');
  } finally {
    await h.close();
  }
});

test('a peer changed while a push is on its way is sent by the next push', { skip }, async () => {
  const h = await host(await pgServer().createDatabase('push_during'), 'host1');
  try {
    crawlLikeWrites(h);
    const pushing = h.pusher.push();
    await new Promise((r) => setImmediate(r)); // the push has read the spool and waits for the server
    h.writer.contact(contactResult({ torrentId: h.torrentId, ip: '81.2.69.1', event: 'later', openingPieces: 100, endPieces: 100, startedAt: at(2000) }), 'http', FACTS);
    assert.ok(h.writer.flush());
    await pushing;
    const visits = async () => (await h.store.pool.query<{ visits: number }>('SELECT visits FROM peers WHERE first_pieces = 10')).rows[0]?.visits;
    assert.equal(await visits(), 2, 'the push sent the row as it was read');
    assert.equal((await h.pusher.push()).peers, 1);
    assert.equal(await visits(), 3);
    await assertPushed(h);
  } finally {
    await h.close();
  }
});

test('a push cut short by a crash: its rows are sent again when the spool is opened next', { skip }, async () => {
  const url = await pgServer().createDatabase('push_crash');
  const h = await host(url, 'host1');
  crawlLikeWrites(h);
  // what a push leaves behind when the process dies while PostgreSQL has not committed: its ids in push_sending
  h.db.sqlite.exec('INSERT INTO push_sending (id) SELECT id FROM push_dirty; DELETE FROM push_dirty;');
  const path = h.spool.path;
  await h.close();
  const store = await PgStore.open(url);
  const spool = await Spool.open(path, store);
  try {
    const pusher = new PgPusher(spool, store);
    const peers = (spool.db.sqlite.prepare('SELECT count(*) n FROM peers').get() as { n: number }).n;
    assert.equal((await pusher.push()).peers, peers);
    assert.equal((await store.pool.query('SELECT count(*)::int AS n FROM peers')).rows[0].n, peers);
  } finally {
    spool.db.close();
    await store.close();
  }
});

test('a push while the server is unreachable fails with one line; the next one delivers everything', { skip }, async () => {
  const direct = await pgServer().createDatabase('push_outage');
  const r = await relay(pgServer().port);
  const h = await host(direct.replace(`:${pgServer().port}/`, `:${r.port()}/`), 'host1');
  try {
    crawlLikeWrites(h);
    await h.pusher.push();
    await r.down();
    crawlLikeWrites(h, 3600); // an hour later: new visits, new rows
    await assert.rejects(h.pusher.push(), (err: Error) => {
      assert.ok(err instanceof StoreError);
      assert.match(err.message, /^cannot push .*\.sqlite to postgres:\/\/btda@127\.0\.0\.1:\d+\/push_outage: \S/);
      assert.ok(!err.message.includes('\n'));
      return true;
    });
    assert.equal(h.pusher.failures, 1);
    await r.up();
    await h.pusher.push();
    await assertPushed(h);
  } finally {
    await h.close();
    await r.down().catch(() => {});
  }
});

test('a server that stops answering: the push fails after the query timeout, the next one delivers', { skip }, async () => {
  const direct = await pgServer().createDatabase('push_stall');
  const r = await relay(pgServer().port);
  const h = await host(direct.replace(`:${pgServer().port}/`, `:${r.port()}/`), 'host1');
  const pusher = new PgPusher(h.spool, h.store, { queryTimeoutMs: 1000 });
  pusher.liveRun = h.runId;
  try {
    crawlLikeWrites(h);
    await pusher.push();
    r.stall(true);
    crawlLikeWrites(h, 3600);
    const t0 = Date.now();
    await assert.rejects(pusher.push(), (err: Error) => err instanceof StoreError && /^cannot push .*: Query read timeout$/.test(err.message));
    assert.ok(Date.now() - t0 < 10_000, 'bounded by the query timeout');
    r.stall(false);
    await pusher.push();
    await assertPushed({ ...h, pusher });
  } finally {
    await h.close();
    await r.down().catch(() => {});
  }
});

test("a host's spool takes the database's torrents it lacks, and what another host learnt of a magnet", { skip }, async () => {
  const url = await pgServer().createDatabase('push_torrents');
  const a = await host(url, 'host1');
  const store = await PgStore.open(url);
  const b = await Spool.open(join(root, `b-${spools++}.sqlite`), store);
  try {
    await a.pusher.push();
    // host b knows x only as a magnet link: no metadata yet
    b.db.addTorrent({ infoHash: HASH, infoHashV2: null, name: null, pieces: null, pieceSize: null, totalSize: null, trackers: [] }, 'magnet:?xt=urn:btih:' + HASH, null, T0);
    assert.equal(await pullTorrents(b, store), 2);
    const cols = 'info_hash, name, pieces, piece_size, total_size';
    assert.deepEqual(b.db.sqlite.prepare(`SELECT ${cols} FROM torrents ORDER BY info_hash`).all(), a.db.sqlite.prepare(`SELECT ${cols} FROM torrents ORDER BY info_hash`).all());
    assert.equal(await pullTorrents(b, store), 0, 'nothing new the second time');
  } finally {
    b.db.close();
    await store.close();
    await a.close();
  }
});

test('the newest session at an endpoint stays latest whichever host pushes first', { skip }, async () => {
  for (const order of ['older first', 'newer first']) {
    const url = await pgServer().createDatabase(`push_latest_${order.split(' ')[0]}`);
    const older = await host(url, 'host1');
    const newer = await host(url, 'host2');
    try {
      // the same endpoint, two client sessions: host1 met the first, host2 (an inbound peer's advertised port,
      // or a shard that owns it) the next one an hour later
      const visit = (h: Host, s: number, id: string) => {
        h.writer.contact(contactResult({ torrentId: h.torrentId, ip: '81.2.69.50', port: 6881, openingPieces: 5, endPieces: 5, startedAt: at(s), openedAt: at(s), peerId: Buffer.from(id) }), 'http', FACTS);
        assert.ok(h.writer.flush());
      };
      visit(older, 0, '-TR3000-oooooooooooo');
      visit(newer, 3600, '-qB4500-nnnnnnnnnnnn');
      const pushes = order === 'older first' ? [older, newer] : [newer, older];
      const counts = [];
      for (const h of pushes) counts.push(await h.pusher.push());
      const latest = async () => (await older.store.pool.query('SELECT id, latest FROM peers ORDER BY id')).rows;
      const ids = [older, newer].map((h) => (h.db.sqlite.prepare('SELECT id FROM peers').get() as { id: number }).id);
      assert.deepEqual(await latest(), [{ id: ids[0], latest: 0 }, { id: ids[1], latest: 1 }], order);
      assert.equal(counts[1].demoted, order === 'older first' ? 1 : 0, `${order}: the older row is demoted, or arrives not latest`);
      // the older host visits its session again: still not the latest in the shared database
      visit(older, 7200, '-TR3000-oooooooooooo');
      await older.pusher.push();
      assert.deepEqual(await latest(), [{ id: ids[0], latest: 0 }, { id: ids[1], latest: 1 }], `${order}, after another push`);
    } finally {
      await older.close();
      await newer.close();
    }
  }
});

test('a dual-stack client whose two families belong to two hosts counts once, however the pushes interleave', { skip }, async () => {
  for (const order of ['v4 first', 'v6 first', 'at once']) {
    const url = await pgServer().createDatabase(`push_twins_${order.split(' ')[0]}`);
    const v4 = await host(url, 'host1');
    const v6 = await host(url, 'host2');
    try {
      // one client (one peer id) over IPv4 at host1's endpoint and IPv6 at host2's, seen below, then complete by each
      const cross = (h: Host, ip: string, id: string, s = 0) => {
        const c = (pieces: number, t: number) =>
          h.writer.contact(contactResult({ torrentId: h.torrentId, ip, port: 6881, openingPieces: pieces, endPieces: pieces, startedAt: at(t), openedAt: at(t), endedAt: at(t + 5), peerId: Buffer.from(id) }), 'http', FACTS);
        c(40, s);
        c(100, s + 600);
        assert.ok(h.writer.flush());
      };
      cross(v4, '81.2.69.60', '-TR3000-twintwintwin');
      cross(v6, '2001:db8::60', '-TR3000-twintwintwin', 30);
      // not twins: the same peer id at another IPv4 address (same family), and another client over IPv6 at the same time
      cross(v4, '81.2.69.61', '-TR3000-samesamesame');
      cross(v6, '81.2.69.62', '-TR3000-samesamesame');
      cross(v6, '2001:db8::61', '-qB4500-otherotherot');
      if (order === 'at once') await Promise.all([v4.pusher.push(), v6.pusher.push()]);
      else for (const h of order === 'v4 first' ? [v4, v6] : [v6, v4]) await h.pusher.push();
      const classes = async () =>
        (await v4.store.pool.query(`SELECT crossing_class AS c, suspect_reason AS r, count(*)::int AS n FROM peers GROUP BY 1, 2 ORDER BY 1, 2`)).rows;
      assert.deepEqual(await classes(), [{ c: 'confirmed', r: null, n: 4 }, { c: 'suspect', r: 'dual-stack', n: 1 }], order);
      // the spool whose crossing was set apart says so too, and later pushes keep it
      const apart = [v4, v6].flatMap((h) => h.db.sqlite.prepare(`SELECT id FROM peers WHERE suspect_reason = 'dual-stack'`).all() as { id: number }[]);
      assert.equal(apart.length, 1, order);
      for (const h of [v4, v6]) {
        cross(h, h === v4 ? '81.2.69.60' : '2001:db8::60', '-TR3000-twintwintwin', 1200);
        await h.pusher.push();
      }
      assert.deepEqual(await classes(), [{ c: 'confirmed', r: null, n: 4 }, { c: 'suspect', r: 'dual-stack', n: 1 }], `${order}, after more pushes`);
      const confirmed = (await v4.store.pool.query(`SELECT count(*)::int AS n FROM confirmed_downloads`)).rows[0].n;
      assert.equal(confirmed, 4, `${order}: the view counts the client once`);
    } finally {
      await v4.close();
      await v6.close();
    }
  }
});

test('a session that was contacted outranks another host\'s discovery at its endpoint, whichever came first', { skip }, async () => {
  const url = await pgServer().createDatabase('push_discovery_rank');
  const owner = await host(url, 'owner');
  const learner = await host(url, 'learner');
  try {
    const rows = async () => (await owner.store.pool.query('SELECT id, latest, first_seen IS NOT NULL AS contacted FROM peers ORDER BY id')).rows;
    const standing = async () => (await owner.store.pool.query('SELECT count(*)::int AS n FROM peers p WHERE NOT (p.latest = 0 AND p.first_seen IS NULL)')).rows[0].n;
    // the owner of the endpoint learns it first; another host learns it later and stores it for the owner to pull
    owner.writer.peerDiscovered(owner.torrentId, '81.2.69.70', 6881, 'http', at(0));
    assert.ok(owner.writer.flush());
    await owner.pusher.push();
    learner.writer.peerDiscovered(learner.torrentId, '81.2.69.70', 6881, 'dht', at(60));
    assert.ok(learner.writer.flush());
    await learner.pusher.push();
    const [o, l] = (await rows()).map((r) => r.id as number);
    assert.deepEqual(await rows(), [{ id: o, latest: 0, contacted: false }, { id: l, latest: 1, contacted: false }], 'two discoveries: the newer stands');
    // the owner contacts it: its session takes the endpoint back
    owner.writer.contact(contactResult({ torrentId: owner.torrentId, ip: '81.2.69.70', port: 6881, openingPieces: 5, endPieces: 5, startedAt: at(120), openedAt: at(120) }), 'http', FACTS);
    assert.ok(owner.writer.flush());
    const counts = await owner.pusher.push();
    assert.equal(counts.demoted, 1);
    assert.deepEqual(await rows(), [{ id: o, latest: 1, contacted: true }, { id: l, latest: 0, contacted: false }]);
    assert.equal(await standing(), 1, 'the endpoint is discovered once');
    // the other host learns it again in a later run: its discovery stays below the session
    learner.writer.peerDiscovered(learner.torrentId, '81.2.69.70', 6881, 'pex', at(600));
    assert.ok(learner.writer.flush());
    await learner.pusher.push();
    assert.deepEqual(await rows(), [{ id: o, latest: 1, contacted: true }, { id: l, latest: 0, contacted: false }]);
    // a discovery arriving after the session never takes its place
    const third = await host(url, 'third');
    try {
      third.writer.peerDiscovered(third.torrentId, '81.2.69.70', 6881, 'udp', at(900));
      assert.ok(third.writer.flush());
      await third.pusher.push();
      assert.equal(await standing(), 1);
      assert.equal((await rows()).filter((r) => r.latest === 1)[0].id, o);
    } finally {
      await third.close();
    }
  } finally {
    await owner.close();
    await learner.close();
  }
});
