// One contact with one peer, outgoing or inbound, turned into a ContactResult. We send our handshake,
// have_none (to Fast peers: BEP 6), our extension handshake (to BEP 10 peers) and, with a DHT node, PORT
// before closing: never interested, request or piece. We read what the peer volunteers until it goes
// quiet, its state is final, or a limit is reached.
// Two clocks: `opts.now` (injectable) stamps what the result records and decides the opening grace; the
// monotonic clock drives the deadlines. One timer serves all deadlines: a message only moves
// `lastActivity`, the timer re-arms itself when it fires early (nothing is re-armed per message).
//
// Per contact the hot path allocates little: the socket listeners (socket-owner.ts) and the timer
// callback are shared functions, and our handshake and extension handshake are built once and reused.
// A contact that ends below the threshold may hand its open socket to the watch (watch.ts).
// The protocol (MSE/PE, handshakes, message framing) is the transport-free WireSession (wire/wire-session.ts);
// this file owns the socket, the timer and the result.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ContactEvent, ContactReason, ContactResult } from '../types.ts';
import type { ContactStop } from './contact-stop.ts';
import type { PeerHandshake } from '../wire/handshake.ts';
import { maxMessageLength } from '../wire/message-reader.ts';
import { WireSession, type WireFailure, type WireSessionOwner } from '../wire/wire-session.ts';
import { ContactProgress } from './contact-progress.ts';
import { failedResult, reasonForSocketError, type ContactPhase } from './contact-result.ts';
import { afterHandshakeFor, handshakeFor } from '../wire/our-messages.ts';
import { closePeerSocket, readPeerMessage } from './peer-messages.ts';
import type { WatchOffer } from './watch.ts';
import { listenForConnect, ownSocket, type PeerSocket, type SocketOwner } from './socket-owner.ts';
import { unmapIPv4 } from '../wire/ip.ts';

export { reasonForSocketError, type ContactPhase } from './contact-result.ts';

export interface ContactTorrent {
  torrentId: number;
  infoHash: Buffer; // 20 bytes
  pieces: number;
  thresholdPieces: number;
}

export interface ContactOptions {
  /** Our 20-byte peer id. */
  peerId: Buffer;
  /** Quiet time after the last data from the peer that ends the contact (config.timeout). */
  timeoutMs: number;
  /** TCP connect plus the peer's handshake. */
  connectTimeoutMs: number;
  /** Hard limit per contact. */
  contactLimitMs: number;
  maxMessages: number;
  /** State updates this soon after the opening bitfield still belong to the opening state. */
  openingGraceMs: number;
  /**
   * Our DHT node's port: sets the DHT bit in our handshake, and a PORT message is sent before we
   * close any contact whose handshake completed. Sent whatever the peer's DHT bit says: the bit is
   * not trustworthy either way (qBittorrent sets it with the DHT off), and 7 bytes are harmless.
   */
  dhtPort?: number;
  /** Our listener's port, announced as `p` in our extension handshake (so peers may connect back). */
  listenPort?: number;
  /** Announce ut_pex and keep the peers a peer tells us about (ContactResult.pexPeers). */
  pex?: boolean;
  /** Cuts the contact short when the crawl stops (contact-stop.ts). */
  stop?: ContactStop;
  /** Offered every outgoing contact that ends below the threshold with its socket open (watch.ts). */
  watch?: WatchOffer;
  /** Milliseconds since the epoch; injectable. */
  now?: () => number;
  /** The transport of outgoing contacts: a TCP socket unless given (a uTP trial passes its own: scripts/utp/). */
  openSocket?: () => PeerSocket;
}

export type { PeerSocket };
function onContactTimer(contact: Contact): void {
  contact.onTimer();
}

/** Contact a peer at ip:port for a torrent. Never rejects; resolves once. */
export function contactPeer(
  torrent: ContactTorrent,
  ip: string,
  port: number,
  event: 'first' | 'later',
  opts: ContactOptions,
  /** Open with the MSE/PE handshake (src/wire/mse.ts) instead of the plaintext one. */
  encrypted = false,
): Promise<ContactResult> {
  return new Promise((resolve) => {
    const socket = opts.openSocket ? opts.openSocket() : new net.Socket();
    try {
      const contact = new Contact(socket, torrent, null, null, ip, port, event, opts, resolve);
      contact.connect(encrypted);
    } catch {
      socket.destroy();
      resolve(failedResult(torrent.torrentId, ip, port, event));
    }
  });
}

/**
 * Read an inbound connection: the peer's handshake names the torrent (looked up by lower-case hex
 * info hash), we answer with our handshake, then read as for an outgoing contact.
 */
