// A scheduled run resumes the peers earlier runs measured (cli/resume-peers.ts): on a database of 50,000 known
// sessions it contacts its first peer promptly (the load runs beside the contacts) and still queues every
// dialable one; a resumed contact continues its stored session. Only its --shard share is resumed, and a
// database without stored addresses (no --store-ip) resumes nothing; a database error while loading is one line;
// a crawl on PostgreSQL resumes the known peers of its spool (whose ids start at its block × 2^40).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { AddressPolicy } from '../../src/collectors/address-policy.ts';
import { runCrawl, type CrawlProgress } from '../../src/cli/crawl.ts';
import { resumeKnownPeers } from '../../src/cli/resume-peers.ts';
import { silentLogger } from '../../src/log.ts';
import { DueQueue } from '../../src/queue/due-queue.ts';
import { shardOf } from '../../src/queue/shard.ts';
import { openAddressKey } from '../../src/store/address-key.ts';
import { Database } from '../../src/store/database.ts';
import { keyFingerprint } from '../../src/store/address-key.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { Spool } from '../../src/store/pg/spool.ts';
import { postgresSkipReason, startPostgres } from '../helpers/postgres.ts';
import type { Config } from '../../src/config.ts';
import { testConfig } from '../helpers/crawl.ts';
import { knownPeerId, writeKnownPeers, type KnownPeer } from '../helpers/known-peers.ts';
import { startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const PEERS = 50_000;
const PIECES = 100;
const THRESHOLD_PIECES = 95;

/** A database of PEERS sessions over two torrents; the first session is `real` (a scripted peer), the rest refuse. */
function knownDatabase(dir: string, hashes: Buffer[], real: { port: number } | null, storeIp = true) {
  const path = join(dir, 'btda.sqlite');
  const db = Database.open(path);
  const ids = hashes.map((h, i) => db.addTorrent({ infoHash: h.toString('hex'), infoHashV2: null, name: `t${i}`, pieces: PIECES,
    pieceSize: 16_384, totalSize: PIECES * 16_384, trackers: [] }, `t${i}.torrent`, null, Date.now())!.id);
  const hasher = openAddressKey(db, path, join(dir, 'key'));
  function* peers(): Generator<KnownPeer> {
    if (real) yield { torrentId: ids[0], ip: '127.0.0.1', port: real.port };
    // nothing listens on 127.93.0.0/16: each contact is a refused connect, answered at once
    for (let n = real ? 1 : 0; n < PEERS; n++) yield { torrentId: ids[n % 2], ip: `127.93.${(n >> 8) & 255}.${n & 255}`, port: 40_000 + (n >> 16) };
  }
  const written = writeKnownPeers(db, hasher, peers(), { pieces: PIECES, thresholdPieces: THRESHOLD_PIECES, endedAt: Date.now() - 7_200_000, inboundOnlyShare: 0.01 });
  if (!storeIp) db.sqlite.prepare('UPDATE peers SET ip = NULL').run();
  db.close();
  return { path, hashes, ids, written };
}

/** Runs the crawl until `until` holds (bounded), then stops it; returns the first-contact time and the last progress. */
async function crawlUntil(config: Config, until: (p: CrawlProgress) => boolean, boundMs = 30_000) {
  const controller = new AbortController();
  const t0 = Date.now();
  let firstContactMs = NaN;
  let last: CrawlProgress | undefined;
  const bound = setTimeout(() => controller.abort('bound'), boundMs);
  const done = runCrawl(config, {
    log: silentLogger,
    signal: controller.signal,
    onProgress: (p) => {
      last = p;
      if (Number.isNaN(firstContactMs) && p.contacts + p.inFlight > 0) firstContactMs = Date.now() - t0;
      if (until(p)) controller.abort('done');
    },
  });
  const summary = await done;
  clearTimeout(bound);
  return { firstContactMs, last: last!, summary };
}

test('a run on a database of 50,000 known peers contacts promptly, queues every dialable one, and continues the stored session', { timeout: 90_000 }, async () => {
  const dir = tempDir('btda-resume-');
  let real: ScriptedPeer | undefined;
  try {
    const hashes = [randomBytes(20), randomBytes(20)];
    // the session stored first: a leecher below the threshold in the earlier run, complete now
    real = await startScriptedPeer({ infoHash: hashes[0], pieces: PIECES, peerId: Buffer.from(knownPeerId(1), 'hex'),
      script: [{ handshake: true }, { bitfield: PIECES }] });
    const made = knownDatabase(dir, hashes, real);
    assert.equal(made.written.sessions, PEERS);
    const dialable = made.written.dialable;
    assert.ok(dialable > PEERS * 0.98 && dialable < PEERS);

    const config = testConfig(dir, { storeIp: true, active: 64, connectTimeout: 2, timeout: 1, dht: false, passive: false });
    const run = await crawlUntil(config, (p) => p.known >= dialable && real!.connections.length > 0);
    // the bound for a million known peers; in-process it is the first progress tick (1 s) on a quiet machine
    assert.ok(run.firstContactMs <= 10_000, `first contact after ${run.firstContactMs} ms (the load runs beside the contacts)`);
    assert.equal(run.summary.known, dialable, 'every dialable known peer is queued, the inbound-only ones are not');
    assert.ok(real.connections.length > 0, 'the real peer was contacted');

    const after = new Sqlite(made.path, { readonly: true });
    const row = after.prepare('SELECT visits, first_pieces, last_pieces, crossing_class FROM peers WHERE id = 1').get() as Record<string, unknown>;
    assert.deepEqual(row, { visits: 3, first_pieces: 47, last_pieces: PIECES, crossing_class: 'confirmed' },
      'the contact continued the stored session: its first contact kept, the crossing recorded');
    const events = after.prepare("SELECT DISTINCT event FROM outcomes WHERE run_id = 2 AND reason = 'success'").all() as { event: string }[];
    assert.deepEqual(events.map((e) => e.event), ['later'], 'a resumed peer was attempted before: not a first contact');
    after.close();
  } finally {
    await real?.close();
  }
});

test('--shard K/N resumes only its share; a database without stored addresses resumes nothing', { timeout: 60_000 }, async () => {
  const dir = tempDir('btda-resume-shard-');
  const made = knownDatabase(dir, [randomBytes(20), randomBytes(20)], null);
  const infoHash = new Map(made.ids.map((id, i) => [id, made.hashes[i].toString('hex')]));
  const db = new Sqlite(made.path, { readonly: true });
  const rows = db.prepare("SELECT torrent_id AS t, ip, port FROM peers WHERE NOT (sources = 'incoming' AND listen_port IS NULL)").all() as { t: number; ip: string; port: number }[];
  db.close();
  const mine = rows.filter((r) => shardOf(infoHash.get(r.t)!, r.ip, r.port, 2) === 1).length;
  assert.ok(mine > 0 && mine < rows.length);
  // --active 0: nothing is dialled, the queue shows what was resumed
  const sharded = await crawlUntil(testConfig(dir, { storeIp: true, active: 0, shard: '1/2' }), (p) => p.known >= mine, 20_000);
  assert.equal(sharded.summary.known, mine);

  const bare = tempDir('btda-resume-noip-');
  knownDatabase(bare, [randomBytes(20), randomBytes(20)], null, false);
  let seen = 0;
  const none = await crawlUntil(testConfig(bare, { active: 0 }), () => ++seen >= 2, 20_000);
  assert.equal(none.summary.known, 0, 'no stored address: nothing to dial');
});

test('a database that fails while the known peers load gives one warning line; the crawl goes on', async () => {
  const dir = tempDir('btda-resume-fail-');
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.close(); // every query now throws, as a file gone bad would
  const warnings: string[] = [];
  const log = { ...silentLogger, warn: (m: string) => warnings.push(m) };
  const queue = new DueQueue({ revisitDelayMs: 1, revisitComplete: false, maxFailures: 1, retryDelayMs: 1 });
  const counts = await resumeKnownPeers({ db, queue, torrents: new Map(), policy: AddressPolicy.fromConfig(testConfig(dir)), ownPort: 6881, shard: null,
    infoHashes: new Map(), revisitDelayMs: 1, signal: new AbortController().signal, log });
  assert.match(counts.error ?? '', /not open/);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^cannot resume the known peers after 0 of them: /);
});

