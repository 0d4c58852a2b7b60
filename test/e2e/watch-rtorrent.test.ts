// The watch against rtorrent on loopback (issue "The blind spot" item 2, README "The watch"). rtorrent 0.9.8
// holds its `have`s back and sends them only when it writes to the connection for its own reasons (its
// keep-alive tick, about every 2 minutes, or a change of interest; SPEC), and it closes the connection the
// moment it completes (whether we stayed silent, sent an empty bitfield or said interested), dropping the haves
// queued since its last write (measured: bitfield 190 at 4 s, haves 190-192 at 64 s, 193-194 at 89 s, closed at
// its completion at 163 s with 195-199 unsent). The watch therefore sees an rtorrent's crossing live only when one of
// rtorrent's writes falls between the crossing and the completion; otherwise the watch ends when rtorrent
// closes, and the peer goes back to the queue: an rtorrent that keeps seeding is confirmed by the next visit.
//
// A real tracker, an aria2 seeder and an rtorrent leecher that starts with 180 of 200 pieces on disk (it
// hash-checks them) and fetches the rest at 8 KiB/s (about 40 s, no rtorrent write in between). btda
// (in-process, --watch on, not passive) contacts rtorrent, sees it below the threshold and watches it.
// Asserted: the watch took rtorrent and ended when rtorrent closed at its completion, without a crossing;
// the revisit after --revisit-delay saw it complete, so it is confirmed (crossing of event `later`).
//
// About 1.5 minutes. Skipped when rtorrent or aria2c is missing: `apt-get install rtorrent aria2`.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { defaultConfig, thresholdPieces } from '../../src/config.ts';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { Aria2 } from './clients/aria2.ts';
import { E2eRun } from './clients/e2e-run.ts';
import { canBind, freePort } from './clients/ports.ts';
import { hasCommand, sleep } from './clients/processes.ts';
import { Rtorrent } from './clients/rtorrent.ts';

/** 200 pieces of 16 KiB, threshold ceil(0.98 × 200) = 196. */
const PIECE = 16 * 1024;
const PIECES = 200;
/** rtorrent starts with this many pieces on disk and fetches the other 20 at 8 KiB/s: about 40 s. */
const HAS = 180;
const KIBPS = 8;
/** rtorrent must have finished by then (ms after its start). */
const FINISH_DEADLINE_MS = 120_000;
/** btda's --revisit-delay (s): the visit after the watch ends. */
const REVISIT_S = 10;
/** After the completion: the watch's end, the revisit and a margin for a loaded machine. */
const CONFIRM_WITHIN_MS = (REVISIT_S + 30) * 1000;

const missing = ['rtorrent', 'aria2c'].filter((c) => !hasCommand(c));
const skip = missing.length > 0 ? `needs ${missing.join(' and ')} (Debian: apt-get install rtorrent aria2)` : false;

