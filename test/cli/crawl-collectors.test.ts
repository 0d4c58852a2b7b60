// Every source feeds one de-duplicated queue: a real tracker (HTTP and UDP), a local DHT of real
// bittorrent-dht nodes, and inbound connections to the listener; each step is logged.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { freePort, startCrawl, testConfig } from '../helpers/crawl.ts';
import { createLocalDht } from '../helpers/local-dht.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { connectScriptedPeer, startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { announceHttpPeer, startRealTracker, waitFor } from '../helpers/tracker-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('trackers, the DHT and the listener feed one queue; every step is logged', { timeout: 90_000 }, async (t) => {
  const dir = tempDir('btda-collect-');
  const tracker = await startRealTracker(2);
  t.after(() => tracker.close());
  const dht = await createLocalDht({ size: 20 });
  t.after(() => dht.close());
  const made = await makeTorrent({ size: 64 * 16_384, pieceLength: 16_384, dir, trackers: [[tracker.httpUrl], [tracker.udpUrl]] });
  const parsed = parseTorrentFile(made.torrent);
  const infoHash = Buffer.from(parsed.infoHash, 'hex');
  const script = [{ handshake: true as const }, { bitfield: 10 }];
  const start = () => startScriptedPeer({ infoHash, script });
  const trackerPeers: ScriptedPeer[] = [await start(), await start(), await start()];
  const dhtPeers: ScriptedPeer[] = [await start(), await start()];
  t.after(async () => {
    for (const p of [...trackerPeers, ...dhtPeers]) await p.close();
  });
  for (const p of trackerPeers) await announceHttpPeer(tracker.httpPort, infoHash, { ip: '127.0.0.1', port: p.port });
  // one tracker peer is also in the DHT: it must be queued once, with both sources
  for (const p of [...dhtPeers, trackerPeers[0]]) await dht.announce(parsed.infoHash, p.port);

  const dbPath = join(dir, 'btda.sqlite'); // testConfig's database
  const db = Database.open(dbPath);
  db.addTorrent(parsed, made.path, null, Date.now());
  db.close();
  const config = testConfig(dir, {
    active: 8,
    passive: true,
    port: await freePort(),
    dht: true,
    dhtPort: 0,
    dhtBootstrap: [dht.bootstrap],
    dhtInterval: 2,
    trackerInterval: 2,
    timeout: 0.5,
    revisitDelay: 600,
  });
  const crawl = startCrawl(config);
  const sqlite = () => new Sqlite(dbPath, { readonly: true });
  const count = (sql: string) => {
    const s = sqlite();
    try {
      return (s.prepare(sql).get() as { n: number }).n;
    } finally {
      s.close();
    }
  };
  try {
    // inbound: a peer of our torrent, one of an unknown torrent, and garbage
    await waitFor(() => count("SELECT count(*) AS n FROM requests WHERE kind IN ('http','udp')") >= 2, 10_000, 'announces');
    const known = await connectScriptedPeer(config.port, {
      infoHash,
      script: [{ handshake: true }, { awaitHandshake: true }, { extHandshake: { m: {}, p: 7777 } }, { bitfield: 30 }, { wait: 1500 }],
    });
    const unknown = await connectScriptedPeer(config.port, { infoHash: Buffer.alloc(20, 9), script: [{ handshake: true }, { wait: 1500 }] });
    const garbage = await connectScriptedPeer(config.port, { infoHash, script: [{ raw: Buffer.from('GET / HTTP/1.1\r\n\r\n') }, { wait: 500 }] });
    await Promise.all([known.closed, unknown.closed, garbage.closed]);
    await waitFor(() => count('SELECT count(*) AS n FROM peers WHERE visits > 0') >= 6, 20_000, 'all peers visited');
    await waitFor(() => count("SELECT count(*) AS n FROM requests WHERE kind = 'dht' AND received > 0") >= 1, 20_000, 'a DHT lookup');
  } finally {
    await crawl.stop();
  }

  const s = sqlite();
  const visited = s.prepare('SELECT port, sources, first_pieces FROM peers WHERE visits > 0 ORDER BY port').all() as { port: number; sources: string; first_pieces: number }[];
  for (const p of [...trackerPeers, ...dhtPeers]) assert.ok(visited.some((v) => v.port === p.port && v.first_pieces === 10), `peer ${p.port} visited`);
  const both = visited.find((v) => v.port === trackerPeers[0].port)!;
  assert.ok(both.sources.includes('dht') && /http|udp/.test(both.sources), both.sources);
  const inbound = visited.find((v) => v.port === 7777);
  assert.ok(inbound, 'the inbound peer is stored under its extension-handshake port');
  assert.equal(inbound.first_pieces, 30);
  const kinds = new Set((s.prepare('SELECT DISTINCT kind FROM requests').all() as { kind: string }[]).map((r) => r.kind));
  for (const k of ['http', 'udp', 'dht', 'incoming']) assert.ok(kinds.has(k), `requests of kind ${k}`);
  const outcome = (event: string, reason: string) =>
    (s.prepare('SELECT coalesce(sum(count), 0) AS n FROM outcomes WHERE event = ? AND reason = ?').get(event, reason) as { n: number }).n;
  assert.equal(outcome('incoming', 'success'), 1);
  // the listener's rows count the inbound peer's advertised address (port 7777) as new to the queue: not always 0
  const incoming = s.prepare("SELECT sum(received) AS received, sum(new) AS new, sum(duplicates) AS duplicates FROM requests WHERE kind = 'incoming'").get();
  assert.deepEqual(incoming, { received: 3, new: 1, duplicates: 0 });
  assert.equal(outcome('incoming', 'unknown-info-hash'), 1);
  assert.equal(outcome('incoming', 'unknown-protocol'), 1);
  const scrapes = s.prepare('SELECT tracker, seeders, leechers FROM scrapes').all() as { tracker: string; leechers: number }[];
  assert.ok(scrapes.some((r) => r.tracker === `${tracker.httpUrl}#ipv4`) && scrapes.some((r) => r.tracker === `${tracker.udpUrl}#ipv4`), JSON.stringify(scrapes));
  // the DHT peers' duplicates are counted, and the queue never holds one peer twice
  assert.equal((s.prepare('SELECT count(*) AS n FROM peers').get() as { n: number }).n,
    (s.prepare('SELECT count(DISTINCT address_key || port) AS n FROM peers').get() as { n: number }).n);
  s.close();
});
