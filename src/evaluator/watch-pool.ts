// The watch: a bounded set of connections kept open to peers that are downloading and may cross the
// threshold soon, so that a peer that quits the moment it completes is still seen crossing (README "The
// watch"). The policy, in one place:
//
// - Who: an outgoing contact that ended `success`, below the threshold, opened below it, with its socket
//   still open, not upload_only (BEP 21: it wants nothing, so it will not cross by downloading).
// - Rank: the expected time to the crossing, (threshold − pieces) ÷ the rate seen since the contact opened;
//   a peer with no rate yet ranks after every peer with one, by fewest missing pieces.
// - Budget full (--watch connections): the candidate takes the slot of the watched peer ranked last, when
//   the candidate ranks before it; otherwise it is not watched (and visited again as usual). Both count as
//   "budget full"; the time the budget spends full is measured too.
// - End: the crossing (stored at once), the peer leaving, a stall (no new piece for --watch-stall), an
//   eviction, or the end of the run. The peer then goes back to the queue like a visited one.
//
// One timer for all watched connections (the sweep), none per connection.
import { performance } from 'node:perf_hooks';
import type { ContactResult } from '../types.ts';
import { ownSocket } from './socket-owner.ts';
import { etaSeconds, KEEP_ALIVE_MS, WatchedPeer, type HandOver, type WatchEnd, type WatchHost, type WatchOffer } from './watch.ts';

export interface WatchPoolOptions {
  /** Connections watched at most (--watch; 0 = no watch). */
  budget: number;
  /** A watched peer whose state has not moved this long ends its watch (--watch-stall, ms). */
  stallMs: number;
  /** A watched peer's state is stored at least this often while it moves (ms). */
  flushMs?: number;
  /** Our silence after which a keep-alive is sent (ms; default KEEP_ALIVE_MS, tests shorten it). */
  keepAliveMs?: number;
  pex: boolean;
  dhtPort?: number;
  /** Stores a segment of a watch (event 'watch'). */
  record: (segment: ContactResult) => void;
  now?: () => number;
}

/** Counters of one run (README "What the report shows": the watch). */
export interface WatchStats {
  /** Connections open now. */
  watching: number;
  /** Peers taken into the watch. */
  watched: number;
  /** Crossings read while watched. */
  crossed: number;
  /** Watched peers that closed (or failed) before crossing. */
  left: number;
  stalled: number;
  evicted: number;
  /** Candidates that found the budget full (taken by eviction or turned away). */
  fullOffers: number;
  /** Milliseconds the budget was full. */
  fullMs: number;
}

const DEFAULT_FLUSH_MS = 60_000;
const MAX_SWEEP_MS = 5_000;

export class WatchPool implements WatchOffer, WatchHost {
  private readonly peers = new Set<WatchedPeer>();
  private readonly byResult = new WeakMap<ContactResult, WatchedPeer>();
  private readonly counts = { watched: 0, crossed: 0, left: 0, stalled: 0, evicted: 0, fullOffers: 0 };
  private fullMs = 0;
  /** Monotonic time the budget became full (null: not full). */
  private fullSince: number | null = null;
  private sweepTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly pex: boolean;
  readonly dhtPort: number | undefined;
  readonly now: () => number;
  private readonly sweepMs: number;
  private readonly flushMs: number;
  private readonly keepAliveMs: number;

  constructor(private readonly opts: WatchPoolOptions) {
    this.pex = opts.pex;
    this.dhtPort = opts.dhtPort;
    this.now = opts.now ?? Date.now;
    this.flushMs = opts.flushMs ?? DEFAULT_FLUSH_MS;
    this.keepAliveMs = opts.keepAliveMs ?? KEEP_ALIVE_MS;
    this.sweepMs = Math.max(50, Math.min(MAX_SWEEP_MS, opts.stallMs / 4, this.flushMs / 2, this.keepAliveMs / 4));
  }

  get size(): number {
    return this.peers.size;
  }

