// The only owner of "who is due when": one de-duplicated set of peers per (torrent, ip, port), a binary
// min-heap ordered by due time (ties: first come, first served), and each peer's retry state.
// O(log n) for every change.
//
// Compact for millions of peers: a peer is a slot number, its fields live in typed arrays (about 45
// bytes a peer, outside the garbage-collected heap), the heap is an array of slot numbers, and IPv4
// peers are found through an open-addressing hash table of slot numbers keyed by (torrent, address,
// port): no string key and no object per peer. Other addresses (IPv6) keep a string key in a Map.
// A QueuedPeer is a small view of one slot, made when a peer is taken or looked up.
//
// Growth never stalls the event loop: the fields live in fixed chunks of 65,536 slots (a new chunk
// is added, nothing is copied), and the hash table doubles incrementally (each later add or lookup
// copies a few entries from the old table, which is still searched until all are copied).
import type { PeerSource } from '../types.ts';

/** Bit per source, so a peer remembers all of them in one small integer. */
export const SOURCE_BITS: Record<PeerSource, number> = { http: 1, udp: 2, dht: 4, incoming: 8, pex: 16, file: 32 };

export function sourcesOf(bits: number): PeerSource[] {
  return (Object.keys(SOURCE_BITS) as PeerSource[]).filter((s) => (bits & SOURCE_BITS[s]) !== 0);
}

const SOURCES = Object.keys(SOURCE_BITS) as PeerSource[];
const SOURCE_INDEX = new Map(SOURCES.map((s, i) => [s, i]));

export const enum PeerState {
  Queued = 0,
  InFlight = 1,
  /** Crossed the threshold (or otherwise done): not visited again. */
  Finished = 2,
  /** Failed too often in a row: waits until a collector reports it again. */
  Retired = 3,
}

/** Slots per chunk of the field arrays: slot >>> CHUNK_BITS is the chunk, slot & CHUNK_MASK the index in it. */
const CHUNK_BITS = 16;
const CHUNK_SIZE = 1 << CHUNK_BITS;
const CHUNK_MASK = CHUNK_SIZE - 1;

/** One live view of a peer of a DueQueue: its fields read (and `sources`, `dueAt` write) the queue's arrays. */
export class QueuedPeer {
  private readonly c: number;
  private readonly i: number;

  constructor(
    private readonly q: DueQueue,
    /** The peer's slot in its queue. */
    readonly slot: number,
  ) {
    this.c = slot >>> CHUNK_BITS;
    this.i = slot & CHUNK_MASK;
  }

