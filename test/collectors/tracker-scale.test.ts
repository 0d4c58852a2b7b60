// Trackers at scale: 250,000 torrents on one tracker (UDP and HTTP, real sockets on loopback), and a
// dead tracker that must cost its timeout once per back-off step, not once per torrent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import bencode from 'bencode';
import { TrackerCollector } from '../../src/collectors/tracker/tracker-collector.ts';
import { startFastUdpTracker } from '../helpers/fast-udp-tracker.ts';
import { asV4, fakeTorrent, queryOf, recordingContext, startRawHttpServer, waitFor } from '../helpers/tracker-server.ts';

const peerId = Buffer.from('-BT0001-abcdefghijkl');
const MANY = 250_000;

function manyTorrents(n: number, url: string) {
  const hashes = randomBytes(20 * n);
  return Array.from({ length: n }, (_, i) => fakeTorrent(i + 1, [url], hashes.subarray(20 * i, 20 * i + 20)));
}

test('250,000 torrents on one UDP tracker: no throw, announces keep going, scrapes run beside them with 74 hashes a packet', async (t) => {
  const tracker = await startFastUdpTracker({ host: '127.0.0.1' });
  const ctx = recordingContext();
  const collector = new TrackerCollector({ torrents: manyTorrents(MANY, tracker.url), peerId, port: 6884, numwant: 50, intervalS: 300, udpRetransmitBaseMs: 2000 });
  try {
    await collector.start(ctx);
    // Scrapes do not wait for the 250,000 announces of the first round.
    await waitFor(() => tracker.counts.scrape >= 20 && ctx.requests.length >= 200, 15_000, 'announces and scrapes');
  } finally {
    await collector.stop();
    await tracker.close();
  }
  t.diagnostic(`${ctx.requests.length} announces and ${tracker.counts.scrape} scrape packets (${ctx.scrapes.length} scrape rows) before the stop`);
  assert.deepEqual(ctx.messages.filter((m) => m.startsWith('error')), []);
  assert.ok(ctx.requests.every((r) => r.error === null && r.url === asV4(tracker.url)));
  assert.ok(tracker.scrapeSizes.length >= 20);
  assert.ok(tracker.scrapeSizes.every((n) => n === 74), `scrape packets of ${[...new Set(tracker.scrapeSizes)]} hashes`);
  assert.ok(ctx.scrapes.length >= 20 * 74);
  assert.deepEqual([ctx.scrapes[0].seeders, ctx.scrapes[0].leechers, ctx.scrapes[0].downloaded], [3, 2, 7]);
  // Due order: the torrents announced first are the first ones, each once.
  const announced = ctx.requests.map((r) => r.torrentId);
  assert.equal(new Set(announced).size, announced.length);
});

test('250,000 torrents on one HTTP tracker: announces keep going and each scrape carries 50 info_hash parameters', async () => {
  const encode = (v: unknown) => Buffer.from(bencode.encode(v));
  const server = await startRawHttpServer((req, res) => {
    if (req.url?.startsWith('/scrape')) return void res.end(encode({ files: {} }));
    res.end(encode({ interval: 1800, peers: Buffer.alloc(0) }));
  });
  const url = server.url();
  const ctx = recordingContext();
  const collector = new TrackerCollector({ torrents: manyTorrents(MANY, url), peerId, port: 6884, numwant: 50, intervalS: 300, timeoutMs: 5000 });
  const scrapes = () => server.requests.filter((u) => u.startsWith('/scrape'));
  try {
    await collector.start(ctx);
    await waitFor(() => scrapes().length >= 5 && ctx.requests.length >= 50, 15_000, 'announces and scrapes');
  } finally {
    await collector.stop();
    await server.close();
  }
  assert.deepEqual(ctx.messages.filter((m) => m.startsWith('error')), []);
  assert.ok(ctx.requests.every((r) => r.error === null));
  for (const u of scrapes()) assert.equal(queryOf(u).get('info_hash')?.length, 50);
});

test('a dead UDP tracker backs off as a whole: a few timeouts, not one per torrent; the other tracker is announced and scraped meanwhile; on revival all torrents are announced', async (t) => {
  const dead = await startFastUdpTracker({ host: '127.0.0.1', dead: true });
  const good = await startFastUdpTracker({ host: '127.0.0.1' });
  const n = 1000;
  const torrents = manyTorrents(n, dead.url);
  for (const t of torrents) t.trackers.push(good.url);
  const ctx = recordingContext();
  // Each UDP request gives up after 50 + 100 ms; the back-off starts at 0.4 s.
  const collector = new TrackerCollector({ torrents, peerId, port: 6884, numwant: 50, intervalS: 0.4, maxBackoffS: 0.8, udpRetransmitBaseMs: 50, udpMaxAttempts: 2 });
  const rows = (url: string) => ctx.requests.filter((r) => r.url === asV4(url));
  try {
    await collector.start(ctx);
    await waitFor(() => rows(good.url).length >= n && ctx.scrapes.filter((s) => s.tracker === asV4(good.url)).length >= n, 10_000, 'the good tracker');
    const began = Date.now();
    await new Promise((r) => setTimeout(r, 1500));
    const failed = rows(dead.url);
    const elapsed = Date.now() - began;
    // First the 4 announces in flight fail together, then one probe per back-off step (0.4, 0.8, 0.8 s ...).
    // Per torrent, the same time would have cost dozens of timeouts.
    assert.ok(failed.length >= 4 && failed.length <= 4 + Math.ceil((elapsed + 2000) / 400), `${failed.length} failed announces`);
    t.diagnostic(`${failed.length} failed announces to the dead tracker in ${elapsed} ms after the good tracker's round`);
    assert.ok(failed.every((r) => /no reply/.test(r.error ?? '')));
    assert.equal(ctx.messages.filter((m) => m.startsWith('warn tracker') && m.includes(dead.url)).length, 1);
    dead.dead = false;
    await waitFor(() => rows(dead.url).filter((r) => r.error === null).length >= n, 10_000, 'every torrent announced after the revival');
    assert.ok(ctx.messages.some((m) => m === `info tracker ${asV4(dead.url)} answers again`));
  } finally {
    await collector.stop();
    await dead.close();
    await good.close();
  }
  assert.deepEqual(ctx.messages.filter((m) => m.startsWith('error')), []);
});
