// Magnet links: fetch a torrent's info dictionary from a peer (BEP 9 ut_metadata over the BEP 10
// extension protocol), so a torrent added by magnet gets its piece count and piece size.
//
// One fetch is one TCP connection carrying one WireSession (src/wire/wire-session.ts, as contacts do), so
// MSE/PE is spoken when asked (`encrypted`) and fetchMetadataFromAny follows the crawl's encryption policy
// (a peer that requires encryption closes a plaintext handshake at once: the fetch tries again encrypted).
// Our handshake (extension and Fast bits set), the peer's handshake
// (the info hash must match), have_none if the peer set Fast too (BEP 6), our extension handshake
// announcing ut_metadata, the peer's (its ut_metadata id
// and metadata_size), then requests for the 16 KiB metadata pieces, a few at a time, until the
// assembled bytes hash to the info hash. Metadata requests are extension messages: we never send
// interested, request or piece, so no payload moves either way. The state messages the peer sends
// (bitfield, have, have_all...) cannot be read before the piece count is known: they are kept
// (wire/seen-state.ts) and returned as `seen`, to be recorded once the metadata is.
//
// Untrusted input is bounded: the claimed metadata_size is checked against a limit before the one
// buffer of that size is allocated; data for a piece we did not ask for (or asked for and got) is
// dropped without copying; messages above the extended-message cap fail the reader before anything
// is buffered for them; one deadline bounds the whole fetch.
//
// Only v1 is verified (SHA-1 of the info dict = the 20-byte info hash). A v2-only magnet (btmh)
// would need the full SHA-256 to verify, which a truncated hash cannot give: such fetches end in
// 'hash-mismatch'. Hybrid torrents have a v1 hash and work.
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { PeerHandshake } from '../wire/handshake.ts';
import { MessageId, maxMessageLength } from '../wire/message-reader.ts';
import { EXTENDED_HANDSHAKE_ID, OUR_EXTENSION_IDS, parseExtensionHandshake } from '../wire/extension-handshake.ts';
import { afterHandshakeFor, handshakeFor } from '../wire/our-messages.ts';
import { SeenStateRecorder, type PeerSeen } from '../wire/seen-state.ts';
import { WireSession, type WireFailure, type WireSessionOwner } from '../wire/wire-session.ts';
import {
  buildMetadataReject,
  buildMetadataRequest,
  METADATA_PIECE_SIZE,
  metadataPieceCount,
  metadataPieceLength,
  parseMetadataMessage,
  readMetadataSize,
} from './metadata-messages.ts';
import { socketFailureOf } from '../wire/socket-errors.ts';

export interface MetadataFetchOptions {
  /** Our 20-byte peer id. */
  peerId: Buffer;
  /** TCP connect plus the peer's handshake. */
  connectTimeoutMs: number;
  /** The whole fetch from one peer. */
  timeoutMs: number;
  /** Largest metadata_size believed (default 16 MiB); a peer claiming more ends the fetch with 'bad-size'. */
  maxMetadataSize?: number;
  /** Ends the fetch early with 'aborted'. */
  signal?: AbortSignal;
  /** Open with the MSE/PE handshake instead of the plaintext one (fetchMetadata). */
  encrypted?: boolean;
  /** Milliseconds since the epoch, for the times of what was seen; injectable. */
  now?: () => number;
}

export type MetadataFetchFailure =
  | 'refused'
  | 'timeout' // no connection or handshake within connectTimeoutMs, or the fetch took longer than timeoutMs
  | 'reset'
  | 'unreachable'
  | 'closed' // the peer closed the connection before the metadata was complete
  | 'unknown-protocol' // not a BitTorrent handshake (e.g. an encrypted stream)
  | 'wrong-info-hash'
  | 'self' // we connected to ourselves
  | 'no-ut-metadata' // no extension protocol, or no ut_metadata in the peer's extension handshake
  | 'no-metadata' // ut_metadata without metadata_size: the peer has no metadata to give
  | 'bad-size' // metadata_size not an integer, <= 0 or above the limit; or a data message's total_size differs
  | 'rejected' // the peer rejected a piece we asked for
  | 'hash-mismatch'
  | 'bad-message'
  | 'aborted'
  | 'no-peers' // fetchMetadataFromAny: an empty list
  | 'all-failed' // fetchMetadataFromAny: every peer failed, not all for the same reason
  | 'error';

export type MetadataFetchResult =
  /** `info`: the raw bencoded info dictionary, SHA-1 verified; `from`: the peer (fetchMetadataFromAny). */
  | { ok: true; info: Buffer; from?: { ip: string; port: number }; seen?: PeerSeen | null }
  /** `failures`: how many peers failed for each reason (fetchMetadataFromAny). */
  | { ok: false; reason: MetadataFetchFailure; failures?: Partial<Record<MetadataFetchFailure, number>>; seen?: PeerSeen | null };

