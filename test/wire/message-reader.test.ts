import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  decodeMessage,
  encodeMessage,
  EXTENDED_MESSAGE_CAP,
  KEEP_ALIVE,
  KEEP_ALIVE_MESSAGE,
  maxMessageLength,
  MessageId,
  MessageReader,
  readAllMessages,
} from '../../src/wire/message-reader.ts';

type Got = [number, string];
function collect(max = 1 << 20) {
  const got: Got[] = [];
  const reader = new MessageReader(max, (id, payload) => got.push([id, payload.toString('hex')]));
  return { got, reader };
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

test('reads every kind of message', () => {
  const bytes = Buffer.concat([
    KEEP_ALIVE_MESSAGE,
    encodeMessage(MessageId.choke),
    encodeMessage(MessageId.unchoke),
    encodeMessage(MessageId.interested),
    encodeMessage(MessageId.notInterested),
    encodeMessage(MessageId.have, u32(7)),
    encodeMessage(MessageId.bitfield, Buffer.from([0xf0])),
    encodeMessage(MessageId.request, Buffer.concat([u32(1), u32(2), u32(16384)])),
    encodeMessage(MessageId.piece, Buffer.concat([u32(1), u32(0), Buffer.from('abc')])),
    encodeMessage(MessageId.cancel, Buffer.concat([u32(1), u32(2), u32(3)])),
    encodeMessage(MessageId.port, Buffer.from([0x1a, 0xe1])),
    encodeMessage(MessageId.suggest, u32(3)),
    encodeMessage(MessageId.haveAll),
    encodeMessage(MessageId.haveNone),
    encodeMessage(MessageId.reject, Buffer.concat([u32(1), u32(2), u32(3)])),
    encodeMessage(MessageId.allowedFast, u32(4)),
    encodeMessage(MessageId.extended, Buffer.from([0, 0x64, 0x65])),
    encodeMessage(99, Buffer.from([1])),
  ]);
  const { messages, bad, leftover } = readAllMessages(bytes);
  assert.equal(bad, false);
  assert.equal(leftover, 0);
  assert.deepEqual(
    messages.map((m) => m.type),
    ['keep-alive', 'choke', 'unchoke', 'interested', 'not-interested', 'have', 'bitfield', 'request', 'piece', 'cancel',
      'port', 'suggest', 'have-all', 'have-none', 'reject', 'allowed-fast', 'extended', 'unknown'],
  );
  assert.deepEqual(messages[5], { type: 'have', index: 7 });
  assert.deepEqual(messages[7], { type: 'request', index: 1, begin: 2, length: 16384 });
  assert.deepEqual(messages[10], { type: 'port', port: 6881 });
  const ext = messages[16];
  assert.equal(ext.type === 'extended' && ext.extId === 0 && ext.payload.toString(), 'de');
});

test('decodeMessage: wrong payload lengths are bad', () => {
  assert.equal(decodeMessage(MessageId.have, Buffer.alloc(3)).type, 'bad');
  assert.equal(decodeMessage(MessageId.have, Buffer.alloc(5)).type, 'bad');
  assert.equal(decodeMessage(MessageId.choke, Buffer.alloc(1)).type, 'bad');
  assert.equal(decodeMessage(MessageId.haveAll, Buffer.alloc(1)).type, 'bad');
  assert.equal(decodeMessage(MessageId.request, Buffer.alloc(11)).type, 'bad');
  assert.equal(decodeMessage(MessageId.piece, Buffer.alloc(7)).type, 'bad');
  assert.equal(decodeMessage(MessageId.port, Buffer.alloc(3)).type, 'bad');
  assert.equal(decodeMessage(MessageId.extended, Buffer.alloc(0)).type, 'bad');
  assert.equal(decodeMessage(KEEP_ALIVE, Buffer.alloc(0)).type, 'keep-alive');
});

test('max message length follows the piece count, at least the extended cap', () => {
  assert.equal(maxMessageLength(100), EXTENDED_MESSAGE_CAP);
  assert.equal(maxMessageLength(null), EXTENDED_MESSAGE_CAP);
  assert.equal(maxMessageLength(16 * 1024 * 1024), 1 + 2 * 1024 * 1024);
});

test('a 2^32-1 length prefix fails at once, without waiting for (or buffering) a body', () => {
  const { got, reader } = collect();
  assert.equal(reader.feed(Buffer.concat([encodeMessage(MessageId.have, u32(1)), u32(0xffffffff)])), false);
  assert.equal(reader.failed, true);
  assert.equal(reader.bufferedBytes, 0);
  assert.equal(got.length, 1);
  assert.equal(reader.feed(encodeMessage(MessageId.choke)), false, 'stays failed');
});

test('a too long length prefix split over chunks fails when its fourth byte arrives', () => {
  const { reader } = collect(1000);
  for (const b of [0x00, 0x00, 0x03]) assert.equal(reader.feed(Buffer.from([b])), true);
  assert.equal(reader.feed(Buffer.from([0xe9, 5, 5])), false); // 1001
  assert.equal(reader.failed, true);
});

test('a long message in 1-byte chunks is joined once and arrives whole', () => {
  const payload = Buffer.alloc(64 * 1024, 7);
  const bytes = Buffer.concat([encodeMessage(MessageId.extended, payload), KEEP_ALIVE_MESSAGE]);
  const { got, reader } = collect();
  for (let i = 0; i < bytes.length; i++) {
    reader.feed(bytes.subarray(i, i + 1));
    assert.ok(reader.bufferedBytes <= payload.length + 5);
  }
  assert.equal(got.length, 2);
  assert.equal(got[0][1], payload.toString('hex'));
  assert.equal(got[1][0], KEEP_ALIVE);
});

test('stop() inside the handler ends delivery', () => {
  const seen: number[] = [];
  const reader = new MessageReader(100, (id) => {
    seen.push(id);
    if (seen.length === 2) reader.stop();
  });
  assert.equal(reader.feed(Buffer.concat([KEEP_ALIVE_MESSAGE, KEEP_ALIVE_MESSAGE, KEEP_ALIVE_MESSAGE])), false);
  assert.equal(seen.length, 2);
  assert.equal(reader.failed, false);
});

const messageArb = fc.oneof(
  fc.constant(KEEP_ALIVE_MESSAGE),
  fc.nat(1000).map((i) => encodeMessage(MessageId.have, u32(i))),
  fc.uint8Array({ maxLength: 300 }).map((b) => encodeMessage(MessageId.bitfield, b)),
  fc.uint8Array({ maxLength: 2000 }).map((b) => encodeMessage(MessageId.extended, Buffer.concat([Buffer.from([1]), b]))),
  fc.integer({ min: 0, max: 255 }).map((id) => encodeMessage(id)),
);

/** Split bytes at the given cut points (sorted, deduplicated). */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(bytes.subarray(last, p));
    last = p;
  }
  parts.push(bytes.subarray(last));
  return parts;
}

test('property: any chunking yields the same messages as one chunk', () => {
  fc.assert(
    fc.property(fc.array(messageArb, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 40 }), (msgs, cuts) => {
      const bytes = Buffer.concat(msgs);
      const whole = collect();
      whole.reader.feed(bytes);
      const parts = collect();
      for (const part of split(bytes, cuts)) parts.reader.feed(part);
      assert.equal(whole.got.length, msgs.length);
      assert.deepEqual(parts.got, whole.got);
      assert.equal(parts.reader.bufferedBytes, 0);
    }),
    { numRuns: 300 },
  );
});

test('property: random bytes never throw and never buffer more than was fed', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 30 }), (chunks) => {
      let fed = 0;
      const reader = new MessageReader(256, () => {});
      for (const c of chunks) {
        fed += c.length;
        reader.feed(Buffer.from(c));
        assert.ok(reader.bufferedBytes <= fed);
        assert.ok(reader.bufferedBytes <= 256 + 4 + 64);
      }
    }),
    { numRuns: 500 },
  );
});