  get torrentId(): number {
    return this.q.slots.other[this.c][this.i] === 1 ? this.q.otherOf(this.slot).torrentId : this.q.slots.torrentId[this.c][this.i];
  }
  get ip(): string {
    return this.q.ipOf(this.slot);
  }
  get port(): number {
    return this.q.slots.other[this.c][this.i] === 1 ? this.q.otherOf(this.slot).port : this.q.slots.port[this.c][this.i];
  }
  get sources(): number {
    return this.q.slots.sources[this.c][this.i];
  }
  set sources(bits: number) {
    this.q.slots.sources[this.c][this.i] = bits;
  }
  get dueAt(): number {
    return this.q.slots.dueAt[this.c][this.i];
  }
  set dueAt(t: number) {
    this.q.slots.dueAt[this.c][this.i] = t;
  }
  get seq(): number {
    return this.q.slots.seq[this.c][this.i];
  }
  get heapIndex(): number {
    return this.q.slots.heapIndex[this.c][this.i];
  }
  get state(): PeerState {
    return this.q.slots.state[this.c][this.i] as PeerState;
  }
  /** Failed contacts in a row. */
  get failures(): number {
    return this.q.slots.failures[this.c][this.i];
  }
  /** Contact attempts in this run (0 → the next one is the `first` event). */
  get attempts(): number {
    return this.q.slots.attempts[this.c][this.i];
  }
  /** Seen below the threshold in this run and not yet counted as confirmed (for the live counters). */
  get seenBelow(): boolean {
    return (this.q.slots.flags[this.c][this.i] & FLAG_SEEN_BELOW) !== 0;
  }
  set seenBelow(yes: boolean) {
    this.setFlag(FLAG_SEEN_BELOW, yes);
  }
  /** How its last successful contact spoke: null (none yet), MSE/PE (true) or plaintext (false). */
  get encrypted(): boolean | null {
    const flags = this.q.slots.flags[this.c][this.i];
    return flags & FLAG_ENCRYPTED ? true : flags & FLAG_PLAINTEXT ? false : null;
  }
  set encrypted(yes: boolean | null) {
    this.setFlag(FLAG_ENCRYPTED, yes === true);
    this.setFlag(FLAG_PLAINTEXT, yes === false);
  }
  private setFlag(flag: number, yes: boolean): void {
    const flags = this.q.slots.flags[this.c];
    flags[this.i] = yes ? flags[this.i] | flag : flags[this.i] & ~flag;
  }
  /** The source that reported this peer first. */
  get firstSource(): PeerSource {
    return SOURCES[this.q.slots.firstSource[this.c][this.i]];
  }
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

/** The per-peer fields, one list of typed-array chunks each. */
class Slots {
  torrentId: Int32Array[] = [];
  /** IPv4 address as an unsigned 32-bit number (unused for other peers, see `other`). */
  ipv4: Uint32Array[] = [];
  port: Uint16Array[] = [];
  sources: Uint8Array[] = [];
  firstSource: Uint8Array[] = [];
  state: Uint8Array[] = [];
  /** FLAG_SEEN_BELOW | FLAG_ENCRYPTED | FLAG_PLAINTEXT. */
  flags: Uint8Array[] = [];
  /** 1 for a peer not packed into the arrays (IPv6 address, ...): its torrent, ip and port are in DueQueue.others. */
  other: Uint8Array[] = [];
  failures: Uint32Array[] = [];
  attempts: Uint32Array[] = [];
  heapIndex: Int32Array[] = [];
  dueAt: Float64Array[] = [];
  seq: Float64Array[] = [];

  get capacity(): number {
    return this.state.length * CHUNK_SIZE;
  }

  addChunk(): void {
    this.torrentId.push(new Int32Array(CHUNK_SIZE));
    this.ipv4.push(new Uint32Array(CHUNK_SIZE));
    this.port.push(new Uint16Array(CHUNK_SIZE));
    this.sources.push(new Uint8Array(CHUNK_SIZE));
    this.firstSource.push(new Uint8Array(CHUNK_SIZE));
    this.state.push(new Uint8Array(CHUNK_SIZE));
    this.flags.push(new Uint8Array(CHUNK_SIZE));
    this.other.push(new Uint8Array(CHUNK_SIZE));
    this.failures.push(new Uint32Array(CHUNK_SIZE));
    this.attempts.push(new Uint32Array(CHUNK_SIZE));
    this.heapIndex.push(new Int32Array(CHUNK_SIZE));
    this.dueAt.push(new Float64Array(CHUNK_SIZE));
    this.seq.push(new Float64Array(CHUNK_SIZE));
  }
}

const FLAG_SEEN_BELOW = 1;
const FLAG_ENCRYPTED = 2;
const FLAG_PLAINTEXT = 4;

const INITIAL_TABLE = 1 << 12;
const INITIAL_HEAP = 1 << 10;
/** Old-table positions moved to the new table per add or lookup while the table doubles. */
const MIGRATE_STEP = 16;

export class DueQueue {
  /** @internal the per-peer arrays (read by QueuedPeer). */
  readonly slots = new Slots();
  private count = 0;
  /** IPv4 peers: open addressing, linear probing; entries are slot + 1 (0 = empty). Never shrinks. */
  private table = new Int32Array(INITIAL_TABLE);
  private tableCount = 0;
  /**
   * While the table doubles: the previous table. Its positions below `migrated` have been copied to
   * `table`; nothing is removed from it (that would break its probe chains), it is dropped once copied.
   */
  private oldTable: Int32Array | null = null;
  private migrated = 0;
  /** Peers that are not (int32 torrent, IPv4 text, 16-bit port): key → slot, and slot → identity. */
  private readonly otherKeys = new Map<string, number>();
  private readonly others = new Map<number, { torrentId: number; ip: string; port: number }>();
  /** Slot numbers ordered as a binary min-heap on (dueAt, seq). */
  private heap = new Int32Array(INITIAL_HEAP);
  private heapSize = 0;
  private seq = 0;
  private inFlightCount = 0;
  /** Called when a peer becomes due earlier than before (a new or revived peer): wakes idle workers. */
  onWake: (() => void) | undefined;