test('a crawl on PostgreSQL (--db postgres://... --spool FILE) resumes the known peers of its spool', { skip: postgresSkipReason(), timeout: 60_000 }, async () => {
  const dir = tempDir('btda-resume-pg-');
  const server = await startPostgres();
  try {
    const url = await server.createDatabase('resume');
    const spoolPath = join(dir, 'spool.sqlite');
    const store = await PgStore.open(url);
    const spool = await Spool.open(spoolPath, store); // its ids start at block 1 × 2^40
    const torrentId = spool.db.addTorrent({ infoHash: randomBytes(20).toString('hex'), infoHashV2: null, name: 't', pieces: PIECES,
      pieceSize: 16_384, totalSize: PIECES * 16_384, trackers: [] }, 't.torrent', null, Date.now())!.id;
    const hasher = openAddressKey(spool.db, spoolPath, join(dir, 'key'));
    await store.setMeta('address_key_fingerprint', keyFingerprint(hasher.key)); // as the host that wrote them
    const { dialable } = writeKnownPeers(spool.db, hasher, (function* () {
      for (let n = 0; n < 2000; n++) yield { torrentId, ip: `127.93.${n >> 8}.${n & 255}`, port: 40_000 };
    })(), { pieces: PIECES, thresholdPieces: THRESHOLD_PIECES, endedAt: Date.now() - 7_200_000 });
    spool.db.close();
    await store.close();
    // --active 0: nothing is dialled, the queue shows what was resumed
    const run = await crawlUntil(testConfig(dir, { db: url, spool: spoolPath, storeIp: true, active: 0 }), (p) => p.known >= dialable, 20_000);
    assert.equal(run.summary.known, dialable, 'every dialable known peer of the spool is queued');
  } finally {
    await server.stop();
  }
});
