// The traps a count can fall into, through the real writer and a real SQLite database: address reuse,
// several users behind one address on the listener, a dual-stack twin, a drop after the crossing, a
// threshold change between runs, a restart with a new peer id, implausible crossings, and the evidence.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildReport } from '../../src/analysis/report.ts';
import { reportTables } from '../../src/analysis/tables.ts';
import { reportText } from '../../src/cli/commands/report.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult } from '../../src/types.ts';
import { contactResult } from '../helpers/contact-result.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const TR = (n: string) => Buffer.from(`-TR3000-${n.padEnd(12, 'x')}`);
const QB = (n: string) => Buffer.from(`-qB4520-${n.padEnd(12, 'x')}`);

async function store(dir = mkdtempSync(join(tmpdir(), 'btda-traps-'))) {
  dirs.push(dir);
  const db = Database.open(join(dir, 'btda.sqlite'));
  const t = db.addTorrent({ infoHash: 'bb'.repeat(20), infoHashV2: null, name: 'x', pieces: 100, pieceSize: 16_384, totalSize: 1_638_400, trackers: [] }, 'x', null, T0)
    ?? db.torrents()[0];
  const geo = await Geolocator.open('');
  const open = (threshold = 98, runStartedAt = T0) => {
    const runId = db.startRun({ version: 't', args: '[]', host: 'h', threshold: threshold / 100, startedAt: runStartedAt });
    const writer = new ResultWriter(db, { runId, hasher: new AddressHasher(Buffer.alloc(32, 3)), geo, storeIp: true, flushIntervalMs: 0, runStartedAt });
    const facts = { pieceSize: 16_384, thresholdPieces: threshold };
    const contact = (minute: number, over: Partial<ContactResult>) => {
      const at = T0 + minute * MIN;
      writer.contact(contactResult({ torrentId: t.id, startedAt: at, openedAt: at + 100, endedAt: at + 2000, endPieces: over.openingPieces, ...over }), 'http', facts);
    };
    return { writer, contact, runId };
  };
  const q = <T>(sql: string, ...args: unknown[]) => db.sqlite.prepare(sql).all(...args) as T[];
  const count = (view: string) => q<{ n: number }>(`SELECT count(*) n FROM ${view}`)[0].n;
  return { db, dir, open, q, count };
}

test('address reuse: client A below, then client B seeding at the same address:port is two peers and no download', async () => {
  const s = await store();
  const { writer, contact } = s.open();
  contact(0, { ip: '81.2.69.10', port: 51413, peerId: TR('a'), openingPieces: 30 });
  contact(30, { ip: '81.2.69.10', port: 51413, peerId: QB('b'), openingPieces: 100, event: 'later' });
  writer.flush();
  const rows = s.q<{ client: string; first_pieces: number; latest: number }>('SELECT client, first_pieces, latest FROM peers ORDER BY id');
  assert.deepEqual(rows, [{ client: 'Transmission 3.00', first_pieces: 30, latest: 0 }, { client: 'qBittorrent 4.5.2', first_pieces: 100, latest: 1 }]);
  assert.equal(s.count('crossings'), 0);
  s.db.close();
});

test('NAT on the listener: two users behind one address advertising the same port stay apart', async () => {
  const s = await store();
  const { writer, contact } = s.open();
  const user1 = { ip: '81.2.69.20', event: 'incoming' as const, listenPort: 51413, peerId: TR('user1') };
  const user2 = { ip: '81.2.69.20', event: 'incoming' as const, listenPort: 51413, peerId: TR('user2') };
  contact(0, { ...user1, port: 40001, openingPieces: 100 }); // a seed
  contact(1, { ...user2, port: 40002, openingPieces: 20 });
  contact(20, { ...user1, port: 40003, openingPieces: 100 });
  contact(21, { ...user2, port: 40004, openingPieces: 40 });
  writer.flush();
  assert.equal(s.count('crossings'), 0, 'the seed and the leecher never make a crossing together');
  assert.equal(s.q('SELECT id FROM peers').length, 2);
  contact(60, { ...user2, port: 40005, openingPieces: 100 });
  writer.flush();
  assert.equal(s.count('confirmed_downloads'), 1, 'user 2 finishing is one download');
  s.db.close();
});

test('dual stack: the same peer id over IPv4 and IPv6 in one run is one peer and one download', async () => {
  const s = await store();
  const { writer, contact } = s.open();
  contact(0, { ip: '127.0.0.9', port: 6881, peerId: TR('twin'), openingPieces: 10 });
  contact(10, { ip: '::1', port: 6881, peerId: TR('twin'), openingPieces: 50, event: 'first' });
  contact(20, { ip: '::1', port: 6881, peerId: TR('twin'), openingPieces: 100, event: 'later' });
  contact(30, { ip: '127.0.0.9', port: 6881, peerId: TR('twin'), openingPieces: 100, event: 'later' });
  writer.flush();
  assert.equal(s.q('SELECT id FROM peers').length, 1);
  assert.equal(s.count('confirmed_downloads'), 1);
  const families = s.q<{ family: number }>('SELECT family FROM observations ORDER BY id').map((o) => o.family);
  assert.deepEqual(families, [4, 6, 6], 'the evidence keeps the family of each observation');
  s.db.close();
});

