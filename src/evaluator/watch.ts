// One watched connection: a contact that ended below the threshold hands its open socket over (contact.ts
// → WatchPool.offer) and this object keeps reading the peer's state messages, silent and polite, until
// the peer crosses the threshold, stalls, or leaves. What it reads is flushed as ContactResults with event
// 'watch' ("segments"): at the crossing (stamped when its `have` arrived), every flush interval while the
// state moves (a crash loses at most that much), and at the end.
//
// Polite and silent: we send nothing but a keep-alive after KEEP_ALIVE_MS of our own silence (clients drop
// a connection idle for about 2 minutes), and a PORT message on close when we run a DHT node;
// never interested, never a request. No timer per connection: the pool sweeps all of them (watch-pool.ts).
import { performance } from 'node:perf_hooks';
import type { ContactResult } from '../types.ts';
import type { ContactProgress } from './contact-progress.ts';
import type { ContactTorrent } from './contact.ts';
import { closePeerSocket, readPeerMessage } from './peer-messages.ts';
import type { SocketOwner } from './socket-owner.ts';
import type { MessageReader } from '../wire/message-reader.ts';
import type { Rc4 } from '../wire/rc4.ts';
import type { PeerSocket } from './socket-owner.ts';

/** What a contact hands over: its socket, reader, ciphers and progress, and the result it just delivered. */
export interface HandOver {
  socket: PeerSocket;
  reader: MessageReader;
  progress: ContactProgress;
  torrent: ContactTorrent;
  result: ContactResult;
  encrypt: Rc4 | null;
  decrypt: Rc4 | null;
}

/** Takes a contact's open connection when the watch policy wants the peer (watch-pool.ts). */
export interface WatchOffer {
  offer(h: HandOver): boolean;
  /** The end of the watch that took over the contact that delivered `result`; undefined when none did. */
  whenDone(result: ContactResult): Promise<WatchEnd> | undefined;
}

/** crossed: reached the threshold while watched; left: the peer closed or failed; stalled: no new piece for the stall limit. */
export type WatchEndReason = 'crossed' | 'left' | 'stalled' | 'evicted' | 'stopped' | 'bad-message';

export interface WatchEnd {
  reason: WatchEndReason;
  /** Pieces at the end (null: never known). */
  pieces: number | null;
}

/** What a watched connection needs of its pool. */
export interface WatchHost {
  readonly pex: boolean;
  readonly dhtPort: number | undefined;
  now(): number;
  /** A segment of the watch, to be stored like a contact. */
  record(segment: ContactResult): void;
  ended(peer: WatchedPeer, end: WatchEnd): void;
}

/** Keep-alive after this much of our own silence: below the ~2 minutes after which clients drop idle peers. */
export const KEEP_ALIVE_MS = 90_000;
const KEEP_ALIVE = Buffer.alloc(4);

export class WatchedPeer implements SocketOwner {
  /** Monotonic times: the watch began, the state last changed, we last wrote. */
  readonly startedMono = performance.now();
  lastChangeMono = this.startedMono;
  private lastSentMono = this.startedMono;
  private lastFlushMono = this.startedMono;
  /** The segment being read: its start and the state it started with. */
  private segment: ContactResult;
  private done = false;
  /** Rate base: the state of the contact's opening (wall clock ms, pieces). */
  private readonly baseAt: number;
  private readonly basePieces: number;
  readonly result: ContactResult;
  readonly done$: Promise<WatchEnd>;
  private resolveDone!: (end: WatchEnd) => void;