  constructor(private readonly policy: QueuePolicy) {}

  /** Peers known to this run (queued, in flight, finished or retired). */
  get known(): number {
    return this.count;
  }
  /** Peers waiting in the heap. */
  get queued(): number {
    return this.heapSize;
  }
  get inFlight(): number {
    return this.inFlightCount;
  }

  static key(torrentId: number, ip: string, port: number): string {
    return `${torrentId}|${ip}|${port}`;
  }

  get(torrentId: number, ip: string, port: number): QueuedPeer | undefined {
    const slot = this.slotOf(torrentId, ip, port);
    return slot < 0 ? undefined : new QueuedPeer(this, slot);
  }

  /**
   * The source bits of a known peer, 0 when the peer is unknown (a known peer has at least one):
   * what get(...)?.sources tells, without making a QueuedPeer.
   */
  knownSources(torrentId: number, ip: string, port: number): number {
    const slot = this.slotOf(torrentId, ip, port);
    return slot < 0 ? 0 : this.slots.sources[slot >>> CHUNK_BITS][slot & CHUNK_MASK];
  }

  private slotOf(torrentId: number, ip: string, port: number): number {
    const v4 = packable(torrentId, port) ? parseIPv4(ip) : -1;
    return v4 >= 0 ? this.findV4(torrentId, v4, port) : (this.otherKeys.get(DueQueue.key(torrentId, ip, port)) ?? -1);
  }

  /** @internal the identity of a peer that is not packed. */
  otherOf(slot: number): { torrentId: number; ip: string; port: number } {
    return this.others.get(slot)!;
  }

  /** @internal the address text of a slot. */
  ipOf(slot: number): string {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    if (this.slots.other[c][i] === 1) return this.others.get(slot)!.ip;
    const v = this.slots.ipv4[c][i];
    return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
  }

  /** A collector reported a peer. New peers are due now; retired ones come back. */
  add(torrentId: number, ip: string, port: number, source: PeerSource, now: number): AddResult {
    const bit = SOURCE_BITS[source];
    const v4 = packable(torrentId, port) ? parseIPv4(ip) : -1;
    let slot: number;
    if (v4 >= 0) {
      slot = this.findV4(torrentId, v4, port);
      if (slot < 0) {
        slot = this.newSlot(torrentId, port, bit, source, now);
        this.slots.ipv4[slot >>> CHUNK_BITS][slot & CHUNK_MASK] = v4;
        this.insertV4(slot, torrentId, v4, port);
        this.push(slot);
        this.onWake?.();
        return 'new';
      }
    } else {
      const key = DueQueue.key(torrentId, ip, port);
      const known = this.otherKeys.get(key);
      if (known === undefined) {
        slot = this.newSlot(torrentId, port, bit, source, now);
        this.slots.other[slot >>> CHUNK_BITS][slot & CHUNK_MASK] = 1;
        this.others.set(slot, { torrentId, ip, port });
        this.otherKeys.set(key, slot);
        this.push(slot);
        this.onWake?.();
        return 'new';
      }
      slot = known;
    }
    const s = this.slots;
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    s.sources[c][i] |= bit;
    if (s.state[c][i] === PeerState.Retired) {
      s.failures[c][i] = 0;
      s.state[c][i] = PeerState.Queued;
      s.dueAt[c][i] = now;
      s.seq[c][i] = this.seq++;
      this.push(slot);
      this.onWake?.();
      return 'revived';
    }
    return 'known';
  }

