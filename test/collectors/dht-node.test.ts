// btda's own DHT node (src/collectors/dht/): a DHT of such nodes on ::1 (BEP 32) and a BEP 33 scrape
// against a local DHT on 127.0.0.0/8 whose swarm is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DhtNode } from '../../src/collectors/dht/node.ts';
import { bloomEstimate, bloomInsert, emptyBloom, estimateScrape } from '../../src/collectors/dht/bloom.ts';
import { decodeNodes, encodeNodes, ipBytes } from '../../src/collectors/dht/compact.ts';
import type { PeerInfo } from '../../src/collectors/dht/compact.ts';
import { createLocalOwnDht } from '../helpers/local-own-dht.ts';

test('BEP 33 Bloom filter: the BEP\'s own example (1000 IPv6 + 256 IPv4 addresses) estimates 1224.93', () => {
  const f = emptyBloom();
  for (let i = 0; i < 1000; i++) bloomInsert(f, ipBytes(`2001:db8::${i.toString(16)}`, 6)!);
  for (let i = 0; i < 256; i++) bloomInsert(f, ipBytes(`192.0.2.${i}`, 4)!);
  assert.equal(bloomEstimate(f).toFixed(4), '1224.9309');
  assert.equal(bloomEstimate(emptyBloom()), 0);
  assert.equal(estimateScrape([]), null);
});

test('compact nodes6 round-trip (BEP 32: 38-byte entries)', () => {
  const nodes = [
    { id: randomBytes(20), host: '::1', port: 6881 },
    { id: randomBytes(20), host: '2001:db8::1:0:0:1', port: 1 },
  ];
  const buf = encodeNodes(nodes, 6);
  assert.equal(buf.length, 76);
  assert.deepEqual(decodeNodes(buf, 6), nodes);
  assert.deepEqual(decodeNodes(buf.subarray(0, 50), 6), nodes.slice(0, 1)); // partial entry ignored
});

test('a DHT of IPv6 nodes on ::1 finds the peers announced there (18-byte values)', { timeout: 30_000 }, async () => {
  const local = await createLocalOwnDht({ family: 6, size: 16 });
  const seeker = new DhtNode({ family: 6, host: '::1', port: 0, bootstrap: [local.bootstrapAddress], queryTimeoutMs: 1000 });
  try {
    const hash = randomBytes(20);
    await local.announce(hash.toString('hex'), 41001);
    await local.announce(hash.toString('hex'), 41002, { seed: true });
    await seeker.listen();
    assert.ok((await seeker.bootstrap(3000)) > 0);
    assert.ok(seeker.table.count() >= 4, `table: ${seeker.table.count()}`);
    const found: PeerInfo[] = [];
    const result = await seeker.lookup(hash, (p) => found.push(...p), 5000).done;
    assert.deepEqual(new Set(found.map((p) => `[${p.host}]:${p.port}`)), new Set(['[::1]:41001', '[::1]:41002']));
    assert.ok(result.nodesAnswered >= 8 && result.closest.length === 8);
    assert.ok(result.closest.every((n) => n.host === '::1' && n.token));
  } finally {
    await seeker.close();
    await local.close();
  }
});

test('BEP 33 scrape of a known swarm (30 seeds, 90 downloaders on distinct 127.0.x.y addresses)', { timeout: 60_000 }, async () => {
  const local = await createLocalOwnDht({ family: 4, size: 16 });
  const scraper = new DhtNode({ family: 4, host: '127.0.0.1', port: 0, bootstrap: [local.bootstrapAddress], queryTimeoutMs: 1000 });
  const hash = randomBytes(20);
  const seeds = Array.from({ length: 30 }, (_, i) => `127.0.1.${i + 1}`);
  const downloaders = Array.from({ length: 90 }, (_, i) => `127.0.2.${i + 1}`);
  try {
    // Announced from their own addresses, ten at a time (each runs a lookup for its tokens).
    const all = [...seeds.map((h) => ({ h, seed: true })), ...downloaders.map((h) => ({ h, seed: false }))];
    for (let i = 0; i < all.length; i += 10) {
      await Promise.all(all.slice(i, i + 10).map(({ h, seed }) => local.announce(hash.toString('hex'), 6881, { host: h, seed })));
    }
    await scraper.listen();
    await scraper.bootstrap(3000);
    const result = await scraper.scrape(hash, 5000).done;
    const estimate = estimateScrape(result.closest);
    assert.ok(estimate && estimate.nodes >= 4, `scrape answered by ${estimate?.nodes} nodes`);

    // The union of the closest nodes' filters holds every announced address: the estimate equals the
    // formula on a filter of the true swarm, and that is within the filter's error of the true counts.
    const exact = (hosts: string[]) => {
      const f = emptyBloom();
      for (const h of hosts) bloomInsert(f, ipBytes(h, 4)!);
      return Math.round(bloomEstimate(f));
    };
    assert.equal(estimate.seeders, exact(seeds));
    assert.equal(estimate.leechers, exact(downloaders));
    // m = 2048, k = 2: below ~200 addresses the standard error is under ~3% (BEP 33's table); 10% is generous.
    assert.ok(Math.abs(estimate.seeders - 30) <= 3, `seeders ${estimate.seeders}`);
    assert.ok(Math.abs(estimate.leechers - 90) <= 9, `leechers ${estimate.leechers}`);
    console.log(`# BEP 33 estimate: ${estimate.seeders} seeds (30), ${estimate.leechers} downloaders (90), ${estimate.nodes} nodes`);

    // A plain get_peers still lists peers; `noseed` is not asked here, so seeds are among them.
    const found: PeerInfo[] = [];
    await scraper.lookup(hash, (p) => found.push(...p), 5000).done;
    assert.ok(found.length > 0 && found.every((p) => p.port === 6881));
  } finally {
    await scraper.close();
    await local.close();
  }
});
