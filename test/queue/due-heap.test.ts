import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { CHUNK_SIZE } from '../../src/queue/chunks.ts';
import { DueHeap } from '../../src/queue/due-heap.ts';

test('slots come out by due time, ties first come first served, across heap growth and chunk boundaries (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 3000 }), fc.nat(), (dues, offset) => {
      const heap = new DueHeap();
      const base = CHUNK_SIZE - (offset % 1500); // slot numbers that straddle the first chunk boundary
      heap.reserve(base + dues.length);
      dues.forEach((due, k) => heap.push(base + k, due));
      assert.equal(heap.size, dues.length);
      const order = dues.map((due, k) => ({ due, slot: base + k })).sort((a, b) => a.due - b.due || a.slot - b.slot);
      for (const expected of order) {
        assert.equal(heap.peek(), expected.slot);
        assert.equal(heap.pop(), expected.slot);
        assert.equal(heap.dueAtOf(expected.slot), expected.due);
      }
      assert.equal(heap.peek(), -1);
    }),
    { numRuns: 30 },
  );
});