test('rtorrent closes a watched connection at its completion, unsent haves and all; the next visit confirms it', { skip, timeout: 240_000 }, async (t) => {
  for (const host of ['127.0.0.2', '127.0.0.6']) {
    if (!(await canBind(host))) return t.skip(`cannot bind ${host} (needs a host that routes 127.0.0.0/8 to loopback)`);
  }
  const run = new E2eRun(t, 'btda-e2e-rtorrent-');
  const { dir, group } = run;
  const tracker = await run.startTracker(5);
  const seedDir = join(dir, 'seed');
  mkdirSync(seedDir);
  const made = await makeTorrent({ name: 'batched.bin', size: PIECES * PIECE, pieceLength: PIECE, dir: seedDir, trackers: [[tracker.httpUrl]] });
  const parsed = parseTorrentFile(made.torrent);
  const threshold = thresholdPieces(made.pieces, defaultConfig.threshold);

  const seeder = new Aria2(
    { name: 'seed-aria2', host: '127.0.0.2', listenPort: await freePort('127.0.0.2'), rpcPort: await freePort(), dir: seedDir, torrentPath: made.path, seed: true },
    group,
  );
  await seeder.ready();

  const host = '127.0.0.6';
  const port = await freePort(host);
  const leechDir = join(dir, 'rtorrent');
  mkdirSync(leechDir);
  writeFileSync(join(leechDir, 'batched.bin'), readFileSync(made.contentPath).subarray(0, HAS * PIECE));
  const rtorrent = new Rtorrent({ name: 'rtorrent', host, listenPort: port, dir: leechDir, torrentPath: made.path, downKiBps: KIBPS }, group);
  const t0 = Date.now();

  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parsed, made.path, 'rtorrent', Date.now());
  db.close();
  // --watch-stall above rtorrent's 2-minute silence
  const config = run.crawlConfig(await freePort(), { passive: false, openingGrace: 1, watch: 8, watchStall: 200, revisitDelay: REVISIT_S });
  const crawl = run.startCrawl(config);
  let crawlError: Error | undefined;
  crawl.catch((err: Error) => (crawlError = err));

  let doneAt: number | undefined;
  while (doneAt === undefined) {
    assert.ok(Date.now() - t0 < FINISH_DEADLINE_MS, `rtorrent not finished after ${FINISH_DEADLINE_MS} ms: ${rtorrent.process.tail()}`);
    assert.equal(rtorrent.process.exitCode, undefined, `rtorrent exited: ${rtorrent.process.tail()}`);
    assert.equal(crawlError, undefined, 'the crawl failed');
    if (rtorrent.done) doneAt = Date.now() - t0;
    else await sleep(500);
  }

  // wait for the crossing to be stored (by the revisit): the crossing fact and the observation that shows it
  const sqlite = new Sqlite(config.db, { readonly: true });
  t.after(() => sqlite.close());
  const rows = () => sqlite.prepare(
    `SELECT o.id, o.phase, o.event, o.pieces, o.at FROM observations o JOIN peers p ON p.id = o.peer_row WHERE p.ip = ? AND p.port = ? ORDER BY o.id`,
  ).all(host, port) as { id: number; phase: string; event: string; pieces: number | null; at: string }[];
  const crossing = () => sqlite.prepare('SELECT crossed_observation AS obs, crossing_class AS cls FROM peers WHERE ip = ? AND port = ? AND crossed_at IS NOT NULL')
    .all(host, port) as { obs: number; cls: string }[];
  while (crossing().length === 0 && Date.now() - t0 < doneAt + CONFIRM_WITHIN_MS) await sleep(1000);
  await sleep(500);
  const summary = await run.stopCrawl();
  assert.equal(summary.exitReason, 'test over');

  const obs = rows();
  const rel = (iso: string) => `${((Date.parse(iso) - t0) / 1000).toFixed(1)}s`;
  t.diagnostic(`rtorrent done ${(doneAt / 1000).toFixed(1)}s; ${obs.map((o) => `${o.phase}/${o.event} ${o.pieces} at ${rel(o.at)}`).join(', ')}`);
  t.diagnostic(`watch ${JSON.stringify(summary.watch)}`);

  const first = obs[0];
  assert.ok(first && first.pieces !== null && first.pieces < threshold, `first seen below the threshold (${first?.pieces})`);
  const crossings = crossing();
  assert.deepEqual(crossings.map((c) => c.cls), ['confirmed'], 'one crossing, a confirmed download');
  const shown = obs.find((o) => o.id === crossings[0]!.obs)!;
  assert.equal(shown.event, 'later', 'seen by the visit after the watch ended, not live');
  assert.ok(Date.parse(shown.at) - t0 >= doneAt - 1000, 'seen complete only after rtorrent finished');
  // (a have rtorrent sent before completing, on one of its own writes, may show as a watch observation below the threshold)
  assert.ok(!obs.some((o) => o.event === 'watch' && o.pieces !== null && o.pieces >= threshold), 'nothing at the threshold was read while watched');
  const confirmed = sqlite.prepare('SELECT count(*) AS n FROM confirmed_downloads c JOIN peers p ON p.id = c.peer_row WHERE p.ip = ? AND p.port = ?').get(host, port) as { n: number };
  assert.equal(confirmed.n, 1, 'rtorrent confirmed');
  // the aria2 seed is never watched; rtorrent was, and left (closed) before crossing
  assert.deepEqual([summary.watch!.watched, summary.watch!.crossed, summary.watch!.left], [1, 0, 1]);
});
