// The only owner of "who is due when": each peer (torrent, address, port) once, when it is due, and its
// retry state. It composes the peer index (peer-index.ts: a slot number per peer, both address
// families at the same cost) and the due heap (due-heap.ts: slots by due time); the per-peer state
// (sources, retry counts, flags) lives here in chunked typed arrays, about 12 bytes a peer.
// A QueuedPeer is a small view of one slot, made when a peer is taken or looked up.
//
// What is known of a peer before or between visits orders the visits (BEP 11 PEX flags, the extension
// handshake's upload_only): a known seed waits in the heap's seed lane, and when peers of both lanes are
// due a leecher goes first unless the seed has been due for a revisit delay longer (seeds are never
// starved); a known seed is not revisited unless --revisit-complete; a peer said to prefer encryption is
// opened encrypted on its first visit. These are flag bits of the byte each peer already has.
import type { PeerSource } from '../types.ts';
import { CHUNK_BITS, CHUNK_MASK, CHUNK_SIZE } from './chunks.ts';
import { DueHeap, Lane } from './due-heap.ts';
import { PEX_PREFERS_ENCRYPTION, PEX_SEED } from '../wire/pex.ts';
import { PeerIndex } from './peer-index.ts';

export { parseIPv4 } from './address-words.ts';

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

// bit 1 is free (it held "seen below the threshold" for a live counter that now reads the writer)
const FLAG_ENCRYPTED = 2;
const FLAG_PLAINTEXT = 4;
/** A known seed (or a peer that only uploads): said so by a PEX flag, or by its own last successful contact. */
const FLAG_SEED = 8;