export function evaluateIncoming(
  socket: net.Socket,
  lookup: (infoHashHex: string) => ContactTorrent | undefined,
  opts: ContactOptions,
  /** Answers MSE/PE handshakes: HASH('req2', info hash) as hex (obfuscatedInfoHash) → torrent. */
  lookupObfuscated?: (obfuscatedHex: string) => ContactTorrent | undefined,
): Promise<ContactResult> {
  return new Promise((resolve) => {
    const ip = unmapIPv4(socket.remoteAddress ?? '');
    const port = socket.remotePort ?? 0;
    try {
      const byObfuscated = lookupObfuscated ? (obfuscated: Buffer) => lookupObfuscated(obfuscated.toString('hex'))?.infoHash : null;
      const contact = new Contact(socket, null, lookup, byObfuscated, ip, port, 'incoming', opts, resolve);
      contact.accept();
    } catch {
      socket.destroy();
      resolve(failedResult(-1, ip, port, 'incoming'));
    }
  });
}

class Contact implements SocketOwner, WireSessionOwner {
  private phase: ContactPhase = 'connecting';
  private readonly result: ContactResult;
  private readonly now: () => number;
  private readonly startMono = performance.now();
  private timer: NodeJS.Timeout | null = null;
  /** Monotonic time the armed timer fires. */
  private timerAt = Infinity;
  /** Monotonic time of the last bytes from the peer (quiet timeout). */
  private lastActivity = 0;
  /** Monotonic time the last message completed (longest wait). */
  private lastMessage = 0;
  private readonly session: WireSession;
  private encryptOutgoing = false;
  private progress: ContactProgress | null = null;

  constructor(
    private readonly socket: PeerSocket,
    private torrent: ContactTorrent | null,
    private readonly lookup: ((infoHashHex: string) => ContactTorrent | undefined) | null,
    lookupObfuscated: ((obfuscated: Buffer) => Buffer | undefined) | null,
    ip: string,
    port: number,
    event: ContactEvent,
    private readonly opts: ContactOptions,
    private readonly resolve: (r: ContactResult) => void,
  ) {
    this.now = opts.now ?? Date.now;
    const startedAt = this.now();
    this.result = failedResult(torrent ? torrent.torrentId : -1, ip, port, event, startedAt);
    this.session = new WireSession(this, lookupObfuscated);
    ownSocket(socket, this);
    opts.stop?.add(this);
  }

  /** The crawl stops: keep what was read (a state → success), else `stopped`. */
  cutShort(): void {
    if (this.phase !== 'done') this.finish(this.hasState() ? 'success' : 'stopped');
  }

  /** Outgoing: open with MSE/PE (`encrypted`) or the plaintext handshake once TCP connects. */
  connect(encrypted: boolean): void {
    try {
      this.encryptOutgoing = encrypted;
      if (this.torrent) this.prepare(this.torrent);
      listenForConnect(this.socket);
      this.arm();
      this.socket.connect({ host: this.result.ip, port: this.result.port });
    } catch {
      this.finish('error');
    }
  }

  accept(): void {
    try {
      // The peer may have gone before the listener handed the socket over: 'close' has fired already.
      if (this.socket.destroyed) return this.finish('closed-early');
      this.socket.setNoDelay(true);
      this.phase = 'handshake';
      this.arm();
    } catch {
      this.finish('error');
    }
  }

  // The socket events. An unexpected exception ends the contact as 'error' instead of escaping.

  onConnect(): void {
    try {
      if (this.phase !== 'connecting') return;
      this.socket.setNoDelay(true);
      this.phase = 'handshake';
      this.session.start(this.encryptOutgoing);
    } catch {
      this.finish('error');
    }
  }

  onError(err: NodeJS.ErrnoException): void {
    if (this.phase !== 'done') this.finish(reasonForSocketError(err.code, this.phase, this.hasState()));
  }

  onDataEvent(chunk: Buffer): void {
    try {
      if (this.phase === 'done') return;
      this.lastActivity = performance.now();
      this.session.feed(chunk);
    } catch {
      this.finish('error');
    }
  }

  // The session's calls (wire-session.ts).

