// Turns the bytes of a .torrent file (v1, v2 or hybrid, BEP 3/52) or a magnet link (BEP 9) into
// what btda stores about a torrent. Every problem is a TorrentParseError with a clear message.
import { createHash } from 'node:crypto';
import magnet from 'magnet-uri';
import { BencodeError, decode, isDict, type BDict, type BValue } from '../bencode/decode.ts';
import { findTopLevelValue, MAX_DEPTH } from '../bencode/scan.ts';

export class TorrentParseError extends Error {}

export interface ParsedTorrent {
  infoHash: string;
  infoHashV2: string | null;
  name: string | null;
  pieces: number | null;
  pieceSize: number | null;
  totalSize: number | null;
  trackers: string[];
}

/** Tracker schemes btda announces to; others (wss, dht, ...) are dropped at import. */
const TRACKER_SCHEMES = /^(https?|udp):\/\//i;

/**
 * A .torrent may be 64 MiB (import-torrents.ts); a million-file torrent is ~5 million values. Odd
 * extra integers beyond 2^53 (some creators write them) are kept approximate rather than rejecting
 * the file: every number we use is checked to be a safe integer below.
 */
const TORRENT_LIMITS = { maxDepth: MAX_DEPTH, maxItems: 8_000_000, allowUnsafeIntegers: true };

export function parseTorrentFile(data: Uint8Array): ParsedTorrent {
  let span: { start: number; end: number } | undefined;
  let meta: BValue;
  try {
    meta = decode(data, TORRENT_LIMITS);
    if (!isDict(meta)) throw new TorrentParseError('not a bencoded dictionary');
    // The exact bytes of `info`: its hash is the info hash, also when the file is not canonical.
    span = findTopLevelValue(data, 'info');
  } catch (err) {
    if (err instanceof BencodeError) throw new TorrentParseError(`not valid bencode: ${err.message}`);
    throw err;
  }
  if (!span || !isDict(meta.info)) throw new TorrentParseError('no info dictionary');
  const info = meta.info;
  const rawInfo = data.subarray(span.start, span.end);

  const pieceSize = info['piece length'];
  if (!isPositiveInt(pieceSize)) throw new TorrentParseError('missing or invalid "piece length"');
  const version = info['meta version'];
  const isV2 = version === 2;
  const v1Pieces = Buffer.isBuffer(info.pieces) ? info.pieces : null;
  if (!v1Pieces && !isV2) throw new TorrentParseError('missing "pieces"');
  if (v1Pieces && v1Pieces.length % 20 !== 0) throw new TorrentParseError('"pieces" length is not a multiple of 20');

  const totalSize = isV2 && !v1Pieces ? v2TotalAndPieces(info, pieceSize).total : v1TotalSize(info);
  const pieces = v1Pieces ? v1Pieces.length / 20 : v2TotalAndPieces(info, pieceSize).pieces;
  if (pieces === 0 && totalSize > 0) throw new TorrentParseError('no pieces');

  const sha256 = isV2 ? createHash('sha256').update(rawInfo).digest('hex') : null;
  const infoHash = v1Pieces ? createHash('sha1').update(rawInfo).digest('hex') : sha256!.slice(0, 40);
  return {
    infoHash,
    infoHashV2: sha256,
    name: text(info['name.utf-8']) ?? text(info.name),
    pieces,
    pieceSize,
    totalSize,
    trackers: trackersOf(meta),
  };
}

export function parseMagnet(uri: string): ParsedTorrent {
  checkBtih(uri.trim());
  let parsed: ReturnType<typeof magnet>;
  try {
    parsed = magnet(uri.trim());
  } catch (err) {
    throw new TorrentParseError(`not a magnet link: ${(err as Error).message}`);
  }
  const v1 = typeof parsed.infoHash === 'string' && /^[0-9a-f]{40}$/.test(parsed.infoHash) ? parsed.infoHash : null;
  const v2 = typeof parsed.infoHashV2 === 'string' && /^[0-9a-f]{64}$/.test(parsed.infoHashV2) ? parsed.infoHashV2 : null;
  if (!v1 && !v2) throw new TorrentParseError('magnet link has no btih/btmh info hash');
  const name = Array.isArray(parsed.dn) ? parsed.dn[0] : parsed.dn;
  const trackers = (parsed.announce ?? []).filter((t) => TRACKER_SCHEMES.test(t));
  return {
    infoHash: v1 ?? v2!.slice(0, 40),
    infoHashV2: v2,
    name: typeof name === 'string' ? name : null,
    pieces: null,
    pieceSize: null,
    totalSize: null,
    trackers: [...new Set(trackers)],
  };
}

/**
 * magnet-uri reads a btih of the wrong length anyway (39 hex characters as some other hash, 41 cut to 40):
 * only 40 hex or 32 base32 characters name a v1 info hash (BEP 9).
 */
function checkBtih(uri: string): void {
  const query = uri.slice(uri.indexOf('?') + 1);
  for (const part of query.split('&')) {
    const [key, value = ''] = part.split('=');
    if (!/^xt(\.\d+)?$/i.test(key)) continue;
    let xt: string;
    try {
      xt = decodeURIComponent(value);
    } catch {
      throw new TorrentParseError(`magnet link: xt "${value}" is not valid percent-encoding`);
    }
    const m = /^urn:btih:(.*)$/i.exec(xt);
    if (m && !/^([0-9a-f]{40}|[a-z2-7]{32})$/i.test(m[1])) {
      throw new TorrentParseError(`magnet link: btih "${m[1]}" is not 40 hex or 32 base32 characters (${m[1].length} characters)`);
    }
  }
}

function v1TotalSize(info: BDict): number {
  if (isNonNegativeInt(info.length)) return info.length;
  if (!Array.isArray(info.files)) throw new TorrentParseError('neither "length" nor "files" in info');
  let total = 0;
  for (const f of info.files) {
    if (!isDict(f) || !isNonNegativeInt(f.length)) throw new TorrentParseError('a file without a valid "length"');
    total += f.length;
  }
  return total;
}

/** v2 pieces are per file (BEP 52): each file of the tree starts on a piece boundary. */
function v2TotalAndPieces(info: BDict, pieceSize: number): { total: number; pieces: number } {
  let total = 0;
  let pieces = 0;
  const stack: Array<BValue | undefined> = [info['file tree']];
  if (!isDict(stack[0])) throw new TorrentParseError('v2 torrent without "file tree"');
  for (let guard = 0; stack.length > 0; guard++) {
    if (guard > 10_000_000) throw new TorrentParseError('file tree too large');
    const node = stack.pop();
    if (!isDict(node)) continue;
    for (const [key, child] of Object.entries(node)) {
      if (key === '' && isDict(child) && isNonNegativeInt(child.length)) {
        total += child.length;
        pieces += Math.ceil(child.length / pieceSize);
      } else stack.push(child);
    }
  }
  return { total, pieces };
}

function trackersOf(meta: BDict): string[] {
  const urls: string[] = [];
  if (Array.isArray(meta['announce-list'])) {
    for (const tier of meta['announce-list']) {
      if (Array.isArray(tier)) for (const u of tier) urls.push(text(u) ?? '');
    }
  }
  const single = text(meta.announce);
  if (single) urls.push(single);
  return [...new Set(urls.map((u) => u.trim()).filter((u) => TRACKER_SCHEMES.test(u)))];
}

function text(v: BValue | undefined): string | null {
  return Buffer.isBuffer(v) ? v.toString('utf8') : null;
}
function isPositiveInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) > 0;
}
function isNonNegativeInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 0;
}
