// Hostile peer-wire input: the message reader fed random streams in random chunks and absurd length
// prefixes (what it buffers stays bounded), and the pure parsers fed random bytes and random dicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeMessage,
  EXTENDED_MESSAGE_CAP,
  KEEP_ALIVE,
  MessageReader,
  readAllMessages,
} from '../../src/wire/message-reader.ts';
import { parseDontHave, parseExtensionHandshake } from '../../src/wire/extension-handshake.ts';
import { parseHandshake } from '../../src/wire/handshake.ts';
import { parsePortPayload } from '../../src/wire/port.ts';
import { PieceState } from '../../src/wire/piece-state.ts';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** Feeds `stream` in the given chunk sizes; records messages and checks the buffer bound after each chunk. */
function feedInChunks(stream: Buffer, sizes: number[], maxLength: number) {
  const messages: Array<[number, string]> = [];
  const reader = new MessageReader(maxLength, (id, payload) => {
    assert.ok(payload.length <= maxLength, 'a payload above the limit');
    messages.push([id, payload.toString('hex')]);
  });
  let off = 0;
  let i = 0;
  let stoppedAt = -1;
  while (off < stream.length) {
    const size = Math.max(1, sizes.length ? sizes[i++ % sizes.length] : stream.length);
    const chunk = stream.subarray(off, off + size);
    off += chunk.length;
    const ok = reader.feed(chunk);
    if (!ok && stoppedAt < 0) stoppedAt = off;
    if (reader.failed) assert.equal(ok, false);
    // Never more than one message under the limit (with its prefix) plus the chunk that completes it.
    assert.ok(reader.bufferedBytes <= maxLength + 4 + chunk.length, `buffered ${reader.bufferedBytes}`);
  }
  if (reader.failed) assert.equal(reader.feed(Buffer.from([0, 0, 0, 0])), false, 'a failed reader stays failed');
  return { messages, failed: reader.failed, buffered: reader.bufferedBytes };
}

/** Streams of well-framed messages, keep-alives, absurd prefixes and raw junk. */
const piece = fc.oneof(
  fc.tuple(fc.nat(255), fc.uint8Array({ maxLength: 40 })).map(([id, p]) => encodeMessage(id, p)),
  fc.constant(Buffer.alloc(4)),
  fc.constantFrom(u32(0xffffffff), u32(2 ** 31), u32(1001), u32(1000)),
  fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)),
);
const stream = fc.array(piece, { maxLength: 30 }).map((parts) => Buffer.concat(parts));

test('property: random streams in random chunks give the same messages as one feed, with bounded buffers', () => {
  const maxLength = 1000;
  fc.assert(
    fc.property(stream, fc.array(fc.integer({ min: 1, max: 70 }), { maxLength: 20 }), (bytes, sizes) => {
      const whole = feedInChunks(bytes, [], maxLength);
      const chunked = feedInChunks(bytes, sizes, maxLength);
      const bytewise = feedInChunks(bytes, [1], maxLength);
      assert.deepEqual(chunked.messages, whole.messages);
      assert.deepEqual(bytewise.messages, whole.messages);
      assert.equal(chunked.failed, whole.failed);
      assert.equal(bytewise.failed, whole.failed);
    }),
    { numRuns: 600 },
  );
});

test('a 2^32-1 length prefix fails the reader before it buffers anything', () => {
  for (const sizes of [[], [1], [2, 1, 1], [3, 5]]) {
    const r = feedInChunks(Buffer.concat([u32(0xffffffff), Buffer.alloc(10_000, 7)]), sizes, EXTENDED_MESSAGE_CAP);
    assert.equal(r.failed, true);
    assert.equal(r.buffered, 0);
    assert.deepEqual(r.messages, []);
  }
  // After a few good messages, too.
  const r = feedInChunks(Buffer.concat([encodeMessage(4, u32(7)), Buffer.alloc(4), u32(EXTENDED_MESSAGE_CAP + 1)]), [3], EXTENDED_MESSAGE_CAP);
  assert.deepEqual(r.messages, [[4, '00000007'], [KEEP_ALIVE, '']]);
  assert.equal(r.failed, true);
  assert.deepEqual(readAllMessages(Buffer.concat([u32(0xffffffff), Buffer.alloc(100)])), { messages: [], bad: true, leftover: 0 });
});

test('a message at the limit, trickled in small chunks, is buffered once and delivered whole', () => {
  const payload = Buffer.alloc(EXTENDED_MESSAGE_CAP - 1, 0xab);
  const framed = encodeMessage(20, payload);
  const start = performance.now();
  const r = feedInChunks(framed, [4093], EXTENDED_MESSAGE_CAP);
  assert.ok(performance.now() - start < 2000, 'linear, not quadratic');
  assert.equal(r.messages.length, 1);
  assert.equal(r.messages[0][1].length, payload.length * 2);
  assert.equal(r.buffered, 0);
  // The same message cut short leaves at most the message itself buffered.
  const cut = feedInChunks(framed.subarray(0, framed.length - 1), [65_536], EXTENDED_MESSAGE_CAP);
  assert.equal(cut.buffered, framed.length - 1);
});

