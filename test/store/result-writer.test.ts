import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher, anonymizeAddress } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const GEO = new URL('../fixtures/geoip/GeoLite2-City-Test.mmdb', import.meta.url).pathname;
const T0 = Date.parse('2026-01-01T10:00:00Z');

async function setup(opts: { storeIp?: boolean; geo?: string } = {}) {
  const dir = tempDir('btda-store-');
  const db = Database.open(join(dir, 'btda.sqlite'));
  const t = db.addTorrent(
    { infoHash: 'aa'.repeat(20), infoHashV2: null, name: 'x', pieces: 100, pieceSize: 16_384, totalSize: 1_638_400, trackers: [] },
    'x.torrent', 'A', T0,
  )!;
  db.setThreshold(0.98);
  const writer = new ResultWriter(db, {
    runId: db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 }),
    hasher: new AddressHasher(Buffer.alloc(32, 7)),
    geo: await Geolocator.open(opts.geo ?? ''),
    storeIp: !!opts.storeIp,
    flushIntervalMs: 0,
  });
  const facts = { pieceSize: 16_384, thresholdPieces: 98 };
  return { dir, db, torrentId: t.id, writer, facts };
}

test('confirmed downloads: below then at/above the threshold across visits, inside one contact, and not for seeds', async () => {
  const { db, torrentId, writer, facts } = await setup();
  const at = (s: number) => T0 + s * 1000;
  // peer A: 10 pieces, then 98 on a later visit → confirmed
  writer.contact(contactResult({ torrentId, ip: '10.0.0.1', openingPieces: 10, endPieces: 10, startedAt: at(0), openedAt: at(0), endedAt: at(5) }), 'http', facts);
  writer.contact(contactResult({ torrentId, ip: '10.0.0.1', event: 'later', openingPieces: 98, endPieces: 100, startedAt: at(300), openedAt: at(300), endedAt: at(305) }), 'http', facts);
  // peer B: a seed from the start → not confirmed
  writer.contact(contactResult({ torrentId, ip: '10.0.0.2', openingPieces: 100, endPieces: 100 }), 'dht', facts);
  // peer C: crosses inside its first contact
  writer.contact(contactResult({ torrentId, ip: '10.0.0.3', openingPieces: 90, endPieces: 100, crossedAt: at(3), crossedPieces: 98, startedAt: at(0), openedAt: at(0), endedAt: at(6) }), 'http', facts);
  // peer D: stays below
  writer.contact(contactResult({ torrentId, ip: '10.0.0.4', openingPieces: 10, endPieces: 97 }), 'http', facts);
  // failed contact: only an outcome
  writer.contact(contactResult({ torrentId, ip: '10.0.0.5', reason: 'refused', openingPieces: null, endPieces: null }), 'http', facts);
  assert.ok(writer.flush());

  const confirmed = db.sqlite.prepare('SELECT address, crossed_at FROM confirmed_downloads ORDER BY address').all() as { address: string; crossed_at: string }[];
  assert.equal(confirmed.length, 2);
  const rows = db.sqlite.prepare('SELECT * FROM peers ORDER BY id').all() as Record<string, unknown>[];
  assert.equal(rows.length, 4);
  const a = rows[0];
  assert.equal(a.first_pieces, 10);
  assert.equal(a.last_pieces, 100);
  assert.equal(a.visits, 2);
  assert.equal(a.crossed_at, new Date(at(300)).toISOString());
  // 88 pieces of 16 KiB in 295 s
  assert.ok(Math.abs((a.max_speed as number) - (88 * 16_384) / 295) < 1, String(a.max_speed));
  assert.equal(a.client, 'Transmission 3.00');
  assert.equal(rows[2].crossed_at, new Date(at(3)).toISOString());
  assert.equal(rows[1].crossed_at, null);
  const hourly = db.sqlite.prepare('SELECT hour, confirmed FROM hourly_confirmed').all();
  assert.deepEqual(hourly, [{ hour: '2026-01-01 10:00', confirmed: 2 }]);
  const outcomes = db.sqlite.prepare('SELECT event, reason, count FROM outcomes ORDER BY event, reason').all();
  const waits = db.sqlite.prepare('SELECT event, wait_s, count FROM contact_waits ORDER BY event').all();
  assert.deepEqual(waits, [{ event: 'first', wait_s: 0, count: 4 }, { event: 'later', wait_s: 0, count: 1 }]);
  assert.deepEqual(outcomes, [
    { event: 'first', reason: 'refused', count: 1 },
    { event: 'first', reason: 'success', count: 4 },
    { event: 'later', reason: 'success', count: 1 },
  ]);
  db.close();
});

