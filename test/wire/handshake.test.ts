import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildHandshake, buildReserved, parseHandshake, HANDSHAKE_LENGTH, HandshakeReader, type HandshakeRead } from '../../src/wire/handshake.ts';

const infoHash = Buffer.alloc(20, 0xab);
const peerId = Buffer.from('-BT0001-123456789012', 'latin1');

test('our handshake: 68 bytes, protocol name, reserved bits', () => {
  const hs = buildHandshake(infoHash, peerId);
  assert.equal(hs.length, HANDSHAKE_LENGTH);
  assert.equal(hs[0], 19);
  assert.equal(hs.subarray(1, 20).toString('latin1'), 'BitTorrent protocol');
  assert.deepEqual([...hs.subarray(20, 28)], [0, 0, 0, 0, 0, 0x10, 0, 0x04]);
  assert.deepEqual(hs.subarray(28, 48), infoHash);
  assert.deepEqual(hs.subarray(48, 68), peerId);
  assert.equal(buildHandshake(infoHash, peerId, { dht: true })[27], 0x05);
  assert.deepEqual([...buildReserved({ extensions: false, fast: false })], [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => buildHandshake(Buffer.alloc(19), peerId), RangeError);
});

test('parse a full handshake with messages after it', () => {
  const bytes = Buffer.concat([buildHandshake(infoHash, peerId, { dht: true }), Buffer.from([0, 0, 0, 0])]);
  const r = parseHandshake(bytes);
  assert.equal(r.status, 'done');
  if (r.status !== 'done') return;
  assert.equal(r.consumed, 68);
  assert.deepEqual(r.handshake.infoHash, infoHash);
  assert.deepEqual(r.handshake.peerId, peerId);
  assert.equal(r.handshake.extensionProtocol, true);
  assert.equal(r.handshake.fast, true);
  assert.equal(r.handshake.dht, true);
});

test('incremental: partial until 68 bytes, info hash from 48 bytes on', () => {
  const hs = buildHandshake(infoHash, peerId);
  for (let n = 0; n < 68; n++) {
    const r = parseHandshake(hs.subarray(0, n));
    assert.equal(r.status, 'partial', `at ${n}`);
    if (r.status === 'partial') assert.equal(r.infoHash !== null, n >= 48);
  }
});

test('wrong first byte or protocol name: bad as soon as seen', () => {
  assert.equal(parseHandshake(Buffer.from([0x13 + 1])).status, 'bad');
  assert.equal(parseHandshake(Buffer.from('\x13BitTorrent protocoX', 'latin1')).status, 'bad');
  assert.equal(parseHandshake(Buffer.from('\x13Bx', 'latin1')).status, 'bad');
  // An HTTP request, an MSE public key (random bytes).
  assert.equal(parseHandshake(Buffer.from('GET / HTTP/1.1\r\n')).status, 'bad');
});

test('random bytes never throw and only a real prefix is partial', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
      const r = parseHandshake(Buffer.from(bytes));
      if (bytes.length > 0 && bytes[0] !== 19) assert.equal(r.status, 'bad');
    }),
  );
});

test('HandshakeReader: a handshake split at any byte, with messages behind it, reads the same', () => {
  const hs = buildHandshake(Buffer.alloc(20, 7), Buffer.alloc(20, 9));
  const stream = Buffer.concat([hs, Buffer.from([0, 0, 0, 1, 2])]);
  for (let a = 0; a <= stream.length; a++) {
    for (let b = a; b <= stream.length; b += 7) {
      const reader = new HandshakeReader();
      const reads = [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)].map((c) => reader.feed(c));
      const done = reads.filter((r) => r.status === 'done');
      assert.equal(done.length, 1, `split ${a}/${b}`);
      const d = done[0] as Extract<HandshakeRead, { status: 'done' }>;
      assert.deepEqual(d.handshake.infoHash, Buffer.alloc(20, 7));
      // the bytes after the handshake come out of the read that completed it, then of later reads
      const after = Buffer.concat([d.rest, ...[stream.subarray(a, b), stream.subarray(b)].slice(reads.indexOf(d))]);
      assert.deepEqual(after, stream.subarray(68), `split ${a}/${b}`);
    }
  }
  assert.equal(new HandshakeReader().feed(Buffer.from('GET / HTTP/1.1\r\n')).status, 'bad');
});
