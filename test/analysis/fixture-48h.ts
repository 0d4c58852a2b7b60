// A synthetic 48-hour measurement, written by the real store code (Database, ResultWriter) with the built-in
// country database, for the report's tables and figures at the scale of a real crawl. The plan (PLAN) is
// exported so tests derive what the report must say from it rather than from the report itself.
//
// One run, T0 = 2026-03-01T00:00Z to T0+48h. Two torrents (X: 400 pieces of 256 KiB, set S; Y: 100 pieces, set S).
// Peers by network (public addresses whose country and AS are stable allocations):
//   DE Hetzner AS24940  5.9.N.1 (14 peers, 2 over IPv6 2a01:4f8:N::1): seeds, reached twice, all with a speed
//   NL Feral.io AS200052 185.21.216.N (10 peers): seedboxes, complete at both contacts: seeds, no download, no speed
//   US Comcast AS7922  73.N.2.3 (16 peers): leechers that finish: confirmed downloads
//   JP SoftBank AS17676 126.N.2.3 (4 peers): confirmed
//   GB Andrews & Arnold AS20712 81.2.69.N (3 peers): seen once only
//   private 10.0.0.N (3 peers): no country, no AS
// Scrapes every 30 min from two trackers: "steady" grows by 1 an hour; "flapping" answers 1000, 990, 1000, ...
// Statistics every 5 min; requests (http, udp, dht) every 30 min per torrent.
import { join } from 'node:path';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { PeerSource } from '../../src/types.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { tempDir } from '../helpers/temp-dir.ts';

export const T0 = Date.parse('2026-03-01T00:00:00Z');
export const HOUR = 3_600_000;
export const END = T0 + 48 * HOUR;
export const STEADY = 'http://steady.example/announce';
export const FLAPPING = 'udp://flapping.example:6969';
const PIECE = 262_144;

export interface PlannedPeer {
  torrent: 'X' | 'Y';
  ip: string;
  country: string | null;
  asn: number | null;
  /** Pieces at the first and the second contact (null: contacted once). */
  first: number;
  second: number | null;
  /** ms */
  firstAt: number;
  secondAt: number | null;
  /** bytes/s between the contacts (null without progress). */
  speed: number | null;
  confirmed: boolean;
  seed: boolean;
}

const PIECES = { X: 400, Y: 100 } as const;
const THRESHOLD = { X: Math.ceil(0.98 * 400), Y: Math.ceil(0.98 * 100) } as const;

function plan(): PlannedPeer[] {
  const peers: PlannedPeer[] = [];
  const add = (torrent: 'X' | 'Y', ip: string, country: string | null, asn: number | null, i: number, first: number, second: number | null) => {
    const firstAt = T0 + ((i * 7919) % 40) * HOUR + i * 60_000; // spread over the first 40 h
    const gapMs = (1 + (i % 5)) * HOUR;
    const secondAt = second === null ? null : firstAt + gapMs;
    const lastAt = firstAt + 5000; // the first contact ends 5 s after it starts
    const speed = second === null || second <= first ? null : ((second - first) * PIECE) / ((secondAt! - lastAt) / 1000);
    const pieces = PIECES[torrent];
    peers.push({
      torrent, ip, country, asn, first, second, firstAt, secondAt, speed,
      confirmed: second !== null && first < THRESHOLD[torrent] && second >= THRESHOLD[torrent],
      seed: (second ?? first) >= pieces,
    });
  };
  // seeds that keep downloading nothing: no speed. Hetzner's "seeds" gain their last pieces between contacts.
  for (let i = 0; i < 12; i++) add('X', `5.9.${10 + i}.1`, 'DE', 24940, i, 360 + i, 400);
  for (let i = 0; i < 2; i++) add('Y', `2a01:4f8:${10 + i}::1`, 'DE', 24940, 12 + i, 90, 100);
  // seedboxes: complete whenever seen, so many seeds and no confirmed download (thesis 4.4.3: they stand out)
  for (let i = 0; i < 10; i++) add('X', `185.21.216.${10 + i}`, 'NL', 200052, 20 + i, 400, 400);
  for (let i = 0; i < 16; i++) add(i % 4 === 0 ? 'Y' : 'X', `73.${10 + i}.2.3`, 'US', 7922, 40 + i, 10 + i, i % 4 === 0 ? 100 : 400);
  for (let i = 0; i < 4; i++) add('X', `126.${10 + i}.2.3`, 'JP', 17676, 60 + i, 50, 400);
  for (let i = 0; i < 3; i++) add('X', `81.2.69.${10 + i}`, 'GB', 20712, 70 + i, 5, null);
  for (let i = 0; i < 3; i++) add('Y', `10.0.0.${10 + i}`, null, null, 80 + i, 1, 20);
  return peers;
}