test('privacy by default: no raw address stored; --store-ip keeps it; geolocation from a real .mmdb', async () => {
  const { db, torrentId, writer, facts } = await setup({ geo: GEO });
  writer.peerDiscovered(torrentId, '81.2.69.142', 51413, 'udp', T0);
  writer.contact(contactResult({ torrentId, ip: '81.2.69.142', port: 51413, openingPieces: 5, endPieces: 5 }), 'udp', facts);
  writer.peerDiscovered(torrentId, '81.2.69.142', 51413, 'dht', T0);
  assert.ok(writer.flush());
  const row = db.sqlite.prepare('SELECT * FROM peers').get() as Record<string, unknown>;
  assert.equal(row.address, '81.2.69.0/24');
  assert.equal(row.ip, null);
  assert.equal(row.country, 'GB');
  assert.equal(row.continent, 'EU');
  assert.equal(row.city, 'London');
  assert.equal(row.sources, 'udp,dht');
  const dump = JSON.stringify(db.sqlite.prepare('SELECT * FROM peers').all());
  assert.ok(!dump.includes('81.2.69.142'));
  db.close();

  const withIp = await setup({ storeIp: true });
  withIp.writer.contact(contactResult({ torrentId: withIp.torrentId, ip: '81.2.69.142', openingPieces: 5, endPieces: 5 }), 'udp', withIp.facts);
  withIp.writer.flush();
  assert.equal((withIp.db.sqlite.prepare('SELECT ip FROM peers').get() as { ip: string }).ip, '81.2.69.142');
  withIp.db.close();
});

test('anonymized addresses keep the /24 or /48 network', () => {
  assert.equal(anonymizeAddress('81.2.69.142'), '81.2.69.0/24');
  assert.equal(anonymizeAddress('::ffff:81.2.69.142'), '81.2.69.0/24');
  assert.equal(anonymizeAddress('2001:db8:abcd:12::5'), '2001:db8:abcd::/48');
  assert.equal(anonymizeAddress('::1'), '0:0:0::/48');
  const h = new AddressHasher(Buffer.alloc(32, 1));
  assert.equal(h.hash('::ffff:81.2.69.142'), h.hash('81.2.69.142'));
  assert.notEqual(h.hash('81.2.69.142'), h.hash('81.2.69.143'));
});

test('an incoming peer joins the known session by its peer id, whatever port it dials from or advertises', async () => {
  const { db, torrentId, writer, facts } = await setup();
  writer.contact(contactResult({ torrentId, ip: '10.0.0.9', port: 6881, openingPieces: 10, endPieces: 10, startedAt: T0 }), 'http', facts);
  writer.flush();
  writer.contact(contactResult({ torrentId, ip: '10.0.0.9', port: 50123, event: 'incoming', listenPort: 6881, openingPieces: 99, endPieces: 99, startedAt: T0 + 600_000 }), 'incoming', facts);
  writer.contact(contactResult({ torrentId, ip: '10.0.0.9', port: 50999, event: 'incoming', openingPieces: 100, endPieces: 100, startedAt: T0 + 900_000 }), 'incoming', facts);
  writer.flush();
  const rows = db.sqlite.prepare('SELECT port, visits, first_pieces, last_pieces, sources FROM peers').all();
  assert.deepEqual(rows, [{ port: 6881, visits: 3, first_pieces: 10, last_pieces: 100, sources: 'http,incoming' }]);
  assert.equal((db.sqlite.prepare('SELECT count(*) n FROM confirmed_downloads').get() as { n: number }).n, 1);
  db.close();
});

test('a failed flush keeps the rows and reports the error (read-only database)', async () => {
  const { db, torrentId, writer, facts } = await setup();
  const errors: Error[] = [];
  (writer as unknown as { opts: { onError: (e: Error) => void } }).opts.onError = (e) => errors.push(e);
  writer.contact(contactResult({ torrentId, openingPieces: 1, endPieces: 1 }), 'http', facts);
  db.sqlite.pragma('query_only = ON');
  assert.equal(writer.flush(), false);
  assert.equal(errors.length, 1);
  assert.ok(writer.pending > 0);
  db.sqlite.pragma('query_only = OFF');
  assert.equal(writer.flush(), true);
  assert.equal(writer.pending, 0);
  assert.equal((db.sqlite.prepare('SELECT count(*) n FROM peers').get() as { n: number }).n, 1);
  db.close();
});