  stats(): WatchStats {
    const full = this.fullSince === null ? 0 : performance.now() - this.fullSince;
    return { watching: this.peers.size, ...this.counts, fullMs: Math.round(this.fullMs + full) };
  }

  offer(h: HandOver): boolean {
    if (this.stopped || this.opts.budget <= 0 || !wanted(h)) return false;
    if (this.peers.size >= this.opts.budget) {
      this.counts.fullOffers++;
      const now = this.now();
      const worst = this.lastRanked(now);
      const r = h.result;
      const candidate = etaSeconds(h.torrent.thresholdPieces - r.endPieces!, r.endPieces! - r.openingPieces!, r.endedAt - (r.openedAt ?? r.startedAt));
      if (!worst || !ranksBefore(candidate, h.torrent.thresholdPieces - r.endPieces!, worst.etaSeconds(now), worst.torrent.thresholdPieces - worst.pieces)) return false;
      worst.end('evicted');
    }
    const peer = new WatchedPeer(this, h);
    this.peers.add(peer);
    this.byResult.set(h.result, peer);
    this.counts.watched++;
    ownSocket(h.socket, peer);
    h.reader.onMessage = peer.onMessage;
    this.noteFull();
    this.sweepTimer ??= setInterval(this.sweep, this.sweepMs);
    return true;
  }

  whenDone(result: ContactResult): Promise<WatchEnd> | undefined {
    return this.byResult.get(result)?.done$;
  }

  record(segment: ContactResult): void {
    this.opts.record(segment);
  }

  ended(peer: WatchedPeer, end: WatchEnd): void {
    if (!this.peers.delete(peer)) return;
    if (end.reason === 'crossed') this.counts.crossed++;
    else if (end.reason === 'left' || end.reason === 'bad-message') this.counts.left++;
    else if (end.reason === 'stalled') this.counts.stalled++;
    else if (end.reason === 'evicted') this.counts.evicted++;
    this.noteFull();
    if (this.peers.size === 0 && this.sweepTimer) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  /** The run ends: every watch stores what it read and closes. */
  stopAll(): void {
    this.stopped = true;
    for (const peer of [...this.peers]) peer.end('stopped');
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
  }

  private readonly sweep = (): void => {
    const mono = performance.now();
    for (const peer of [...this.peers]) peer.sweep(mono, this.opts.stallMs, this.flushMs, this.keepAliveMs);
  };

  /** The watched peer whose crossing is expected last (O(watched): only when the budget is full). */
  private lastRanked(now: number): WatchedPeer | null {
    let worst: WatchedPeer | null = null;
    let worstEta = -1;
    let worstMissing = -1;
    for (const p of this.peers) {
      const eta = p.etaSeconds(now);
      const missing = p.torrent.thresholdPieces - p.pieces;
      if (worst === null || ranksBefore(worstEta, worstMissing, eta, missing)) {
        worst = p;
        worstEta = eta;
        worstMissing = missing;
      }
    }
    return worst;
  }

  private noteFull(): void {
    const full = this.peers.size >= this.opts.budget;
    if (full && this.fullSince === null) this.fullSince = performance.now();
    if (!full && this.fullSince !== null) {
      this.fullMs += performance.now() - this.fullSince;
      this.fullSince = null;
    }
  }
}

/** The watch policy's "who" (see the top of this file). */
function wanted(h: HandOver): boolean {
  const r = h.result;
  const threshold = h.torrent.thresholdPieces;
  return r.event !== 'incoming' && r.event !== 'watch' && r.endPieces !== null && r.openingPieces !== null &&
    r.endPieces < threshold && r.openingPieces < threshold && r.crossedAt === null && !r.uploadOnly &&
    !h.socket.destroyed && h.socket.writable;
}

/** Whether (etaA, missingA) ranks before (etaB, missingB): the sooner expected crossing, then fewer missing pieces. */
export function ranksBefore(etaA: number, missingA: number, etaB: number, missingB: number): boolean {
  return etaA < etaB || (etaA === etaB && missingA < missingB);
}