export const DEFAULT_MAX_METADATA_SIZE = 16 * 1024 * 1024;

/**
 * Metadata requests in flight at once. libtorrent queues up to 10 incoming metadata requests per
 * peer and rejects the rest; a few in flight keep the pipe busy without ever reaching that.
 */
const REQUEST_WINDOW = 4;
/** Rejects we send to a peer that asks us for metadata (we have none); more requests are ignored. */
const MAX_REJECTS_SENT = 16;

/** A .torrent file's bytes around a raw info dictionary (`d4:info<info>e`), for parseTorrentFile. */
export function torrentFileFromInfo(info: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from('d4:info', 'latin1'), info, Buffer.from('e', 'latin1')]);
}

/**
 * Fetch the info dictionary of `infoHash` from one peer. Never throws; resolves exactly once. `seen`: the
 * peer's state messages, once its handshake was read (null before).
 */
export function fetchMetadata(infoHash: Buffer, ip: string, port: number, opts: MetadataFetchOptions): Promise<MetadataFetchResult> {
  return new Promise((resolve) => {
    new MetadataFetch(infoHash, ip, port, opts, resolve).start();
  });
}

/** Per metadata piece: not asked yet, asked (in flight), received. */
const NOT_ASKED = 0;
const ASKED = 1;
const RECEIVED = 2;

class MetadataFetch implements WireSessionOwner {
  private done = false;
  private socket: net.Socket | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;
  private readonly session = new WireSession(this);
  private readonly now: () => number;
  private readonly recorder: SeenStateRecorder;
  /** The id the peer announced for ut_metadata: our requests carry it. */
  private peerExtId: number | null = null;
  private size = 0;
  private metadata: Buffer | null = null;
  private pieceState: Uint8Array | null = null;
  private nextPiece = 0;
  private inFlight = 0;
  private receivedPieces = 0;
  private rejectsSent = 0;

  constructor(
    private readonly infoHash: Buffer,
    ip: string,
    private readonly port: number,
    private readonly opts: MetadataFetchOptions,
    private readonly resolve: (r: MetadataFetchResult) => void,
  ) {
    this.now = opts.now ?? Date.now;
    this.recorder = new SeenStateRecorder(ip, port, this.now());
  }

  start(): void {
    this.guard(() => {
      if (this.opts.signal?.aborted) return this.fail('aborted');
      if (this.infoHash.length !== 20 || this.opts.peerId.length !== 20) return this.fail('error');
      // our handshake: no DHT bit (the fetch sends no PORT)
      this.session.prepare(this.infoHash, handshakeFor(this.infoHash, this.opts.peerId, false), maxMessageLength(null));
      this.opts.signal?.addEventListener('abort', this.onAbort, { once: true });
      const socket = new net.Socket();
      this.socket = socket;
      // The error listener stays for the socket's whole life: a late error must never go unhandled.
      socket.on('error', (err: NodeJS.ErrnoException) => this.fail(socketFailureOf(err.code)));
      socket.on('data', (chunk: Buffer) => this.guard(() => this.session.feed(chunk)));
      socket.on('end', () => this.fail('closed'));
      socket.on('close', () => this.fail('closed'));
      socket.once('connect', () =>
        this.guard(() => {
          if (this.done) return;
          socket.setNoDelay(true);
          this.session.start(this.opts.encrypted === true);
        }),
      );
      this.connectTimer = setTimeout(() => this.fail('timeout'), this.opts.connectTimeoutMs);
      this.deadlineTimer = setTimeout(() => this.fail('timeout'), this.opts.timeoutMs);
      socket.connect({ host: this.recorder.seen.ip, port: this.port });
    });
  }

  /** Run a step; an unexpected exception ends the fetch as 'error' instead of escaping. */
  private guard(step: () => void): void {
    try {
      step();
    } catch {
      this.fail('error');
    }
  }

  private readonly onAbort = (): void => this.fail('aborted');

  // The session's calls (wire-session.ts).

  wireWrite(bytes: Buffer): void {
    if (!this.done) this.socket!.write(bytes);
  }

  wireTorrent(): boolean {
    return false; // outgoing only: the torrent is known from the start
  }

  wireFailed(reason: WireFailure): void {
    this.fail(reason === 'unknown-info-hash' ? 'unknown-protocol' : reason);
  }

  wireHandshake(hs: PeerHandshake): boolean {
    if (hs.peerId.equals(this.opts.peerId)) {
      this.fail('self');
      return false;
    }
    const seen = this.recorder.seen;
    seen.peerId = hs.peerId;
    seen.encrypted = this.session.encrypted;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (!hs.extensionProtocol) {
      this.fail('no-ut-metadata');
      return false;
    }
    // BEP 6: both set Fast, so have_none (we hold nothing) MUST follow the handshake, before the rest
    this.session.send(afterHandshakeFor(hs.fast, true, undefined, false, true)!);
    return true;
  }

