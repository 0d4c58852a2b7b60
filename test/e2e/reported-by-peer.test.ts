// "Reported by the peer" against real qBittorrent (issue "The blind spot" item 3, README "What counts"):
// libtorrent sends `complete_ago` in its extension handshake, the seconds since it last saw a complete copy
// of the torrent: its own completion, or a peer completing in front of it (measured: a qBittorrent seeding
// from the start says -1; one that just finished a download says the seconds since; a seed says a few
// seconds once a peer it serves sends its last `have`).
//
// A real tracker, an aria2 seed and a qBittorrent seeding from the start; btda (in-process, not listening,
// so no peer can dial it and be seen early) announces every 20 s, and contacts both seeds after its first
// announce. Then a second qBittorrent joins and downloads the file (seconds on loopback); btda learns of it
// at its next announce and first sees it complete. Asserted: the leecher gets peers.reported_complete_at at
// its completion (within the poll's lag) and is not a crossing or a confirmed download; the seed from the
// start (complete_ago -1 at its first contact) gets nothing; the report counts 1 reported by the peer and 0
// confirmed. Skipped when qbittorrent-nox or aria2c is missing: `apt-get install qbittorrent-nox aria2`.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { buildReport } from '../../src/analysis/report.ts';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { Aria2 } from './clients/aria2.ts';
import { E2eRun } from './clients/e2e-run.ts';
import { canBind, freePort } from './clients/ports.ts';
import { hasCommand, poll, sleep } from './clients/processes.ts';
import { Qbittorrent } from './clients/qbittorrent.ts';

const PIECE = 16 * 1024;
const PIECES = 64;
/** btda's announce interval: the leecher must finish between two announces. */
const ANNOUNCE_S = 20;

const missing = ['qbittorrent-nox', 'aria2c'].filter((c) => !hasCommand(c));
const skip = missing.length > 0 ? `needs ${missing.join(' and ')} (Debian: apt-get install qbittorrent-nox aria2)` : false;

test('qBittorrent first seen complete: complete_ago puts its completion in the run, reported by the peer, never confirmed', { skip, timeout: 150_000 }, async (t) => {
  for (const host of ['127.0.0.2', '127.0.0.8', '127.0.0.9']) {
    if (!(await canBind(host))) return t.skip(`cannot bind ${host} (needs a host that routes 127.0.0.0/8 to loopback)`);
  }
  const run = new E2eRun(t, 'btda-e2e-reported-');
  const { dir, group } = run;
  const tracker = await run.startTracker(5);
  const seedDir = join(dir, 'seed');
  mkdirSync(seedDir);
  const made = await makeTorrent({ name: 'reported.bin', size: PIECES * PIECE, pieceLength: PIECE, dir: seedDir, trackers: [[tracker.httpUrl]] });
  const parsed = parseTorrentFile(made.torrent);

  const aria2 = new Aria2(
    { name: 'seed-aria2', host: '127.0.0.2', listenPort: await freePort('127.0.0.2'), rpcPort: await freePort(), dir: seedDir, torrentPath: made.path, seed: true },
    group,
  );
  const qbSeed = new Qbittorrent({ name: 'qb-seed', host: '127.0.0.8', peerPort: await freePort('127.0.0.8'), webPort: await freePort('127.0.0.8'), dir: join(dir, 'qb-seed') }, group);
  await Promise.all([aria2.ready(), qbSeed.ready()]);
  copyFileSync(made.contentPath, join(qbSeed.downloadDir, 'reported.bin'));
  await qbSeed.addSeed(made.path);
  await poll(async () => ((await qbSeed.torrents())[0]?.progress === 1 ? true : undefined), 20_000, 'the qBittorrent seed');
  // both seeds in the tracker's swarm before btda's first announce
  await poll(() => (tracker.swarm(parsed.infoHash).complete >= 2 ? true : undefined), 30_000, 'both seeds announced', 250);

  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parsed, made.path, 'reported', Date.now());
  db.close();
  const config = run.crawlConfig(await freePort(), { passive: false, trackerInterval: ANNOUNCE_S, revisitDelay: 300 });
  const crawl = run.startCrawl(config);
  let crawlError: Error | undefined;
  crawl.catch((err: Error) => (crawlError = err));
  const sqlite = new Sqlite(config.db, { readonly: true });
  t.after(() => sqlite.close());
  type Row = { ip: string; first_pieces: number | null; crossed_at: string | null; reported_complete_at: string | null };
  const row = (ip: string) => sqlite.prepare('SELECT ip, first_pieces, crossed_at, reported_complete_at FROM peers WHERE ip = ? AND first_pieces IS NOT NULL').get(ip) as Row | undefined;

  // btda's first announce names both seeds; it contacts them before the leecher exists
  await poll(() => (row('127.0.0.2') && row('127.0.0.8') ? true : undefined), ANNOUNCE_S * 1000, 'btda contacting both seeds', 250);
  const leecher = new Qbittorrent({ name: 'qb-leech', host: '127.0.0.9', peerPort: await freePort('127.0.0.9'), webPort: await freePort('127.0.0.9'), dir: join(dir, 'qb-leech') }, group);
  await leecher.ready();
  await leecher.addDownload(made.path);
  const completedAt = await poll(async () => ((await leecher.torrents())[0]?.progress === 1 ? Date.now() : undefined), ANNOUNCE_S * 1000, 'the qBittorrent leecher', 200);
  assert.equal(row('127.0.0.9'), undefined, 'btda has not contacted the leecher before it completed');

  // btda's next announce names the leecher; its first contact sees it complete
  const seen = await poll(() => row('127.0.0.9'), 2 * ANNOUNCE_S * 1000, 'btda contacting the leecher', 250);
  await sleep(500);
  const summary = await run.stopCrawl();
  assert.equal(crawlError, undefined);
  assert.equal(summary.exitReason, 'test over');

  const leech = row('127.0.0.9')!;
  t.diagnostic(`leecher completed at ${new Date(completedAt).toISOString()}; ${JSON.stringify(leech)}; seed ${JSON.stringify(row('127.0.0.8'))}`);
  assert.equal(seen.first_pieces, PIECES, 'first seen complete');
  assert.ok(leech.reported_complete_at !== null, 'its complete_ago put the completion inside the run');
  // complete_ago is whole seconds, and the poll of the Web API lags the completion by up to a few seconds
  const offset = Date.parse(leech.reported_complete_at!) - completedAt;
  assert.ok(offset >= -6000 && offset <= 1500, `reported at its completion (${offset} ms from the poll)`);
  assert.equal(leech.crossed_at, null, 'not a crossing');
  assert.equal(row('127.0.0.8')!.reported_complete_at, null, 'the seed from the start said complete_ago -1');
  assert.equal(row('127.0.0.2')!.reported_complete_at, null, 'aria2 sends no complete_ago');

  const reportDb = Database.open(config.db, { readonly: true });
  try {
    const report = await buildReport(reportDb);
    assert.deepEqual(report.torrents.map((x) => [x.confirmed, x.reportedByPeer]), [[0, 1]]);
  } finally {
    reportDb.close();
  }
});
