// Property tests of the pure tracker-reply parsers: whatever bytes arrive, they return a value
// (never throw, never hang), and what is well formed comes back exactly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import bencode from 'bencode';
import { BencodeError, decode, type BValue } from '../../src/bencode/decode.ts';
import { parseAnnounceReply, parseScrapeReply } from '../../src/collectors/tracker/http-tracker.ts';
import { formatIpv6, parseCompactPeers } from '../../src/collectors/tracker/tracker-client.ts';
import { parseUdpAnnounceReply, parseUdpScrapeReply, readUdpHeader, udpErrorText } from '../../src/collectors/tracker/udp-tracker.ts';

const bytes = fc.uint8Array({ maxLength: 300 });

/** Arbitrary bencodable values: safe integers, byte strings, lists, dictionaries. */
const { value: bencodable } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.maxSafeInteger(),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary-ascii', maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
}));

/** What decode gives for a value (keys as latin1, which equals ASCII for these keys). */
function normalise(v: unknown): BValue {
  if (typeof v === 'number' || Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(normalise);
  return Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, normalise(x)]));
}

test('decode reads back what bencode wrote', () => {
  fc.assert(
    fc.property(bencodable, (v) => {
      const decoded = decode(Buffer.from(bencode.encode(v)));
      assert.deepEqual(JSON.stringify(toPlain(decoded)), JSON.stringify(toPlain(normalise(v))));
    }),
    { numRuns: 300 },
  );
});

function toPlain(v: BValue): unknown {
  if (Buffer.isBuffer(v)) return `b:${v.toString('hex')}`;
  if (Array.isArray(v)) return v.map(toPlain);
  if (typeof v === 'number') return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, toPlain(v[k])]));
}

test('decode on any bytes returns or throws BencodeError, nothing else', () => {
  fc.assert(
    fc.property(bytes, (b) => {
      try {
        decode(b);
      } catch (err) {
        assert.ok(err instanceof BencodeError, String(err));
      }
    }),
    { numRuns: 2000 },
  );
});

test('reply parsers never throw, also on damaged valid replies', () => {
  const validish = fc
    .record({ interval: fc.nat(), peers: fc.uint8Array({ maxLength: 60 }), complete: fc.integer() })
    .chain((d) =>
      fc.tuple(fc.constant(Buffer.from(bencode.encode({ ...d, peers: Buffer.from(d.peers) }))), fc.nat(200), fc.nat(255)).map(([buf, at, byte]) => {
        const copy = Buffer.from(buf);
        if (copy.length > 0) copy[at % copy.length] = byte;
        return copy;
      }),
    );
  fc.assert(
    fc.property(fc.oneof(bytes.map((b) => Buffer.from(b)), validish), fc.integer({ min: 100, max: 599 }), (body, status) => {
      for (const r of [parseAnnounceReply(body, status), parseScrapeReply(body, status)]) {
        assert.equal(typeof r.ok, 'boolean');
        if (!r.ok) assert.equal(typeof r.error, 'string');
      }
    }),
    { numRuns: 2000 },
  );
});

test('compact peers: every port 1..65535 survives, IPv4 and IPv6', () => {
  const entry = fc.record({ ip: fc.uint8Array({ minLength: 16, maxLength: 16 }), port: fc.integer({ min: 1, max: 65535 }) });
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 20 }), (entries) => {
      const v4 = Buffer.concat(entries.map((e) => Buffer.from([...e.ip.subarray(0, 4), e.port >> 8, e.port & 255])));
      const v6 = Buffer.concat(entries.map((e) => Buffer.from([...e.ip, e.port >> 8, e.port & 255])));
      const p4 = parseCompactPeers(v4, 6);
      const p6 = parseCompactPeers(v6, 18);
      assert.deepEqual(p4.map((p) => p.port), entries.map((e) => e.port));
      assert.deepEqual(p6.map((p) => p.port), entries.map((e) => e.port));
      assert.deepEqual(p4.map((p) => p.ip), entries.map((e) => [...e.ip.subarray(0, 4)].join('.')));
      // Our IPv6 text is what the WHATWG URL parser calls canonical.
      for (const [i, p] of p6.entries()) {
        const mapped = Buffer.from(entries[i].ip.subarray(0, 12)).equals(Buffer.from('00000000000000000000ffff', 'hex'));
        if (!mapped) assert.equal(p.ip, new URL(`http://[${p.ip}]/`).hostname.slice(1, -1));
      }
    }),
    { numRuns: 500 },
  );
  assert.equal(formatIpv6(Buffer.from('00000000000000000000000000000001', 'hex')), '::1');
  assert.equal(formatIpv6(Buffer.from('20010db8000000010000000000000000', 'hex')), '2001:db8:0:1::');
  assert.equal(formatIpv6(Buffer.from('20010db8000100000001000000000001', 'hex')), '2001:db8:1:0:1::1');
});

test('UDP tracker packets: any bytes parse without throwing; well-formed replies come back exactly', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), fc.constantFrom<4 | 6>(4, 6), (raw, family) => {
      const msg = Buffer.from(raw);
      const head = readUdpHeader(msg);
      assert.equal(head === null, msg.length < 8);
      const reply = parseUdpAnnounceReply(msg, family);
      if (reply.ok) for (const p of reply.value.peers) assert.ok(p.port > 0 && p.port < 65536);
      else assert.match(reply.error, /too short/);
      const files = new Map();
      parseUdpScrapeReply(msg, [Buffer.alloc(20, 1), Buffer.alloc(20, 2)], files);
      assert.equal(files.size, Math.max(0, Math.min(2, Math.floor((msg.length - 8) / 12))));
      assert.equal(typeof udpErrorText(msg), 'string');
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.ipV4(), fc.integer({ min: 1, max: 65535 })), { maxLength: 50 }),
      fc.array(fc.nat({ max: 0xffffffff }), { minLength: 3, maxLength: 3 }),
      (peers, [interval, leechers, seeders]) => {
        const head = Buffer.alloc(20);
        head.writeUInt32BE(1, 0);
        head.writeUInt32BE(interval, 8);
        head.writeUInt32BE(leechers, 12);
        head.writeUInt32BE(seeders, 16);
        const body = peers.map(([ip, port]) => {
          const b = Buffer.from([...ip.split('.').map(Number), 0, 0]);
          b.writeUInt16BE(port, 4);
          return b;
        });
        const reply = parseUdpAnnounceReply(Buffer.concat([head, ...body]), 4);
        assert.ok(reply.ok);
        assert.deepEqual(reply.value, { interval, incomplete: leechers, complete: seeders, peers: peers.map(([ip, port]) => ({ ip, port })) });
      },
    ),
  );
  // a tracker that answers two of three hashes: the third stays absent, never zeros
  const scrape = Buffer.alloc(8 + 24);
  [5, 9, 2, 6, 10, 3].forEach((n, i) => scrape.writeUInt32BE(n, 8 + 4 * i));
  const files = new Map();
  parseUdpScrapeReply(scrape, [Buffer.alloc(20, 1), Buffer.alloc(20, 2), Buffer.alloc(20, 3)], files);
  assert.deepEqual([...files.values()], [{ complete: 5, downloaded: 9, incomplete: 2 }, { complete: 6, downloaded: 10, incomplete: 3 }]);
  assert.equal(udpErrorText(Buffer.concat([Buffer.alloc(8), Buffer.from('torrent not registered')])), 'torrent not registered');
});
