// What PEX flags (BEP 11) and a peer's own contacts tell the queue: known seeds wait in the seed lane
// and yield to due leechers (for at most a revisit delay), are not revisited unless revisitComplete,
// and a peer said to prefer encryption is opened encrypted on its first visit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DueQueue, PeerState } from '../../src/queue/due-queue.ts';
import { DueHeap, Lane } from '../../src/queue/due-heap.ts';
import { PEX_PREFERS_ENCRYPTION, PEX_REACHABLE, PEX_SEED } from '../../src/wire/pex.ts';

const policy = { revisitDelayMs: 300_000, revisitComplete: false, maxFailures: 3, retryDelayMs: 60_000 };

test('when both are due, leechers and peers nothing is known of go before a known seed', () => {
  const q = new DueQueue(policy);
  q.add(1, 'seed', 1, 'pex', 0, PEX_SEED | PEX_REACHABLE);
  q.add(1, 'leecher', 1, 'pex', 10, PEX_REACHABLE);
  q.add(1, 'tracker', 1, 'http', 20);
  assert.equal(q.get(1, 'seed', 1)!.seed, true);
  assert.equal(q.get(1, 'leecher', 1)!.seed, false);
  assert.equal(q.nextDueAt(), 0); // the earliest of both lanes wakes the scheduler
  assert.equal(q.take(5)!.ip, 'seed'); // only the seed is due: it is not held back
  q.add(1, 'seed2', 1, 'pex', 0, PEX_SEED);
  assert.deepEqual([q.take(30)!.ip, q.take(30)!.ip, q.take(30)!.ip], ['leecher', 'tracker', 'seed2']);
  assert.equal(q.take(30), undefined);
});

test('a seed due longer than a revisit delay before a leecher goes first: seeds are never starved', () => {
  const q = new DueQueue(policy);
  q.add(1, 'seed', 1, 'pex', 0, PEX_SEED);
  q.add(1, 'leecher', 1, 'pex', policy.revisitDelayMs, 0);
  q.add(1, 'late', 1, 'pex', policy.revisitDelayMs + 1, 0);
  assert.equal(q.take(1e9)!.ip, 'leecher'); // due within a revisit delay of the seed
  assert.equal(q.take(1e9)!.ip, 'seed');
  assert.equal(q.take(1e9)!.ip, 'late');
});

test('a seed is visited once; with revisitComplete again, in the seed lane; a seed hint its contact disproves is dropped', () => {
  const q = new DueQueue(policy);
  q.add(1, 'seed', 1, 'pex', 0, PEX_SEED);
  q.add(1, 'wrong', 1, 'pex', 0, PEX_SEED);
  q.add(1, 'failing', 1, 'pex', 0, PEX_SEED);
  const seed = q.take(0)!;
  q.finish(seed, true, true, 0);
  assert.equal(seed.state, PeerState.Finished);
  const wrong = q.take(0)!;
  q.finish(wrong, true, false, 0); // it showed fewer pieces than the threshold and no upload_only
  assert.equal(wrong.seed, false);
  assert.equal(wrong.state, PeerState.Queued);
  const failing = q.take(0)!;
  q.finish(failing, false, false, 0); // no contact: the hint stays, the retry waits in the seed lane
  assert.equal(failing.seed, true);
  q.add(1, 'leecher', 1, 'http', policy.retryDelayMs);
  assert.equal(wrong.dueAt, policy.revisitDelayMs); // revisited as a leecher: due within a revisit delay of the seed, so first
  assert.deepEqual([q.take(1e9)!.ip, q.take(1e9)!.ip, q.take(1e9)!.ip], ['leecher', 'wrong', 'failing']);

  const again = new DueQueue({ ...policy, revisitComplete: true });
  again.add(1, 'seed', 1, 'http', 0);
  const s = again.take(0)!;
  assert.equal(s.seed, false);
  again.finish(s, true, true, 0); // found complete (or upload_only): a seed from now on
  assert.equal(s.seed, true);
  assert.equal(s.state, PeerState.Queued);
  again.add(1, 'leecher', 1, 'http', policy.revisitDelayMs);
  assert.deepEqual([again.take(1e9)!.ip, again.take(1e9)!.ip], ['leecher', 'seed']);
});

test('a peer said to prefer encryption opens encrypted until its own contact says how it speaks', () => {
  const q = new DueQueue(policy);
  q.add(1, 'enc', 1, 'pex', 0, PEX_PREFERS_ENCRYPTION);
  q.add(1, 'plain', 1, 'pex', 0, 0);
  q.add(1, 'tracker', 1, 'http', 0);
  assert.equal(q.get(1, 'enc', 1)!.encrypted, true);
  assert.equal(q.get(1, 'plain', 1)!.encrypted, null);
  // a known peer learns the preference while nothing is known of how it speaks...
  q.add(1, 'tracker', 1, 'pex', 0, PEX_PREFERS_ENCRYPTION);
  assert.equal(q.get(1, 'tracker', 1)!.encrypted, true);
  // ...but not once a contact spoke plaintext with it
  const plain = q.get(1, 'plain', 1)!;
  plain.encrypted = false;
  q.add(1, 'plain', 1, 'pex', 0, PEX_PREFERS_ENCRYPTION);
  assert.equal(plain.encrypted, false);
});

test('the lanes together pop in (due time, arrival) order; each lane alone too (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean()), { minLength: 1, maxLength: 2500 }), fc.boolean(), (pushes, byLane) => {
      const heap = new DueHeap();
      heap.reserve(pushes.length);
      pushes.forEach(([due, seed], slot) => heap.push(slot, due, seed ? Lane.Seed : Lane.Main));
      const order = (want: boolean | null) => pushes.map(([due, seed], slot) => ({ due, seed, slot }))
        .filter((p) => want === null || p.seed === want).sort((a, b) => a.due - b.due || a.slot - b.slot).map((p) => p.slot);
      if (byLane) {
        assert.deepEqual(Array.from({ length: heap.sizeOf(Lane.Main) }, () => heap.pop(Lane.Main)), order(false));
        assert.deepEqual(Array.from({ length: heap.sizeOf(Lane.Seed) }, () => heap.pop(Lane.Seed)), order(true));
      } else {
        assert.deepEqual(Array.from({ length: heap.size }, () => { const top = heap.peek(); assert.equal(heap.pop(), top); return top; }), order(null));
      }
      assert.equal(heap.peek(), -1);
    }),
    { numRuns: 40 },
  );
});