  wireWrite(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  wireTorrent(infoHash: Buffer): boolean {
    const torrent = this.lookup?.(infoHash.toString('hex'));
    if (!torrent) return false;
    this.prepare(torrent);
    return true;
  }

  wireFailed(reason: WireFailure): void {
    this.finish(reason);
  }

  private hasState(): boolean {
    return this.progress !== null && this.progress.hasState;
  }

  private prepare(torrent: ContactTorrent): void {
    this.torrent = torrent;
    this.result.torrentId = torrent.torrentId;
    this.progress = new ContactProgress(torrent.pieces, torrent.thresholdPieces, this.opts.openingGraceMs);
    const ours = handshakeFor(torrent.infoHash, this.opts.peerId, this.opts.dhtPort !== undefined);
    this.session.prepare(torrent.infoHash, ours, maxMessageLength(torrent.pieces));
  }

  wireHandshake(hs: PeerHandshake): boolean {
    this.result.encrypted = this.session.encrypted;
    this.result.peerId = hs.peerId;
    // Ourselves (a tracker lists our own address): nothing to learn, end at once.
    if (hs.peerId.equals(this.opts.peerId)) {
      this.finish('no-state');
      return false;
    }
    this.phase = 'messages';
    this.lastMessage = performance.now();
    // have_none (both sides set Fast) and our extension handshake, now that the peer's handshake is read
    const after = afterHandshakeFor(hs.fast, hs.extensionProtocol, this.opts.listenPort, this.opts.pex === true);
    if (after) this.session.send(after);
    // The armed timer fires early at worst (and re-arms); re-arm now only if the quiet timeout is sooner.
    if (this.deadline() < this.timerAt) this.arm();
    return true;
  }

  wireMessage(id: number, payload: Buffer): void {
    const r = this.result;
    r.messages++;
    const t = performance.now();
    const wait = Math.round(t - this.lastMessage);
    if (wait > r.longestWaitMs) r.longestWaitMs = wait;
    this.lastMessage = t;

    const progress = this.progress!;
    if (!readPeerMessage(id, payload, progress, r, this.opts.pex === true, this.now())) return this.finish('bad-message');
    if (progress.complete) return this.finish('success');
    if (r.messages >= this.opts.maxMessages) this.finish(progress.hasState ? 'success' : 'no-state');
  }

  onClosed(): void {
    if (this.phase === 'done') return;
    if (this.phase === 'messages') this.finish(this.hasState() ? 'success' : 'no-state');
    else this.finish('closed-early');
  }

  private deadline(): number {
    const hard = this.startMono + this.opts.contactLimitMs;
    if (this.phase === 'messages') return Math.min(this.lastActivity + this.opts.timeoutMs, hard);
    return Math.min(this.startMono + this.opts.connectTimeoutMs, hard);
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const now = performance.now();
    const delay = Math.max(0, Math.ceil(this.deadline() - now));
    this.timerAt = now + delay;
    this.timer = setTimeout(onContactTimer, delay, this);
  }

  onTimer(): void {
    this.timer = null;
    this.timerAt = Infinity;
    try {
      if (this.phase === 'done') return;
      if (performance.now() < this.deadline()) return this.arm();
      if (this.phase === 'messages') this.finish(this.hasState() ? 'success' : 'no-state');
      else this.finish('timeout');
    } catch {
      this.finish('error');
    }
  }

  /** Offers the open connection to the watch (watch.ts); true when it took the socket over. */
  private handOver(r: ContactResult): boolean {
    if (!this.opts.watch || this.opts.stop?.isStopped) return false;
    const { socket, progress, torrent } = this;
    const { reader, encrypt, decrypt } = this.session;
    return this.opts.watch.offer({ socket, reader: reader!, progress: progress!, torrent: torrent!, result: r, encrypt, decrypt });
  }

  /** End the contact: exactly once, timers cleared, socket closed, result delivered. */
  private finish(reason: ContactReason): void {
    if (this.phase === 'done') return;
    // inbound bytes that were neither a plaintext nor a complete encrypted handshake
    if (this.session.negotiatingInbound && (reason === 'timeout' || reason === 'closed-early' || reason === 'reset')) reason = 'unknown-protocol';
    const handshakeDone = this.phase === 'messages';
    this.phase = 'done';
    this.opts.stop?.remove(this);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;

    const r = this.result;
    r.reason = reason;
    r.endedAt = this.now();
    r.encrypted = this.session.encrypted;
    if (this.progress) {
      r.openingPieces = this.progress.openingPieces;
      r.openedAt = this.progress.openedAt;
      r.endPieces = this.progress.endPieces;
      r.crossedAt = this.progress.crossedAt;
      r.crossedPieces = this.progress.crossedPieces;
    }
    // a peer downloading below the threshold may be kept, silent, until it crosses (watch.ts): the same connection
    if (handshakeDone && reason === 'success' && this.handOver(r)) return this.resolve(r);
    this.session.stop();
    closePeerSocket(this.socket, this.opts.dhtPort, handshakeDone, this.session.encrypt);
    this.resolve(r);
  }
}