  /** Due time of the earliest peer, or undefined when none waits. */
  nextDueAt(): number | undefined {
    if (this.heapSize === 0) return undefined;
    const top = this.heap[0];
    return this.slots.dueAt[top >>> CHUNK_BITS][top & CHUNK_MASK];
  }

  /** Takes the most overdue peer if one is due at `now`, and marks it in flight. */
  take(now: number): QueuedPeer | undefined {
    if (this.heapSize === 0) return undefined;
    const top = this.heap[0];
    const c = top >>> CHUNK_BITS;
    const i = top & CHUNK_MASK;
    const s = this.slots;
    if (s.dueAt[c][i] > now) return undefined;
    this.pop();
    s.state[c][i] = PeerState.InFlight;
    s.attempts[c][i]++;
    this.inFlightCount++;
    return new QueuedPeer(this, top);
  }

  /** A contact ended. `complete`: the peer is at or above the threshold. */
  finish(peer: QueuedPeer, success: boolean, complete: boolean, now: number): void {
    const slot = peer.slot;
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    const s = this.slots;
    if (s.state[c][i] !== PeerState.InFlight) return;
    this.inFlightCount--;
    const { policy } = this;
    if (success) {
      s.failures[c][i] = 0;
      if (complete && !policy.revisitComplete) {
        s.state[c][i] = PeerState.Finished;
        return;
      }
      this.schedule(slot, now + policy.revisitDelayMs);
      return;
    }
    const failures = ++s.failures[c][i];
    if (failures >= policy.maxFailures) {
      s.state[c][i] = PeerState.Retired;
      return;
    }
    this.schedule(slot, now + policy.retryDelayMs * 2 ** (failures - 1));
  }

  private schedule(slot: number, dueAt: number): void {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    const s = this.slots;
    s.state[c][i] = PeerState.Queued;
    s.dueAt[c][i] = dueAt;
    s.seq[c][i] = this.seq++;
    this.push(slot);
  }

  private newSlot(torrentId: number, port: number, bit: number, source: PeerSource, now: number): number {
    if (this.count === this.slots.capacity) this.slots.addChunk();
    const slot = this.count++;
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    const s = this.slots;
    s.torrentId[c][i] = torrentId; // (a peer that is not packed keeps its exact values in `others`)
    s.port[c][i] = port;
    s.sources[c][i] = bit;
    s.firstSource[c][i] = SOURCE_INDEX.get(source) ?? SOURCE_INDEX.get('file')!;
    s.state[c][i] = PeerState.Queued;
    s.heapIndex[c][i] = -1;
    s.dueAt[c][i] = now;
    s.seq[c][i] = this.seq++;
    return slot;
  }

  // --- the IPv4 index ---

  /** The slot of (torrent, v4, port), or -1. */
  private findV4(torrentId: number, v4: number, port: number): number {
    if (this.oldTable) this.migrate();
    const slot = this.table[this.probe(this.table, torrentId, v4, port)] - 1;
    if (slot >= 0 || !this.oldTable) return slot;
    return this.oldTable[this.probe(this.oldTable, torrentId, v4, port)] - 1;
  }

  /** Adds a new slot (known not to be in either table) to the current table. */
  private insertV4(slot: number, torrentId: number, v4: number, port: number): void {
    this.table[this.probe(this.table, torrentId, v4, port)] = slot + 1;
    this.tableCount++;
    if (this.tableCount * 2 > this.table.length) this.startDoubling();
  }

  /** The position in `table` holding (torrent, v4, port), or the empty position where it would go. */
  private probe(table: Int32Array, torrentId: number, v4: number, port: number): number {
    const mask = table.length - 1;
    const s = this.slots;
    let p = hashPeer(torrentId, v4, port) & mask;
    for (;;) {
      const e = table[p];
      if (e === 0) return p;
      const slot = e - 1;
      const c = slot >>> CHUNK_BITS;
      const i = slot & CHUNK_MASK;
      if (s.ipv4[c][i] === v4 && s.port[c][i] === port && s.torrentId[c][i] === torrentId) return p;
      p = (p + 1) & mask;
    }
  }

