// The watch against real clients on loopback (issue "The blind spot", README "The watch").
//
// A real tracker, one aria2 seeder and three leechers with a download limit (about 40 s for the file), all
// started together: an aria2 that quits the moment it completes (--seed-time=0), a transmission that stops
// its torrent at completion (ratio limit 0: seedRatioLimited, seedRatioLimit 0) and a transmission that
// stays. btda (in-process, --watch on, not passive: every contact is its own outgoing one, the only kind
// the watch takes) dials each leecher a few seconds after it started, sees it far below the threshold,
// and keeps the connection open: the crossing is read live, stamped when its `have` arrived.
//
// Asserted: both quitters are confirmed (the blind spot of counting by revisits); the transmissions — which
// send their `have`s in batches about every 10 s (SPEC) — are seen crossing while watched (an observation of
// phase `cross` and event `watch`); the run's last statistics row, and the report's watch table, count the
// crossings read live.
//
// Skipped (with the reason) when transmission-daemon or aria2c is missing: `apt-get install
// transmission-daemon aria2` (.ci/run installs them on CI).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { buildReport } from '../../src/analysis/report.ts';
import { defaultConfig, thresholdPieces } from '../../src/config.ts';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { Aria2 } from './clients/aria2.ts';
import { E2eRun } from './clients/e2e-run.ts';
import { canBind, freePort } from './clients/ports.ts';
import { hasCommand, sleep } from './clients/processes.ts';
import { Transmission } from './clients/transmission.ts';

/** 200 pieces of 16 KiB (3.2 MiB), threshold ceil(0.98 × 200) = 196. */
const PIECE = 16 * 1024;
const PIECES = 200;
/** Download limit of the leechers that start empty: the file in about 45 s, far below the threshold at btda's first contact. */
const LIMIT_KBPS = 72;
/**
 * The transmission that stops at completion starts with 190 pieces on disk and downloads at 4 kB/s: the last 4
 * pieces (the crossing at 196 → complete) take about 16 s, longer than its 10 s `have` batches. When the
 * crossing and the completion fall in one batch, that batch is lost with the torrent's stop (its connections
 * close unflushed): no crawler can see that crossing.
 */
const QUITTER_HAS = 190;
const QUITTER_KBPS = 4;
/** Every leecher must have finished by then (ms after the start). */
const FINISH_DEADLINE_MS = 90_000;
/** After the last completion: transmission's last `have` batch (10 s) reaches btda. */
const LINGER_MS = 12_000;

const missing = ['transmission-daemon', 'aria2c'].filter((c) => !hasCommand(c));
const skip = missing.length > 0 ? `needs ${missing.join(' and ')} (Debian: apt-get install transmission-daemon aria2)` : false;

interface Leecher {
  label: string;
  host: string;
  port: number;
  quits: boolean;
  handle?: Transmission | Aria2;
  /** When the client itself first reported the whole file (ms after the start). */
  doneAt?: number;
}

