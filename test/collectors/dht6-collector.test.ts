// The DHT collectors' BEP 32 and BEP 33 sides against local DHTs of btda's own nodes: the IPv6 collector
// on ::1 (peers as source 'dht', scrapes as tracker 'dht6'), and the IPv4 collector (bittorrent-dht)
// scraping over k-rpc (tracker 'dht').
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DhtCollector } from '../../src/collectors/dht-collector.ts';
import { Dht6Collector } from '../../src/collectors/dht/dht6-collector.ts';
import type { CollectorContext, PeerAddress } from '../../src/collectors/collector.ts';
import { silentLogger } from '../../src/log.ts';
import type { PeerSource, RequestLog, ScrapeLog } from '../../src/types.ts';
import { createLocalOwnDht } from '../helpers/local-own-dht.ts';
import { fakeTorrent } from '../helpers/tracker-server.ts';
import { recordingContext } from '../helpers/recording-context.ts';



async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the IPv6 DHT collector finds peers announced on ::1, scrapes them, and keeps its id and table', { timeout: 30_000 }, async () => {
  const local = await createLocalOwnDht({ family: 6, size: 16 });
  const dir = await mkdtemp(join(tmpdir(), 'btda-dht6-'));
  const statePath = join(dir, 'dht-state.v6.json');
  const [a, silent] = [fakeTorrent(1, []), fakeTorrent(2, [])];
  const opts = { torrents: [a, silent], port: 0, host: '::1', bootstrap: [local.bootstrap], intervalS: 2, statePath, scrape: true, lookupTimeoutMs: 5000 };
  const collector = new Dht6Collector(opts);
  const rec = recordingContext();
  try {
    await local.announce(a.infoHash, 42001, { seed: true });
    await local.announce(a.infoHash, 42002);
    await collector.start(rec.ctx);
    // Two torrents staggered over a 2 s interval.
    await until(() => [1, 2].every((id) => rec.requests.some((r) => r.torrentId === id)) && rec.scrapes.some((s) => s.torrentId === 1), 15_000, 'a lookup per torrent and a scrape');
    assert.deepEqual(new Set(rec.found.map((f) => `[${f.ip}]:${f.port}/${f.source}/${f.torrentId}`)), new Set(['[::1]:42001/dht/1', '[::1]:42002/dht/1']));
    const row = rec.requests.find((r) => r.torrentId === 1)!;
    assert.deepEqual([row.kind, row.url, row.received, row.error], ['dht', 'dht6', 2, null]);
    assert.equal(rec.requests.find((r) => r.torrentId === 2)!.received, 0);
    // Both peers share the address ::1, and BEP 33 counts addresses: one seed, one downloader.
    const scrape = rec.scrapes.find((s) => s.torrentId === 1)!;
    assert.deepEqual([scrape.tracker, scrape.seeders, scrape.leechers, scrape.downloaded], ['dht6', 1, 1, null]);
    const silentScrape = rec.scrapes.find((s) => s.torrentId === 2);
    if (silentScrape) assert.deepEqual([silentScrape.seeders, silentScrape.leechers], [0, 0]);
  } finally {
    await collector.stop();
    await local.close();
  }
  const state = JSON.parse(await readFile(statePath, 'utf8')) as { nodeId: string; nodes6: Array<{ host: string }> };
  assert.match(state.nodeId, /^[0-9a-f]{40}$/);
  assert.ok(state.nodes6.length >= 4 && state.nodes6.every((n) => n.host === '::1'));
  await rm(dir, { recursive: true, force: true });
});

test('the IPv4 DHT collector (bittorrent-dht) scrapes a known swarm over BEP 33 and stores tracker dht', { timeout: 60_000 }, async () => {
  const local = await createLocalOwnDht({ family: 4, size: 16 });
  const t = fakeTorrent(3, []);
  const seeds = Array.from({ length: 12 }, (_, i) => `127.0.3.${i + 1}`);
  const downloaders = Array.from({ length: 40 }, (_, i) => `127.0.4.${i + 1}`);
  const collector = new DhtCollector({ torrents: [t], port: 0, host: '127.0.0.1', bootstrap: [local.bootstrap], intervalS: 3600, scrape: true, lookupTimeoutMs: 5000 });
  const rec = recordingContext();
  try {
    const all = [...seeds.map((h) => ({ h, seed: true })), ...downloaders.map((h) => ({ h, seed: false }))];
    for (let i = 0; i < all.length; i += 10) {
      await Promise.all(all.slice(i, i + 10).map(({ h, seed }) => local.announce(t.infoHash, 6881, { host: h, seed })));
    }
    await collector.start(rec.ctx);
    await until(() => rec.scrapes.length > 0, 20_000, 'the scrape');
    const s = rec.scrapes[0];
    assert.equal(s.tracker, 'dht');
    assert.equal(s.downloaded, null);
    // m = 2048, k = 2: for a few dozen addresses the estimate is within one or two of the truth.
    assert.ok(Math.abs(s.seeders! - 12) <= 2 && Math.abs(s.leechers! - 40) <= 3, `estimate ${s.seeders}/${s.leechers} for 12/40`);
    // The lookup before it found peers from the same nodes (bittorrent-dht reading our nodes' values).
    assert.ok(rec.found.length > 0 && rec.found.every((f) => f.source === 'dht' && f.port === 6881));
  } finally {
    await collector.stop();
    await local.close();
  }
});
