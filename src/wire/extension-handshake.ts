// The extension protocol (BEP 10): the extended handshake (extended id 0) both sides send, and the
// few extension messages we read (lt_donthave, BEP 54). Fields of a peer's handshake are read
// defensively: undecodable bytes are a bad message, a field of the wrong type is ignored.
import bencode from 'bencode';
import { decodeDictPrefix, isDict, type BValue } from '../bencode/decode.ts';
import { encodeMessage, MessageId } from './message-reader.ts';

/** Extended message id 0 is the handshake. */
export const EXTENDED_HANDSHAKE_ID = 0;

/**
 * The ids WE assign (the peer sends these messages to us with these ids). We announce lt_donthave so
 * a peer can tell us it lost a piece; ut_metadata only when we fetch metadata (magnet links).
 */
export const OUR_EXTENSION_IDS = { ut_metadata: 1, lt_donthave: 2, ut_pex: 3 } as const;

export const CLIENT_VERSION = 'btda 0.1';

const MAX_VERSION_LENGTH = 100;
const MAX_EXTENSIONS = 64;

export interface ExtensionHandshake {
  /** `v`: client name and version. */
  clientVersion: string | null;
  /** `p`: the peer's TCP listen port. */
  listenPort: number | null;
  /** `upload_only` (BEP 21): a (partial) seed that wants nothing. */
  uploadOnly: boolean;
  /** `metadata_size` (BEP 9). */
  metadataSize: number | null;
  /** `complete_ago` (libtorrent): seconds since the peer last saw a complete copy (its own completion, or a peer completing in front of it); null when absent or -1 (never). */
  completeAgo: number | null;
  /** `m`: extension name → the id the peer wants for it; 0 (disabled) is left out. Null when `m` is absent. */
  extensions: Record<string, number> | null;
}

export interface OurHandshakeOptions {
  /** Announce ut_metadata (we want metadata from the peer). */
  metadata?: boolean;
  /** Add `p`: our listen port, so the peer may connect back to our listener. */
  listenPort?: number;
  /** Announce ut_pex (BEP 11): the peer may tell us about other peers. */
  pex?: boolean;
}

/**
 * Our extended handshake, framed. No `upload_only`: BEP 21 would tell the peer we want nothing,
 * and libtorrent drops connections between two upload-only peers (a seed would close on us before
 * we read it) and may skip `have`s to such peers. Since we never send interested, no peer will
 * serve us payload anyway, and having announced no pieces, no peer will request any from us.
 */
export function buildExtensionHandshake(opts: OurHandshakeOptions = {}): Buffer {
  const m: Record<string, number> = { lt_donthave: OUR_EXTENSION_IDS.lt_donthave };
  if (opts.pex) m.ut_pex = OUR_EXTENSION_IDS.ut_pex;
  if (opts.metadata) m.ut_metadata = OUR_EXTENSION_IDS.ut_metadata;
  const dict: Record<string, unknown> = { m, v: CLIENT_VERSION };
  if (opts.listenPort !== undefined) dict.p = opts.listenPort;
  return buildExtendedMessage(EXTENDED_HANDSHAKE_ID, bencode.encode(dict));
}

/** A framed extended message: <len><20><ext id><payload>. */
export function buildExtendedMessage(extId: number, payload: Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(1 + payload.length);
  body[0] = extId;
  body.set(payload, 1);
  return encodeMessage(MessageId.extended, body);
}

const int = (v: BValue | undefined): number | null => (typeof v === 'number' ? v : null);

function text(v: BValue | undefined): string | null {
  if (!Buffer.isBuffer(v)) return null;
  const s = v.subarray(0, MAX_VERSION_LENGTH * 4).toString('utf8');
  return s.length > MAX_VERSION_LENGTH ? s.slice(0, MAX_VERSION_LENGTH) : s;
}


/**
 * Parse the payload of an extended handshake (after the extended id byte). Null when it is not a
 * bencoded dictionary: the caller treats that as a bad message. Bytes after the dictionary are ignored.
 */
export function parseExtensionHandshake(payload: Buffer): ExtensionHandshake | null {
  const d = decodeDictPrefix(payload, { maxDepth: 4, maxItems: 1000 })?.dict;
  if (!d) return null;

  const port = int(d.p);
  const size = int(d.metadata_size);
  let extensions: Record<string, number> | null = null;
  if (isDict(d.m)) {
    extensions = {};
    let n = 0;
    for (const name of Object.keys(d.m)) {
      const id = int(d.m[name]);
      if (id === null || id < 1 || id > 255 || name.length > 64 || name === '__proto__') continue;
      if (++n > MAX_EXTENSIONS) break;
      extensions[name] = id;
    }
  }
  return {
    clientVersion: text(d.v),
    listenPort: port !== null && port >= 1 && port <= 65535 ? port : null,
    uploadOnly: int(d.upload_only) === 1,
    completeAgo: completeAgoOf(int(d.complete_ago)),
    metadataSize: size !== null && size > 0 ? size : null,
    extensions,
  };
}

/** Seconds since completion, within a plausible range (a year); -1 and nonsense are null. */
function completeAgoOf(n: number | null): number | null {
  return n !== null && n >= 0 && n <= 366 * 86_400 ? n : null;
}

/** lt_donthave payload (4-byte piece index); null when malformed. */
export function parseDontHave(payload: Uint8Array): number | null {
  if (payload.length !== 4) return null;
  return ((payload[0] << 24) >>> 0) + (payload[1] << 16) + (payload[2] << 8) + payload[3];
}
