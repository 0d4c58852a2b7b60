// A database with known contents, written by the real store code (Database, ResultWriter), for the report and
// export tests. Every number the tests assert is derived in the comments here.
//
// Times: T0 = 2026-01-01T10:00Z. Run 1: T0 .. T0+2h (ended). Run 2: T0+3h, crashed (no end), last row at T0+4h.
// Torrents (threshold 0.98): A (set A, 100 pieces → 98), B (set A, 50 → 49), C (set B, 200 → 196).
//
// Peers:
//   p1 A 81.2.69.142 (GB)   http,dht   10 pieces at T0, 100 at T0+30m05s  → confirmed (crossed T0+30m05s), speed 90×16384/1800 = 819.2 B/s
//   p2 A 89.160.20.112 (SE) dht        a seed (100)                       → not confirmed, client qBittorrent
//   p3 A 216.160.83.56 (US) udp        90 → 100 inside one contact        → confirmed (crossed T0+1h)
//   p4 A 10.0.0.4           http       10, then a timed-out later contact → not confirmed
//   p5 B 10.0.0.5           http       run 2: 0 at T0+3h, 50 at T0+3h10s+1600s → confirmed (T0+3h26m50s), speed 50×16384/1600 = 512 B/s
//   p6 C 10.0.0.6           incoming   inbound, 0 pieces                  → evaluated, not confirmed
//   p7 C 10.0.0.7           dht        discovered only
//
// Outcomes: run 1: first success 4 (p1-p4), refused 2, timeout 3; later success 1 (p1), timeout 1 (p4);
//   incoming success 1 (p6), unknown-info-hash 1 (torrent -1). Run 2: first success 1 (p5), later success 1 (p5).
//
// Scrapes (downloaded): A tracker1 100 (T0), 103 (T0+1h), 105 (T0+2h) → growth 5, best; A tracker2 50 (T0+10m), 52 (T0+1h50m) → 2;
//   B tracker1 10 (T0+3h), 2 (T0+3h30m, a restart), 4 (T0+4h) → growth (highest − first) 0, latest 4; C: seeders 5/7, leechers 7/3, downloaded null.
//
// Requests: run 1: http A 30/2 new (T0), 20/0 (T0+1h), 0 with an error (T0+1h50m); dht A 10/2 (T0+5m); udp A 8/1 (T0+10m);
//   incoming (no torrent) 3 accepted (T0). Run 2: http B 5/1 (T0+3h); dht C 4/1 (T0+3h10m).
import { join } from 'node:path';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter, type StatisticsRow } from '../../src/store/result-writer.ts';
import type { PeerSource } from '../../src/types.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { tempDir } from '../helpers/temp-dir.ts';

export const GEO = new URL('../fixtures/geoip/GeoLite2-City-Test.mmdb', import.meta.url).pathname;
export const T0 = Date.parse('2026-01-01T10:00:00Z');
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const iso = (ms: number) => new Date(ms).toISOString();

export const HASH_A = 'aa'.repeat(20);
export const HASH_B = 'bb'.repeat(20);
export const HASH_C = 'cc'.repeat(20);
export const TRACKER1 = 'http://tracker.one/announce';
export const TRACKER2 = 'udp://tracker.two:6969';

