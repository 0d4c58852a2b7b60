import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIpv6 } from '../../src/wire/compact-peers.ts';
import { formatIPv6, parseIPv6 } from '../../src/queue/address-words.ts';
import { CHUNK_SIZE } from '../../src/queue/chunks.ts';
import { INITIAL_TABLE, PeerIndex } from '../../src/queue/peer-index.ts';
import { DueQueue } from '../../src/queue/due-queue.ts';

/** Peer n of a mixed list: IPv4, IPv6, and IPv4 again given in its IPv4-mapped form. */
function peer(n: number): { torrentId: number; ip: string; port: number; canonical: string } {
  const port = 1024 + (n % 50_000);
  const torrentId = n % 7;
  const a = (n >>> 16) & 255;
  const b = (n >>> 8) & 255;
  const c = n & 255;
  switch (n % 3) {
    case 0:
      return { torrentId, ip: `10.${a}.${b}.${c}`, port, canonical: `10.${a}.${b}.${c}` };
    case 1: {
      const ip = `2001:db8:${(n >>> 16).toString(16)}:${(n & 0xffff).toString(16)}::1`;
      return { torrentId, ip, port, canonical: formatIpv6(Buffer.from(words(ip).buffer).swap32()) };
    }
    default:
      return { torrentId, ip: `::ffff:172.${a}.${b}.${c}`, port, canonical: `172.${a}.${b}.${c}` };
  }
}

function words(ip: string): Uint32Array {
  const w = new Uint32Array(4);
  assert.ok(parseIPv6(ip, w), ip);
  return w;
}

/** Every peer below `n` is found at its slot, under each of its spellings, with its identity intact. */
function assertAllFound(index: PeerIndex, n: number): void {
  for (let k = 0; k < n; k++) {
    const p = peer(k);
    const slot = index.find(p.torrentId, p.ip, p.port);
    assert.equal(slot, k, `peer ${k} (${p.ip})`);
    assert.equal(index.find(p.torrentId, p.canonical, p.port), k);
    assert.equal(index.ipOf(slot), p.canonical);
    assert.equal(index.portOf(slot), p.port);
    assert.equal(index.torrentIdOf(slot), p.torrentId);
  }
}

test('IPv4, IPv6 and IPv4-mapped: one peer per address whatever its spelling; torrent and port tell peers apart', () => {
  const index = new PeerIndex();
  assert.equal(index.findOrAdd(1, '1.2.3.4', 6881), -1);
  for (const same of ['1.2.3.4', '::ffff:1.2.3.4', '::FFFF:1.2.3.4', '::ffff:102:304', '0:0:0:0:0:ffff:1.2.3.4']) {
    assert.equal(index.find(1, same, 6881), 0, same);
  }
  assert.equal(index.findOrAdd(1, '2001:DB8::1', 6881), -2);
  for (const same of ['2001:db8::1', '2001:0db8:0:0:0:0:0:0001', '2001:db8:0::0:1']) assert.equal(index.find(1, same, 6881), 1, same);
  assert.equal(index.ipOf(1), '2001:db8::1');
  assert.equal(index.findOrAdd(2, '2001:db8::1', 6881), -3);
  assert.equal(index.findOrAdd(1, '2001:db8::1', 6882), -4);
  assert.equal(index.findOrAdd(1, '::ffff:5.6.7.8', 1), -5);
  assert.equal(index.ipOf(4), '5.6.7.8');
  assert.equal(index.find(1, '5.6.7.8', 1), 4);
  assert.equal(index.findOrAdd(1, '::1', 1), -6);
  assert.equal(index.find(1, '0::1', 1), 5);
  assert.equal(index.size, 6);
});

test('text that is no address in canonical form, and numbers out of range, are kept as given', () => {
  const index = new PeerIndex();
  const odd: [number, string, number][] = [
    [1, 'peer-a', 1], [1, '01.2.3.4', 1], [1, 'fe80::1%eth0', 1], [2 ** 40, '1.2.3.4', 1], [1, '1.2.3.4', 70_000], [1, '1:2:3:4:5:6:7:8:9', 1],
  ];
  odd.forEach(([t, ip, port], k) => assert.equal(index.findOrAdd(t, ip, port), -1 - k, ip));
  odd.forEach(([t, ip, port], k) => {
    assert.equal(index.find(t, ip, port), k);
    assert.equal(index.ipOf(k), ip);
    assert.equal(index.torrentIdOf(k), t);
    assert.equal(index.portOf(k), port);
  });
});

