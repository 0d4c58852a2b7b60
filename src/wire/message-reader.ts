// Peer wire messages after the handshake: <4-byte length><1-byte id><payload>, length 0 = keep-alive.
// MessageReader splits a byte stream into messages without per-byte work: whole messages inside a
// chunk are handed out as views of that chunk (no copy); only a message split across chunks is
// joined, once, when its last byte has arrived. A length prefix above the limit fails the reader
// before anything is buffered for it, so an untrusted length never decides an allocation.

export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  haveAll: 0x0e,
  haveNone: 0x0f,
  reject: 0x10,
  allowedFast: 0x11,
  extended: 20,
} as const;

/** The id the reader reports for a keep-alive (a message of length 0 has no id). */
export const KEEP_ALIVE = -1;
/** Largest extended message we accept (BEP 9 metadata blocks are 16 KiB; handshakes are small). */
export const EXTENDED_MESSAGE_CAP = 1 << 20;

const EMPTY = Buffer.alloc(0);

/**
 * Largest legal length prefix for a torrent of `pieces` pieces (null when not known yet, e.g. a
 * magnet link): the bitfield or the extended-message cap, whichever is larger. We never request
 * blocks, so a piece message (16 KiB + 9) has no claim of its own and fits under the cap anyway.
 */
export function maxMessageLength(pieces: number | null): number {
  const bitfield = pieces == null ? 0 : 1 + Math.ceil(pieces / 8);
  return Math.max(bitfield, EXTENDED_MESSAGE_CAP);
}

/** Called per message; `payload` excludes the id and is a view valid to keep (chunks are not reused). */
export type MessageHandler = (id: number, payload: Buffer) => void;

export class MessageReader {
  private readonly maxLength: number;
  /** Where messages go; a watched connection takes the reader over from its contact (src/evaluator/watch.ts). */
  onMessage: MessageHandler;
  /** Bytes of an incomplete message, joined only once it is complete (null while none are held). */
  private pending: Buffer[] | null = null;
  private buffered = 0;
  /** Bytes needed before the pending bytes can yield progress (4 for a length prefix, else 4 + length). */
  private need = 4;
  private status: 'reading' | 'stopped' | 'bad' = 'reading';

  constructor(maxLength: number, onMessage: MessageHandler) {
    this.maxLength = maxLength;
    this.onMessage = onMessage;
  }

  /** True once a length prefix above the limit was read: the stream is unusable. */
  get failed(): boolean {
    return this.status === 'bad';
  }

  /** Bytes held for an incomplete message (never more than the limit plus one chunk). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** No more messages are delivered (e.g. the contact has what it needs). */
  stop(): void {
    if (this.status === 'reading') this.status = 'stopped';
    this.pending = null;
    this.buffered = 0;
  }

  /** Feed the next chunk of the stream. Returns false once the reader failed or was stopped. */
  feed(chunk: Buffer): boolean {
    if (this.status !== 'reading') return false;
    if (chunk.length === 0) return true;
    let buf = chunk;
    if (this.buffered > 0) {
      this.pending!.push(chunk);
      this.buffered += chunk.length;
      if (this.buffered < this.need) return true;
      buf = Buffer.concat(this.pending!, this.buffered);
      this.pending = null;
      this.buffered = 0;
    }

    const end = buf.length;
    let off = 0;
    // Each turn consumes at least 4 bytes, so the loop is bounded by the chunk length.
    while (end - off >= 4) {
      const length = buf.readUInt32BE(off);
      if (length > this.maxLength) {
        this.status = 'bad';
        this.pending = null;
        return false;
      }
      const next = off + 4 + length;
      if (next > end) break;
      if (length === 0) this.onMessage(KEEP_ALIVE, EMPTY);
      else this.onMessage(buf[off + 4], buf.subarray(off + 5, next));
      off = next;
      if (this.status !== 'reading') return false;
    }

    if (off < end) {
      const rest = off === 0 ? buf : buf.subarray(off);
      this.pending = [rest];
      this.buffered = rest.length;
      this.need = rest.length >= 4 ? 4 + rest.readUInt32BE(0) : 4;
    }
    return true;
  }
}

