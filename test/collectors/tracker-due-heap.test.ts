// The due heap of a tracker endpoint: pops in due order at any size (the collector used to spread
// every due time into Math.min, which throws past about 120,000 arguments).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DueHeap } from '../../src/collectors/tracker/due-heap.ts';

test('250,000 entries pop in due order; equal times, pushes after pops and an empty heap are fine', () => {
  const heap = new DueHeap<{ nextAnnounceAt: number; id: number }>();
  assert.equal(heap.pop(), undefined);
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 1000;
  for (let i = 0; i < 250_000; i++) heap.push({ nextAnnounceAt: rand(), id: i });
  assert.equal(heap.size, 250_000);
  let last = -1;
  for (let i = 0; i < 100_000; i++) {
    const item = heap.pop()!;
    assert.ok(item.nextAnnounceAt >= last);
    last = item.nextAnnounceAt;
  }
  heap.push({ nextAnnounceAt: -5, id: -1 });
  assert.equal(heap.peek()!.id, -1);
  assert.equal(heap.pop()!.id, -1);
  while (heap.size > 0) {
    const item = heap.pop()!;
    assert.ok(item.nextAnnounceAt >= last);
    last = item.nextAnnounceAt;
  }
  assert.equal(heap.peek(), undefined);
});