test('the hash table doubles from 2,048 entries without losing a peer, during and after the copy', () => {
  assert.equal(INITIAL_TABLE / 2, 2048);
  const index = new PeerIndex();
  for (let k = 0; k < 2048; k++) assert.equal(index.findOrAdd(peer(k).torrentId, peer(k).ip, peer(k).port), -1 - k);
  assert.equal(index.tableSize, INITIAL_TABLE);
  assert.equal(index.doubling, false);
  assertAllFound(index, 2048);
  // the 2,049th entry starts the doubling; lookups copy the old table bit by bit and must see both
  assert.equal(index.findOrAdd(peer(2048).torrentId, peer(2048).ip, peer(2048).port), -2049);
  assert.equal(index.tableSize, 2 * INITIAL_TABLE);
  assert.equal(index.doubling, true);
  for (let k = 0; k < 200; k++) {
    const p = peer(k);
    assert.equal(index.find(p.torrentId, p.canonical, p.port), k);
  }
  assert.equal(index.doubling, true, 'still copying after 200 lookups (16 positions each)');
  assertAllFound(index, 2049);
  assert.equal(index.doubling, false);
  // adding more finds every known peer known, and the next doubling (at 4,097) goes the same way
  for (let k = 0; k < 4096; k++) {
    const p = peer(k);
    assert.equal(index.findOrAdd(p.torrentId, p.ip, p.port), k < 2049 ? k : -1 - k);
  }
  assert.equal(index.tableSize, 2 * INITIAL_TABLE);
  index.findOrAdd(peer(4096).torrentId, peer(4096).ip, peer(4096).port);
  assert.equal(index.tableSize, 4 * INITIAL_TABLE);
  assertAllFound(index, 4097);
});

test('peers on both sides of the 65,536-slot chunk boundaries keep their identity (IPv6 rows too)', () => {
  const index = new PeerIndex();
  const n = 3 * CHUNK_SIZE + 3000; // the IPv6 third of these passes its own store's first chunk too
  for (let k = 0; k < n; k++) {
    const boundary = k > 0 && k % CHUNK_SIZE === 0;
    if (boundary) assert.equal(index.capacity, k);
    assert.equal(index.findOrAdd(peer(k).torrentId, peer(k).ip, peer(k).port), -1 - k);
    if (boundary) assert.equal(index.capacity, k + CHUNK_SIZE);
  }
  assert.ok(Math.floor(n / 3) > CHUNK_SIZE);
  assertAllFound(index, n);
  for (const k of [CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, n - 1]) {
    const p = peer(k);
    assert.equal(index.findOrAdd(p.torrentId, p.ip, p.port), k);
  }
  assert.equal(index.size, n);
});

test('IPv6 text: every RFC 5952 form parses back to its bytes (property), and what node:net rejects is rejected', () => {
  // groups biased to zero, so that runs of zero groups (and ties between runs) are common
  const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), fc.boolean(), (groups, upper) => {
      const buf = Buffer.alloc(16);
      groups.forEach((g, k) => buf.writeUInt16BE(g, 2 * k));
      const text = formatIpv6(buf);
      if (!text.includes(':')) return; // IPv4-mapped: formatted as IPv4
      const w = new Uint32Array(4);
      assert.ok(parseIPv6(upper ? text.toUpperCase() : text, w), text);
      assert.deepEqual(Buffer.from(w.buffer.slice(0)).swap32(), buf); // (a copy: swap32 swaps in place)
      assert.equal(formatIPv6(w[0], w[1], w[2], w[3]), text); // the queue spells it as the compact peer lists do
    }),
    { numRuns: 2000 },
  );
  const w = new Uint32Array(4);
  for (const bad of [':', ':::', '1:::2', '1::2::3', ':1::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '1::2:', '::1.2.3', '::1.2.3.256', '::01.2.3.4', '1:2:3:4:5:6:7:1.2.3.4', 'fe80::1%lo']) {
    assert.equal(isIPv6(bad) && !bad.includes('%'), false, `node accepts ${bad}`);
    assert.equal(parseIPv6(bad, w), false, bad);
  }
  for (const good of ['::', '::1', '1::', '1:2:3:4:5:6:7:8', '1::8', '::2:3:4:5:6:7:8', '1:2:3:4:5:6::', '::ffff:1.2.3.4', '64:ff9b::1.2.3.4', '1:2:3:4:5:6:1.2.3.4']) {
    assert.ok(isIPv6(good), good);
    assert.equal(parseIPv6(good, w), true, good);
  }
});

test('the queue holds a dual-stack peer once and hands out its canonical address', () => {
  const q = new DueQueue({ revisitDelayMs: 1000, revisitComplete: false, maxFailures: 3, retryDelayMs: 1000 });
  assert.equal(q.add(1, '::ffff:1.2.3.4', 6881, 'incoming', 0), 'new');
  assert.equal(q.add(1, '1.2.3.4', 6881, 'dht', 0), 'known');
  assert.equal(q.add(1, '2001:DB8::0001', 6881, 'pex', 0), 'new');
  assert.equal(q.add(1, '2001:db8::1', 6881, 'udp', 0), 'known');
  assert.equal(q.knownSources(1, '2001:db8:0:0::1', 6881), 16 | 2);
  const first = q.take(0)!;
  assert.deepEqual([first.ip, first.port, first.firstSource], ['1.2.3.4', 6881, 'incoming']);
  const second = q.take(0)!;
  assert.deepEqual([second.ip, second.torrentId, second.firstSource], ['2001:db8::1', 1, 'pex']);
  assert.equal(q.known, 2);
});
