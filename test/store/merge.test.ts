// Merging databases: two hosts that each saw part of a swarm, merged, count what one host that saw everything
// counts; a session whose below and above states were seen by different hosts crosses only once merged.
// Written by the real ResultWriter; merged by the real `btda merge`.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { keyFingerprint } from '../../src/store/address-key.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult } from '../../src/types.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { runCli } from '../helpers/run-cli.ts';
import { postgresSkipReason, startPostgres } from '../helpers/postgres.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'btda-merge-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const TR = (n: string) => Buffer.from(`-TR3000-${n.padEnd(12, 'x')}`);

type Step = { host: 'A' | 'B'; minute: number; over: Partial<ContactResult> } | { host: 'A' | 'B'; minute: number; discovered: string };

/** What two hosts saw of one swarm, in time order. */
const STEPS: Step[] = [
  { host: 'A', minute: 0, over: { ip: '81.2.69.1', peerId: TR('one'), openingPieces: 10 } }, // one host sees it all
  { host: 'A', minute: 0, over: { ip: '81.2.69.2', peerId: TR('two'), openingPieces: 30 } }, // below on A ...
  { host: 'A', minute: 0, over: { ip: '127.0.0.9', port: 7000, peerId: TR('twin'), openingPieces: 10 } }, // dual stack: IPv4 on A ...
  { host: 'A', minute: 1, discovered: '81.2.69.3' }, // A only learns the address ...
  { host: 'A', minute: 2, over: { ip: '81.2.69.4', peerId: TR('seed'), openingPieces: 100 } }, // a seed both see
  { host: 'B', minute: 3, over: { ip: '81.2.69.4', peerId: TR('seed'), openingPieces: 100 } },
  { host: 'A', minute: 4, over: { ip: '81.2.69.5', port: 40001, event: 'incoming', listenPort: 51413, peerId: TR('nat'), openingPieces: 20 } }, // inbound on A ...
  { host: 'B', minute: 5, over: { ip: '81.2.69.3', peerId: TR('three'), openingPieces: 10 } }, // ... B contacts it
  { host: 'B', minute: 10, over: { ip: '::1', port: 7000, peerId: TR('twin'), openingPieces: 100 } }, // ... IPv6 on B
  { host: 'A', minute: 30, over: { ip: '81.2.69.1', peerId: TR('one'), openingPieces: 100, event: 'later' } },
  { host: 'B', minute: 30, over: { ip: '81.2.69.2', peerId: TR('two'), openingPieces: 100 } }, // ... above on B
  { host: 'B', minute: 31, over: { ip: '81.2.69.3', peerId: TR('three'), openingPieces: 100, event: 'later' } },
  { host: 'B', minute: 32, over: { ip: '81.2.69.5', port: 51413, peerId: TR('nat'), openingPieces: 100 } }, // ... outgoing on B
];

async function write(path: string, hosts: ('A' | 'B')[], key = Buffer.alloc(32, 7)): Promise<void> {
  const db = Database.open(path);
  db.setMeta('address_key_fingerprint', keyFingerprint(key));
  const t = db.addTorrent({ infoHash: 'dd'.repeat(20), infoHashV2: null, name: 'x', pieces: 100, pieceSize: 16_384, totalSize: 1_638_400, trackers: [] }, 'x', null, T0)!;
  const runId = db.startRun({ version: 't', args: JSON.stringify(hosts), host: hosts.join(''), threshold: 0.98, startedAt: T0 });
  const writer = new ResultWriter(db, { runId, hasher: new AddressHasher(key), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0, runStartedAt: T0 });
  for (const step of STEPS) {
    if (!hosts.includes(step.host)) continue;
    const at = T0 + step.minute * MIN;
    if ('discovered' in step) writer.peerDiscovered(t.id, step.discovered, 6881, 'dht', at);
    else writer.contact(contactResult({ torrentId: t.id, startedAt: at, openedAt: at + 100, endedAt: at + 2000, endPieces: step.over.openingPieces, ...step.over }), 'http', { pieceSize: 16_384, thresholdPieces: 98 });
    writer.flush();
  }
  writer.close();
  db.endRun(runId, 'completed', T0 + 60 * MIN);
  db.close();
}

const SESSIONS = `SELECT address_key, port, peer_id, crossing_class, crossed_at, crossed_pieces, low_pieces, first_pieces, last_pieces, visits
  FROM peers ORDER BY address_key, port, peer_id`;
const read = (path: string, sql: string) => {
  const db = Database.open(path, { readonly: true });
  try {
    return db.sqlite.prepare(sql).all();
  } finally {
    db.close();
  }
};
const confirmed = (path: string) => (read(path, 'SELECT count(*) n FROM confirmed_downloads')[0] as { n: number }).n;