test('dual stack, IPv6 first: an IPv4 contact joins the IPv6 session of this run, not one of an earlier run', async () => {
  const s = await store();
  const first = s.open(98, T0);
  first.contact(0, { ip: '::1', port: 6881, peerId: TR('old6'), openingPieces: 10 });
  first.writer.flush();
  const { writer, contact } = s.open(98, T0 + 60 * MIN);
  contact(60, { ip: '::1', port: 6881, peerId: TR('twin6'), openingPieces: 10 });
  contact(70, { ip: '127.0.0.9', port: 6881, peerId: TR('twin6'), openingPieces: 100, event: 'first' });
  contact(75, { ip: '127.0.0.10', port: 6881, peerId: TR('old6'), openingPieces: 100, event: 'first' }); // its IPv6 side is from the earlier run
  writer.flush();
  assert.equal(s.q('SELECT id FROM peers').length, 3, 'the twin is one session; the earlier run\'s peer id is not joined');
  assert.equal(s.count('confirmed_downloads'), 1);
  const families = s.q<{ family: number }>("SELECT o.family FROM observations o JOIN peers p ON p.id = o.peer_row WHERE p.peer_id LIKE '%747769%' ORDER BY o.id")
    .map((o) => o.family);
  assert.deepEqual(families, [6, 4], 'the IPv4 side of the twin is its evidence');
  s.db.close();
});

test('monotone: a drop in pieces after the crossing keeps the download and its time', async () => {
  const s = await store();
  const { writer, contact } = s.open();
  contact(0, { ip: '81.2.69.30', openingPieces: 10 });
  contact(10, { ip: '81.2.69.30', openingPieces: 100, event: 'later' });
  writer.flush();
  const before = s.q('SELECT crossed_at, crossed_pieces FROM confirmed_downloads');
  contact(20, { ip: '81.2.69.30', openingPieces: 60, event: 'later' }); // a recheck, lt_donthave
  contact(30, { ip: '81.2.69.30', openingPieces: 100, event: 'later' }); // and back: not a second download
  writer.flush();
  assert.deepEqual(s.q('SELECT crossed_at, crossed_pieces FROM confirmed_downloads'), before);
  assert.equal(writer.crossings.confirmed, 1);
  s.db.close();
});

test('a run with another threshold judges only what it observes', async () => {
  const s = await store();
  const run1 = s.open(98);
  run1.contact(0, { ip: '81.2.69.41', openingPieces: 10 });
  run1.contact(10, { ip: '81.2.69.41', openingPieces: 99, event: 'later' }); // crosses 98
  run1.contact(0, { ip: '81.2.69.42', openingPieces: 60 });
  run1.contact(0, { ip: '81.2.69.43', openingPieces: 30 });
  run1.writer.close();
  s.db.setThreshold(0.5);
  const run2 = s.open(50, T0 + 60 * MIN);
  run2.contact(70, { ip: '81.2.69.42', openingPieces: 70 }); // never below 50: not a crossing
  run2.contact(70, { ip: '81.2.69.43', openingPieces: 60 }); // 30 → 60 crosses 50
  run2.writer.close();
  const rows = s.q<{ address: string; threshold_pieces: number }>('SELECT address, threshold_pieces FROM confirmed_downloads ORDER BY crossed_at');
  assert.deepEqual(rows.map((r) => r.threshold_pieces), [98, 50], 'each crossing keeps the threshold it was observed with');
  s.db.close();
});

test('a restart with a new peer id: its own class, beside the headline', async () => {
  const s = await store();
  const { writer, contact } = s.open();
  contact(0, { ip: '81.2.69.50', peerId: TR('first'), clientVersion: 'Transmission 3.00', openingPieces: 40 });
  contact(60, { ip: '81.2.69.50', peerId: TR('second'), clientVersion: 'Transmission 3.00', openingPieces: 100, event: 'later' });
  writer.flush();
  assert.equal(s.count('confirmed_downloads'), 0);
  const c = s.q<{ crossing_class: string; restart_of: number }>('SELECT crossing_class, restart_of FROM crossings');
  assert.equal(c.length, 1);
  assert.equal(c[0].crossing_class, 'restart');
  assert.deepEqual(writer.crossings, { confirmed: 0, restart: 1, suspect: 0 });
  s.db.close();
});