/** A message decoded into fields; `bad` when its payload length is wrong for its id. */
export type WireMessage =
  | { type: 'keep-alive' }
  | { type: 'choke' | 'unchoke' | 'interested' | 'not-interested' | 'have-all' | 'have-none' }
  | { type: 'have' | 'suggest' | 'allowed-fast'; index: number }
  | { type: 'bitfield'; bitfield: Buffer }
  | { type: 'request' | 'cancel' | 'reject'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Buffer }
  | { type: 'port'; port: number }
  | { type: 'extended'; extId: number; payload: Buffer }
  | { type: 'unknown'; id: number; payload: Buffer }
  | { type: 'bad'; id: number; reason: string };

const NO_PAYLOAD = ['choke', 'unchoke', 'interested', 'not-interested'] as const;

export function decodeMessage(id: number, payload: Buffer): WireMessage {
  const bad = (reason: string): WireMessage => ({ type: 'bad', id, reason });
  const exact = (n: number) => payload.length === n;
  switch (id) {
    case KEEP_ALIVE:
      return { type: 'keep-alive' };
    case MessageId.choke:
    case MessageId.unchoke:
    case MessageId.interested:
    case MessageId.notInterested:
      return exact(0) ? { type: NO_PAYLOAD[id] } : bad('payload not empty');
    case MessageId.haveAll:
    case MessageId.haveNone:
      return exact(0) ? { type: id === MessageId.haveAll ? 'have-all' : 'have-none' } : bad('payload not empty');
    case MessageId.have:
    case MessageId.suggest:
    case MessageId.allowedFast: {
      if (!exact(4)) return bad('index must be 4 bytes');
      const type = id === MessageId.have ? 'have' : id === MessageId.suggest ? 'suggest' : 'allowed-fast';
      return { type, index: payload.readUInt32BE(0) };
    }
    case MessageId.bitfield:
      return { type: 'bitfield', bitfield: payload };
    case MessageId.request:
    case MessageId.cancel:
    case MessageId.reject: {
      if (!exact(12)) return bad('must be 12 bytes');
      const type = id === MessageId.request ? 'request' : id === MessageId.cancel ? 'cancel' : 'reject';
      return { type, index: payload.readUInt32BE(0), begin: payload.readUInt32BE(4), length: payload.readUInt32BE(8) };
    }
    case MessageId.piece:
      if (payload.length < 8) return bad('piece header too short');
      return { type: 'piece', index: payload.readUInt32BE(0), begin: payload.readUInt32BE(4), block: payload.subarray(8) };
    case MessageId.port:
      return exact(2) ? { type: 'port', port: payload.readUInt16BE(0) } : bad('port must be 2 bytes');
    case MessageId.extended:
      return payload.length >= 1 ? { type: 'extended', extId: payload[0], payload: payload.subarray(1) } : bad('no extended id');
    default:
      return { type: 'unknown', id, payload };
  }
}

/** One framed message: <length><id><payload>. */
export function encodeMessage(id: number, payload: Uint8Array = EMPTY): Buffer {
  const buf = Buffer.allocUnsafe(5 + payload.length);
  buf.writeUInt32BE(1 + payload.length, 0);
  buf[4] = id;
  buf.set(payload, 5);
  return buf;
}

export const KEEP_ALIVE_MESSAGE: Buffer = Buffer.alloc(4);

/**
 * have_none (BEP 6): the sender holds no piece. btda's handshake sets the Fast bit, and when the peer's
 * does too, exactly one of bitfield, have_all or have_none MUST follow the handshake; without the bit on
 * both sides none of the two BEP 6 ones may be sent (a peer closes on have_none it did not agree to).
 */
export const HAVE_NONE_MESSAGE: Buffer = encodeMessage(MessageId.haveNone);

/** Split a complete byte string into decoded messages (tests, tools); stops at a bad length prefix. */
export function readAllMessages(bytes: Buffer, maxLength = EXTENDED_MESSAGE_CAP): { messages: WireMessage[]; bad: boolean; leftover: number } {
  const messages: WireMessage[] = [];
  const reader = new MessageReader(maxLength, (id, payload) => messages.push(decodeMessage(id, payload)));
  reader.feed(bytes);
  return { messages, bad: reader.failed, leftover: reader.bufferedBytes };
}
