import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import bencode from 'bencode';
import { decode, isDict } from '../../src/bencode/decode.ts';
import {
  buildExtensionHandshake,
  CLIENT_VERSION,
  parseDontHave,
  parseExtensionHandshake,
} from '../../src/wire/extension-handshake.ts';
import { readAllMessages } from '../../src/wire/message-reader.ts';
import { buildPortMessage, parsePortPayload } from '../../src/wire/port.ts';

const enc = (v: unknown) => Buffer.from(bencode.encode(v));

test('parse a qBittorrent-like extension handshake', () => {
  const hs = parseExtensionHandshake(
    enc({
      complete_ago: 1,
      m: { lt_donthave: 7, upload_only: 3, ut_holepunch: 4, ut_metadata: 2, ut_pex: 1, disabled: 0 },
      metadata_size: 31235,
      reqq: 500,
      upload_only: 0,
      v: 'qBittorrent/4.5.2',
      yourip: Buffer.from([127, 0, 0, 1]),
      p: 6881,
    }),
  );
  assert.deepEqual(hs, {
    clientVersion: 'qBittorrent/4.5.2',
    listenPort: 6881,
    uploadOnly: false,
    completeAgo: 1,
    metadataSize: 31235,
    extensions: { lt_donthave: 7, upload_only: 3, ut_holepunch: 4, ut_metadata: 2, ut_pex: 1 },
  });
});

test('extension handshake garbage: not a dict is null, wrong field types are ignored', () => {
  assert.equal(parseExtensionHandshake(Buffer.from('garbage')), null);
  assert.equal(parseExtensionHandshake(Buffer.from('l-3:e')), null);
  assert.equal(parseExtensionHandshake(enc([1, 2])), null);
  assert.equal(parseExtensionHandshake(Buffer.alloc(0)), null);
  const hs = parseExtensionHandshake(
    enc({ v: 5, p: 70000, yourip: 'abc', metadata_size: 'x', m: { a: 'x', b: 300, c: -1, __proto__x: 1 }, upload_only: 1 }),
  );
  assert.deepEqual(hs, {
    clientVersion: null,
    listenPort: null,
    uploadOnly: true,
    completeAgo: null,
    metadataSize: null,
    extensions: { __proto__x: 1 },
  });
  const v6 = parseExtensionHandshake(enc({ yourip: Buffer.from('20010db8000000000000000000000001', 'hex'), m: 'no' }));
  assert.equal(v6?.extensions, null);
  assert.equal(parseExtensionHandshake(enc({ v: 'x'.repeat(1000) }))?.clientVersion?.length, 100);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void parseExtensionHandshake(Buffer.from(b))), { numRuns: 1000 });
});

test('our extension handshake: lt_donthave, v, no p or upload_only unless asked', () => {
  const { messages } = readAllMessages(buildExtensionHandshake());
  const m = messages[0];
  assert.ok(m.type === 'extended' && m.extId === 0);
  if (m.type !== 'extended') return;
  const d = decode(m.payload);
  assert.ok(isDict(d));
  assert.deepEqual(Object.keys(d).sort(), ['m', 'v']);
  assert.equal(d.v.toString(), CLIENT_VERSION);
  assert.ok(isDict(d.m) && d.m.lt_donthave === 2 && d.m.ut_metadata === undefined);
  const withPort = readAllMessages(buildExtensionHandshake({ listenPort: 6884, metadata: true })).messages[0];
  if (withPort.type !== 'extended') throw new Error('not extended');
  const hs = parseExtensionHandshake(withPort.payload);
  assert.equal(hs?.listenPort, 6884);
  assert.deepEqual(hs?.extensions, { lt_donthave: 2, ut_metadata: 1 });
});

test('lt_donthave and PORT payloads', () => {
  assert.equal(parseDontHave(Buffer.from([0, 0, 1, 2])), 258);
  assert.equal(parseDontHave(Buffer.from([0xff, 0xff, 0xff, 0xff])), 2 ** 32 - 1);
  assert.equal(parseDontHave(Buffer.from([0, 1])), null);
  const port = buildPortMessage(6881);
  assert.deepEqual([...port], [0, 0, 0, 3, 9, 0x1a, 0xe1]);
  assert.equal(parsePortPayload(port.subarray(5)), 6881);
  assert.equal(parsePortPayload(Buffer.from([0, 0])), null);
  assert.equal(parsePortPayload(Buffer.from([1])), null);
  assert.throws(() => buildPortMessage(0), RangeError);
});