/** One live view of a peer of a DueQueue: its fields read (and `sources`, `dueAt`, flags write) the queue's arrays. */
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
    return this.q.index.torrentIdOf(this.slot);
  }
  /** The address as text: IPv4 dotted (also for an IPv4-mapped address), IPv6 in RFC 5952 form. */
  get ip(): string {
    return this.q.index.ipOf(this.slot);
  }
  get port(): number {
    return this.q.index.portOf(this.slot);
  }
  get sources(): number {
    return this.q.state.sources[this.c][this.i];
  }
  set sources(bits: number) {
    this.q.state.sources[this.c][this.i] = bits;
  }
  get dueAt(): number {
    return this.q.heap.dueAtOf(this.slot);
  }
  set dueAt(t: number) {
    this.q.heap.setDueAt(this.slot, t);
  }
  get seq(): number {
    return this.q.heap.seqOf(this.slot);
  }
  get state(): PeerState {
    return this.q.state.state[this.c][this.i] as PeerState;
  }
  /** Failed contacts in a row. */
  get failures(): number {
    return this.q.state.failures[this.c][this.i];
  }
  /** Contact attempts in this run (0 → the next one is the `first` event). */
  get attempts(): number {
    return this.q.state.attempts[this.c][this.i];
  }
  /**
   * How to open its next visit: how its last successful contact spoke, MSE/PE (true) or plaintext
   * (false); before any, true when a PEX message said it prefers encryption, else null.
   */
  get encrypted(): boolean | null {
    const flags = this.q.state.flags[this.c][this.i];
    return flags & FLAG_ENCRYPTED ? true : flags & FLAG_PLAINTEXT ? false : null;
  }
  set encrypted(yes: boolean | null) {
    this.setFlag(FLAG_ENCRYPTED, yes === true);
    this.setFlag(FLAG_PLAINTEXT, yes === false);
  }
  /** A known seed: waits in the seed lane, and is not revisited unless the policy says revisitComplete. */
  get seed(): boolean {
    return (this.q.state.flags[this.c][this.i] & FLAG_SEED) !== 0;
  }
  private setFlag(flag: number, yes: boolean): void {
    const flags = this.q.state.flags[this.c];
    flags[this.i] = yes ? flags[this.i] | flag : flags[this.i] & ~flag;
  }
  /** The source that reported this peer first. */
  get firstSource(): PeerSource {
    return SOURCES[this.q.state.firstSource[this.c][this.i]];
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

/** The retry state of each slot, one list of typed-array chunks a field. */
class PeerStates {
  sources: Uint8Array[] = [];
  firstSource: Uint8Array[] = [];
  state: Uint8Array[] = [];
  /** FLAG_SEEN_BELOW | FLAG_ENCRYPTED | FLAG_PLAINTEXT | FLAG_SEED. */
  flags: Uint8Array[] = [];
  failures: Uint32Array[] = [];
  attempts: Uint32Array[] = [];

  /** Makes room for slot numbers below `slots`. */
  reserve(slots: number): void {
    while (this.state.length * CHUNK_SIZE < slots) {
      this.sources.push(new Uint8Array(CHUNK_SIZE));
      this.firstSource.push(new Uint8Array(CHUNK_SIZE));
      this.state.push(new Uint8Array(CHUNK_SIZE));
      this.flags.push(new Uint8Array(CHUNK_SIZE));
      this.failures.push(new Uint32Array(CHUNK_SIZE));
      this.attempts.push(new Uint32Array(CHUNK_SIZE));
    }
  }
}

export class DueQueue {
  /** @internal who is known (read by QueuedPeer). */
  readonly index = new PeerIndex();
  /** @internal who waits until when (read by QueuedPeer). */
  readonly heap = new DueHeap();
  /** @internal the retry state (read by QueuedPeer). */
  readonly state = new PeerStates();
  private inFlightCount = 0;
  /** Called when a peer becomes due earlier than before (a new or revived peer): wakes idle workers. */
  onWake: (() => void) | undefined;

  constructor(private readonly policy: QueuePolicy) {}

  /** Peers known to this run (queued, in flight, finished or retired). */
  get known(): number {
    return this.index.size;
  }
  /** Peers waiting in the heap. */
  get queued(): number {
    return this.heap.size;
  }
  get inFlight(): number {
    return this.inFlightCount;
  }

  static key(torrentId: number, ip: string, port: number): string {
    return PeerIndex.key(torrentId, ip, port);
  }

  get(torrentId: number, ip: string, port: number): QueuedPeer | undefined {
    const slot = this.index.find(torrentId, ip, port);
    return slot < 0 ? undefined : new QueuedPeer(this, slot);
  }

  /**
   * The source bits of a known peer, 0 when the peer is unknown (a known peer has at least one):
   * what get(...)?.sources tells, without making a QueuedPeer.
   */
  knownSources(torrentId: number, ip: string, port: number): number {
    const slot = this.index.find(torrentId, ip, port);
    return slot < 0 ? 0 : this.state.sources[slot >>> CHUNK_BITS][slot & CHUNK_MASK];
  }

  /**
   * A collector reported a peer. New peers are due now; retired ones come back. `pexFlags`: the BEP 11
   * flags a PEX message gave it (0: none, as from trackers and the DHT). They set what a new peer is
   * taken for (a seed, one that prefers encryption); of a known peer, only a first preference for
   * encryption is kept (what its own contacts showed wins, and a waiting peer keeps its lane).
   */
  add(torrentId: number, ip: string, port: number, source: PeerSource, now: number, pexFlags = 0): AddResult {
    const bit = SOURCE_BITS[source];
    const found = this.index.findOrAdd(torrentId, ip, port);
    const s = this.state;
    if (found < 0) {
      const slot = -1 - found;
      if (slot >= s.state.length * CHUNK_SIZE) {
        s.reserve(slot + 1);
        this.heap.reserve(slot + 1);
      }
      const c = slot >>> CHUNK_BITS;
      const i = slot & CHUNK_MASK;
      s.sources[c][i] = bit;
      s.firstSource[c][i] = SOURCE_INDEX.get(source) ?? SOURCE_INDEX.get('file')!;
      // (a new chunk is zeroed: state Queued, no failures or attempts)
      const seed = (pexFlags & PEX_SEED) !== 0;
      s.flags[c][i] = (seed ? FLAG_SEED : 0) | (pexFlags & PEX_PREFERS_ENCRYPTION ? FLAG_ENCRYPTED : 0);
      this.heap.push(slot, now, seed ? Lane.Seed : Lane.Main);
      this.onWake?.();
      return 'new';
    }
    const c = found >>> CHUNK_BITS;
    const i = found & CHUNK_MASK;
    s.sources[c][i] |= bit;
    if (pexFlags & PEX_PREFERS_ENCRYPTION && (s.flags[c][i] & (FLAG_ENCRYPTED | FLAG_PLAINTEXT)) === 0) {
      s.flags[c][i] |= FLAG_ENCRYPTED;
    }
    if (s.state[c][i] === PeerState.Retired) {
      s.failures[c][i] = 0;
      s.state[c][i] = PeerState.Queued;
      this.heap.push(found, now, laneOf(s.flags[c][i]));
      this.onWake?.();
      return 'revived';
    }
    return 'known';
  }

  /**
   * A peer an earlier run measured, resumed from the database (cli/resume-peers.ts): `sourceBits` every
   * source that named it, `firstSource` the first; what its last contact showed (a seed; MSE/PE or
   * plaintext, null: never contacted) sets its lane and how its next visit opens, as its own contact
   * would have in this run. Due at `dueAt`. Returns false (and changes nothing) when the peer is known.
   */
  addKnown(torrentId: number, ip: string, port: number, sourceBits: number, firstSource: PeerSource, dueAt: number,
    seed: boolean, encrypted: boolean | null): boolean {
    const found = this.index.findOrAdd(torrentId, ip, port);
    if (found >= 0) return false;
    const slot = -1 - found;
    const s = this.state;
    if (slot >= s.state.length * CHUNK_SIZE) {
      s.reserve(slot + 1);
      this.heap.reserve(slot + 1);
    }
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    s.sources[c][i] = sourceBits | SOURCE_BITS[firstSource];
    s.firstSource[c][i] = SOURCE_INDEX.get(firstSource)!;
    s.flags[c][i] = (seed ? FLAG_SEED : 0) | (encrypted === true ? FLAG_ENCRYPTED : encrypted === false ? FLAG_PLAINTEXT : 0);
    this.heap.push(slot, dueAt, seed ? Lane.Seed : Lane.Main);
    this.onWake?.();
    return true;
  }

  /** Due time of the earliest peer, or undefined when none waits. */
  nextDueAt(): number | undefined {
    const top = this.heap.peek();
    return top < 0 ? undefined : this.heap.dueAtOf(top);
  }

  /**
   * Takes the most overdue peer if one is due at `now`, and marks it in flight. A due leecher (or a peer
   * nothing is known of) goes before a due seed, unless the seed became due more than a revisit delay
   * before it.
   */
  take(now: number): QueuedPeer | undefined {
    const heap = this.heap;
    const main = heap.peekLane(Lane.Main);
    const seed = heap.peekLane(Lane.Seed);
    const mainDue = main >= 0 && heap.dueAtOf(main) <= now;
    const seedDue = seed >= 0 && heap.dueAtOf(seed) <= now;
    if (!mainDue && !seedDue) return undefined;
    const fromSeeds = seedDue && (!mainDue || heap.dueAtOf(seed) + this.policy.revisitDelayMs < heap.dueAtOf(main));
    const top = heap.pop(fromSeeds ? Lane.Seed : Lane.Main);
    const c = top >>> CHUNK_BITS;
    const i = top & CHUNK_MASK;
    this.state.state[c][i] = PeerState.InFlight;
    this.state.attempts[c][i]++;
    this.inFlightCount++;
    return new QueuedPeer(this, top);
  }

  /**
   * A contact ended. `complete`: the peer is at or above the threshold, or said it only uploads: a seed,
   * never a download to confirm, so it is not visited again (unless revisitComplete).
   */
  finish(peer: QueuedPeer, success: boolean, complete: boolean, now: number): void {
    const slot = peer.slot;
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    const s = this.state;
    if (s.state[c][i] !== PeerState.InFlight) return;
    this.inFlightCount--;
    const { policy } = this;
    if (success) {
      s.failures[c][i] = 0;
      // the peer's own word replaces what a PEX message said of it
      s.flags[c][i] = complete ? s.flags[c][i] | FLAG_SEED : s.flags[c][i] & ~FLAG_SEED;
      if (complete && !policy.revisitComplete) {
        s.state[c][i] = PeerState.Finished;
        return;
      }
      s.state[c][i] = PeerState.Queued;
      this.heap.push(slot, now + policy.revisitDelayMs, complete ? Lane.Seed : Lane.Main);
      return;
    }
    const failures = ++s.failures[c][i];
    if (failures >= policy.maxFailures) {
      s.state[c][i] = PeerState.Retired;
      return;
    }
    s.state[c][i] = PeerState.Queued;
    this.heap.push(slot, now + policy.retryDelayMs * 2 ** (failures - 1), laneOf(s.flags[c][i]));
  }
}

function laneOf(flags: number): Lane {
  return flags & FLAG_SEED ? Lane.Seed : Lane.Main;
}
