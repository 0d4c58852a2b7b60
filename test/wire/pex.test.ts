import { test } from 'node:test';
import assert from 'node:assert/strict';
import bencode from 'bencode';
import fc from 'fast-check';
import {
  MAX_PEX_PEERS, parsePexMessage, PEX_HOLEPUNCH, PEX_PREFERS_ENCRYPTION, PEX_REACHABLE, PEX_SEED, PEX_UTP,
} from '../../src/wire/pex.ts';

/** Compact peers: 6 bytes per IPv4 peer, 18 per IPv6 peer. */
function compact(peers: { ip: string; port: number }[]): Buffer {
  return Buffer.concat(peers.map(({ ip, port }) => {
    const b = Buffer.alloc(6);
    ip.split('.').forEach((x, i) => (b[i] = Number(x)));
    b.writeUInt16BE(port, 4);
    return b;
  }));
}

test('ut_pex: added IPv4 and IPv6 peers with their flags; dropped ignored', () => {
  const v6 = Buffer.alloc(18);
  v6[15] = 1; // ::1
  v6.writeUInt16BE(6881, 16);
  const msg = Buffer.from(bencode.encode({
    added: compact([{ ip: '10.0.0.1', port: 51413 }, { ip: '10.0.0.2', port: 6881 }]),
    'added.f': Buffer.from([PEX_REACHABLE | PEX_SEED, 0x00]),
    added6: v6,
    'added6.f': Buffer.from([PEX_PREFERS_ENCRYPTION | PEX_UTP | PEX_HOLEPUNCH]),
    dropped: compact([{ ip: '10.0.0.9', port: 1 }]),
  }));
  assert.deepEqual(parsePexMessage(msg), [
    { ip: '10.0.0.1', port: 51413, flags: 0x12 },
    { ip: '10.0.0.2', port: 6881, flags: 0 },
    { ip: '::1', port: 6881, flags: 0x0d },
  ]);
  assert.deepEqual(parsePexMessage(Buffer.from(bencode.encode({ dropped: compact([{ ip: '1.2.3.4', port: 5 }]) }))), []);
});

test('ut_pex: no flags string, or one of the wrong length or type, leaves that family without flags', () => {
  const added = compact([{ ip: '10.0.0.1', port: 1 }, { ip: '10.0.0.2', port: 2 }]);
  const plain = [{ ip: '10.0.0.1', port: 1 }, { ip: '10.0.0.2', port: 2 }];
  const v6 = Buffer.alloc(18);
  v6[15] = 1;
  v6.writeUInt16BE(3, 16);
  for (const bad of [Buffer.from([2]), Buffer.from([2, 2, 2]), Buffer.alloc(0), 2, [2, 2], { a: 1 }]) {
    const msg = Buffer.from(bencode.encode({ added, 'added.f': bad, added6: v6, 'added6.f': Buffer.from([1]) }));
    assert.deepEqual(parsePexMessage(msg), [...plain, { ip: '::1', port: 3, flags: 1 }], `added.f ${JSON.stringify(bad)}`);
  }
  assert.deepEqual(parsePexMessage(Buffer.from(bencode.encode({ added }))), plain);
  // flags apply by position, also to an entry dropped for port 0, and a trailing partial entry has none
  const withZero = Buffer.concat([compact([{ ip: '10.0.0.3', port: 0 }, { ip: '10.0.0.4', port: 4 }]), Buffer.from([1, 2])]);
  assert.deepEqual(parsePexMessage(Buffer.from(bencode.encode({ added: withZero, 'added.f': Buffer.from([PEX_SEED, PEX_PREFERS_ENCRYPTION]) }))),
    [{ ip: '10.0.0.4', port: 4, flags: PEX_PREFERS_ENCRYPTION }]);
});

test('ut_pex: flags of peers beyond MAX_PEX_PEERS are cut with them', () => {
  const many = Array.from({ length: 300 }, (_, i) => ({ ip: `10.2.${i >> 8}.${i & 255}`, port: 1000 + i }));
  const flags = Buffer.from(many.map((_, i) => i & 0x1f));
  const peers = parsePexMessage(Buffer.from(bencode.encode({ added: compact(many), 'added.f': flags })))!;
  assert.equal(peers.length, MAX_PEX_PEERS);
  assert.ok(peers.every((p, i) => p.flags === (i & 0x1f) && p.port === 1000 + i));
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
      if (r) assert.ok(r.length <= MAX_PEX_PEERS && r.every((p) => p.port > 0 && (p.flags === undefined || (p.flags >= 0 && p.flags <= 255))));
    }),
    { numRuns: 2000 },
  );
});

test('property: any added / added.f pair gives flags exactly when there is one byte per whole entry', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), fc.uint8Array({ maxLength: 16 }), (added, flags) => {
      const peers = parsePexMessage(Buffer.from(bencode.encode({ added: Buffer.from(added), 'added.f': Buffer.from(flags) }))) ?? [];
      const matched = flags.length === Math.floor(added.length / 6);
      assert.ok(peers.every((p) => (matched ? p.flags !== undefined : p.flags === undefined)));
    }),
    { numRuns: 1000 },
  );
});
