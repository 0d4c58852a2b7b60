// The only owner of "who is due when": one de-duplicated set of peers per (torrent, ip, port), a binary
// min-heap ordered by due time (ties: first come, first served), and each peer's retry state.
// O(log n) for every change; one small object per peer.
import type { PeerSource } from '../types.ts';

/** Bit per source, so a peer remembers all of them in one small integer. */
export const SOURCE_BITS: Record<PeerSource, number> = { http: 1, udp: 2, dht: 4, incoming: 8, pex: 16, file: 32 };

export function sourcesOf(bits: number): PeerSource[] {
  return (Object.keys(SOURCE_BITS) as PeerSource[]).filter((s) => (bits & SOURCE_BITS[s]) !== 0);
}

export const enum PeerState {
  Queued = 0,
  InFlight = 1,
  /** Crossed the threshold (or otherwise done): not visited again. */
  Finished = 2,
  /** Failed too often in a row: waits until a collector reports it again. */
  Retired = 3,
}

export class QueuedPeer {
  heapIndex = -1;
  state: PeerState = PeerState.Queued;
  /** Failed contacts in a row. */
  failures = 0;
  /** Contact attempts in this run (0 → the next one is the `first` event). */
  attempts = 0;
  constructor(
    readonly torrentId: number,
    readonly ip: string,
    readonly port: number,
    public sources: number,
    public dueAt: number,
    public seq: number,
  ) {}

  /** The source that reported this peer first. */
  firstSource: PeerSource = 'file';
}

export interface QueuePolicy {
  /** ms until a peer below the threshold is visited again. */
  revisitDelayMs: number;
  /** Keep visiting peers that crossed the threshold. */
  revisitComplete: boolean;
  /** Failures in a row after which a peer is retired. */
  maxFailures: number;
  /** ms before the first retry; doubles per failure. */
  retryDelayMs: number;
}

export type AddResult = 'new' | 'known' | 'revived';

export class DueQueue {
  private readonly peers = new Map<string, QueuedPeer>();
  private readonly heap: QueuedPeer[] = [];
  private seq = 0;
  private inFlightCount = 0;
  /** Called when a peer becomes due earlier than before (a new or revived peer): wakes idle workers. */
  onWake: (() => void) | undefined;

  constructor(private readonly policy: QueuePolicy) {}

  /** Peers known to this run (queued, in flight, finished or retired). */
  get known(): number {
    return this.peers.size;
  }
  /** Peers waiting in the heap. */
  get queued(): number {
    return this.heap.length;
  }
  get inFlight(): number {
    return this.inFlightCount;
  }

  static key(torrentId: number, ip: string, port: number): string {
    return `${torrentId}|${ip}|${port}`;
  }

  get(torrentId: number, ip: string, port: number): QueuedPeer | undefined {
    return this.peers.get(DueQueue.key(torrentId, ip, port));
  }

  /** A collector reported a peer. New peers are due now; retired ones come back. */
  add(torrentId: number, ip: string, port: number, source: PeerSource, now: number): AddResult {
    const key = DueQueue.key(torrentId, ip, port);
    const bit = SOURCE_BITS[source];
    let peer = this.peers.get(key);
    if (!peer) {
      peer = new QueuedPeer(torrentId, ip, port, bit, now, this.seq++);
      peer.firstSource = source;
      this.peers.set(key, peer);
      this.push(peer);
      this.onWake?.();
      return 'new';
    }
    peer.sources |= bit;
    if (peer.state === PeerState.Retired) {
      peer.failures = 0;
      peer.state = PeerState.Queued;
      peer.dueAt = now;
      peer.seq = this.seq++;
      this.push(peer);
      this.onWake?.();
      return 'revived';
    }
    return 'known';
  }

  /** Due time of the earliest peer, or undefined when none waits. */
  nextDueAt(): number | undefined {
    return this.heap.length > 0 ? this.heap[0].dueAt : undefined;
  }

  /** Takes the most overdue peer if one is due at `now`, and marks it in flight. */
  take(now: number): QueuedPeer | undefined {
    const top = this.heap[0];
    if (!top || top.dueAt > now) return undefined;
    this.pop();
    top.state = PeerState.InFlight;
    top.attempts++;
    this.inFlightCount++;
    return top;
  }

  /** A contact ended. `complete`: the peer is at or above the threshold. */
  finish(peer: QueuedPeer, success: boolean, complete: boolean, now: number): void {
    if (peer.state !== PeerState.InFlight) return;
    this.inFlightCount--;
    const { policy } = this;
    if (success) {
      peer.failures = 0;
      if (complete && !policy.revisitComplete) {
        peer.state = PeerState.Finished;
        return;
      }
      this.schedule(peer, now + policy.revisitDelayMs);
      return;
    }
    peer.failures++;
    if (peer.failures >= policy.maxFailures) {
      peer.state = PeerState.Retired;
      return;
    }
    this.schedule(peer, now + policy.retryDelayMs * 2 ** (peer.failures - 1));
  }

  private schedule(peer: QueuedPeer, dueAt: number): void {
    peer.state = PeerState.Queued;
    peer.dueAt = dueAt;
    peer.seq = this.seq++;
    this.push(peer);
  }

  // --- binary heap on (dueAt, seq) ---

  private less(a: QueuedPeer, b: QueuedPeer): boolean {
    return a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.seq < b.seq);
  }

  private push(peer: QueuedPeer): void {
    peer.heapIndex = this.heap.length;
    this.heap.push(peer);
    this.up(peer.heapIndex);
  }

  private pop(): QueuedPeer | undefined {
    const heap = this.heap;
    const top = heap[0];
    if (!top) return undefined;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      last.heapIndex = 0;
      this.down(0);
    }
    top.heapIndex = -1;
    return top;
  }

  private up(i: number): void {
    const heap = this.heap;
    const item = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(item, heap[parent])) break;
      heap[i] = heap[parent];
      heap[i].heapIndex = i;
      i = parent;
    }
    heap[i] = item;
    item.heapIndex = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(heap[right], heap[left]) ? right : left;
      if (!this.less(heap[child], item)) break;
      heap[i] = heap[child];
      heap[i].heapIndex = i;
      i = child;
    }
    heap[i] = item;
    item.heapIndex = i;
  }
}