  constructor(
    private readonly host: WatchHost,
    private readonly h: HandOver,
  ) {
    this.result = h.result;
    this.baseAt = h.result.openedAt ?? h.result.startedAt;
    this.basePieces = h.result.openingPieces ?? 0;
    this.segment = this.newSegment(host.now());
    this.done$ = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get torrent(): ContactTorrent {
    return this.h.torrent;
  }
  get pieces(): number {
    return this.h.progress.endPieces ?? 0;
  }

  /** Seconds until the state reaches the threshold at the rate seen since the contact opened (Infinity: no rate). */
  etaSeconds(now: number): number {
    return etaSeconds(this.h.torrent.thresholdPieces - this.pieces, this.pieces - this.basePieces, now - this.baseAt);
  }

  onConnect(): void {}

  onError(): void {
    this.end('left');
  }

  onClosed(): void {
    this.end('left');
  }

  onDataEvent(chunk: Buffer): void {
    if (this.done) return;
    try {
      this.h.decrypt?.apply(chunk); // the socket's own buffer: decrypted in place
      if (!this.h.reader.feed(chunk) && this.h.reader.failed) this.end('bad-message');
    } catch {
      this.end('bad-message');
    }
  }

  /** The reader's handler from the hand-over on (a plain property: set once, no closure per message). */
  readonly onMessage = (id: number, payload: Buffer): void => {
    if (this.done) return;
    const progress = this.h.progress;
    const before = progress.endPieces;
    const s = this.segment;
    s.messages++;
    if (!readPeerMessage(id, payload, progress, s, this.host.pex, this.host.now())) return this.end('bad-message');
    if (progress.endPieces !== before) this.lastChangeMono = performance.now();
    if (progress.crossedAt !== null) this.end('crossed');
  };

  /** The pool's sweep: keep-alive, the stall limit, a periodic flush while the state moves. */
  sweep(mono: number, stallMs: number, flushMs: number, keepAliveMs: number): void {
    if (this.done) return;
    if (mono - this.lastChangeMono >= stallMs) return this.end('stalled');
    if (mono - this.lastSentMono >= keepAliveMs) this.send(KEEP_ALIVE);
    if (mono - this.lastFlushMono >= flushMs) this.flush(false);
  }

  /** Ends the watch once: the last segment is stored, the socket closed, the pool told. */
  end(reason: WatchEndReason): void {
    if (this.done) return;
    this.flush(true);
    this.done = true;
    this.h.reader.stop();
    closePeerSocket(this.h.socket, this.host.dhtPort, true, this.h.encrypt);
    const end = { reason, pieces: this.h.progress.endPieces };
    this.host.ended(this, end);
    this.resolveDone(end);
  }

  private send(bytes: Buffer): void {
    const socket = this.h.socket;
    if (socket.destroyed || !socket.writable) return;
    socket.write(this.h.encrypt ? this.h.encrypt.apply(Buffer.from(bytes)) : bytes);
    this.lastSentMono = performance.now();
  }

  /** Stores the segment read since the last flush when it holds news (a new state, the crossing, what else the peer said). */
  private flush(last: boolean): void {
    const s = this.segment;
    const progress = this.h.progress;
    const now = this.host.now();
    this.lastFlushMono = performance.now();
    const crossed = progress.crossedAt !== null && progress.crossedAt >= s.startedAt;
    if (progress.endPieces === s.openingPieces && !crossed && s.pexPeers === null && s.dhtPort === null) {
      if (last) return;
      s.messages = 0;
      return;
    }
    s.endedAt = now;
    s.endPieces = progress.endPieces;
    if (crossed) {
      s.crossedAt = progress.crossedAt;
      s.crossedPieces = progress.crossedPieces;
      // the state is final at the crossing: stamp the segment's end there too
      s.endedAt = progress.crossedAt!;
    }
    this.host.record(s);
    if (!last) this.segment = this.newSegment(now);
  }

  /** A segment starts from the state known at `at` (the connection is held, so no state was missed since). */
  private newSegment(at: number): ContactResult {
    const r = this.h.result;
    const pieces = this.h.progress.endPieces;
    return {
      torrentId: r.torrentId, ip: r.ip, port: r.port, event: 'watch', reason: 'success',
      startedAt: at, endedAt: at, openingPieces: pieces, openedAt: at, endPieces: pieces, crossedAt: null, crossedPieces: null,
      uploadOnly: r.uploadOnly, completeAgo: r.completeAgo, peerId: r.peerId, clientVersion: r.clientVersion, listenPort: r.listenPort,
      longestWaitMs: 0, messages: 0, dhtPort: null, encrypted: r.encrypted, pexPeers: null,
    };
  }
}

/** Seconds to gain `missing` pieces at `gained` pieces per `elapsedMs` (Infinity without progress). */
export function etaSeconds(missing: number, gained: number, elapsedMs: number): number {
  if (missing <= 0) return 0;
  if (gained <= 0 || elapsedMs <= 0) return Infinity;
  return (missing * elapsedMs) / gained / 1000;
}
