// A saved routing table whose nodes restarted (same addresses, new ids) must not blind the next run:
// two crawls against a local DHT of real bittorrent-dht nodes on 127.0.0.1, restarted in between.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DhtCollector } from '../../src/collectors/dht-collector.ts';
import type { CollectorContext, PeerAddress } from '../../src/collectors/collector.ts';
import { silentLogger } from '../../src/log.ts';
import type { PeerSource, RequestLog } from '../../src/types.ts';

import { createLocalDht } from '../helpers/local-dht.ts';
import { fakeTorrent } from '../helpers/tracker-server.ts';
import { recordingContext } from '../helpers/recording-context.ts';


async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function crawl(opts: ConstructorParameters<typeof DhtCollector>[0]) {
  const collector = new DhtCollector(opts);
  const rec = recordingContext();
  await collector.start(rec.ctx);
  try {
    await until(() => rec.requests.length > 0, 20_000, 'the lookup');
    return { ...rec, nodeId: collector.nodeId };
  } finally {
    await collector.stop();
  }
}

test('a routing table saved before the DHT restarted (same ports, new ids) still finds the peers', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'btda-dht-stale-'));
  const statePath = join(dir, 'dht-state.json');
  const t = fakeTorrent(5, []);
  let local = await createLocalDht({ size: 16, settleMs: 500 });
  const ports = local.ports;
  const opts = {
    torrents: [t],
    port: 0,
    host: '127.0.0.1',
    bootstrap: [local.bootstrap],
    intervalS: 3600,
    statePath,
    lookupTimeoutMs: 8000,
    bootstrapWaitMs: 5000,
  };
  try {
    await local.announce(t.infoHash, 54001, 4);
    const first = await crawl(opts);
    assert.deepEqual(new Set(first.found.map((f) => `${f.ip}:${f.port}`)), new Set(['127.0.0.1:54001']));
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as { nodes: Array<{ port: number }> };
    assert.ok(saved.nodes.length >= 5 && saved.nodes.every((n) => ports.includes(n.port)));

    await local.close();
    local = await createLocalDht({ size: 16, settleMs: 500, ports }); // same addresses, new ids, no peers known
    assert.deepEqual(local.ports, ports);
    await local.announce(t.infoHash, 54002, 9);

    const second = await crawl(opts);
    assert.deepEqual(new Set(second.found.map((f) => `${f.ip}:${f.port}`)), new Set(['127.0.0.1:54002']));
    assert.equal(second.requests[0].received, 1);
    assert.equal(second.requests[0].error, null);
    assert.ok(second.nodeId && second.nodeId === first.nodeId, 'our node id persists across runs');
  } finally {
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('without bootstrap nodes, a saved table of restarted nodes is re-pinged and still finds the peers', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'btda-dht-stale-'));
  const statePath = join(dir, 'dht-state.json');
  const t = fakeTorrent(6, []);
  let local = await createLocalDht({ size: 12, settleMs: 300 });
  const opts = { torrents: [t], port: 0, host: '127.0.0.1', intervalS: 3600, statePath, lookupTimeoutMs: 8000, bootstrapWaitMs: 5000 };
  try {
    await crawl({ ...opts, bootstrap: [local.bootstrap] });
    const ports = local.ports;
    await local.close();
    local = await createLocalDht({ size: 12, settleMs: 300, ports });
    await local.announce(t.infoHash, 54003, 5);
    const second = await crawl({ ...opts, bootstrap: [] });
    assert.deepEqual(new Set(second.found.map((f) => `${f.ip}:${f.port}`)), new Set(['127.0.0.1:54003']));
  } finally {
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a DHT restarted during the run (new ids, same ports) is found again by the next lookups', { timeout: 60_000 }, async () => {
  const t = fakeTorrent(8, []);
  let local = await createLocalDht({ size: 12, settleMs: 300 });
  const collector = new DhtCollector({
    torrents: [t],
    port: 0,
    host: '127.0.0.1',
    bootstrap: [local.bootstrap],
    intervalS: 2,
    lookupTimeoutMs: 4000,
    bootstrapWaitMs: 5000,
  });
  const rec = recordingContext();
  try {
    await collector.start(rec.ctx);
    await until(() => rec.requests.length > 0, 15_000, 'the first lookup');
    const ports = local.ports;
    await local.close();
    local = await createLocalDht({ size: 12, settleMs: 300, ports });
    await local.announce(t.infoHash, 54004, 3);
    await until(() => rec.found.some((f) => f.port === 54004), 30_000, 'the peer announced after the restart');
  } finally {
    await collector.stop();
    await local.close();
  }
});
