// The BitTorrent handshake (BEP 3): <19><"BitTorrent protocol"><8 reserved><20 info hash><20 peer id>.
// Parsing is incremental and rejects a wrong first byte or protocol string as soon as those bytes
// arrive, so an encrypted (MSE) or foreign stream is refused after its first bytes.

export const PROTOCOL_NAME = Buffer.from('BitTorrent protocol', 'latin1');
export const HANDSHAKE_LENGTH = 68;
/** Bytes up to and including the info hash: enough for an inbound side to pick the torrent. */
export const HANDSHAKE_HEAD_LENGTH = 48;

/** Reserved byte 5, 0x10: extension protocol (BEP 10). */
export const RESERVED_EXTENSION_BYTE = 5;
export const RESERVED_EXTENSION_BIT = 0x10;
/** Reserved byte 7, 0x04: fast extension (BEP 6). */
export const RESERVED_FAST_BIT = 0x04;
/** Reserved byte 7, 0x01: DHT (BEP 5). */
export const RESERVED_DHT_BIT = 0x01;

export interface HandshakeOptions {
  /** Set the DHT bit (only when we run a DHT node). */
  dht?: boolean;
  /** Announce the extension protocol (default true). */
  extensions?: boolean;
  /** Announce the fast extension (default true). */
  fast?: boolean;
}

export function buildReserved(opts: HandshakeOptions = {}): Buffer {
  const reserved = Buffer.alloc(8);
  if (opts.extensions !== false) reserved[RESERVED_EXTENSION_BYTE] |= RESERVED_EXTENSION_BIT;
  if (opts.fast !== false) reserved[7] |= RESERVED_FAST_BIT;
  if (opts.dht) reserved[7] |= RESERVED_DHT_BIT;
  return reserved;
}

/** Our 68-byte handshake. */
export function buildHandshake(infoHash: Uint8Array, peerId: Uint8Array, opts: HandshakeOptions = {}): Buffer {
  if (infoHash.length !== 20) throw new RangeError('info hash must be 20 bytes');
  if (peerId.length !== 20) throw new RangeError('peer id must be 20 bytes');
  const buf = Buffer.allocUnsafe(HANDSHAKE_LENGTH);
  buf[0] = PROTOCOL_NAME.length;
  PROTOCOL_NAME.copy(buf, 1);
  buildReserved(opts).copy(buf, 20);
  buf.set(infoHash, 28);
  buf.set(peerId, 48);
  return buf;
}

export interface PeerHandshake {
  reserved: Buffer;
  infoHash: Buffer;
  peerId: Buffer;
  extensionProtocol: boolean;
  fast: boolean;
  dht: boolean;
}

export type HandshakeParse =
  /** Fine so far; `infoHash` once 48 bytes are there (the inbound side answers then). */
  | { status: 'partial'; infoHash: Buffer | null }
  | { status: 'bad' }
  /** `consumed` = 68: bytes after it are peer messages. */
  | { status: 'done'; handshake: PeerHandshake; consumed: number };

/**
 * Parse the start of a stream as a handshake. Call again with more bytes while 'partial'.
 * Returned buffers are copies, so the stream's chunks are not retained.
 */
export function parseHandshake(buf: Uint8Array): HandshakeParse {
  if (buf.length === 0) return { status: 'partial', infoHash: null };
  if (buf[0] !== PROTOCOL_NAME.length) return { status: 'bad' };
  const nameBytes = Math.min(buf.length - 1, PROTOCOL_NAME.length);
  for (let i = 0; i < nameBytes; i++) if (buf[1 + i] !== PROTOCOL_NAME[i]) return { status: 'bad' };
  if (buf.length < HANDSHAKE_LENGTH) {
    const infoHash = buf.length >= HANDSHAKE_HEAD_LENGTH ? Buffer.from(buf.subarray(28, 48)) : null;
    return { status: 'partial', infoHash };
  }
  const reserved = Buffer.from(buf.subarray(20, 28));
  return {
    status: 'done',
    consumed: HANDSHAKE_LENGTH,
    handshake: {
      reserved,
      infoHash: Buffer.from(buf.subarray(28, 48)),
      peerId: Buffer.from(buf.subarray(48, 68)),
      extensionProtocol: (reserved[RESERVED_EXTENSION_BYTE] & RESERVED_EXTENSION_BIT) !== 0,
      fast: (reserved[7] & RESERVED_FAST_BIT) !== 0,
      dht: (reserved[7] & RESERVED_DHT_BIT) !== 0,
    },
  };
}

export type HandshakeRead =
  | { status: 'partial'; infoHash: Buffer | null }
  /** `received`: every byte so far (an inbound side may try them as an encrypted handshake). */
  | { status: 'bad'; received: Buffer }
  /** `rest`: what followed the handshake in the same read (peer messages). */
  | { status: 'done'; handshake: PeerHandshake; rest: Buffer };

/** Reads the peer's handshake from a stream whose reads may split it anywhere; keeps under 68 bytes in between. */
export class HandshakeReader {
  private pending: Buffer | null = null;

  feed(chunk: Buffer): HandshakeRead {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const parsed = parseHandshake(buf);
    if (parsed.status === 'partial') {
      this.pending = Buffer.from(buf); // a copy: never retain a large chunk for a few bytes
      return parsed;
    }
    this.pending = null;
    if (parsed.status === 'bad') return { status: 'bad', received: buf };
    return { status: 'done', handshake: parsed.handshake, rest: buf.subarray(parsed.consumed) };
  }
}
