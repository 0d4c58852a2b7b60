// The watch in a whole crawl (peers file → queue → contact → watch → store) against scripted peers on
// loopback: a peer that quits the moment it completes is confirmed by the crossing read while watched,
// the watched peer is never dialled a second time, and the run's statistics carry the watch counters.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { forbiddenIds, startScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const PIECES = 100; // threshold 0.98 → 98 pieces
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

test('a quitter is confirmed by the watch; a leaver is counted; statistics carry the watch', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('btda-watch-');
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const hs: Step = { handshake: true };
  // seen at 50 %, goes quiet past --timeout, then finishes in two batches and quits at once
  const quitter = await startScriptedPeer({ infoHash, pieces: PIECES, script: [hs, { bitfield: 50 }, { wait: 1500 }, { have: range(50, 75) }, { wait: 1000 }, { have: range(75, 100) }, { close: true }] });
  // seen at 30 %, two more pieces, then gone before crossing
  const leaver = await startScriptedPeer({ infoHash, pieces: PIECES, script: [hs, { bitfield: 30 }, { wait: 1500 }, { have: [30, 31] }, { wait: 200 }, { close: true }] });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, [quitter, leaver].map((p) => `127.0.0.1:${p.port}`).join('\n') + '\n');
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();

  const config = testConfig(dir, { peersFile, active: 4, timeout: 0.6, openingGrace: 0.2, revisitDelay: 1, watch: 8, watchStall: 10, statsInterval: 1 });
  // the scripted peers are closed whatever fails, so the test process can exit
  t.after(() => Promise.all([quitter.close(), leaver.close()]));
  const crawl = startCrawl(config);
  const q = await quitter.connection(0);
  await q.closed;
  const l = await leaver.connection(0);
  await l.closed;
  await new Promise((r) => setTimeout(r, 500)); // the writer flushes every 100 ms
  const summary = await crawl.stop();

  assert.deepEqual(forbiddenIds(q), []);
  assert.equal(summary.confirmed, 1, 'the live counter saw the watched crossing');
  // the leaver may be visited again once its watch ended (the scheduler is woken): 2 or 3 contacts, never a watch segment
  assert.ok(summary.contacts >= 2 && summary.contacts <= 3, `watch segments are not counted as contacts: ${summary.contacts}`);
  assert.equal(quitter.accepted, 1, 'one connection per peer: the queue never dialled a watched peer');
  assert.deepEqual({ ...summary.watch, fullMs: 0 }, { watching: 0, watched: 2, crossed: 1, left: 1, stalled: 0, evicted: 0, fullOffers: 0, fullMs: 0 });

  const sqlite = new Sqlite(config.db, { readonly: true });
  try {
    const confirmed = sqlite.prepare('SELECT crossed_pieces AS pieces FROM confirmed_downloads').all() as { pieces: number }[];
    assert.deepEqual(confirmed, [{ pieces: 98 }]);
    const cross = sqlite.prepare("SELECT event, pieces FROM observations WHERE phase = 'cross'").all();
    assert.deepEqual(cross, [{ event: 'watch', pieces: 98 }], 'the crossing is an observation of the watch');
    const watchOutcomes = sqlite.prepare("SELECT count(*) AS n FROM outcomes WHERE event = 'watch'").get() as { n: number };
    assert.equal(watchOutcomes.n, 0, 'a watch segment has no outcome of its own');
    const last = sqlite.prepare('SELECT watching, watched, watch_crossed, watch_left, watch_full FROM statistics ORDER BY id DESC LIMIT 1').get();
    assert.deepEqual(last, { watching: 0, watched: 2, watch_crossed: 1, watch_left: 1, watch_full: 0 });
  } finally {
    sqlite.close();
  }
});
