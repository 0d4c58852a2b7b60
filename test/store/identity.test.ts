// The identity rules (src/store/identity.ts) and the crossing rule (src/store/crossing.ts), as pure functions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crossingClass, crossingIndex, suspectReason } from '../../src/store/crossing.ts';
import { resolveSession, type Sighting, type StoredSession } from '../../src/store/identity.ts';

const RUN = '2026-01-01T00:00:00.000Z';
const session = (over: Partial<StoredSession>): StoredSession => ({
  id: 1, addressKey: 'k1', port: 51413, peerId: 'aa', client: 'Transmission 3.00', clientVersion: 'Transmission 3.00',
  family: 4, lastSeen: '2026-01-01T01:00:00.000Z', latest: true, ...over,
});
const sighting = (over: Partial<Sighting>): Sighting => ({
  addressKey: 'k1', port: 51413, peerId: 'aa', client: 'Transmission 3.00', clientVersion: 'Transmission 3.00',
  direction: 'out', family: 4, runStartedAt: RUN, ...over,
});

test('outgoing: same address, port and peer id joins; an uncontacted address:port is claimed', () => {
  const s = session({});
  assert.deepEqual(resolveSession(sighting({}), [s], s), { kind: 'join', session: s, why: 'same-peer-id' });
  const discovered = session({ peerId: null, client: null, clientVersion: null });
  assert.deepEqual(resolveSession(sighting({}), [], discovered), { kind: 'join', session: discovered, why: 'claim' });
  assert.deepEqual(resolveSession(sighting({}), [], undefined), { kind: 'new', restartOf: null, demote: null, latest: true });
});

test('address reuse: another client at the address:port is a new session, never a restart', () => {
  const a = session({});
  const d = resolveSession(sighting({ peerId: 'bb', client: 'qBittorrent 4.5.2', clientVersion: 'qBittorrent/4.5.2' }), [], a);
  assert.deepEqual(d, { kind: 'new', restartOf: null, demote: a, latest: true });
});

test('a new peer id from the same client name and version is a restart of that session', () => {
  const a = session({});
  assert.deepEqual(resolveSession(sighting({ peerId: 'bb' }), [], a), { kind: 'new', restartOf: a, demote: a, latest: true });
  // another version of the same client: a different program
  const d = resolveSession(sighting({ peerId: 'bb', client: 'Transmission 4.00', clientVersion: 'Transmission 4.00' }), [], a);
  assert.equal(d.kind === 'new' && d.restartOf, null);
});

test('inbound: joined by address key and peer id whatever the port; NAT neighbours stay apart', () => {
  const out = session({ port: 6881 });
  const inbound = sighting({ direction: 'in', port: 50123 });
  assert.deepEqual(resolveSession(inbound, [out], undefined), { kind: 'join', session: out, why: 'same-peer-id' });
  // another user behind the same address advertising the same default port
  const neighbour = sighting({ direction: 'in', peerId: 'cc' });
  assert.deepEqual(resolveSession(neighbour, [], session({})), { kind: 'new', restartOf: null, demote: null, latest: false });
  // the same peer id at another address is someone else (unless it is the other family, see dual stack)
  assert.deepEqual(resolveSession(sighting({ addressKey: 'k2' }), [session({})], undefined), { kind: 'new', restartOf: null, demote: null, latest: true });
});

test('dual stack: the same peer id over the other family in this run is one session; from an earlier run it is not', () => {
  const v4 = session({});
  const v6 = sighting({ addressKey: 'k6', family: 6 });
  assert.deepEqual(resolveSession(v6, [v4], undefined), { kind: 'join', session: v4, why: 'dual-stack' });
  const old = session({ lastSeen: '2025-12-31T00:00:00.000Z' });
  assert.equal(resolveSession(v6, [old], undefined).kind, 'new');
});

test('crossing: the first state at or above the threshold after one below, once', () => {
  const st = (pieces: number, at = 0) => ({ pieces, at });
  assert.equal(crossingIndex(null, false, [st(10), st(97), st(98), st(100)], 98), 2);
  assert.equal(crossingIndex(10, false, [st(100)], 98), 0);
  assert.equal(crossingIndex(null, false, [st(100), st(100)], 98), -1, 'a seed never crosses');
  assert.equal(crossingIndex(10, true, [st(50), st(100)], 98), -1, 'crossed before: never again');
  // a later drop does not undo anything, and a drop below then a return is not a second crossing
  assert.equal(crossingIndex(98, false, [st(50), st(99)], 98), 1, 'seen at 98 first, never below: the drop to 50 is the first below');
});

test('plausibility: a rate no home link reaches, or upload_only while below, is suspect', () => {
  const limits = { pieceSize: 16 * 1024 * 1024, maxRate: 1.25e9 };
  // 90 pieces of 16 MiB in one second: 1.5 GB/s
  assert.equal(suspectReason({ at: 1000, pieces: 100 }, { at: 0, pieces: 10 }, false, limits), 'rate');
  // the same in 10 minutes: 2.5 MB/s
  assert.equal(suspectReason({ at: 600_000, pieces: 100 }, { at: 0, pieces: 10 }, false, limits), null);
  assert.equal(suspectReason({ at: 600_000, pieces: 100 }, { at: 0, pieces: 10 }, true, limits), 'upload-only');
  assert.equal(crossingClass(false, null), 'confirmed');
  assert.equal(crossingClass(true, null), 'restart');
  assert.equal(crossingClass(true, 'rate'), 'suspect');
});
