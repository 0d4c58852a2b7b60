// PEX flags in a crawl (BEP 11 `added.f`, issue 14 item 4): one peer's ut_pex message names a seed, a
// partial seed (upload_only), a leecher and a peer that prefers encryption (and requires it). btda visits
// the leecher before the seeds though the message lists the seeds first, contacts each seed once and
// never again while it revisits the leecher, and opens the encryption-preferring peer encrypted at once
// (one connection, not a refused plaintext one first). A peer that dialled us encrypted is taken the same way.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import bencode from 'bencode';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { OUR_EXTENSION_IDS } from '../../src/wire/extension-handshake.ts';
import { PEX_PREFERS_ENCRYPTION, PEX_REACHABLE, PEX_SEED } from '../../src/wire/pex.ts';
import { freePort, startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { connectScriptedPeer, startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { waitFor } from '../helpers/tracker-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const PIECES = 20;

test('PEX flags: leechers first, seeds contacted once, an encryption-preferring peer opened encrypted', { timeout: 40_000 }, async () => {
  const dir = tempDir('btda-pex-flags-');
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const below = { bitfield: 5 }; // well below the threshold
  const seed = await startScriptedPeer({ infoHash, pieces: PIECES, script: [{ handshake: true }, { extHandshake: { m: {}, upload_only: 1 } }, { haveAll: true }] });
  const partialSeed = await startScriptedPeer({ infoHash, pieces: PIECES, script: [{ handshake: true }, { extHandshake: { m: {}, upload_only: 1 } }, below, { close: true }] });
  const leecher = await startScriptedPeer({ infoHash, pieces: PIECES, script: [{ handshake: true }, below, { close: true }] });
  const encrypted = await startScriptedPeer({ infoHash, pieces: PIECES, encrypted: true, script: [{ handshake: true }, below, { close: true }] });
  const named: [ScriptedPeer, number][] = [
    [seed, PEX_SEED | PEX_REACHABLE],
    [partialSeed, PEX_SEED],
    [leecher, PEX_REACHABLE],
    [encrypted, PEX_PREFERS_ENCRYPTION],
  ];
  const added = Buffer.concat(named.map(([p]) => Buffer.from([127, 0, 0, 1, p.port >> 8, p.port & 255])));
  const pex = bencode.encode({ added, 'added.f': Buffer.from(named.map(([, f]) => f)) });
  const teller = await startScriptedPeer({
    infoHash, pieces: PIECES,
    script: [{ handshake: true }, below, { extended: { id: OUR_EXTENSION_IDS.ut_pex, payload: pex } }, { close: true }],
  });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, `127.0.0.1:${teller.port}\n`);
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();

  /** The order of the named peers' first connections. */
  const order: string[] = [];
  const names = ['seed', 'partial seed', 'leecher', 'encrypted'];
  named.forEach(([p], k) => void p.connection(0).then(() => order.push(names[k])));
  // one contact at a time, so the order of first contacts is the queue's order; revisits after 1 s
  const crawl = startCrawl(testConfig(dir, { peersFile, active: 1, timeout: 1, revisitDelay: 1, storeIp: true }));
  try {
    await waitFor(() => order.length === 4, 15_000, 'all four named peers contacted');
    // the leecher and the encrypted peer are revisited (each is below the threshold); the seeds are not
    await waitFor(() => leecher.connections.length >= 3 && encrypted.connections.length >= 3, 15_000, 'leechers revisited twice');
  } finally {
    await crawl.stop();
    await Promise.all([...named.map(([p]) => p.close()), teller.close()]);
  }
  assert.deepEqual(order, ['leecher', 'encrypted', 'seed', 'partial seed']);
  assert.equal(seed.accepted, 1, 'a seed is contacted once');
  assert.equal(partialSeed.accepted, 1, 'a peer that said upload_only is contacted once');
  // every connection to the encryption-preferring peer was encrypted: none was refused as plaintext
  assert.equal(encrypted.accepted, encrypted.connections.length);
});

test('a peer that dialled us encrypted is opened encrypted when btda dials its listen port', { timeout: 30_000 }, async () => {
  const dir = tempDir('btda-inbound-enc-');
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  // its listening side requires encryption: a plaintext handshake would be refused (and counted in `accepted`)
  const listening = await startScriptedPeer({ infoHash, pieces: PIECES, encrypted: true, script: [{ handshake: true }, { bitfield: 5 }, { close: true }] });
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();
  const config = testConfig(dir, { passive: true, port: await freePort(), active: 2, timeout: 1 });
  const crawl = startCrawl(config);
  try {
    // the listener starts with the crawl: dial until it answers (bounded)
    let inbound = null;
    for (let attempt = 0; attempt < 100 && !inbound; attempt++) {
      inbound = await connectScriptedPeer(config.port, {
        infoHash, pieces: PIECES, encrypted: true,
        script: [{ handshake: true }, { awaitHandshake: true }, { extHandshake: { m: {}, p: listening.port } }, { bitfield: 5 }, { wait: 300 }],
      }).catch(() => null);
      if (!inbound) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(inbound, 'the listener took the encrypted inbound peer');
    await inbound.closed;
    await waitFor(() => listening.connections.length >= 1, 10_000, 'btda dials the inbound peer back');
  } finally {
    await crawl.stop();
    await listening.close();
  }
  assert.equal(listening.accepted, listening.connections.length, 'no plaintext handshake was tried first');
});
