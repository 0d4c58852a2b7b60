// Hostile input for the strict bencode decoder and the structural scanner: whatever the bytes, the
// answer is a value or a BencodeError, and it comes quickly (time linear in the input, no recursion).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { BencodeError, decode, decodePrefix, isDict, type BValue } from '../../src/bencode/decode.ts';
import { findTopLevelValue, scanValue } from '../../src/bencode/scan.ts';

const s = (text: string) => Buffer.from(text, 'latin1');

/** Runs `f`; returns what it returned or the BencodeError, fails on any other exception or when slow. */
function valueOrBencodeError<T>(f: () => T, maxMs = 250): T | BencodeError {
  const start = performance.now();
  try {
    return f();
  } catch (err) {
    assert.ok(err instanceof BencodeError, `not a BencodeError: ${String(err)}`);
    assert.ok((err as BencodeError).offset >= 0);
    return err as BencodeError;
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < maxMs, `took ${ms.toFixed(0)} ms`);
  }
}

const rejects = (input: Buffer, re: RegExp, limits?: Parameters<typeof decode>[1]) => {
  const r = valueOrBencodeError(() => decode(input, limits));
  assert.ok(r instanceof BencodeError, `accepted ${input.subarray(0, 40).toString('latin1')}`);
  assert.match(r.message, re);
};

test('nesting 100,000 deep is refused at the depth limit, without touching the stack', () => {
  const N = 100_000;
  rejects(s('l'.repeat(N) + 'e'.repeat(N)), /nested deeper than 64 levels at byte 64/);
  rejects(s('d1:a'.repeat(N) + 'i1e' + 'e'.repeat(N)), /nested deeper than 64 levels/);
  rejects(s('ld1:al'.repeat(N)), /nested deeper/);
  rejects(s('l'.repeat(N)), /nested deeper/);
  // A caller's own huge limit does not bring recursion back: the decoder is iterative.
  const deep = decode(s('l'.repeat(N) + 'i7e' + 'e'.repeat(N)), { maxDepth: N, maxItems: N + 1 });
  let v: BValue = deep;
  for (let i = 0; i < N; i++) v = (v as BValue[])[0];
  assert.equal(v, 7);
  assert.throws(() => scanValue(s('l'.repeat(N) + 'e'.repeat(N)), 0), /nested deeper than 512/);
  assert.equal(scanValue(s('l'.repeat(N) + 'e'.repeat(N)), 0, N), 2 * N);
});

test('lengths beyond the input: 2^32-1, 2^53, a thousand digits', () => {
  rejects(s('4294967295:abc'), /string runs past the end at byte 0/);
  rejects(s('l4294967295:abce'), /past the end at byte 1/);
  rejects(s('d4294967295:abci1ee'), /past the end/);
  rejects(s('9007199254740993:x'), /past the end/);
  rejects(s('9'.repeat(1000) + ':x'), /past the end/);
  rejects(s('1'.repeat(1_000_000)), /past the end/); // a million digits, refused at the first few
  rejects(s('d5:peers4294967295:' + 'x'.repeat(100) + 'e'), /past the end/);
  assert.throws(() => scanValue(s('4294967295:abc'), 0), /runs past the end/);
  assert.throws(() => scanValue(s('99999999999999:abc'), 0), /runs past the end/);
  assert.equal(scanValue(s('0000000000000003:abc'), 0), 20);
  assert.throws(() => scanValue(s('3x:abc'), 0), /bad string length/);
});

test('negative and malformed lengths and integers', () => {
  for (const bad of ['l-3:e', '-3:abc', 'd-1:ai1ee', 'd1:a-1:e', 'l-0:e', 'l--1:e', 'l+3:abce', 'l3-:abce', 'l 3:abce', 'l3 :abce', 'l3:ab']) {
    rejects(s(bad), /unexpected|past the end|unterminated|not a string/);
  }
  for (const bad of ['i-e', 'i--1e', 'i1-e', 'i+1e', 'i 1e', 'i1 e', 'i0x10e', 'i1e1', 'ie', 'i', 'i-']) {
    rejects(s(bad), /unexpected|trailing/);
  }
  rejects(s('i' + '9'.repeat(400) + 'e'), /integer too large/);
  rejects(s('i-' + '9'.repeat(400) + 'e'), /integer too large/);
  assert.equal(decode(s('i' + '9'.repeat(400) + 'e'), { allowUnsafeIntegers: true }), Infinity);
});

test('too many values are refused before they cost memory', () => {
  rejects(s('l' + 'i1e'.repeat(200_000) + 'e'), /more than 100000 values/);
  rejects(s('l' + 'le'.repeat(200_000) + 'e'), /more than 100000 values/);
  rejects(s('d' + '0:le'.repeat(200_000) + 'e'), /more than 100000 values/);
  assert.equal((decode(s('l' + '0:'.repeat(99_999) + 'e')) as BValue[]).length, 99_999);
});

test('property: random bytes give a value or a BencodeError, quickly', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.nat(2000), (bytes, start) => {
      const b = Buffer.from(bytes);
      valueOrBencodeError(() => decode(b));
      valueOrBencodeError(() => decodePrefix(b, start));
      valueOrBencodeError(() => scanValue(b, 0));
      valueOrBencodeError(() => findTopLevelValue(b, 'info'));
    }),
    { numRuns: 3000 },
  );
});

/** Byte soup made of bencode's own tokens: it reaches far deeper into the grammar than random bytes. */
const tokens = fc
  .array(
    fc.oneof(
      fc.constantFrom('l', 'd', 'e', 'i', '-', ':', '0', '1', '9', 'i1e', 'i-1e', '0:', '1:a', '3:abc', '-3:', '4294967295:', 'le', 'de'),
      fc.nat(99).map((n) => `${n}:`),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 300 },
  )
  .map((parts) => s(parts.join('')));

test('property: token soup gives a value or a BencodeError, and an accepted value re-scans to the same end', () => {
  fc.assert(
    fc.property(tokens, (b) => {
      const r = valueOrBencodeError(() => decodePrefix(b, 0, { maxDepth: 512, maxItems: 10_000 }));
      if (r instanceof BencodeError) return;
      // What the strict decoder accepts, the structural scanner agrees on.
      assert.equal(scanValue(b, 0), r.end);
      assert.ok(r.end > 0 && r.end <= b.length);
    }),
    { numRuns: 3000 },
  );
});

test('property: dictionaries never get a prototype, whatever their keys', () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a'), { maxLength: 6 }), (keys) => {
      const body = keys.map((k) => `${k.length}:${k}d${k.length}:${k}i1ee`).join('');
      const d = decode(s(`d${body}e`));
      assert.ok(isDict(d));
      assert.equal(Object.getPrototypeOf(d), null);
      for (const k of keys) assert.ok(isDict(d[k]) && Object.getPrototypeOf(d[k]) === null);
      assert.equal(({} as Record<string, unknown>).a, undefined);
    }),
    { numRuns: 200 },
  );
});

test('a megabyte of garbage of every kind is answered in linear time', () => {
  const MB = 1 << 20;
  for (const fill of ['l', 'd', 'i', '9', 'e', '-', ':', 'x', '\u0000']) {
    valueOrBencodeError(() => decode(s(fill.repeat(MB))), 500);
    valueOrBencodeError(() => scanValue(s(fill.repeat(MB)), 0), 500);
  }
  // A huge integer run without its `e`.
  valueOrBencodeError(() => decode(s('i' + '1'.repeat(MB)), { allowUnsafeIntegers: true }), 500);
});