test('two hosts merged count what one host that saw everything counts, session for session', async () => {
  const a = join(dir, 'a.sqlite');
  const b = join(dir, 'b.sqlite');
  const one = join(dir, 'one.sqlite');
  await write(a, ['A']);
  await write(b, ['B']);
  await write(one, ['A', 'B']);
  assert.equal(confirmed(one), 5, 'one, two, three, the twin and the NAT peer');
  assert.equal(confirmed(a) + confirmed(b), 2, 'apart, only "one" (A) and "three" (B) cross');

  const out = join(dir, 'merged.sqlite');
  const r = await runCli(['merge', a, b, '-o', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /confirmed\s+1\s+1\s+5\n/, r.stdout);
  assert.match(r.stdout, /sessions\s+6\s+5\s+6\n/, r.stdout);
  assert.equal(confirmed(out), 5);
  assert.deepEqual(read(out, SESSIONS), read(one, SESSIONS));
  const runs = read(out, 'SELECT id, host, origin FROM runs ORDER BY id');
  assert.deepEqual(runs, [{ id: 1, host: 'A', origin: `${a} run 1` }, { id: 2, host: 'B', origin: `${b} run 1` }]);
  const observations = read(out, 'SELECT count(*) n FROM observations')[0] as { n: number };
  const inputs = [a, b].map((p) => (read(p, 'SELECT count(*) n FROM observations')[0] as { n: number }).n);
  assert.equal(observations.n, inputs[0] + inputs[1], 'every observation kept');
  const outcomes = read(out, "SELECT sum(count) n FROM outcomes WHERE reason = 'success'")[0] as { n: number };
  assert.equal(outcomes.n, STEPS.filter((s) => 'over' in s).length);
  // the merged evidence of a session is in time order, across hosts
  const twin = read(out, "SELECT o.run_id, o.family, o.pieces FROM observations o JOIN peers p ON p.id = o.peer_row WHERE p.port = 7000 ORDER BY o.id");
  assert.deepEqual(twin, [{ run_id: 1, family: 4, pieces: 10 }, { run_id: 2, family: 6, pieces: 100 }]);

  const again = await runCli(['merge', out, a, '-o', join(dir, 'twice.sqlite')]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /also in the inputs/);
});

test('databases written with different address keys are refused with one line, exit 2', async () => {
  const a = join(dir, 'key-a.sqlite');
  const b = join(dir, 'key-b.sqlite');
  await write(a, ['A']);
  await write(b, ['B'], Buffer.alloc(32, 8));
  const out = join(dir, 'never.sqlite');
  const r = await runCli(['merge', a, b, '-o', out]);
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /different address keys/);
  const exists = await runCli(['merge', a, '-o', a]);
  assert.equal(exists.code, 2);
  assert.match(exists.stderr, /exists/);
});

test('merged into PostgreSQL: the sessions, counts and evidence of the merged file; a target that holds runs is refused', { skip: postgresSkipReason() }, async () => {
  const server = await startPostgres();
  try {
    const a = join(dir, 'pg-a.sqlite');
    const b = join(dir, 'pg-b.sqlite');
    await write(a, ['A']);
    await write(b, ['B']);
    const file = join(dir, 'pg-merged.sqlite');
    assert.equal((await runCli(['merge', a, b, '-o', file])).code, 0);
    const url = await server.createDatabase('merged');
    const r = await runCli(['merge', a, b, '-o', url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /confirmed\s+1\s+1\s+5\n/, r.stdout);
    assert.match(r.stdout, /sent to postgres:\/\/.*: .*\d+ peers/, r.stdout);
    const store = await PgStore.open(url);
    try {
      const pg = async (sql: string) => (await store.pool.query(sql)).rows;
      const sorted = (rows: unknown[]) => rows.map((x) => JSON.stringify(x)).sort();
      assert.deepEqual(sorted(await pg(SESSIONS)), sorted(read(file, SESSIONS)), 'the same sessions as the merged file');
      assert.deepEqual(await pg('SELECT count(*)::int AS n FROM confirmed_downloads'), [{ n: 5 }]);
      const EVIDENCE = 'SELECT p.port, o.family, o.pieces, o.phase FROM observations o JOIN peers p ON p.id = o.peer_row';
      assert.deepEqual(sorted(await pg(EVIDENCE)), sorted(read(file, EVIDENCE)), 'every observation kept');
      assert.deepEqual((await pg('SELECT host, origin FROM runs ORDER BY id')).map((x) => x.host), ['A', 'B']);
      assert.deepEqual((await pg('SELECT origin FROM runs ORDER BY id')).map((x) => x.origin), [`${a} run 1`, `${b} run 1`]);
    } finally {
      await store.close();
    }
    const again = await runCli(['merge', a, '-o', url]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already holds 2 runs/);
  } finally {
    await server.stop();
  }
});
