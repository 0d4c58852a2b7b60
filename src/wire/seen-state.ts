// The state messages a peer sends while we cannot read them yet: during a metadata fetch (BEP 9) the
// torrent's piece count is unknown, so a bitfield cannot be checked or counted. They are kept, with the
// time each arrived, and read once the metadata is known (evaluator/seen-result.ts), as a contact's would
// have been: the fetch's connection is an observation of the peer like any other.
import { EXTENDED_HANDSHAKE_ID, OUR_EXTENSION_IDS } from './extension-handshake.ts';
import { MessageId } from './message-reader.ts';

/** Messages kept per connection: a bitfield, have_all/none and haves, rarely more than a few dozen. */
const MAX_SEEN_MESSAGES = 512;
/** Bytes kept per connection: a bitfield of 2 million pieces, plus the extension handshake. */
const MAX_SEEN_BYTES = 256 * 1024 + 4096;

export interface SeenMessage {
  id: number;
  /** A copy (the transport's chunks are not retained). */
  payload: Buffer;
  /** Milliseconds since the epoch. */
  at: number;
}

/** One connection's view of a peer, before its torrent's piece count was known. */
export interface PeerSeen {
  ip: string;
  port: number;
  startedAt: number;
  endedAt: number;
  /** Set once the peer's handshake was read (a peer that never completed it is not an observation). */
  peerId: Buffer | null;
  encrypted: boolean;
  messages: SeenMessage[];
  /** More arrived than the bounds keep: the messages kept are a prefix. */
  truncated: boolean;
}

export class SeenStateRecorder {
  readonly seen: PeerSeen;
  private bytes = 0;

  constructor(ip: string, port: number, startedAt: number) {
    this.seen = { ip, port, startedAt, endedAt: startedAt, peerId: null, encrypted: false, messages: [], truncated: false };
  }

  /** Keeps a message that tells the peer's state or describes it; others (choke, ut_metadata data...) are not kept. */
  add(id: number, payload: Buffer, at: number): void {
    if (!keeps(id, payload)) return;
    const s = this.seen;
    if (s.truncated || s.messages.length >= MAX_SEEN_MESSAGES || this.bytes + payload.length > MAX_SEEN_BYTES) {
      s.truncated = true;
      return;
    }
    this.bytes += payload.length;
    s.messages.push({ id, payload: Buffer.from(payload), at });
  }
}

function keeps(id: number, payload: Buffer): boolean {
  switch (id) {
    case MessageId.bitfield:
    case MessageId.have:
    case MessageId.haveAll:
    case MessageId.haveNone:
    case MessageId.port:
      return true;
    case MessageId.extended:
      return payload.length > 0 && (payload[0] === EXTENDED_HANDSHAKE_ID || payload[0] === OUR_EXTENSION_IDS.lt_donthave);
    default:
      return false;
  }
}
