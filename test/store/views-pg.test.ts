// The public views on both backends: the counting traps (address reuse, NAT users on the listener, a dual-stack
// twin either way round, a drop after the crossing, a restart, implausible crossings, an in-contact crossing,
// crossings in two hours) written by the real ResultWriter into a spool and pushed to a real PostgreSQL give
// the same rows in `crossings`, `confirmed_downloads` and `hourly_confirmed` as the SQLite views over the spool.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { PgPusher } from '../../src/store/pg/push.ts';
import { Spool } from '../../src/store/pg/spool.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult } from '../../src/types.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { postgresPerFile } from '../helpers/pg-per-file.ts';

const { skip, root, server: pgServer } = postgresPerFile('btda-views-pg-');

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const TR = (n: string) => Buffer.from(`-TR3000-${n.padEnd(12, 'x')}`);
const QB = (n: string) => Buffer.from(`-qB4520-${n.padEnd(12, 'x')}`);

/** The traps of counting-traps.test.ts, in one run; `minute` from T0. */
const CONTACTS: [number, Partial<ContactResult>][] = [
  // address reuse: A below, then B seeding at the same address:port
  [0, { ip: '81.2.69.10', port: 51413, peerId: TR('a'), openingPieces: 30 }],
  [30, { ip: '81.2.69.10', port: 51413, peerId: QB('b'), openingPieces: 100, event: 'later' }],
  // two NAT users on the listener advertising one port; user 2 finishes
  [0, { ip: '81.2.69.20', port: 40001, event: 'incoming', listenPort: 51413, peerId: TR('user1'), openingPieces: 100 }],
  [1, { ip: '81.2.69.20', port: 40002, event: 'incoming', listenPort: 51413, peerId: TR('user2'), openingPieces: 20 }],
  [61, { ip: '81.2.69.20', port: 40005, event: 'incoming', listenPort: 51413, peerId: TR('user2'), openingPieces: 100 }],
  // dual stack, IPv4 first and IPv6 first
  [0, { ip: '127.0.0.9', port: 6881, peerId: TR('twin4'), openingPieces: 10 }],
  [10, { ip: '::1', port: 6881, peerId: TR('twin4'), openingPieces: 100, event: 'first' }],
  [0, { ip: '::2', port: 6881, peerId: TR('twin6'), openingPieces: 10 }],
  [12, { ip: '127.0.0.10', port: 6881, peerId: TR('twin6'), openingPieces: 100, event: 'first' }],
  // a drop after the crossing, and back
  [0, { ip: '81.2.69.30', openingPieces: 10 }],
  [10, { ip: '81.2.69.30', openingPieces: 100, event: 'later' }],
  [20, { ip: '81.2.69.30', openingPieces: 60, event: 'later' }],
  [30, { ip: '81.2.69.30', openingPieces: 100, event: 'later' }],
  // a restart: the same program with a new peer id, now complete
  [0, { ip: '81.2.69.40', port: 51413, peerId: TR('r1'), openingPieces: 50 }],
  [40, { ip: '81.2.69.40', port: 51413, peerId: TR('r2'), openingPieces: 100, event: 'later' }],
  // implausible: 0 to complete (1.6 MB) in a millisecond, 13 Gbit/s; upload_only while below
  [0, { ip: '81.2.69.50', openingPieces: 0 }],
  [1 / 60_000, { ip: '81.2.69.50', openingPieces: 100, event: 'later' }],
  [0, { ip: '81.2.69.60', openingPieces: 40, uploadOnly: true }],
  [50, { ip: '81.2.69.60', openingPieces: 100, event: 'later' }],
  // a crossing inside one contact, in the next hour
  [70, { ip: '81.2.69.70', openingPieces: 90, endPieces: 100, crossedAt: T0 + 70 * MIN + 3000, crossedPieces: 98 }],
];

const VIEWS: Record<string, string> = {
  crossings: 'SELECT * FROM crossings',
  confirmed_downloads: 'SELECT * FROM confirmed_downloads',
  hourly_confirmed: 'SELECT * FROM hourly_confirmed',
};

test('crossings, confirmed_downloads and hourly_confirmed: the same rows from SQLite and PostgreSQL', { skip }, async () => {
  const store = await PgStore.open(await pgServer().createDatabase('views'));
  const spool = await Spool.open(join(root, 'spool.sqlite'), store);
  try {
    const db = spool.db;
    const t = db.addTorrent({ infoHash: 'ee'.repeat(20), infoHashV2: null, name: 'x', pieces: 100, pieceSize: 16_384, totalSize: 1_638_400, trackers: [] }, 'x', 'S', T0)!;
    db.setThreshold(0.98);
    const runId = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 });
    const writer = new ResultWriter(db, { runId, hasher: new AddressHasher(Buffer.alloc(32, 3)), geo: await Geolocator.open(''), storeIp: true, flushIntervalMs: 0, runStartedAt: T0 });
    for (const [minute, over] of [...CONTACTS].sort((a, b) => a[0] - b[0])) {
      const at = T0 + minute * MIN;
      writer.contact(contactResult({ torrentId: t.id, startedAt: at, openedAt: at + 100, endedAt: at + 2000, endPieces: over.openingPieces, ...over }), 'http', { pieceSize: 16_384, thresholdPieces: 98 });
    }
    assert.ok(writer.flush());
    writer.close();
    await new PgPusher(spool, store).push();

    const sorted = (rows: Record<string, unknown>[]) => rows.map((r) => JSON.stringify({ ...r, torrent_id: undefined })).sort();
    for (const [view, sql] of Object.entries(VIEWS)) {
      const lite = db.sqlite.prepare(sql).all() as Record<string, unknown>[];
      const pg = (await store.pool.query(sql)).rows as Record<string, unknown>[];
      assert.deepEqual(sorted(pg), sorted(lite), view);
    }
    const classes = db.sqlite.prepare('SELECT crossing_class c, count(*) n FROM crossings GROUP BY 1 ORDER BY 1').all();
    assert.deepEqual(classes, [{ c: 'confirmed', n: 5 }, { c: 'restart', n: 1 }, { c: 'suspect', n: 2 }], 'every kind of crossing is in the comparison');
    assert.equal((db.sqlite.prepare('SELECT count(*) n FROM hourly_confirmed').get() as { n: number }).n, 2, 'downloads in two hours');
  } finally {
    spool.db.close();
    await store.close();
  }
});
