// The watch against scripted peers on loopback: a contact that ends below the threshold hands its socket
// over, the watched connection reads the crossing live (stamped when its have arrived), sends only
// keep-alives, and ends on the crossing, the peer leaving, or a stall; a full budget goes to the sooner
// expected crossing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contactPeer, type ContactOptions, type ContactTorrent } from '../../src/evaluator/contact.ts';
import { WatchPool, ranksBefore } from '../../src/evaluator/watch-pool.ts';
import { etaSeconds, type WatchEnd } from '../../src/evaluator/watch.ts';
import type { ContactResult } from '../../src/types.ts';
import { forbiddenIds, startScriptedPeer, type Step } from '../helpers/scripted-peer.ts';

const infoHash = Buffer.alloc(20, 0x22);
const ourId = Buffer.from('-BD0001-000000000001', 'latin1');
const torrent: ContactTorrent = { torrentId: 3, infoHash, pieces: 100, thresholdPieces: 98 };
const contactOpts = (o: Partial<ContactOptions> = {}): ContactOptions =>
  ({ peerId: ourId, timeoutMs: 300, connectTimeoutMs: 1000, contactLimitMs: 5000, maxMessages: 256, openingGraceMs: 50, ...o });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function pool(budget: number, segments: ContactResult[], o: { stallMs?: number; keepAliveMs?: number } = {}): WatchPool {
  return new WatchPool({ budget, stallMs: o.stallMs ?? 5000, keepAliveMs: o.keepAliveMs, pex: false, record: (s) => segments.push({ ...s }) });
}

async function watchOne(script: Step[], o: { stallMs?: number; keepAliveMs?: number } = {}) {
  const peer = await startScriptedPeer({ infoHash, pieces: 100, script });
  const segments: ContactResult[] = [];
  const watch = pool(4, segments, o);
  try {
    const r = await contactPeer(torrent, '127.0.0.1', peer.port, 'first', contactOpts({ watch }));
    const done = watch.whenDone(r);
    assert.ok(done, 'the contact was handed to the watch');
    const end = await done;
    const conn = await peer.connection(0);
    await conn.closed;
    assert.deepEqual(forbiddenIds(conn), [], 'a watched connection sends only keep-alives (never interested, never a request)');
    return { r, end, segments, conn, stats: watch.stats() };
  } finally {
    watch.stopAll();
    await peer.close();
  }
}

test('a quitter: the crossing is read live, stamped when its have arrives, and the watch ends there', async () => {
  const before = Date.now();
  const { r, end, segments, stats } = await watchOne([
    { handshake: true }, { bitfield: 50 }, { wait: 600 }, { have: range(50, 80) }, { wait: 400 }, { have: range(80, 100) }, { close: true },
  ]);
  assert.equal(r.reason, 'success');
  assert.equal(r.endPieces, 50);
  assert.equal(end.reason, 'crossed');
  const crossing = segments.find((s) => s.crossedAt !== null)!;
  assert.ok(crossing, 'a segment holds the crossing');
  assert.equal(crossing.event, 'watch');
  assert.equal(crossing.crossedPieces, 98);
  assert.ok(crossing.crossedAt! >= before + 900, 'stamped when the crossing have arrived, not when the contact ended');
  assert.ok(segments.every((s) => s.openingPieces! < 98 && s.openedAt! >= r.endedAt));
  assert.equal(stats.watched, 1);
  assert.equal(stats.crossed, 1);
  assert.equal(stats.watching, 0);
});

test('a watched peer that leaves before crossing is counted, its last state stored', async () => {
  const { end, segments, stats } = await watchOne([{ handshake: true }, { bitfield: 40 }, { wait: 500 }, { have: [40, 41] }, { wait: 100 }, { close: true }]);
  assert.equal(end.reason, 'left');
  assert.equal(end.pieces, 42);
  assert.equal(segments.at(-1)!.endPieces, 42);
  assert.equal(stats.left, 1);
});