  wireMessage(id: number, payload: Buffer): void {
    if (this.done) return;
    // state messages are kept for later (seen-state.ts); of the rest only ut_metadata matters here
    this.recorder.add(id, payload, this.now());
    if (id !== MessageId.extended || payload.length === 0) return;
    const extId = payload[0];
    const body = payload.subarray(1);
    if (extId === EXTENDED_HANDSHAKE_ID) this.onExtensionHandshake(body);
    else if (extId === OUR_EXTENSION_IDS.ut_metadata) this.onMetadataMessage(body);
    // lt_donthave and extensions we did not announce: nothing more to do.
  }

  private onExtensionHandshake(body: Buffer): void {
    if (this.peerExtId !== null) return; // a later handshake changes nothing we rely on
    const hs = parseExtensionHandshake(body);
    if (!hs) return this.fail('bad-message');
    const extId = hs.extensions?.ut_metadata;
    if (extId === undefined) return this.fail('no-ut-metadata');
    const size = readMetadataSize(body);
    if (size === 'absent') return this.fail('no-metadata');
    const max = this.opts.maxMetadataSize ?? DEFAULT_MAX_METADATA_SIZE;
    if (size === 'invalid' || !Number.isSafeInteger(size) || size <= 0 || size > max) return this.fail('bad-size');

    // The size is validated: now, and only now, the one buffer of that size.
    this.peerExtId = extId;
    this.size = size;
    this.metadata = Buffer.alloc(size);
    this.pieceState = new Uint8Array(metadataPieceCount(size));
    this.requestMore();
  }

  private requestMore(): void {
    const state = this.pieceState!;
    const requests: Buffer[] = [];
    while (this.inFlight < REQUEST_WINDOW && this.nextPiece < state.length) {
      const piece = this.nextPiece++;
      state[piece] = ASKED;
      this.inFlight++;
      requests.push(buildMetadataRequest(this.peerExtId!, piece));
    }
    if (requests.length > 0) this.session.send(requests.length === 1 ? requests[0] : Buffer.concat(requests));
  }

  private onMetadataMessage(body: Buffer): void {
    const msg = parseMetadataMessage(body);
    if (!msg) return this.fail('bad-message');
    const state = this.pieceState;
    switch (msg.type) {
      case 'request':
        // BEP 9: a peer asking for metadata we do not have gets a reject (bounded: a few only).
        if (this.peerExtId !== null && this.rejectsSent < MAX_REJECTS_SENT) {
          this.rejectsSent++;
          this.session.send(buildMetadataReject(this.peerExtId, msg.piece));
        }
        return;
      case 'reject':
        if (state && msg.piece < state.length && state[msg.piece] === ASKED) this.fail('rejected');
        return;
      case 'data': {
        // Not asked for, already received, or before the peer's handshake: dropped without a copy.
        if (!state || msg.piece >= state.length || state[msg.piece] !== ASKED) return;
        if (msg.totalSize !== null && msg.totalSize !== this.size) return this.fail('bad-size');
        // A wrong length for a piece we asked for: the peer will not send it again, so waiting for
        // the deadline would only hold a slot; end now.
        if (msg.data.length !== metadataPieceLength(this.size, msg.piece)) return this.fail('bad-message');
        msg.data.copy(this.metadata!, msg.piece * METADATA_PIECE_SIZE);
        state[msg.piece] = RECEIVED;
        this.inFlight--;
        if (++this.receivedPieces === state.length) return this.verify();
        return this.requestMore();
      }
      default: // an unknown msg_type: BEP 9 says ignore it
    }
  }

  private verify(): void {
    const metadata = this.metadata!;
    const digest = createHash('sha1').update(metadata).digest();
    if (!digest.equals(this.infoHash)) return this.fail('hash-mismatch');
    this.finish({ ok: true, info: metadata, seen: null });
  }

  private fail(reason: MetadataFetchFailure): void {
    this.finish({ ok: false, reason, seen: null });
  }

  /** End the fetch: exactly once, timers cleared, socket destroyed, result delivered. */
  private finish(result: MetadataFetchResult): void {
    if (this.done) return;
    this.done = true;
    const seen = this.recorder.seen;
    if (seen.peerId) {
      seen.endedAt = this.now();
      result.seen = seen;
    }
    try {
      if (this.connectTimer) clearTimeout(this.connectTimer);
      if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
      this.connectTimer = this.deadlineTimer = null;
      this.opts?.signal?.removeEventListener('abort', this.onAbort);
      this.session.stop();
      this.socket?.destroy();
      this.metadata = null;
      this.pieceState = null;
    } finally {
      this.resolve(result); // a cleanup problem must never keep the promise pending
    }
  }
}
