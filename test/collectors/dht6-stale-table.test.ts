// The IPv6 DHT collector (btda's own node) against a saved table that no longer answers under its ids:
// a local DHT of own nodes on ::1 restarted between two crawls, and during one (same ports, new ids).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Dht6Collector, type Dht6CollectorOptions } from '../../src/collectors/dht/dht6-collector.ts';
import { createLocalOwnDht, type LocalOwnDht } from '../helpers/local-own-dht.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { fakeTorrent } from '../helpers/tracker-server.ts';

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function crawl(opts: Dht6CollectorOptions) {
  const collector = new Dht6Collector(opts);
  const rec = recordingContext();
  await collector.start(rec.ctx);
  try {
    await until(() => rec.requests.length > 0, 20_000, 'the lookup');
    return { ...rec, nodeId: collector.nodeId };
  } finally {
    await collector.stop();
  }
}

const portsOf = (local: LocalOwnDht) => local.nodes.map((n) => n.port);
const idsOf = (local: LocalOwnDht) => new Set(local.nodes.map((n) => n.id.toString('hex')));

test('IPv6: a table saved before the DHT restarted (same ports, new ids) still finds the peers, with or without bootstrap nodes', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'btda-dht6-stale-'));
  const statePath = join(dir, 'dht-state.v6.json');
  const t = fakeTorrent(7, []);
  let local = await createLocalOwnDht({ family: 6, size: 12 });
  const ports = portsOf(local);
  const opts: Dht6CollectorOptions = { torrents: [t], port: 0, host: '::1', bootstrap: [local.bootstrap], intervalS: 3600, statePath, scrape: false, lookupTimeoutMs: 5000 };
  try {
    await local.announce(t.infoHash, 55001);
    const first = await crawl(opts);
    assert.deepEqual(first.found.map((f) => `[${f.ip}]:${f.port}`), ['[::1]:55001']);
    const saved = JSON.parse(await readFile(statePath, 'utf8')) as { nodes6: Array<{ port: number; id: string }> };
    assert.ok(saved.nodes6.length >= 5 && saved.nodes6.every((n) => ports.includes(n.port)));

    const oldIds = idsOf(local);
    await local.close();
    local = await createLocalOwnDht({ family: 6, size: 12, ports });
    assert.ok([...idsOf(local)].every((id) => !oldIds.has(id)), 'the restarted nodes have new ids');
    await local.announce(t.infoHash, 55002);

    const second = await crawl(opts);
    assert.deepEqual(second.found.map((f) => `[${f.ip}]:${f.port}`), ['[::1]:55002']);
    assert.equal(second.requests[0].error, null, 'the first lookup of the run is not lost');
    assert.equal(second.nodeId, first.nodeId, 'our node id persists across runs');
    // Restarted once more, and no bootstrap nodes: the saved nodes are pinged and come back under their new ids.
    await local.close();
    local = await createLocalOwnDht({ family: 6, size: 12, ports });
    await local.announce(t.infoHash, 55003);
    const third = await crawl({ ...opts, bootstrap: [] });
    assert.deepEqual(third.found.map((f) => `[${f.ip}]:${f.port}`), ['[::1]:55003']);
    assert.equal(third.requests[0].error, null);
  } finally {
    await local.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('IPv6: a DHT restarted during the run (new ids, same ports) is found again by the next lookups', { timeout: 60_000 }, async () => {
  const t = fakeTorrent(8, []);
  let local = await createLocalOwnDht({ family: 6, size: 12 });
  const ports = portsOf(local);
  const collector = new Dht6Collector({ torrents: [t], port: 0, host: '::1', bootstrap: [local.bootstrap], intervalS: 1, scrape: false, lookupTimeoutMs: 3000 });
  const rec = recordingContext();
  try {
    await local.announce(t.infoHash, 56001);
    await collector.start(rec.ctx);
    await until(() => rec.found.some((f) => f.port === 56001), 15_000, 'the first peer');
    await local.close();
    local = await createLocalOwnDht({ family: 6, size: 12, ports });
    await local.announce(t.infoHash, 56002);
    const before = rec.requests.length;
    await until(() => rec.found.some((f) => f.port === 56002), 20_000, 'the peer announced after the restart');
    assert.ok(rec.requests.slice(before).some((r) => r.received > 0 && r.error === null));
  } finally {
    await collector.stop();
    await local.close();
  }
});