test('a broken .mmdb file gives a clear error naming it', async () => {
  const broken = new URL('../fixtures/geoip/GeoIP2-City-Test-Invalid-Node-Count.mmdb', import.meta.url).pathname;
  await assert.rejects(Geolocator.open(broken), /cannot read GeoIP database .*Invalid-Node-Count\.mmdb/);
  await assert.rejects(Geolocator.open('/nonexistent/x.mmdb'), /cannot read GeoIP database \/nonexistent\/x\.mmdb/);
});

test('sources are stored in one fixed order whatever order they were learnt in', async () => {
  const { db, torrentId, writer, facts } = await setup();
  writer.peerDiscovered(torrentId, '81.2.69.1', 6881, 'udp', T0);
  writer.peerDiscovered(torrentId, '81.2.69.1', 6881, 'http', T0);
  writer.peerDiscovered(torrentId, '81.2.69.2', 6881, 'http', T0);
  writer.peerDiscovered(torrentId, '81.2.69.2', 6881, 'udp', T0);
  writer.peerDiscovered(torrentId, '81.2.69.2', 6881, 'pex', T0);
  writer.contact(contactResult({ torrentId, ip: '81.2.69.2', port: 6881, openingPieces: 5, endPieces: 5 }), 'dht', facts);
  writer.flush();
  const rows = db.sqlite.prepare('SELECT sources FROM peers ORDER BY id').all() as { sources: string }[];
  assert.deepEqual(rows.map((r) => r.sources), ['http,udp', 'http,udp,dht,pex']);
  db.close();
});

test('outcomes: first means the first attempt ever at an address:port; a later run counts it as later', async () => {
  const { db, torrentId, writer, facts } = await setup();
  const outcomes = (runId: number) => db.sqlite.prepare('SELECT event, reason, count FROM outcomes WHERE run_id = ? ORDER BY event, reason').all(runId);
  writer.peerDiscovered(torrentId, '81.2.69.1', 6881, 'http', T0);
  writer.peerDiscovered(torrentId, '81.2.69.2', 6881, 'http', T0);
  writer.contact(contactResult({ torrentId, ip: '81.2.69.1', openingPieces: 5, endPieces: 5, startedAt: T0 + 1000 }), 'http', facts);
  writer.contact(contactResult({ torrentId, ip: '81.2.69.2', reason: 'refused', openingPieces: null, endPieces: null, startedAt: T0 + 1000 }), 'http', facts);
  writer.contact(contactResult({ torrentId, ip: '81.2.69.2', event: 'later', reason: 'refused', openingPieces: null, endPieces: null, startedAt: T0 + 60_000 }), 'http', facts);
  assert.ok(writer.close());
  assert.deepEqual(outcomes(1), [{ event: 'first', reason: 'refused', count: 1 }, { event: 'first', reason: 'success', count: 1 }, { event: 'later', reason: 'refused', count: 1 }]);

  const T1 = T0 + 3_600_000;
  const run2 = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T1 });
  const w2 = new ResultWriter(db, { runId: run2, hasher: new AddressHasher(Buffer.alloc(32, 7)), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0, runStartedAt: T1 });
  w2.peerDiscovered(torrentId, '81.2.69.3', 6881, 'udp', T1);
  for (const ip of ['81.2.69.1', '81.2.69.2', '81.2.69.3']) {
    w2.contact(contactResult({ torrentId, ip, openingPieces: 7, endPieces: 7, startedAt: T1 + 1000 }), 'http', facts);
  }
  assert.ok(w2.close());
  assert.deepEqual(outcomes(run2), [{ event: 'first', reason: 'success', count: 1 }, { event: 'later', reason: 'success', count: 2 }]);
  assert.deepEqual(db.sqlite.prepare('SELECT event FROM observations WHERE run_id = ? ORDER BY id').all(run2).map((o) => (o as { event: string }).event), ['later', 'later', 'first']);
  db.close();
});
