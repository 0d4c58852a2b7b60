// The strict decoder: what it reads, where a prefix ends, what it refuses and with which error.
// (Hostile input at scale is in test/hostile/bencode.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import bencode from 'bencode';
import { BencodeError, decode, decodePrefix, isDict, keyBytes } from '../../src/bencode/decode.ts';
import { findTopLevelValue, scanValue } from '../../src/bencode/scan.ts';

const enc = (v: unknown) => Buffer.from(bencode.encode(v));
const b = (s: string) => Buffer.from(s, 'latin1');

test('decode: values, prefix end', () => {
  const v = decode(enc({ a: 1, b: 'xy', l: [1, -2, 'z'] }));
  assert.ok(isDict(v));
  assert.equal(v.a, 1);
  assert.deepEqual(v.b, Buffer.from('xy'));
  assert.deepEqual(v.l, [1, -2, Buffer.from('z')]);
  const p = decodePrefix(b('d1:ai1eeRAW'));
  assert.equal(p.end, 8);
  assert.equal(decodePrefix(b('xxi42e'), 2).end, 6);
  assert.equal(decodePrefix(b('xxi42e'), 2).value, 42);
  // Lenient where it is harmless.
  assert.equal(decode(b('i03e')), 3);
  assert.equal(Object.is(decode(b('i-0e')), 0), true);
  assert.deepEqual(decode(b('03:abc')), Buffer.from('abc'));
  assert.deepEqual({ ...(decode(b('d1:bi1e1:ai2e1:bi3ee')) as object) }, { b: 3, a: 2 });
  assert.equal(decode(b('i9007199254740991e')), Number.MAX_SAFE_INTEGER);
  assert.equal(decode(b('i-9007199254740991e')), -Number.MAX_SAFE_INTEGER);
});

test('decode: every malformed input is a BencodeError with its offset', () => {
  const cases: [string, RegExp][] = [
    ['', /empty input at byte 0/],
    ['l-3:e', /unexpected byte 0x2d at byte 1/],
    ['d1:a', /unexpected end/],
    ['d1:ai1e', /unterminated dictionary/],
    ['li1e', /unterminated list/],
    ['i12', /unexpected end/],
    ['ie', /unexpected byte 0x65/],
    ['i-e', /unexpected byte 0x65/],
    ['i1.5e', /unexpected byte 0x2e/],
    ['i+5e', /unexpected byte 0x2b/],
    ['5:ab', /past the end/],
    ['4294967295:ab', /past the end at byte 0/],
    ['lle', /unterminated list/],
    ['x', /unexpected byte 0x78/],
    ['di1ei2ee', /dictionary key is not a string/],
    ['d1:ae', /key without a value/],
    ['i99999999999999999e', /integer too large/],
    ['i1ei2e', /trailing bytes/],
    ['e', /unexpected byte 0x65/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => decode(b(input)), (err: unknown) => err instanceof BencodeError && re.test(err.message), input);
  }
  const err = (() => {
    try {
      decode(b('li1exe'));
    } catch (e) {
      return e as BencodeError;
    }
  })();
  assert.equal(err?.offset, 4);
  assert.throws(() => decodePrefix(b('i1e'), -1), BencodeError);
});

test('decode: limits of depth and values', () => {
  assert.throws(() => decode(b('l'.repeat(100) + 'e'.repeat(100))), /nested deeper than 64 levels/);
  assert.deepEqual(decode(b('l'.repeat(64) + 'e'.repeat(64)), { maxDepth: 64 }) !== undefined, true);
  assert.throws(() => decode(b('lli1eee'), { maxDepth: 1 }), /nested deeper than 1 levels/);
  assert.equal(decode(b('i7e'), { maxDepth: 0 }), 7);
  assert.throws(() => decode(b('li1ei2ei3ee'), { maxItems: 3 }), /more than 3 values/);
  assert.deepEqual(decode(b('li1ei2ee'), { maxItems: 3 }), [1, 2]);
  assert.equal(decode(b('i123456789012345678901234567890e'), { allowUnsafeIntegers: true }), 1.2345678901234568e29);
});

test('decode: keys stay byte-exact and are plain data', () => {
  const raw = Buffer.from([0xff, 0x00, 0x80, 0xc3, 0x28]);
  const d = decode(Buffer.concat([b('d5:'), raw, b('i1ee')]));
  assert.ok(isDict(d));
  const [key] = Object.keys(d);
  assert.deepEqual(keyBytes(key), raw);
  const proto = decode(b('d9:__proto__i1ee'));
  assert.ok(isDict(proto) && proto['__proto__'] === 1 && Object.getPrototypeOf(proto) === null);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('property: decode agrees with bencode on valid input', () => {
  const value = fc.letrec((tie) => ({
    v: fc.oneof(
      { depthSize: 'small' },
      fc.maxSafeInteger(),
      fc.string(),
      fc.array(tie('v'), { maxLength: 4 }),
      fc.dictionary(fc.string(), tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  fc.assert(
    fc.property(value, (v) => {
      const bytes = enc(v);
      assert.deepEqual(enc(decode(bytes)), bytes);
      assert.equal(scanValue(bytes, 0), bytes.length);
    }),
    { numRuns: 300 },
  );
});

test('scan: the raw span of a top-level value', () => {
  const file = b('d8:announce3:xyz4:infod1:ai1eee');
  const span = findTopLevelValue(file, 'info');
  assert.equal(file.subarray(span!.start, span!.end).toString(), 'd1:ai1ee');
  assert.equal(findTopLevelValue(file, 'nope'), undefined);
  assert.throws(() => findTopLevelValue(b('li1ee'), 'info'), BencodeError);
  assert.throws(() => scanValue(b('l'.repeat(1000)), 0), /nested deeper than 512/);
});
