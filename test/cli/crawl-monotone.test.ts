// One monotone definition of a confirmed download, through the whole crawl with scripted peers on loopback
// (README "What counts"): a later contact with fewer pieces (a recheck, lt_donthave) never removes a
// crossing nor moves its time, in the view or in the live counter; and a run with another --threshold
// judges only what it observes, leaving the crossings of earlier runs with the threshold they were seen with.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { startScriptedPeer, type ScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/tracker-server.ts';

const PIECES = 100;
const hs: Step = { handshake: true };

/** A torrent in a new database, and a peers file naming `peers`. */
async function setUp(prefix: string) {
  const dir = tempDir(prefix);
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();
  const peersFile = join(dir, 'peers.txt');
  const name = (peers: ScriptedPeer[]) => writeFileSync(peersFile, peers.map((p) => `127.0.0.1:${p.port}`).join('\n') + '\n');
  return { dir, infoHash, peersFile, name };
}

const fast = { active: 8, timeout: 0.4, contactLimit: 5, openingGrace: 0.1, revisitDelay: 1, retryDelay: 0.5 };

test('a drop in pieces after the crossing keeps the download and its time, in the view and the live counter', { timeout: 60_000 }, async () => {
  const s = await setUp('btda-monotone-');
  // 30 %, then complete (the crossing), then a recheck leaves 60 % for every later visit
  const dropper = await startScriptedPeer({ infoHash: s.infoHash, pieces: PIECES,
    script: (n) => [hs, n === 0 ? { bitfield: 30 } : n === 1 ? { haveAll: true } : { bitfield: 60 }] });
  s.name([dropper]);
  // --revisit-complete: a peer that crossed is visited again, so the drop is observed
  const config = testConfig(s.dir, { ...fast, peersFile: s.peersFile, revisitComplete: true });
  const crawl = startCrawl(config);
  let summary;
  try {
    await waitFor(() => dropper.accepted >= 4, 20_000, 'four visits');
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    summary = await crawl.stop();
    await dropper.close();
  }
  assert.equal(summary.confirmed, 1, 'the live counter keeps the download');

  const sqlite = new Sqlite(config.db, { readonly: true });
  const q = <T>(sql: string) => sqlite.prepare(sql).all() as T[];
  const [peer] = q<{ id: number; last_pieces: number; low_pieces: number; crossed_at: string; crossed_pieces: number; crossed_observation: number }>(
    'SELECT id, last_pieces, low_pieces, crossed_at, crossed_pieces, crossed_observation FROM peers');
  assert.equal(peer.last_pieces, 60, 'the drop was observed');
  assert.equal(peer.crossed_pieces, 100);
  const obs = q<{ id: number; at: string; pieces: number }>('SELECT id, at, pieces FROM observations ORDER BY id');
  assert.deepEqual(obs.map((o) => o.pieces), [30, 100, 60], 'state changes only: the repeated 60 % adds nothing');
  assert.equal(obs[1].id, peer.crossed_observation);
  assert.equal(peer.crossed_at, obs[1].at, 'the crossing keeps the time it was observed');
  const confirmed = q<{ peer_row: number; crossed_at: string }>('SELECT peer_row, crossed_at FROM confirmed_downloads');
  assert.deepEqual(confirmed, [{ peer_row: peer.id, crossed_at: obs[1].at }]);
  assert.deepEqual(q('SELECT confirmed FROM hourly_confirmed'), [{ confirmed: 1 }]);
  sqlite.close();
});

test('a run with another --threshold judges only what it observes; earlier crossings keep their threshold', { timeout: 60_000 }, async () => {
  const s = await setUp('btda-threshold-runs-');
  let run = 1;
  // crosses 98 % in run 1 (10 → 99), stays at 99 in run 2
  const early = await startScriptedPeer({ infoHash: s.infoHash, pieces: PIECES,
    script: (n) => [hs, { bitfield: run === 1 && n === 0 ? 10 : 99 }] });
  // 60 % in run 1, 70 % in run 2: never below 50 %, so no crossing at run 2's threshold either
  const above = await startScriptedPeer({ infoHash: s.infoHash, pieces: PIECES, script: () => [hs, { bitfield: run === 1 ? 60 : 70 }] });
  // 30 % in run 1, 60 % in run 2: crosses run 2's 50 %, not run 1's 98 %
  const later = await startScriptedPeer({ infoHash: s.infoHash, pieces: PIECES, script: () => [hs, { bitfield: run === 1 ? 30 : 60 }] });
  s.name([early, above, later]);
  const peers = [early, above, later];

  const crawlUntil = async (threshold: number, done: () => boolean) => {
    const crawl = startCrawl(testConfig(s.dir, { ...fast, peersFile: s.peersFile, threshold }));
    try {
      await waitFor(done, 20_000, `run ${run}`);
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      await crawl.stop();
    }
  };
  try {
    await crawlUntil(0.98, () => early.accepted >= 2 && above.accepted >= 1 && later.accepted >= 1);
    const seen = peers.map((p) => p.accepted);
    run = 2;
    await crawlUntil(0.5, () => peers.every((p, i) => p.accepted > seen[i]));
  } finally {
    await Promise.all(peers.map((p) => p.close()));
  }

  const sqlite = new Sqlite(join(s.dir, 'btda.sqlite'), { readonly: true });
  const q = <T>(sql: string) => sqlite.prepare(sql).all() as T[];
  assert.deepEqual(q('SELECT id, threshold FROM runs ORDER BY id'), [{ id: 1, threshold: 0.98 }, { id: 2, threshold: 0.5 }]);
  const port = (row: { port: number }) => peers.findIndex((p) => p.port === row.port);
  const crossings = q<{ port: number; crossed_threshold: number; crossed_pieces: number; crossing_class: string; run_id: number }>(`
    SELECT p.port, p.crossed_threshold, p.crossed_pieces, p.crossing_class, o.run_id
    FROM peers p JOIN observations o ON o.id = p.crossed_observation WHERE p.crossed_at IS NOT NULL ORDER BY p.crossed_at`);
  assert.deepEqual(crossings.map((c) => ({ peer: port(c), threshold: c.crossed_threshold, pieces: c.crossed_pieces, cls: c.crossing_class, run: c.run_id })), [
    { peer: 0, threshold: 98, pieces: 99, cls: 'confirmed', run: 1 }, // run 2's threshold does not rewrite it
    { peer: 2, threshold: 50, pieces: 60, cls: 'confirmed', run: 2 },
  ]);
  assert.deepEqual(q<{ threshold_pieces: number }>('SELECT threshold_pieces FROM confirmed_downloads ORDER BY crossed_at').map((r) => r.threshold_pieces), [98, 50]);
  sqlite.close();
});
