// A small, strict bencode decoder for tracker replies.
//
// Why not the `bencode` package: its v4 decoder loops for ever on a negative string length
// (`l-3:e` never returns), so one broken or hostile tracker could hang the whole crawler. It also
// turns dictionary keys into text, which loses the raw 20-byte info hashes that key a scrape reply.
// This decoder checks every length against the input, limits nesting, keeps keys as byte-exact
// latin1 strings, and throws a `BdecodeError` on anything malformed (callers turn it into a value).

export type BValue = number | Buffer | BValue[] | BDict;
/** Keys are the raw key bytes as a latin1 string (one char per byte), so binary keys survive. */
export type BDict = { [key: string]: BValue };

export class BdecodeError extends Error {}

const MAX_DEPTH = 64;
const MAX_INT_DIGITS = 20;

/** Decodes the first bencoded value of `data`; bytes after it are ignored (some trackers add a newline). */
export function bdecode(data: Uint8Array): BValue {
  const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (buf.length === 0) throw new BdecodeError('empty reply');
  let pos = 0;

  const fail = (what: string): never => {
    throw new BdecodeError(`bad bencode: ${what} at byte ${pos}`);
  };

  const readDigits = (terminator: number, allowSign: boolean): number => {
    const start = pos;
    const end = buf.indexOf(terminator, pos);
    if (end < 0 || end - start > MAX_INT_DIGITS) fail('missing terminator');
    const text = buf.toString('latin1', start, end);
    const pattern = allowSign ? /^(0|-?[1-9][0-9]*)$/ : /^(0|[1-9][0-9]*)$/;
    if (!pattern.test(text)) fail(`bad number "${text.slice(0, 20)}"`);
    const value = Number(text);
    if (!Number.isSafeInteger(value)) fail('number too large');
    pos = end + 1;
    return value;
  };

  const readBytes = (): Buffer => {
    const length = readDigits(0x3a /* : */, false);
    if (pos + length > buf.length) fail('string runs past the end');
    const bytes = buf.subarray(pos, pos + length);
    pos += length;
    return bytes;
  };

  const readValue = (depth: number): BValue => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    if (pos >= buf.length) fail('unexpected end');
    const c = buf[pos];
    if (c === 0x69 /* i */) {
      pos++;
      return readDigits(0x65 /* e */, true);
    }
    if (c === 0x6c /* l */) {
      pos++;
      const list: BValue[] = [];
      while (pos < buf.length && buf[pos] !== 0x65) list.push(readValue(depth + 1));
      if (pos >= buf.length) fail('unterminated list');
      pos++;
      return list;
    }
    if (c === 0x64 /* d */) {
      pos++;
      // A null prototype: keys such as "__proto__" from a tracker must stay plain data.
      const dict: BDict = Object.create(null) as BDict;
      while (pos < buf.length && buf[pos] !== 0x65) {
        const key = readBytes().toString('latin1');
        dict[key] = readValue(depth + 1);
      }
      if (pos >= buf.length) fail('unterminated dictionary');
      pos++;
      return dict;
    }
    if (c >= 0x30 && c <= 0x39) return readBytes();
    return fail(`unexpected byte 0x${c.toString(16)}`);
  };

  return readValue(0);
}

export function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !Array.isArray(v);
}

/** A non-negative safe integer field, or undefined. */
export function intField(d: BDict, key: string): number | undefined {
  const v = d[key];
  return typeof v === 'number' && v >= 0 ? v : undefined;
}

/** A byte-string field as (lossy) UTF-8 text for messages, or undefined. */
export function textField(d: BDict, key: string, maxChars = 300): string | undefined {
  const v = d[key];
  return Buffer.isBuffer(v) ? v.toString('utf8').slice(0, maxChars) : undefined;
}
