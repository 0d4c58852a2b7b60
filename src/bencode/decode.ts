// The one bencode decoder for bytes btda did not write itself: tracker replies, peer messages, .torrent
// files, DHT packets. (We keep the `bencode` package to ENCODE our own data.)
//
// Why not `bencode.decode`: its decoder (v4, and the v2 copy inside k-rpc-socket) loops for ever on a
// negative string length such as `l-3:e` (the position moves backwards) and recurses without limit,
// and it turns dictionary keys into UTF-8 text, which loses the raw 20-byte info hashes that key a
// scrape reply.
//
// This one:
// - is iterative (no recursion at all) and caps nesting depth and the number of values;
// - checks every string length against the bytes left before reading it, so a length of 2^32-1
//   costs nothing; every step moves forward, so it always ends in time linear in the input;
// - keeps dictionary keys byte-exact as latin1 strings (one char per byte; `keyBytes` turns one back);
// - makes dictionaries without a prototype, so a key like `__proto__` is plain data.
//
// Error convention (one for the whole folder): malformed input or a broken limit THROWS a
// `BencodeError` (with the byte offset); nothing else is ever thrown. Callers that treat bad bytes
// as an outcome catch exactly that class.
//
// Accepted beyond canonical bencode (harmless and seen in the wild): leading zeros in integers and
// lengths (`i03e`, `03:abc`), `i-0e`, dictionary keys out of order (the last duplicate wins).

export type BValue = number | Buffer | BValue[] | BDict;
/** Keys are the raw key bytes as a latin1 string (one char per byte), so binary keys survive. */
export interface BDict {
  [key: string]: BValue;
}

export class BencodeError extends Error {
  override name = 'BencodeError';
  constructor(
    message: string,
    /** Byte offset of the problem in the input. */
    readonly offset: number,
  ) {
    super(message);
  }
}

export interface DecodeLimits {
  /** Deepest nesting of lists and dictionaries (the top-level container is depth 1). */
  maxDepth?: number;
  /** Most values (integers, strings, lists, dictionaries; keys not counted) in one decode. */
  maxItems?: number;
  /**
   * Integers beyond Number.MAX_SAFE_INTEGER: rejected by default; with true they decode to the nearest
   * double (Infinity past ~309 digits), as the `bencode` package does (for .torrent files, whose odd extra fields we ignore anyway).
   */
  allowUnsafeIntegers?: boolean;
}

/** Enough for every tracker reply and peer message; callers with bigger inputs pass their own. */
export const DEFAULT_LIMITS: Readonly<Required<DecodeLimits>> = {
  maxDepth: 64,
  maxItems: 100_000,
  allowUnsafeIntegers: false,
};

const I = 0x69; // i
const L = 0x6c; // l
const D = 0x64; // d
const E = 0x65; // e
const COLON = 0x3a;
const MINUS = 0x2d;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Decodes the one value that starts at `start` and returns it with `end`, the offset just after it:
 * what follows is the caller's (a BEP 9 data message carries raw bytes after the dictionary).
 */