test('property: decodeMessage and the small parsers never throw on random input', () => {
  fc.assert(
    fc.property(fc.integer({ min: -1, max: 255 }), fc.uint8Array({ maxLength: 40 }), fc.nat(300), (id, p, pieces) => {
      const payload = Buffer.from(p);
      const m = decodeMessage(id, payload);
      assert.equal(typeof m.type, 'string');
      const port = parsePortPayload(payload);
      assert.ok(port === null || (Number.isInteger(port) && port >= 0 && port <= 65535));
      const dontHave = parseDontHave(payload);
      assert.ok(dontHave === null || (Number.isInteger(dontHave) && dontHave >= 0 && dontHave < 2 ** 32));
      const state = PieceState.fromBitfield(payload, pieces);
      assert.ok(state === null || (state.count >= 0 && state.count <= pieces));
      const hs = parseHandshake(payload);
      assert.ok(['partial', 'bad', 'done'].includes(hs.status));
    }),
    { numRuns: 2000 },
  );
});

// Random extension handshakes: the keys peers send (and some they should not), values of any type.
const { value: anyValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.integer(), fc.constantFrom(0, 1, -1, 65535, 65536, 2 ** 53 - 1, -(2 ** 53 - 1))),
    fc.uint8Array({ maxLength: 30 }).map((a) => Buffer.from(a)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(fc.tuple(fc.string({ maxLength: 8 }), tie('value')), { maxLength: 4 }).map((entries) => ({ entries })),
  ),
}));
const handshakeKey = fc.oneof(
  fc.constantFrom('m', 'p', 'v', 'yourip', 'upload_only', 'metadata_size', 'reqq', '__proto__', 'constructor', 'ipv4', 'ipv6'),
  fc.string({ maxLength: 10 }),
);
const extensionMap = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom('ut_metadata', 'lt_donthave', '__proto__', 'x'.repeat(100)), fc.string({ maxLength: 10 })), fc.oneof(fc.integer({ min: -5, max: 300 }), anyValue)), {
    maxLength: 80,
  })
  .map((entries) => ({ entries }));
const handshakeDict = fc
  .array(fc.tuple(handshakeKey, fc.oneof(anyValue, extensionMap)), { maxLength: 10 })
  .map((entries) => ({ entries }));

/** A bencoder for test values: dicts are {entries} so keys like __proto__ stay data; order kept as given. */
function enc(v: unknown): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(enc), Buffer.from('e')]);
  const { entries } = v as { entries: Array<[string, unknown]> };
  return Buffer.concat([Buffer.from('d'), ...entries.flatMap(([k, x]) => [enc(Buffer.from(k)), enc(x)]), Buffer.from('e')]);
}

test('property: parseExtensionHandshake on random dicts gives sane fields only', () => {
  fc.assert(
    fc.property(handshakeDict, fc.uint8Array({ maxLength: 20 }), (dict, tail) => {
      const hs = parseExtensionHandshake(Buffer.concat([enc(dict), tail]));
      if (hs === null) return; // e.g. nested deeper than a handshake may be
      assert.ok(hs.listenPort === null || (Number.isInteger(hs.listenPort) && hs.listenPort >= 1 && hs.listenPort <= 65535));
      assert.ok(hs.clientVersion === null || hs.clientVersion.length <= 100);
      assert.ok(hs.metadataSize === null || (Number.isSafeInteger(hs.metadataSize) && hs.metadataSize > 0));
      assert.equal(typeof hs.uploadOnly, 'boolean');
      if (hs.extensions !== null) {
        assert.equal(Object.getPrototypeOf(hs.extensions), Object.prototype, 'prototype untouched');
        const entries = Object.entries(hs.extensions);
        assert.ok(entries.length <= 64);
        for (const [name, id] of entries) {
          assert.ok(name !== '__proto__' && name.length <= 64);
          assert.ok(Number.isInteger(id) && id >= 1 && id <= 255);
        }
      }
    }),
    { numRuns: 1500 },
  );
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => void parseExtensionHandshake(Buffer.from(b))), { numRuns: 1500 });
});

test('extension handshakes built to hurt are refused as bad messages, quickly', () => {
  const N = 100_000;
  const start = performance.now();
  assert.equal(parseExtensionHandshake(Buffer.from('d1:m' + 'd1:a'.repeat(N) + 'i1e' + 'e'.repeat(N) + 'e')), null);
  assert.equal(parseExtensionHandshake(Buffer.from('l'.repeat(N))), null);
  assert.equal(parseExtensionHandshake(Buffer.from(`d1:md${Array.from({ length: 5000 }, (_, i) => `${String(i).length}:${i}i1e`).join('')}ee`)), null);
  assert.equal(parseExtensionHandshake(Buffer.from('d1:v4294967295:abce')), null);
  assert.equal(parseExtensionHandshake(Buffer.from('d1:pl-3:ee')), null);
  assert.equal(parseExtensionHandshake(Buffer.from('d1:pi99999999999999999999ee')), null);
  assert.ok(performance.now() - start < 1000);
  const hs = parseExtensionHandshake(Buffer.from('d1:md9:__proto__i3e11:ut_metadatai2ee1:pi70000ee'));
  assert.deepEqual(hs?.extensions, { ut_metadata: 2 });
  assert.equal(hs?.listenPort, null);
});