  private startDoubling(): void {
    // A doubling that is still under way finishes first (it is far along: the table only reaches
    // half full again after as many inserts as it held, and each insert moves MIGRATE_STEP entries).
    if (this.oldTable) this.migrate(Infinity);
    this.oldTable = this.table;
    this.table = new Int32Array(this.table.length * 2);
    this.migrated = 0;
  }

  /** Copies up to `positions` positions of the old table into the current one. */
  private migrate(positions = MIGRATE_STEP): void {
    const old = this.oldTable!;
    const end = Math.min(old.length, this.migrated + positions);
    const s = this.slots;
    const table = this.table;
    const mask = table.length - 1;
    for (let p = this.migrated; p < end; p++) {
      const e = old[p];
      if (e === 0) continue;
      const slot = e - 1;
      const c = slot >>> CHUNK_BITS;
      const i = slot & CHUNK_MASK;
      let q = hashPeer(s.torrentId[c][i], s.ipv4[c][i], s.port[c][i]) & mask;
      while (table[q] !== 0) q = (q + 1) & mask;
      table[q] = e;
    }
    this.migrated = end;
    if (end === old.length) this.oldTable = null;
  }

  // --- binary heap of slots on (dueAt, seq) ---

  private less(a: number, b: number): boolean {
    const due = this.slots.dueAt;
    const da = due[a >>> CHUNK_BITS][a & CHUNK_MASK];
    const db = due[b >>> CHUNK_BITS][b & CHUNK_MASK];
    if (da !== db) return da < db;
    const seq = this.slots.seq;
    return seq[a >>> CHUNK_BITS][a & CHUNK_MASK] < seq[b >>> CHUNK_BITS][b & CHUNK_MASK];
  }

  private setIndex(slot: number, i: number): void {
    this.slots.heapIndex[slot >>> CHUNK_BITS][slot & CHUNK_MASK] = i;
  }

  private push(slot: number): void {
    if (this.heapSize === this.heap.length) {
      const grown = new Int32Array(this.heap.length * 2);
      grown.set(this.heap);
      this.heap = grown;
    }
    const i = this.heapSize++;
    this.heap[i] = slot;
    this.setIndex(slot, i);
    this.up(i);
  }

  private pop(): void {
    const heap = this.heap;
    const top = heap[0];
    const last = heap[--this.heapSize];
    if (this.heapSize > 0) {
      heap[0] = last;
      this.setIndex(last, 0);
      this.down(0);
    }
    this.setIndex(top, -1);
  }

  private up(i: number): void {
    const heap = this.heap;
    const item = heap[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(item, heap[parent])) break;
      heap[i] = heap[parent];
      this.setIndex(heap[i], i);
      i = parent;
    }
    heap[i] = item;
    this.setIndex(item, i);
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = this.heapSize;
    const item = heap[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(heap[right], heap[left]) ? right : left;
      if (!this.less(heap[child], item)) break;
      heap[i] = heap[child];
      this.setIndex(heap[i], i);
      i = child;
    }
    heap[i] = item;
    this.setIndex(item, i);
  }
}

/**
 * A dotted-quad IPv4 address in canonical form ("1.2.3.4": four decimal parts 0..255, no leading
 * zeros, nothing else) as an unsigned 32-bit number, else -1. Only canonical text is packed, so the
 * text given back for a slot is always the text that was added.
 */
export function parseIPv4(ip: string): number {
  const n = ip.length;
  if (n < 7 || n > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? ip.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c === 46) {
      if (digits === 0 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/** Torrent ids and ports the typed arrays hold exactly. */
function packable(torrentId: number, port: number): boolean {
  return (torrentId | 0) === torrentId && (port & 0xffff) === port;
}

function hashPeer(torrentId: number, v4: number, port: number): number {
  let h = Math.imul(v4 ^ (port << 16) ^ port, 0x9e3779b1);
  h ^= Math.imul(torrentId + 0x7f4a7c15, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}