test('implausible crossings are suspect, with the reason, never in the headline', async () => {
  const s = await store();
  const { writer } = s.open();
  const t = s.db.torrents()[0];
  const big = { pieceSize: 64 * 1024 * 1024, thresholdPieces: 98 }; // 90 pieces of 64 MiB in 2 s
  writer.contact(contactResult({ torrentId: t.id, ip: '81.2.69.60', openingPieces: 10, endPieces: 100, startedAt: T0, openedAt: T0, crossedAt: T0 + 2000, crossedPieces: 100, endedAt: T0 + 3000 }), 'http', big);
  const facts = { pieceSize: 16_384, thresholdPieces: 98 };
  writer.contact(contactResult({ torrentId: t.id, ip: '81.2.69.61', openingPieces: 50, endPieces: 50, uploadOnly: true, startedAt: T0 }), 'http', facts);
  writer.contact(contactResult({ torrentId: t.id, ip: '81.2.69.61', openingPieces: 100, endPieces: 100, event: 'later', startedAt: T0 + 30 * MIN }), 'http', facts);
  writer.flush();
  assert.equal(s.count('confirmed_downloads'), 0);
  assert.deepEqual(s.q('SELECT crossing_class, suspect_reason FROM crossings ORDER BY peer_row'),
    [{ crossing_class: 'suspect', suspect_reason: 'rate' }, { crossing_class: 'suspect', suspect_reason: 'upload-only' }]);
  s.db.close();
});

test('evidence: state changes only; an unchanged seed adds nothing after its first observation', async () => {
  const s = await store();
  const { writer, contact } = s.open();
  for (let i = 0; i < 10; i++) contact(i * 5, { ip: '81.2.69.70', openingPieces: 100, event: i ? 'later' : 'first' });
  contact(0, { ip: '81.2.69.71', openingPieces: 10 });
  contact(5, { ip: '81.2.69.71', openingPieces: 10, event: 'later' });
  contact(10, { ip: '81.2.69.71', openingPieces: 90, endPieces: 99, crossedAt: T0 + 10 * MIN + 1500, crossedPieces: 98, event: 'later' });
  writer.flush();
  const obs = s.q<{ peer_row: number; phase: string; pieces: number; direction: string }>('SELECT peer_row, phase, pieces, direction FROM observations ORDER BY id');
  assert.equal(obs.filter((o) => o.peer_row === 1).length, 1, 'the seed: one observation for ten contacts');
  assert.deepEqual(obs.filter((o) => o.peer_row === 2).map((o) => `${o.phase} ${o.pieces}`), ['open 10', 'open 90', 'cross 98', 'end 99']);
  const [fact] = s.q<{ crossed_observation: number; crossed_pieces: number }>('SELECT crossed_observation, crossed_pieces FROM peers WHERE id = 2');
  assert.equal(fact.crossed_pieces, 98);
  assert.equal(s.q<{ phase: string }>('SELECT phase FROM observations WHERE id = ?', fact.crossed_observation)[0].phase, 'cross');
  s.db.close();
});

test('reported by the peer: first seen complete, complete_ago inside the run; its own column, never confirmed', async () => {
  const s = await store();
  const { writer, contact } = s.open(98, T0);
  contact(30, { ip: '81.2.69.80', openingPieces: 100, completeAgo: 600 }); // completed 20 minutes into the run
  contact(30, { ip: '81.2.69.81', openingPieces: 100, completeAgo: 7200 }); // completed before the run
  contact(30, { ip: '81.2.69.82', openingPieces: 50, completeAgo: 60 }); // says so but is below: ignored
  writer.flush();
  const rows = s.q<{ reported_complete_at: string | null }>('SELECT reported_complete_at FROM peers ORDER BY id');
  assert.deepEqual(rows.map((r) => r.reported_complete_at), [new Date(T0 + 20 * MIN + 100).toISOString(), null, null]);
  assert.equal(s.count('confirmed_downloads'), 0);
  assert.equal(s.count('crossings'), 0);
  // the report: its own column beside the headline (per torrent, per set, in the text), never in confirmed
  const report = await buildReport(s.db, { now: new Date(T0 + 60 * MIN) });
  assert.deepEqual(report.torrents.map((t) => [t.confirmed, t.reportedByPeer]), [[0, 1]]);
  assert.deepEqual(report.sets.map((x) => [x.confirmed, x.reportedByPeer]), [[0, 1]]);
  const text = reportText(report, reportTables(report));
  assert.ok(text.includes('reported by the peer'), 'the column is named in the text report');
  assert.match(text, /^bbbbbbbbbbbb\S*\s+x\s+0\s+0\s+0\s+1$/m, 'confirmed 0, restarts 0, suspect 0, reported by the peer 1');
  // counted by the reported moment in the window
  const later = await buildReport(s.db, { now: new Date(T0 + 60 * MIN), window: { since: new Date(T0 + 30 * MIN).toISOString(), until: null } });
  assert.deepEqual(later.torrents.map((t) => t.reportedByPeer), [0]);
  s.db.close();
});

test('a peer id used at many addresses is no identity: no dual-stack join, and lookups stay bounded', async () => {
  const s = await store();
  const { writer, contact } = s.open();
  const shared = Buffer.from('-XX0000-000000000000');
  for (let i = 0; i < 50; i++) contact(0, { ip: `81.2.69.${100 + i}`, peerId: shared, openingPieces: 10 });
  contact(5, { ip: '2001:218::1', peerId: shared, openingPieces: 100 });
  writer.flush();
  assert.equal(s.q('SELECT id FROM peers').length, 51, 'the IPv6 contact is its own session');
  assert.equal(s.count('crossings'), 0);
  s.db.close();
});
