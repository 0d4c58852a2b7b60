// The pure ut_metadata (BEP 9) message functions behind fetchMetadata.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import bencode from 'bencode';
import {
  buildMetadataData,
  buildMetadataReject,
  buildMetadataRequest,
  METADATA_PIECE_SIZE,
  metadataPieceCount,
  metadataPieceLength,
  parseMetadataMessage,
  readMetadataSize,
} from '../../src/torrents/metadata-messages.ts';
import { readAllMessages } from '../../src/wire/message-reader.ts';

/** The payload after the extended id of one framed extended message, checking the id. */
function extendedPayload(framed: Buffer, extId: number): Buffer {
  const { messages } = readAllMessages(framed);
  assert.equal(messages.length, 1);
  const m = messages[0];
  assert.ok(m.type === 'extended');
  assert.equal(m.extId, extId);
  return m.payload;
}

test('piece count and lengths: 16 KiB pieces, the last one shorter', () => {
  assert.equal(METADATA_PIECE_SIZE, 16384);
  assert.equal(metadataPieceCount(1), 1);
  assert.equal(metadataPieceCount(16384), 1);
  assert.equal(metadataPieceCount(16385), 2);
  assert.equal(metadataPieceLength(16385, 0), 16384);
  assert.equal(metadataPieceLength(16385, 1), 1);
  assert.equal(metadataPieceLength(40000, 2), 40000 - 32768);
});

test('request, reject and data messages round-trip', () => {
  const req = extendedPayload(buildMetadataRequest(3, 5), 3);
  assert.equal(req.toString('latin1'), 'd8:msg_typei0e5:piecei5ee');
  assert.deepEqual(parseMetadataMessage(req), { type: 'request', piece: 5 });

  assert.deepEqual(parseMetadataMessage(extendedPayload(buildMetadataReject(9, 2), 9)), { type: 'reject', piece: 2 });

  const bytes = Buffer.from('d3:fooi1ee raw bytes that look like bencode: d1:ai1ee');
  const data = parseMetadataMessage(extendedPayload(buildMetadataData(1, 4, 70000, bytes), 1));
  assert.ok(data && data.type === 'data');
  assert.equal(data.piece, 4);
  assert.equal(data.totalSize, 70000);
  assert.ok(data.data.equals(bytes));
});

test('a data message without total_size is accepted; unknown msg_type is reported, not an error', () => {
  const payload = Buffer.concat([bencode.encode({ msg_type: 1, piece: 0 }), Buffer.from('xyz')]);
  const m = parseMetadataMessage(payload);
  assert.ok(m && m.type === 'data');
  assert.equal(m.totalSize, null);
  assert.equal(m.data.toString(), 'xyz');
  assert.deepEqual(parseMetadataMessage(Buffer.from(bencode.encode({ msg_type: 7 }))), { type: 'unknown', msgType: 7 });
});

test('malformed ut_metadata payloads are null (a bad message), never a throw', () => {
  const bad = [
    '', 'x', 'le', 'i1e', '4:spam', 'd', 'd8:msg_type', 'l-3:e',
    'd5:piecei0ee', // no msg_type
    'd8:msg_type1:0e', // msg_type not an integer
    'd8:msg_typei0ee', // no piece
    'd8:msg_typei0e5:piecei-1ee', // negative piece
    'd8:msg_typei0e5:piece1:0e', // piece not an integer
    'd8:msg_typei1e5:piecei0e10:total_size3:abce', // total_size not an integer
    'd8:msg_typei1e5:piecei0e10:total_sizei99999999999999999999ee', // beyond safe integers
    'd8:msg_typei0e5:piecei0e1:x' + 'l'.repeat(10) + 'e'.repeat(10) + 'e', // nested too deep
    '999999999999:x',
  ];
  for (const s of bad) assert.equal(parseMetadataMessage(Buffer.from(s, 'latin1')), null, JSON.stringify(s));
});

test('readMetadataSize tells absent, invalid and the raw value apart', () => {
  const enc = (d: Record<string, unknown>) => Buffer.from(bencode.encode(d));
  assert.equal(readMetadataSize(enc({ m: { ut_metadata: 3 }, metadata_size: 31337 })), 31337);
  assert.equal(readMetadataSize(enc({ m: { ut_metadata: 3 } })), 'absent');
  assert.equal(readMetadataSize(enc({ metadata_size: 'big' })), 'invalid');
  assert.equal(readMetadataSize(enc({ metadata_size: -1 })), -1);
  assert.equal(readMetadataSize(enc({ metadata_size: 0 })), 0);
  assert.equal(readMetadataSize(Buffer.from('not bencode')), 'invalid');
  assert.equal(readMetadataSize(Buffer.from('le')), 'invalid');
});

test('fuzz: random and mutated payloads never throw', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const valid = Buffer.concat([bencode.encode({ msg_type: 1, piece: 3, total_size: 50000 }), Buffer.alloc(20, 7)]);
  const alphabet = Buffer.from('dlie0123456789:-x');
  for (let i = 0; i < 5000; i++) {
    const b = i % 2 === 0 ? Buffer.from(valid) : Buffer.alloc(1 + Math.floor(rand() * 60));
    const changes = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < (i % 2 === 0 ? changes : b.length); k++) b[Math.floor(rand() * b.length)] = alphabet[Math.floor(rand() * alphabet.length)];
    const m = parseMetadataMessage(b);
    if (m && m.type !== 'unknown') assert.ok(Number.isSafeInteger(m.piece) && m.piece >= 0);
    readMetadataSize(b);
  }
});