test('a silent watched peer gets keep-alives, then is let go at the stall limit', async () => {
  const { end, conn, stats } = await watchOne([{ handshake: true }, { bitfield: 40 }, { wait: 3000 }], { stallMs: 1200, keepAliveMs: 300 });
  assert.equal(end.reason, 'stalled');
  assert.ok(conn.parsed().ids.filter((id) => id === -1).length >= 2, 'keep-alives while watched');
  assert.equal(stats.stalled, 1);
});

test('budget full: the sooner expected crossing takes the slot; both offers count as budget full', async () => {
  const segments: ContactResult[] = [];
  const watch = pool(1, segments);
  // slow: no piece during its contact (no rate: ranks last); fast: pieces arrive during its contact
  const slow = await startScriptedPeer({ infoHash, pieces: 100, script: [{ handshake: true }, { bitfield: 90 }, { wait: 4000 }] });
  const fast = await startScriptedPeer({ infoHash, pieces: 100, script: [{ handshake: true }, { bitfield: 20 }, { wait: 100 }, { have: range(20, 40) }, { wait: 4000 }] });
  const slow2 = await startScriptedPeer({ infoHash, pieces: 100, script: [{ handshake: true }, { bitfield: 95 }, { wait: 4000 }] });
  try {
    const o = contactOpts({ watch });
    const rSlow = await contactPeer(torrent, '127.0.0.1', slow.port, 'first', o);
    const slowDone = watch.whenDone(rSlow);
    assert.ok(slowDone);
    const rFast = await contactPeer(torrent, '127.0.0.1', fast.port, 'first', o);
    assert.ok(watch.whenDone(rFast), 'a known rate beats no rate');
    assert.equal((await slowDone).reason, 'evicted');
    const rSlow2 = await contactPeer(torrent, '127.0.0.1', slow2.port, 'first', o);
    assert.equal(watch.whenDone(rSlow2), undefined, 'no rate does not beat a known rate, however few pieces are missing');
    const stats = watch.stats();
    assert.equal(stats.watched, 2);
    assert.equal(stats.evicted, 1);
    assert.equal(stats.fullOffers, 2);
    assert.ok(stats.fullMs >= 0);
    assert.equal(stats.watching, 1);
  } finally {
    watch.stopAll();
    await Promise.all([slow.close(), fast.close(), slow2.close()]);
  }
});

test('seeds, peers above the threshold and inbound contacts are not watched', async () => {
  const segments: ContactResult[] = [];
  const watch = pool(4, segments);
  const seed = await startScriptedPeer({ infoHash, pieces: 100, script: [{ handshake: true }, { haveAll: true }, { wait: 2000 }] });
  const above = await startScriptedPeer({ infoHash, pieces: 100, script: [{ handshake: true }, { bitfield: 99 }, { wait: 2000 }] });
  try {
    for (const p of [seed, above]) {
      const r = await contactPeer(torrent, '127.0.0.1', p.port, 'first', contactOpts({ watch }));
      assert.equal(r.reason, 'success');
      assert.equal(watch.whenDone(r), undefined);
    }
    assert.equal(watch.stats().watched, 0);
  } finally {
    watch.stopAll();
    await Promise.all([seed.close(), above.close()]);
  }
});

test('the rank: expected time to the crossing, then fewest missing pieces', () => {
  assert.equal(etaSeconds(10, 5, 1000), 2);
  assert.equal(etaSeconds(10, 0, 1000), Infinity);
  assert.equal(etaSeconds(0, 0, 0), 0);
  assert.ok(ranksBefore(5, 50, 6, 1));
  assert.ok(ranksBefore(Infinity, 2, Infinity, 3));
  assert.ok(!ranksBefore(Infinity, 1, 100, 90));
  const end: WatchEnd = { reason: 'stopped', pieces: null };
  assert.equal(end.pieces, null);
});
