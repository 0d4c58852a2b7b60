// When each waiting peer is due: binary min-heaps of slot numbers ordered by (due time, arrival), so
// ties go first come, first served. O(log n) a push or pop, no object per entry: each heap is an
// Int32Array and each slot's due time and arrival number live in chunked typed arrays.
//
// Two lanes share those arrays: Lane.Main (leechers and peers nothing is known of) and Lane.Seed (known
// seeds). The heap keeps them apart so the queue can prefer the first when both have a peer due; a slot
// waits in one lane at a time, so the lanes together cost what one heap did.
import { CHUNK_BITS, CHUNK_MASK, CHUNK_SIZE } from './chunks.ts';

const INITIAL_HEAP = 1 << 10;

export const enum Lane {
  Main = 0,
  Seed = 1,
}

/** One lane's heap of slots. */
class LaneHeap {
  heap = new Int32Array(INITIAL_HEAP);
  count = 0;
}

export class DueHeap {
  private readonly dueAt: Float64Array[] = [];
  /** Arrival number: orders peers due at the same time. */
  private readonly seq: Float64Array[] = [];
  private readonly lanes = [new LaneHeap(), new LaneHeap()];
  private nextSeq = 0;

  /** Slots waiting, both lanes. */
  get size(): number {
    return this.lanes[0].count + this.lanes[1].count;
  }
  sizeOf(lane: Lane): number {
    return this.lanes[lane].count;
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

  /** The earliest slot of both lanes, or -1 when none waits. */
  peek(): number {
    return this.peekLane(this.earliestLane());
  }

  /** The lane whose top comes first by (due time, arrival); Main when both are empty. */
  private earliestLane(): Lane {
    const main = this.peekLane(Lane.Main);
    const seed = this.peekLane(Lane.Seed);
    return seed >= 0 && (main < 0 || this.less(seed, main)) ? Lane.Seed : Lane.Main;
  }

  /** The earliest slot of one lane, or -1. */
  peekLane(lane: Lane): number {
    const l = this.lanes[lane];
    return l.count === 0 ? -1 : l.heap[0];
  }

  /** A slot (not waiting already) waits in `lane` until `dueAt`, after every slot pushed before it for the same time. */
  push(slot: number, dueAt: number, lane: Lane = Lane.Main): void {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    this.dueAt[c][i] = dueAt;
    this.seq[c][i] = this.nextSeq++;
    const l = this.lanes[lane];
    if (l.count === l.heap.length) {
      const grown = new Int32Array(l.heap.length * 2);
      grown.set(l.heap);
      l.heap = grown;
    }
    this.up(l.heap, l.count++, slot);
  }

  /** Removes and returns the earliest slot of `lane`, or of both lanes when none is given (it must not be empty). */
  pop(lane?: Lane): number {
    const l = this.lanes[lane ?? this.earliestLane()];
    const heap = l.heap;
    const top = heap[0];
    const last = heap[--l.count];
    if (l.count > 0) this.down(heap, l.count, last);
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
  private up(heap: Int32Array, i: number, item: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(item, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = item;
  }

  /** Places `item` at the root or below, in a heap of `n` slots. */
  private down(heap: Int32Array, n: number, item: number): void {
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