export async function buildFixture(): Promise<{ dir: string; path: string }> {
  const dir = tempDir('btda-analysis-');
  const path = join(dir, 'btda.sqlite');
  const db = Database.open(path);
  const add = (hash: string, name: string, pieces: number, set: string) =>
    db.addTorrent({ infoHash: hash, infoHashV2: null, name, pieces, pieceSize: 16_384, totalSize: pieces * 16_384, trackers: [TRACKER1, TRACKER2] },
      `${name}.torrent`, set, T0)!.id;
  const A = add(HASH_A, 'alpha', 100, 'A');
  const B = add(HASH_B, 'beta', 50, 'A');
  const C = add(HASH_C, 'gamma, "the third"', 200, 'B');
  db.setThreshold(0.98);
  const facts = (pieces: number) => ({ pieceSize: 16_384, thresholdPieces: Math.ceil(0.98 * pieces) });
  const hasher = new AddressHasher(Buffer.alloc(32, 7));
  const geo = await Geolocator.open(GEO);
  const writerFor = (runId: number) => new ResultWriter(db, { runId, hasher, geo, storeIp: false, flushIntervalMs: 0 });

  // ---- run 1
  const run1 = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 });
  const w1 = writerFor(run1);
  const found = (torrentId: number, ip: string, source: PeerSource, at: number) => w1.peerDiscovered(torrentId, ip, 6881, source, at);
  found(A, '81.2.69.142', 'http', T0);
  found(A, '10.0.0.4', 'http', T0);
  found(A, '89.160.20.112', 'dht', T0 + 5 * MIN);
  found(A, '81.2.69.142', 'dht', T0 + 5 * MIN);
  found(A, '216.160.83.56', 'udp', T0 + 10 * MIN);
  found(C, '10.0.0.7', 'dht', T0 + 3 * HOUR + 10 * MIN); // run 2's discovery, written by run 1's writer: the time is what counts
  w1.flush();

  const at = (ms: number) => ({ startedAt: ms, openedAt: ms, endedAt: ms + 5000 });
  // p1: 10 pieces, last seen T0+5s; later visit opens with 100 at T0+30m05s: 90 pieces in 1800 s
  w1.contact(contactResult({ torrentId: A, ip: '81.2.69.142', openingPieces: 10, endPieces: 10, ...at(T0) }), 'http', facts(100));
  w1.contact(contactResult({ torrentId: A, ip: '81.2.69.142', event: 'later', openingPieces: 100, endPieces: 100, ...at(T0 + 30 * MIN + 5000) }), 'http', facts(100));
  // p2: a seed, qBittorrent, reached over MSE/PE
  w1.contact(contactResult({ torrentId: A, ip: '89.160.20.112', openingPieces: 100, endPieces: 100, peerId: Buffer.from('-qB4520-abcdefghijkl'), encrypted: true, ...at(T0 + 6 * MIN) }), 'dht', facts(100));
  // p3: crosses inside one contact
  w1.contact(contactResult({ torrentId: A, ip: '216.160.83.56', openingPieces: 90, endPieces: 100, crossedAt: T0 + HOUR, crossedPieces: 98, startedAt: T0 + HOUR - 3000, openedAt: T0 + HOUR - 2000, endedAt: T0 + HOUR + 1000 }), 'udp', facts(100));
  // p4: stays at 10, its later contact times out
  w1.contact(contactResult({ torrentId: A, ip: '10.0.0.4', openingPieces: 10, endPieces: 10, ...at(T0 + MIN) }), 'http', facts(100));
  w1.contact(contactResult({ torrentId: A, ip: '10.0.0.4', event: 'later', reason: 'timeout', openingPieces: null, endPieces: null, ...at(T0 + 20 * MIN) }), 'http', facts(100));
  // failed first contacts
  for (let i = 0; i < 2; i++) w1.contact(contactResult({ torrentId: A, ip: `10.1.0.${i}`, reason: 'refused', openingPieces: null, endPieces: null }), 'http', facts(100));
  for (let i = 0; i < 3; i++) w1.contact(contactResult({ torrentId: A, ip: `10.2.0.${i}`, reason: 'timeout', openingPieces: null, endPieces: null }), 'http', facts(100));
  // p6: inbound, 0 pieces; and an inbound connection for a torrent we do not measure
  w1.contact(contactResult({ torrentId: C, ip: '10.0.0.6', event: 'incoming', port: 50_000, listenPort: 6881, openingPieces: 0, endPieces: 0, ...at(T0 + 40 * MIN) }), 'incoming', facts(200));
  w1.contact(contactResult({ torrentId: -1, ip: '10.9.9.9', event: 'incoming', reason: 'unknown-info-hash', openingPieces: null, endPieces: null }), 'incoming', facts(200));

  // (the listener's rows, kind incoming, have no torrent and count neither new nor duplicates, like the real one)
  const req = (torrentId: number | null, kind: PeerSource, startedAt: number, received: number, fresh: number, error: string | null = null) =>
    ({ torrentId, kind, url: kind === 'http' ? TRACKER1 : null, startedAt, durationMs: 120, received, new: fresh,
      duplicates: kind === 'incoming' ? 0 : received - fresh, skipped: 0, error });
  w1.request(req(A, 'http', T0, 30, 2));
  w1.request(req(A, 'http', T0 + HOUR, 20, 0));
  w1.request(req(A, 'http', T0 + 110 * MIN, 0, 0, 'timeout'));
  w1.request(req(A, 'dht', T0 + 5 * MIN, 10, 2));
  w1.request(req(A, 'udp', T0 + 10 * MIN, 8, 1));
  w1.request(req(null, 'incoming', T0, 3, 0));

  const scrape = (torrentId: number, tracker: string, t: number, downloaded: number | null, seeders: number | null = 1, leechers: number | null = 1) =>
    ({ torrentId, tracker, at: t, seeders, leechers, downloaded });
  w1.scrape(scrape(A, TRACKER1, T0, 100, 3, 4));
  w1.scrape(scrape(A, TRACKER1, T0 + HOUR, 103, 6, 2));
  w1.scrape(scrape(A, TRACKER1, T0 + 2 * HOUR, 105, 2, 1));
  w1.scrape(scrape(A, TRACKER2, T0 + 10 * MIN, 50));
  w1.scrape(scrape(A, TRACKER2, T0 + 110 * MIN, 52));

  const stat = (t: number, evaluations: number, successes: number, incoming: number, watch: Partial<StatisticsRow> = {}) =>
    ({ at: t, queue: 10, inFlight: 2, evaluations, successes, incoming, peersKnown: 7, rssMb: 80, loadAverage: 0.5, ...watch });
  // the watch counters count from the run's start: the report reads the run's last row
  w1.statistics(stat(T0 + HOUR, 8, 5, 2, { watching: 2, watched: 3, watchCrossed: 1, watchLeft: 0, watchFull: 0, watchFullS: 0 }));
  w1.statistics(stat(T0 + 2 * HOUR, 13, 6, 2, { watching: 0, watched: 7, watchCrossed: 4, watchLeft: 2, watchFull: 3, watchFullS: 95 }));
  w1.close();
  db.endRun(run1, 'completed', T0 + 2 * HOUR);

  // ---- run 2 (crashes: no endRun)
  const run2 = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 + 3 * HOUR });
  const w2 = writerFor(run2);
  w2.peerDiscovered(B, '10.0.0.5', 6881, 'http', T0 + 3 * HOUR);
  w2.flush();
  w2.contact(contactResult({ torrentId: B, ip: '10.0.0.5', openingPieces: 0, endPieces: 0, startedAt: T0 + 3 * HOUR, openedAt: T0 + 3 * HOUR, endedAt: T0 + 3 * HOUR + 10_000 }), 'http', facts(50));
  const later = T0 + 3 * HOUR + 10_000 + 1_600_000;
  w2.contact(contactResult({ torrentId: B, ip: '10.0.0.5', event: 'later', openingPieces: 50, endPieces: 50, startedAt: later, openedAt: later, endedAt: later + 1000 }), 'http', facts(50));
  w2.request(req(B, 'http', T0 + 3 * HOUR, 5, 1));
  w2.request(req(C, 'dht', T0 + 3 * HOUR + 10 * MIN, 4, 1));
  w2.scrape(scrape(B, TRACKER1, T0 + 3 * HOUR, 10));
  w2.scrape(scrape(B, TRACKER1, T0 + 3 * HOUR + 30 * MIN, 2));
  w2.scrape(scrape(B, TRACKER1, T0 + 4 * HOUR, 4));
  w2.scrape(scrape(C, TRACKER1, T0 + 3 * HOUR, null, 5, 7));
  w2.scrape(scrape(C, TRACKER1, T0 + 4 * HOUR, null, 7, 3));
  w2.statistics(stat(T0 + 3 * HOUR + 30 * MIN, 1, 1, 0));
  w2.statistics(stat(T0 + 4 * HOUR, 2, 2, 0));
  w2.close();
  db.close();
  return { dir, path };
}
