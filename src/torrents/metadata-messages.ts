// The ut_metadata extension messages (BEP 9), as pure functions so they can be fuzzed apart from the
// socket code. Each message is an extended message (BEP 10) whose payload is a bencoded dictionary
// { msg_type, piece[, total_size] }; a data message (msg_type 1) carries the piece's bytes right
// after the dictionary, so the strict decoder's prefix variant finds where they start.
import bencode from 'bencode';
import { decodeDictPrefix, type DecodeLimits } from '../bencode/decode.ts';
import { buildExtendedMessage } from '../wire/extension-handshake.ts';

/** Metadata travels in pieces of 16 KiB; only the last one may be shorter. */
export const METADATA_PIECE_SIZE = 16 * 1024;

export const MetadataMsgType = { request: 0, data: 1, reject: 2 } as const;

/** The dictionary is a handful of small integers: a tight limit keeps hostile input cheap. */
const DICT_LIMITS: DecodeLimits = { maxDepth: 4, maxItems: 64 };

export function metadataPieceCount(size: number): number {
  return Math.ceil(size / METADATA_PIECE_SIZE);
}

/** Byte length of piece `piece` of metadata of `size` bytes. */
export function metadataPieceLength(size: number, piece: number): number {
  return Math.min(METADATA_PIECE_SIZE, size - piece * METADATA_PIECE_SIZE);
}

/** A framed request for one piece, sent with the id the PEER announced for ut_metadata. */
export function buildMetadataRequest(peerExtId: number, piece: number): Buffer {
  return buildExtendedMessage(peerExtId, bencode.encode({ msg_type: MetadataMsgType.request, piece }));
}

/** A framed reject of one piece (our answer to a peer that asks us for metadata: we have none to give). */
export function buildMetadataReject(peerExtId: number, piece: number): Buffer {
  return buildExtendedMessage(peerExtId, bencode.encode({ msg_type: MetadataMsgType.reject, piece }));
}

/** A framed data message (tests and tools; btda never serves metadata). */
export function buildMetadataData(peerExtId: number, piece: number, totalSize: number, data: Uint8Array): Buffer {
  const dict = bencode.encode({ msg_type: MetadataMsgType.data, piece, total_size: totalSize });
  const payload = Buffer.allocUnsafe(dict.length + data.length);
  payload.set(dict, 0);
  payload.set(data, dict.length);
  return buildExtendedMessage(peerExtId, payload);
}

export type MetadataMessage =
  | { type: 'request'; piece: number }
  /** `totalSize` is null when the peer left it out; `data` is a view of the payload. */
  | { type: 'data'; piece: number; totalSize: number | null; data: Buffer }
  | { type: 'reject'; piece: number }
  /** A msg_type this side does not know (BEP 9: ignore it). */
  | { type: 'unknown'; msgType: number };

/**
 * Parse the payload of a ut_metadata message (after the extended id byte). Null when it is not a
 * bencoded dictionary with integer msg_type and a non-negative integer piece: a bad message.
 * Bytes after the dictionary are the piece data of a data message (ignored after other types).
 */
export function parseMetadataMessage(payload: Buffer): MetadataMessage | null {
  const decoded = decodeDictPrefix(payload, DICT_LIMITS);
  if (!decoded) return null;
  const d = decoded.dict;
  const msgType = d.msg_type;
  if (typeof msgType !== 'number') return null;
  if (msgType !== MetadataMsgType.request && msgType !== MetadataMsgType.data && msgType !== MetadataMsgType.reject) {
    return { type: 'unknown', msgType };
  }
  const piece = d.piece;
  if (typeof piece !== 'number' || piece < 0) return null;
  if (msgType === MetadataMsgType.data) {
    const total = d.total_size;
    if (total !== undefined && typeof total !== 'number') return null;
    return { type: 'data', piece, totalSize: total ?? null, data: payload.subarray(decoded.end) };
  }
  return { type: msgType === MetadataMsgType.request ? 'request' : 'reject', piece };
}

/**
 * `metadata_size` of a peer's extension handshake payload, read raw (parseExtensionHandshake folds
 * an invalid size into "absent"): 'absent' when the key is missing (the peer has no metadata to
 * give, e.g. it is fetching it itself), 'invalid' when it is not an integer, else the number as sent.
 */
export function readMetadataSize(extHandshakePayload: Buffer): number | 'absent' | 'invalid' {
  const decoded = decodeDictPrefix(extHandshakePayload, { maxDepth: 4, maxItems: 1000 });
  if (!decoded) return 'invalid';
  const size = decoded.dict.metadata_size;
  if (size === undefined) return 'absent';
  return typeof size === 'number' ? size : 'invalid';
}
