// DhtCollector against a private DHT of real bittorrent-dht nodes on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DhtCollector } from '../../src/collectors/dht-collector.ts';
import type { CollectorContext, PeerAddress } from '../../src/collectors/collector.ts';
import { silentLogger } from '../../src/log.ts';
import type { PeerSource, RequestLog, Torrent } from '../../src/types.ts';

import { createLocalDht } from '../helpers/local-dht.ts';
import { fakeTorrent } from '../helpers/tracker-server.ts';
import { recordingContext, type PeerFound } from '../helpers/recording-context.ts';

const torrent = (id: number): Torrent => fakeTorrent(id, []);


async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const peerSet = (found: PeerFound[], torrentId: number) =>
  new Set(found.filter((f) => f.torrentId === torrentId).map((f) => `${f.ip}:${f.port}`));

test('finds exactly the announced peers of each torrent in a local DHT and logs each lookup', { timeout: 30_000 }, async () => {
  const local = await createLocalDht({ size: 24 });
  const [a, b, silent] = [torrent(1), torrent(2), torrent(3)];
  const collector = new DhtCollector({
    torrents: [a, b, silent],
    port: 0,
    host: '127.0.0.1',
    bootstrap: [local.bootstrap],
    intervalS: 1, // three torrents staggered over one second
    lookupTimeoutMs: 5000,
  });
  try {
    await local.announce(a.infoHash, 51001, 3);
    await local.announce(a.infoHash, 51002, 7);
    await local.announce(b.infoHash, 52001, 11);
    const { ctx, found, requests } = recordingContext();
    await collector.start(ctx);
    assert.ok(collector.boundPort && collector.boundPort > 0);
    await until(() => [1, 2, 3].every((id) => requests.some((r) => r.torrentId === id)), 15_000, 'a lookup per torrent');

    assert.deepEqual(peerSet(found, 1), new Set(['127.0.0.1:51001', '127.0.0.1:51002']));
    assert.deepEqual(peerSet(found, 2), new Set(['127.0.0.1:52001']));
    assert.equal(peerSet(found, 3).size, 0);
    assert.ok(found.every((f) => f.source === 'dht'));

    const first = (id: number) => requests.find((r) => r.torrentId === id)!;
    assert.equal(first(1).kind, 'dht');
    assert.equal(first(1).received, 2);
    assert.equal(first(1).new, 2);
    assert.equal(first(1).error, null);
    assert.equal(first(2).received, 1);
    assert.equal(first(3).received, 0);
    assert.ok(requests.every((r) => r.durationMs >= 0 && r.durationMs < 5500));
    assert.ok(collector.nodeCount > 5, `routing table has ${collector.nodeCount} nodes`);
    assert.equal(collector.stats().nodes, collector.nodeCount);
  } finally {
    await collector.stop();
    await local.close();
  }
});

test('the routing table is saved at stop and a collector without bootstrap nodes starts from it', { timeout: 30_000 }, async () => {
  const local = await createLocalDht({ size: 20 });
  const dir = await mkdtemp(join(tmpdir(), 'btda-dht-'));
  const statePath = join(dir, 'sub', 'dht-state.json');
  const t = torrent(7);
  const opts = { torrents: [t], port: 0, host: '127.0.0.1', intervalS: 3600, statePath, lookupTimeoutMs: 5000 };
  try {
    await local.announce(t.infoHash, 53001, 5);
    const warm = new DhtCollector({ ...opts, bootstrap: [local.bootstrap] });
    const first = recordingContext();
    await warm.start(first.ctx);
    await until(() => first.requests.length > 0, 15_000, 'first lookup');
    await warm.stop();

    const state = JSON.parse(await readFile(statePath, 'utf8')) as { nodeId: string; nodes: Array<{ host: string; port: number; id: string }> };
    const saved = state.nodes;
    assert.match(state.nodeId, /^[0-9a-f]{40}$/);
    assert.ok(saved.length >= 5, `saved ${saved.length} nodes`);
    assert.ok(saved.every((n) => n.host === '127.0.0.1' && n.port > 0 && /^[0-9a-f]{40}$/.test(n.id)));

    const cold = new DhtCollector({ ...opts, bootstrap: [] });
    const second = recordingContext();
    await cold.start(second.ctx);
    try {
      await until(() => second.requests.length > 0, 15_000, 'lookup from saved nodes');
      assert.deepEqual(peerSet(second.found, 7), new Set(['127.0.0.1:53001']));
      assert.equal(second.requests[0].error, null);
    } finally {
      await cold.stop();
    }
  } finally {
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('without any node the lookup is logged with an error and nothing throws', { timeout: 15_000 }, async () => {
  const t = torrent(9);
  const collector = new DhtCollector({
    torrents: [t],
    port: 0,
    host: '127.0.0.1',
    bootstrap: ['127.0.0.1:9'], // discard port: nobody answers
    intervalS: 3600,
    lookupTimeoutMs: 1500,
    bootstrapWaitMs: 500,
  });
  const { ctx, found, requests } = recordingContext();
  await collector.start(ctx);
  try {
    await until(() => requests.length > 0, 8000, 'the failed lookup');
    assert.equal(found.length, 0);
    assert.equal(requests[0].received, 0);
    assert.ok(requests[0].error, 'error recorded');
    assert.equal(collector.nodeCount, 0);
    collector.addNode('not an ip', 1); // ignored, not thrown
    collector.addNode('::ffff:127.0.0.1', 9);
    assert.equal(collector.stats().nodesOffered, 1);
  } finally {
    await collector.stop();
  }
});

test('a port in use makes start() reject with the port in the message', { timeout: 10_000 }, async () => {
  const first = new DhtCollector({ torrents: [], port: 0, host: '127.0.0.1', bootstrap: [], intervalS: 60 });
  await first.start(recordingContext().ctx);
  const port = first.boundPort!;
  try {
    const second = new DhtCollector({ torrents: [], port, host: '127.0.0.1', bootstrap: [], intervalS: 60 });
    await assert.rejects(second.start(recordingContext().ctx), new RegExp(`UDP 127\\.0\\.0\\.1:${port}`));
    await second.stop();
  } finally {
    await first.stop();
  }
});

test('with announcePort the collector announces itself after its lookup', { timeout: 30_000 }, async () => {
  const local = await createLocalDht({ size: 20, settleMs: 500 });
  const t = torrent(11);
  const collector = new DhtCollector({
    torrents: [t],
    port: 0,
    host: '127.0.0.1',
    bootstrap: [local.bootstrap],
    intervalS: 3600,
    announcePort: 56884,
    lookupTimeoutMs: 5000,
  });
  const { ctx, requests } = recordingContext();
  try {
    await collector.start(ctx);
    await until(() => requests.length > 0, 15_000, 'the lookup');
    const seen = new Set<string>();
    const probe = local.nodes[9];
    probe.on('peer', (peer, hash) => {
      if (hash.toString('hex') === t.infoHash) seen.add(`${peer.host}:${peer.port}`);
    });
    for (let i = 0; i < 20 && !seen.has('127.0.0.1:56884'); i++) {
      await new Promise<void>((r) => probe.lookup(t.infoHash, () => r()));
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(seen.has('127.0.0.1:56884'), `seen: ${[...seen].join(', ')}`);
  } finally {
    await collector.stop();
    await local.close();
  }
});