export function decodePrefix(
  data: Uint8Array,
  start = 0,
  limits: DecodeLimits = DEFAULT_LIMITS,
): { value: BValue; end: number } {
  if (!Number.isSafeInteger(start) || start < 0) throw new BencodeError(`bad start offset ${start}`, 0);
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const maxDepth = limits.maxDepth ?? DEFAULT_LIMITS.maxDepth;
  const maxItems = limits.maxItems ?? DEFAULT_LIMITS.maxItems;
  const unsafeOk = limits.allowUnsafeIntegers ?? DEFAULT_LIMITS.allowUnsafeIntegers;
  const n = buf.length;
  let pos = start;
  let items = 0;

  const fail = (what: string, at = pos): never => {
    throw new BencodeError(`${what} at byte ${at}`, at);
  };
  const describe = (at: number): string =>
    at >= n ? 'unexpected end' : `unexpected byte 0x${buf[at].toString(16).padStart(2, '0')}`;

  /** A run of digits ending at `terminator`; `pos` moves past the terminator. */
  const readNumber = (terminator: number, allowSign: boolean, max: number): number => {
    const first = pos;
    let sign = 1;
    if (allowSign && buf[pos] === MINUS) {
      sign = -1;
      pos++;
    }
    const digitsStart = pos;
    let value = 0;
    while (pos < n) {
      const c = buf[pos];
      if (c < ZERO || c > NINE) break;
      value = value * 10 + (c - ZERO);
      if (value > max) {
        if (terminator === COLON) fail('string runs past the end', first);
        if (!unsafeOk) fail('integer too large', first);
      }
      pos++;
    }
    if (pos === digitsStart) fail(describe(pos));
    if (pos >= n) fail('unexpected end');
    if (buf[pos] !== terminator) fail(describe(pos));
    // Only reached beyond the safe range when allowed: the nearest double of the digits.
    if (value > max) value = Number(buf.toString('latin1', digitsStart, pos));
    pos++;
    return value === 0 ? 0 : sign * value; // no -0
  };

  const readString = (): Buffer => {
    // The most the length can be: every byte left after the shortest possible `<digit>:` prefix.
    const length = readNumber(COLON, false, Math.max(0, n - pos - 2));
    if (pos + length > n) fail('string runs past the end');
    const s = buf.subarray(pos, pos + length);
    pos += length;
    return s;
  };

  // Open containers; `keys[k]` is the key waiting for its value in containers[k] (a dictionary), or null.
  const containers: Array<BValue[] | BDict> = [];
  const keys: Array<string | null> = [];

  for (;;) {
    const top = containers.length > 0 ? containers[containers.length - 1] : undefined;
    const c = pos < n ? buf[pos] : -1;
    let value: BValue;

    if (top !== undefined && c === E) {
      if (keys[keys.length - 1] !== null) fail('dictionary key without a value');
      pos++;
      containers.pop();
      keys.pop();
      value = top;
    } else if (top !== undefined && !Array.isArray(top) && keys[keys.length - 1] === null) {
      if (c < ZERO || c > NINE) fail(c === -1 ? 'unterminated dictionary' : `dictionary key is not a string (${describe(pos)})`);
      keys[keys.length - 1] = readString().toString('latin1');
      continue;
    } else {
      if (++items > maxItems) fail(`more than ${maxItems} values`);
      if (c === I) {
        pos++;
        value = readNumber(E, true, Number.MAX_SAFE_INTEGER);
      } else if (c >= ZERO && c <= NINE) {
        value = readString();
      } else if (c === L || c === D) {
        if (containers.length >= maxDepth) fail(`nested deeper than ${maxDepth} levels`);
        pos++;
        containers.push(c === L ? [] : (Object.create(null) as BDict));
        keys.push(null);
        continue;
      } else if (c === -1) {
        return fail(top === undefined ? 'empty input' : Array.isArray(top) ? 'unterminated list' : 'unexpected end');
      } else {
        return fail(describe(pos));
      }
    }

    // A complete value: it is the result, or it goes into the open container.
    const parent = containers.length > 0 ? containers[containers.length - 1] : undefined;
    if (parent === undefined) return { value, end: pos };
    if (Array.isArray(parent)) parent.push(value);
    else {
      parent[keys[keys.length - 1]!] = value;
      keys[keys.length - 1] = null;
    }
  }
}

/** Decodes input that holds exactly one value; bytes after it are an error. */
export function decode(data: Uint8Array, limits?: DecodeLimits): BValue {
  const { value, end } = decodePrefix(data, 0, limits);
  if (end !== data.length) throw new BencodeError(`trailing bytes after the value at byte ${end}`, end);
  return value;
}

export function isDict(v: BValue | null | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v);
}

/** The bytes of a dictionary key (keys are latin1 strings of their bytes). */
export function keyBytes(key: string): Buffer {
  return Buffer.from(key, 'latin1');
}

/** A non-negative integer field, or undefined. */
export function intField(d: BDict, key: string): number | undefined {
  const v = d[key];
  return typeof v === 'number' && v >= 0 ? v : undefined;
}

/** A byte-string field as (lossy) UTF-8 text for messages, at most `maxChars` long, or undefined. */
export function textField(d: BDict, key: string, maxChars = 300): string | undefined {
  const v = d[key];
  return Buffer.isBuffer(v) ? v.subarray(0, maxChars * 4).toString('utf8').slice(0, maxChars) : undefined;
}

/**
 * A dictionary at the start of `buf` (what follows it is the caller's), or null for bytes that are not
 * one: for peer messages, where bad bencode is an outcome, not an exception.
 */
export function decodeDictPrefix(buf: Uint8Array, limits: DecodeLimits): { dict: BDict; end: number } | null {
  try {
    const { value, end } = decodePrefix(buf, 0, limits);
    return isDict(value) ? { dict: value, end } : null;
  } catch (err) {
    if (err instanceof BencodeError) return null;
    throw err;
  }
}
