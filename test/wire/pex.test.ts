import { test } from 'node:test';
import assert from 'node:assert/strict';
import bencode from 'bencode';
import fc from 'fast-check';
import { MAX_PEX_PEERS, parsePexMessage } from '../../src/wire/pex.ts';

/** Compact peers: 6 bytes per IPv4 peer, 18 per IPv6 peer. */
function compact(peers: { ip: string; port: number }[]): Buffer {
  return Buffer.concat(peers.map(({ ip, port }) => {
    const b = Buffer.alloc(6);
    ip.split('.').forEach((x, i) => (b[i] = Number(x)));
    b.writeUInt16BE(port, 4);
    return b;
  }));
}

test('ut_pex: added IPv4 and IPv6 peers, flags and dropped ignored', () => {
  const v6 = Buffer.alloc(18);
  v6[15] = 1; // ::1
  v6.writeUInt16BE(6881, 16);
  const msg = Buffer.from(bencode.encode({
    added: compact([{ ip: '10.0.0.1', port: 51413 }, { ip: '10.0.0.2', port: 6881 }]),
    'added.f': Buffer.from([0x12, 0x00]),
    added6: v6,
    dropped: compact([{ ip: '10.0.0.9', port: 1 }]),
  }));
  assert.deepEqual(parsePexMessage(msg), [{ ip: '10.0.0.1', port: 51413 }, { ip: '10.0.0.2', port: 6881 }, { ip: '::1', port: 6881 }]);
  assert.deepEqual(parsePexMessage(Buffer.from(bencode.encode({ dropped: compact([{ ip: '1.2.3.4', port: 5 }]) }))), []);
});

test('ut_pex: more peers than MAX_PEX_PEERS are cut; not a dict or not bencode is null', () => {
  const many = Array.from({ length: 1000 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}`, port: 1000 + i }));
  assert.equal(parsePexMessage(Buffer.from(bencode.encode({ added: compact(many) })))!.length, MAX_PEX_PEERS);
  assert.equal(parsePexMessage(Buffer.from('li1ee')), null);
  assert.equal(parsePexMessage(Buffer.from('d5:added')), null);
  assert.equal(parsePexMessage(Buffer.alloc(0)), null);
});

test('property: any bytes give a bounded list or null, never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
      const r = parsePexMessage(Buffer.from(bytes));
      if (r) assert.ok(r.length <= MAX_PEX_PEERS && r.every((p) => p.port > 0));
    }),
    { numRuns: 2000 },
  );
});
