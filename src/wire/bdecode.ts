// A strict, bounded bencode decoder for bytes that come from peers. The `bencode` package is fine
// for our own data, but on hostile input its decoder loops for ever (a negative string length such
// as `l-3:e` moves it backwards) and recurses without limit; this one never does either: every
// step moves forward, depth and item count are capped, and a problem returns null, never throws.

export type BValue = number | Buffer | BValue[] | BDict;
/** A dictionary without a prototype, so keys like `__proto__` are plain data. */
export interface BDict {
  [key: string]: BValue;
}

export interface BDecodeLimits {
  maxDepth: number;
  maxItems: number;
}

const DEFAULT_LIMITS: BDecodeLimits = { maxDepth: 32, maxItems: 10_000 };

class Invalid extends Error {}

/**
 * Decode one bencoded value at `start`; `end` is the offset after it (BEP 9 data messages carry raw
 * bytes after the dictionary). Null when the bytes are not valid bencode within the limits.
 */
export function bdecodePrefix(
  buf: Buffer,
  start = 0,
  limits: BDecodeLimits = DEFAULT_LIMITS,
): { value: BValue; end: number } | null {
  let pos = start;
  let items = 0;

  const readInt = (stop: number): number => {
    // i<digits>e: optional minus, 1..16 digits, within the safe integer range.
    const end = buf.indexOf(stop, pos);
    if (end < 0) throw new Invalid();
    let i = pos;
    let sign = 1;
    if (buf[i] === 0x2d) {
      sign = -1;
      i++;
    }
    if (i === end || end - i > 16) throw new Invalid();
    let n = 0;
    for (; i < end; i++) {
      const d = buf[i] - 0x30;
      if (d < 0 || d > 9) throw new Invalid();
      n = n * 10 + d;
    }
    if (!Number.isSafeInteger(n)) throw new Invalid();
    pos = end + 1;
    return sign * n;
  };

  const readString = (): Buffer => {
    const c = buf[pos];
    if (c === 0x2d) throw new Invalid(); // no negative lengths
    const length = readInt(0x3a);
    if (pos + length > buf.length) throw new Invalid();
    const s = buf.subarray(pos, pos + length);
    pos += length;
    return s;
  };

  const readValue = (depth: number): BValue => {
    if (++items > limits.maxItems || depth > limits.maxDepth) throw new Invalid();
    const c = buf[pos];
    if (c === 0x69) {
      pos++;
      return readInt(0x65);
    }
    if (c === 0x6c) {
      pos++;
      const list: BValue[] = [];
      while (buf[pos] !== 0x65) {
        if (pos >= buf.length) throw new Invalid();
        list.push(readValue(depth + 1));
      }
      pos++;
      return list;
    }
    if (c === 0x64) {
      pos++;
      const dict: BDict = Object.create(null);
      while (buf[pos] !== 0x65) {
        if (pos >= buf.length) throw new Invalid();
        const key = readString().toString('utf8');
        dict[key] = readValue(depth + 1);
      }
      pos++;
      return dict;
    }
    if (c !== undefined && c >= 0x30 && c <= 0x39) return readString();
    throw new Invalid();
  };

  try {
    const value = readValue(0);
    return { value, end: pos };
  } catch (err) {
    if (err instanceof Invalid) return null;
    throw err;
  }
}

/** Decode a buffer that holds exactly one bencoded value; null otherwise. */
export function bdecode(buf: Buffer, limits?: BDecodeLimits): BValue | null {
  const r = bdecodePrefix(buf, 0, limits);
  return r && r.end === buf.length ? r.value : null;
}

export function isDict(v: BValue | null | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v);
}