test('the watch: leechers that quit at completion are confirmed, transmission crosses while watched', { skip, timeout: 150_000 }, async (t) => {
  for (const host of ['127.0.0.2', '127.0.0.5']) {
    if (!(await canBind(host))) return t.skip(`cannot bind ${host} (needs a host that routes 127.0.0.0/8 to loopback)`);
  }
  const run = new E2eRun(t, 'btda-e2e-watch-');
  const { dir, group } = run;
  const tracker = await run.startTracker(5);
  const seedDir = join(dir, 'seed');
  mkdirSync(seedDir);
  const made = await makeTorrent({ name: 'watched.bin', size: PIECES * PIECE, pieceLength: PIECE, dir: seedDir, trackers: [[tracker.httpUrl]] });
  const parsed = parseTorrentFile(made.torrent);
  const threshold = thresholdPieces(made.pieces, defaultConfig.threshold);

  const seeder = new Aria2(
    { name: 'seed-aria2', host: '127.0.0.2', listenPort: await freePort('127.0.0.2'), rpcPort: await freePort(), dir: seedDir, torrentPath: made.path, seed: true },
    group,
  );
  await seeder.ready();

  const leechers: Leecher[] = [
    { label: 'aria2-quits', host: '127.0.0.3', port: 0, quits: true },
    { label: 'transmission-quits', host: '127.0.0.4', port: 0, quits: true },
    { label: 'transmission-stays', host: '127.0.0.5', port: 0, quits: false },
  ];
  for (const l of leechers) {
    l.port = await freePort(l.host);
    const folder = join(dir, l.label);
    if (l.label.startsWith('aria2')) {
      // no RPC: aria2 in RPC mode would keep running after the download; --seed-time=0 makes it exit at completion
      l.handle = new Aria2({ name: l.label, host: l.host, listenPort: l.port, dir: folder, torrentPath: made.path, downLimit: `${LIMIT_KBPS}K`, seedMinutes: 0 }, group);
    } else {
      const tr = new Transmission(
        { name: l.label, host: l.host, peerPort: l.port, rpcPort: await freePort(l.host), dir: folder, downKBps: l.quits ? QUITTER_KBPS : LIMIT_KBPS, seedRatioLimit: l.quits ? 0 : undefined },
        group,
      );
      // the quitter's first pieces are on disk already (transmission verifies them when the torrent is added)
      if (l.quits) writeFileSync(join(tr.downloadDir, 'watched.bin'), readFileSync(made.contentPath).subarray(0, QUITTER_HAS * PIECE));
      await tr.ready();
      await tr.add(made.path);
      l.handle = tr;
    }
  }
  const t0 = Date.now();

  // btda after the leechers' first announces, so its first one lists them: its contacts see them early.
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parsed, made.path, 'watch', Date.now());
  db.close();
  const config = run.crawlConfig(await freePort(), { passive: false, openingGrace: 1, watch: 8, watchStall: 60 });
  const crawl = run.startCrawl(config);
  let crawlError: Error | undefined;
  crawl.catch((err: Error) => (crawlError = err));

  const isDone = async (l: Leecher): Promise<boolean> => {
    if (l.handle instanceof Aria2) return l.handle.process.exitCode !== undefined;
    return (await l.handle!.status()).leftUntilDone === 0;
  };
  while (leechers.some((l) => l.doneAt === undefined)) {
    const now = Date.now() - t0;
    assert.ok(now < FINISH_DEADLINE_MS, `leechers not finished after ${FINISH_DEADLINE_MS} ms: ${describe(leechers)}`);
    assert.equal(crawlError, undefined, 'the crawl failed');
    for (const l of leechers) {
      if (l.doneAt === undefined && (await isDone(l))) l.doneAt = Date.now() - t0;
      if (l.handle instanceof Transmission) assert.equal(l.handle.process.exitCode, undefined, `${l.label} exited: ${l.handle.process.tail()}`);
    }
    await sleep(500);
  }
  await sleep(LINGER_MS);
  const summary = await run.stopCrawl();
  assert.equal(summary.exitReason, 'test over');

  const aria2Quitter = leechers[0]!.handle as Aria2;
  assert.equal(aria2Quitter.process.exitCode, 0, `aria2 --seed-time=0 failed: ${aria2Quitter.process.tail()}`);
  const trQuitter = await (leechers[1]!.handle as Transmission).status();
  assert.equal(trQuitter.status, 0, 'the transmission with ratio limit 0 stopped its torrent at completion');

  const sqlite = new Sqlite(config.db, { readonly: true });
  t.after(() => sqlite.close());
  const torrentId = (sqlite.prepare('SELECT id FROM torrents WHERE info_hash = ?').get(parsed.infoHash) as { id: number }).id;
  type Row = { id: number; ip: string; port: number; client: string | null; first_pieces: number | null; last_pieces: number | null; crossed_at: string | null };
  const peers = sqlite.prepare('SELECT id, ip, port, client, first_pieces, last_pieces, crossed_at FROM peers WHERE torrent_id = ?').all(torrentId) as Row[];
  const observations = sqlite.prepare('SELECT phase, event, pieces, at FROM observations WHERE peer_row = ? ORDER BY id');
  const confirmed = new Set(
    (sqlite.prepare('SELECT p.ip, p.port FROM confirmed_downloads c JOIN peers p ON p.id = c.peer_row WHERE c.torrent_id = ?').all(torrentId) as { ip: string; port: number }[])
      .map((c) => `${c.ip}:${c.port}`),
  );
  const rel = (iso: string | null) => (iso === null ? '-' : fmt(Date.parse(iso) - t0));
  t.diagnostic(`swarm: ${describe(leechers)}`);
  for (const l of leechers) {
    const rows = peers.filter((p) => p.ip === l.host && p.port === l.port);
    for (const p of rows) {
      const obs = observations.all(p.id) as { phase: string; event: string; pieces: number | null; at: string }[];
      t.diagnostic(`${l.label} ${p.client ?? '?'}: first ${p.first_pieces}, last ${p.last_pieces}, crossed ${rel(p.crossed_at)}; ` +
        obs.map((o) => `${o.phase}/${o.event} ${o.pieces} at ${rel(o.at)}`).join(', '));
    }
  }

  for (const l of leechers) {
    const rows = peers.filter((p) => p.ip === l.host && p.port === l.port);
    assert.ok(rows.length > 0, `btda knew ${l.label}`);
    const first = rows.find((p) => p.first_pieces !== null);
    assert.ok(first && first.first_pieces! < threshold, `${l.label} first seen below the threshold (${first?.first_pieces})`);
    assert.ok(confirmed.has(`${l.host}:${l.port}`), `${l.label} confirmed`);
    const crossings = rows.flatMap((p) => observations.all(p.id) as { phase: string; event: string; at: string }[]).filter((o) => o.phase === 'cross');
    assert.equal(crossings.length, 1, `${l.label}: one crossing`);
    // the crossing is stamped when its `have` arrived: close to the client's own completion (polled every 500 ms;
    // transmission sends its haves in batches about every 10 s), not at a later visit
    assert.ok(Date.parse(crossings[0]!.at) - t0 <= l.doneAt! + 12_000, `${l.label} crossed at its completion`);
    if (l.handle instanceof Transmission) assert.equal(crossings[0]!.event, 'watch', `${l.label}, a batching client, crossed while watched`);
  }
  const last = sqlite.prepare('SELECT watched, watch_crossed FROM statistics WHERE run_id = (SELECT MAX(id) FROM runs) ORDER BY id DESC LIMIT 1').get() as
    { watched: number; watch_crossed: number };
  assert.ok(last.watched >= 2 && last.watch_crossed >= 2, `statistics: ${JSON.stringify(last)}`);
  // the report: the watch table holds the run's totals; a watch segment is no contact (no outcome of event 'watch')
  const reportDb = Database.open(config.db, { readonly: true });
  try {
    const report = await buildReport(reportDb);
    assert.deepEqual(report.watch.map((w) => [w.watched, w.crossed]), [[last.watched, last.watch_crossed]]);
    assert.ok(!report.outcomes.some((o) => o.event === 'watch'), 'no outcomes of the watch');
  } finally {
    reportDb.close();
  }
  t.diagnostic(`confirmed ${confirmed.size} of ${leechers.length}; watch ${JSON.stringify(summary.watch)}`);
});

function describe(leechers: Leecher[]): string {
  return leechers.map((l) => `${l.label}@${l.host}:${l.port} done ${fmt(l.doneAt)}`).join('; ');
}

const fmt = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`);
