// A bounded, iterative bencode scanner. It validates structure without recursion (so 100,000 nested
// lists cannot overflow the stack) and finds the exact bytes of the top-level `info` value, whose hash
// is the info hash: re-encoding a decoded dict would change the hash of a non-canonical file.
// It checks structure only (integers are not validated): run the strict `decode` first when the
// values matter. Errors are the folder's one convention: a thrown BencodeError.
import { BencodeError } from './decode.ts';

/** Nesting deeper than this is not a real .torrent (BEP 52 file trees are a few dozen levels at most). */
export const MAX_DEPTH = 512;

/** Returns the end offset (exclusive) of the bencoded value starting at `start`. */
export function scanValue(buf: Uint8Array, start: number, maxDepth = MAX_DEPTH): number {
  if (!Number.isSafeInteger(start) || start < 0) throw new BencodeError(`bad start offset ${start}`, 0);
  let pos = start;
  let depth = 0;
  do {
    if (pos >= buf.length) throw new BencodeError(`truncated at byte ${pos}`, pos);
    const c = buf[pos];
    if (c === 0x64 /* d */ || c === 0x6c /* l */) {
      if (++depth > maxDepth) throw new BencodeError(`nested deeper than ${maxDepth} levels at byte ${pos}`, pos);
      pos++;
    } else if (c === 0x65 /* e */) {
      if (depth === 0) throw new BencodeError(`unexpected end marker at byte ${pos}`, pos);
      depth--;
      pos++;
    } else if (c === 0x69 /* i */) {
      const end = buf.indexOf(0x65, pos + 1);
      if (end < 0) throw new BencodeError(`unterminated integer at byte ${pos}`, pos);
      pos = end + 1;
    } else if (c >= 0x30 && c <= 0x39) {
      // <length>:<bytes>; a length beyond the input fails at its first digits, however many follow.
      let i = pos;
      let len = 0;
      for (; i < buf.length && buf[i] >= 0x30 && buf[i] <= 0x39; i++) {
        len = len * 10 + (buf[i] - 0x30);
        if (len > buf.length) throw new BencodeError(`string at byte ${pos} runs past the end`, pos);
      }
      if (buf[i] !== 0x3a) throw new BencodeError(`bad string length at byte ${pos}`, pos);
      pos = i + 1 + len;
      if (pos > buf.length) throw new BencodeError(`string at byte ${i + 1} runs past the end`, i + 1);
    } else {
      throw new BencodeError(`unexpected byte 0x${c.toString(16)} at byte ${pos}`, pos);
    }
  } while (depth > 0);
  return pos;
}

/** Byte range of the value of `key` in the top-level dictionary, or undefined. */
export function findTopLevelValue(buf: Uint8Array, key: string): { start: number; end: number } | undefined {
  if (buf[0] !== 0x64) throw new BencodeError('not a bencoded dictionary at byte 0', 0);
  const wanted = Buffer.from(key);
  let pos = 1;
  while (pos < buf.length && buf[pos] !== 0x65) {
    const keyEnd = scanValue(buf, pos);
    const colon = buf.indexOf(0x3a, pos);
    const isWanted = Buffer.compare(buf.subarray(colon + 1, keyEnd), wanted) === 0;
    const valueEnd = scanValue(buf, keyEnd);
    if (isWanted) return { start: keyEnd, end: valueEnd };
    pos = valueEnd;
  }
  if (pos >= buf.length) throw new BencodeError(`truncated top-level dictionary at byte ${pos}`, pos);
  return undefined;
}
