// A confirmed download over IPv6 (issue 17): a real transmission-daemon leecher that btda can reach only at
// [::1]. The leecher downloads from a real aria2 seeder over IPv4 (the tracker lists them to each other);
// btda learns the leecher only from a peers file as [::1]:port, its own address policy excludes the
// leecher's IPv4 address, and it does not listen, so every contact with the leecher is an IPv6 one. btda must
// see it below the threshold, then complete, and count exactly that one download, with IPv6 evidence.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { isIP, SocketAddress } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { defaultConfig, thresholdPieces } from '../../src/config.ts';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { Aria2 } from './clients/aria2.ts';
import { canBind, freePort } from './clients/ports.ts';
import { E2eRun } from './clients/e2e-run.ts';
import { hasCommand, sleep } from './clients/processes.ts';
import { Transmission } from './clients/transmission.ts';

/** 4 MiB in 256 KiB pieces: 16 pieces, threshold 16. */
const SIZE = 4 * 1024 * 1024;
const PIECE = 256 * 1024;
/** The leecher's download limit (kB/s): about 30 s for the file, so btda sees it below and later complete. */
const LIMIT_KBPS = 140;
const FINISH_DEADLINE_MS = 120_000;
/** After the leecher finished: at most this long for btda to revisit it and record the crossing. */
const CROSSING_WAIT_MS = 40_000;

const missing = ['transmission-daemon', 'aria2c'].filter((c) => !hasCommand(c));
const skip = missing.length > 0 ? `needs ${missing.join(' and ')} (Debian: apt-get install transmission-daemon aria2)` : false;

test('a real client reachable only over IPv6 is measured there, and its download confirmed', { skip, timeout: 200_000 }, async (t) => {
  for (const host of ['127.0.0.2', '127.0.0.3']) {
    if (!(await canBind(host))) return t.skip(`cannot bind ${host} (needs a host that routes 127.0.0.0/8 to loopback)`);
  }
  if (!(await canBind('::1'))) return t.skip('no IPv6 loopback (::1) here');
  const run = new E2eRun(t, 'btda-e2e-ipv6-');
  const { dir, group } = run;
  const tracker = await run.startTracker(5);
  const seedDir = join(dir, 'seed');
  mkdirSync(seedDir);
  const made = await makeTorrent({ name: 'over-ipv6.bin', size: SIZE, pieceLength: PIECE, dir: seedDir, trackers: [[tracker.httpUrl]] });
  const parsed = parseTorrentFile(made.torrent);
  const threshold = thresholdPieces(made.pieces, defaultConfig.threshold);

  const seeder = new Aria2(
    { name: 'seed-aria2', host: '127.0.0.2', listenPort: await freePort('127.0.0.2'), rpcPort: await freePort(), dir: seedDir, torrentPath: made.path, seed: true },
    group,
  );
  await seeder.ready();

  // the leecher: IPv4 on 127.0.0.3 (towards the tracker and the seeder), IPv6 on ::1 (towards btda)
  const leecherPort = await freePort('127.0.0.3');
  const leecher = new Transmission(
    { name: 'leech-transmission', host: '127.0.0.3', peerPort: leecherPort, rpcPort: await freePort('127.0.0.3'), dir: join(dir, 'leech'), downKBps: LIMIT_KBPS },
    group,
  );
  await leecher.ready();
  await leecher.add(made.path);

  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parsed, made.path, 'over-ipv6', Date.now());
  db.close();
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, `[::1]:${leecherPort}\n`);
  const excludeFile = join(dir, 'exclude.txt');
  writeFileSync(excludeFile, '127.0.0.3/32\n'); // the tracker lists the leecher's IPv4 side: never dialled
  const config = run.crawlConfig(await freePort(), { passive: false, peersFile, exclude: excludeFile, revisitDelay: 3, openingGrace: 1 });
  const crawl = run.startCrawl(config);
  let crawlError: Error | undefined;
  crawl.catch((err: Error) => (crawlError = err));

  const t0 = Date.now();
  while ((await leecher.status()).leftUntilDone !== 0) {
    assert.ok(Date.now() - t0 < FINISH_DEADLINE_MS, `the leecher has not finished after ${FINISH_DEADLINE_MS} ms`);
    assert.equal(crawlError, undefined, 'the crawl failed');
    await sleep(500);
  }
  for (let waited = 0; waited < CROSSING_WAIT_MS && !crossed(config.db, leecherPort); waited += 1000) await sleep(1000);
  const summary = await run.stopCrawl();
  assert.equal(summary.exitReason, 'test over');

  const sqlite = new Sqlite(config.db, { readonly: true });
  t.after(() => sqlite.close());
  const sessions = sqlite.prepare('SELECT id, ip, port, first_pieces, last_pieces, crossed_at FROM peers WHERE port = ? AND peer_id IS NOT NULL')
    .all(leecherPort) as { id: number; ip: string; port: number; first_pieces: number; last_pieces: number; crossed_at: string | null }[];
  assert.equal(sessions.length, 1, `one session of the leecher: ${JSON.stringify(sessions)}`);
  const [s] = sessions;
  assert.equal(isIP(s.ip), 6, `measured at its IPv6 address, not ${s.ip}`);
  assert.equal(new SocketAddress({ address: s.ip, family: 'ipv6' }).address, '::1', 'its address is ::1');
  assert.ok(s.first_pieces < threshold, `first seen below the threshold (${s.first_pieces}/${made.pieces})`);
  assert.equal(s.last_pieces, made.pieces);
  assert.ok(s.crossed_at, 'a crossing recorded');
  const families = sqlite.prepare('SELECT DISTINCT family FROM observations WHERE peer_row = ?').all(s.id) as { family: number }[];
  assert.deepEqual(families, [{ family: 6 }], 'every observation of the leecher came over IPv6');
  const confirmed = sqlite.prepare('SELECT peer_row FROM confirmed_downloads').all() as { peer_row: number }[];
  assert.deepEqual(confirmed, [{ peer_row: s.id }], 'exactly the leecher is a confirmed download');
  const ipv4Leecher = sqlite.prepare("SELECT count(*) AS n FROM peers WHERE ip = '127.0.0.3' AND visits > 0").get() as { n: number };
  assert.equal(ipv4Leecher.n, 0, 'the excluded IPv4 side was never dialled');
});

/** Whether btda has recorded a crossing for the session at [::1]:port (read beside the running crawl). */
function crossed(db: string, port: number): boolean {
  const sqlite = new Sqlite(db, { readonly: true, fileMustExist: true });
  try {
    return sqlite.prepare("SELECT 1 FROM peers WHERE ip LIKE '%:%' AND port = ? AND crossed_at IS NOT NULL").get(port) !== undefined;
  } finally {
    sqlite.close();
  }
}
