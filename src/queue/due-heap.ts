// When each waiting peer is due: a binary min-heap of slot numbers ordered by (due time, arrival), so
// ties go first come, first served. O(log n) a push or pop, no object per entry: the heap is an
// Int32Array and each slot's due time and arrival number live in chunked typed arrays.
import { CHUNK_BITS, CHUNK_MASK, CHUNK_SIZE } from './chunks.ts';

const INITIAL_HEAP = 1 << 10;

export class DueHeap {
  private readonly dueAt: Float64Array[] = [];
  /** Arrival number: orders peers due at the same time. */
  private readonly seq: Float64Array[] = [];
  private heap = new Int32Array(INITIAL_HEAP);
  private count = 0;
  private nextSeq = 0;

  /** Slots waiting. */
  get size(): number {
    return this.count;
  }

  /** Makes room for slot numbers below `slots`. */
  reserve(slots: number): void {
    while (this.dueAt.length * CHUNK_SIZE < slots) {
      this.dueAt.push(new Float64Array(CHUNK_SIZE));
      this.seq.push(new Float64Array(CHUNK_SIZE));
    }
  }

  dueAtOf(slot: number): number {
    return this.dueAt[slot >>> CHUNK_BITS][slot & CHUNK_MASK];
  }
  /** Changes a slot's due time in place (not its place in the heap: for a slot that is not waiting). */
  setDueAt(slot: number, t: number): void {
    this.dueAt[slot >>> CHUNK_BITS][slot & CHUNK_MASK] = t;
  }
  seqOf(slot: number): number {
    return this.seq[slot >>> CHUNK_BITS][slot & CHUNK_MASK];
  }

  /** The earliest slot, or -1 when none waits. */
  peek(): number {
    return this.count === 0 ? -1 : this.heap[0];
  }

  /** A slot (not waiting already) waits until `dueAt`, after every slot pushed before it for the same time. */
  push(slot: number, dueAt: number): void {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    this.dueAt[c][i] = dueAt;
    this.seq[c][i] = this.nextSeq++;
    if (this.count === this.heap.length) {
      const grown = new Int32Array(this.heap.length * 2);
      grown.set(this.heap);
      this.heap = grown;
    }
    this.up(this.count++, slot);
  }

  /** Removes and returns the earliest slot (the heap must not be empty). */
  pop(): number {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.count];
    if (this.count > 0) this.down(last);
    return top;
  }

  private less(a: number, b: number): boolean {
    const due = this.dueAt;
    const da = due[a >>> CHUNK_BITS][a & CHUNK_MASK];
    const db = due[b >>> CHUNK_BITS][b & CHUNK_MASK];
    if (da !== db) return da < db;
    const seq = this.seq;
    return seq[a >>> CHUNK_BITS][a & CHUNK_MASK] < seq[b >>> CHUNK_BITS][b & CHUNK_MASK];
  }

  /** Places `item` at position i or above. */
  private up(i: number, item: number): void {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(item, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = item;
  }

  /** Places `item` at the root or below. */
  private down(item: number): void {
    const heap = this.heap;
    const n = this.count;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(heap[right], heap[left]) ? right : left;
      if (!this.less(heap[child], item)) break;
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = item;
  }
}