export const PLAN = plan();

export async function build48hFixture(): Promise<{ dir: string; path: string }> {
  const dir = tempDir('btda-48h-');
  const path = join(dir, 'btda.sqlite');
  const db = Database.open(path);
  const add = (hash: string, name: string, pieces: number) =>
    db.addTorrent({ infoHash: hash, infoHashV2: null, name, pieces, pieceSize: PIECE, totalSize: pieces * PIECE, trackers: [STEADY, FLAPPING] },
      `${name}.torrent`, 'S', T0)!.id;
  const ids = { X: add('11'.repeat(20), 'xray', PIECES.X), Y: add('22'.repeat(20), 'yankee', PIECES.Y) };
  db.setThreshold(0.98);
  const facts = (t: 'X' | 'Y') => ({ pieceSize: PIECE, thresholdPieces: THRESHOLD[t] });
  const run = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 });
  const w = new ResultWriter(db, { runId: run, hasher: new AddressHasher(Buffer.alloc(32, 3)), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0 });

  for (const p of PLAN) w.peerDiscovered(ids[p.torrent], p.ip, 6881, p.torrent === 'X' ? 'http' : 'dht', p.firstAt);
  w.flush();
  for (const p of PLAN) {
    w.contact(contactResult({ torrentId: ids[p.torrent], ip: p.ip, openingPieces: p.first, endPieces: p.first, startedAt: p.firstAt, openedAt: p.firstAt, endedAt: p.firstAt + 5000 }), 'http', facts(p.torrent));
    if (p.secondAt !== null) {
      w.contact(contactResult({ torrentId: ids[p.torrent], ip: p.ip, event: 'later', openingPieces: p.second, endPieces: p.second,
        startedAt: p.secondAt, openedAt: p.secondAt, endedAt: p.secondAt + 2000 }), 'http', facts(p.torrent));
    }
  }
  for (let t = T0; t < END; t += HOUR / 2) {
    const half = (t - T0) / (HOUR / 2);
    for (const [name, id] of Object.entries(ids)) {
      const k = name === 'X' ? 1 : 2;
      // the swarm grows from 10 to about 58 seeders while leechers shrink
      w.scrape({ torrentId: id, tracker: STEADY, at: t, seeders: 10 * k + Math.floor(half / 2), leechers: 40 - Math.floor(half / 5), downloaded: 500 * k + Math.floor(half / 2) });
      w.scrape({ torrentId: id, tracker: FLAPPING, at: t + 60_000, seeders: 5, leechers: 5, downloaded: half % 2 === 0 ? 1000 : 990 });
      for (const kind of ['http', 'udp', 'dht'] as PeerSource[]) {
        w.request({ torrentId: id, kind, url: null, startedAt: t + 1000, durationMs: 200, received: kind === 'dht' ? 20 : 50, new: 1, duplicates: kind === 'dht' ? 19 : 49, skipped: 0, error: null });
      }
    }
  }
  let evaluations = 0;
  for (let t = T0 + 5 * 60_000; t <= END; t += 5 * 60_000) {
    evaluations += 12;
    w.statistics({ at: t, queue: 100 + ((t - T0) / 60_000) % 50, inFlight: 20, evaluations, successes: evaluations / 2, incoming: 0, peersKnown: 52, rssMb: 150, loadAverage: 0.8 });
  }
  w.close();
  db.endRun(run, 'completed', END);
  db.close();
  return { dir, path };
}
