// A stop (--duration, SIGINT, SIGTERM) takes --stop-grace, not --contact-limit: contacts still in flight
// are cut short, and what they read is stored.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { startScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { waitFor } from '../helpers/tracker-server.ts';

test('stopping cuts dripping peers short after --stop-grace; a read state is kept, the rest count as stopped', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-stop-'));
  const made = await makeTorrent({ size: 20 * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  // a keep-alive every 200 ms for 20 s: below --timeout, so only the contact limit (60 s) would end them
  const drip: Step[] = Array.from({ length: 100 }, () => [{ wait: 200 }, { keepAlive: true }] as Step[]).flat();
  const withState = await startScriptedPeer({ infoHash, pieces: 20, script: [{ handshake: true }, { bitfield: 7 }, ...drip] });
  const without = await startScriptedPeer({ infoHash, pieces: 20, script: [{ handshake: true }, ...drip] });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, `127.0.0.1:${withState.port}\n127.0.0.1:${without.port}\n`);
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();

  const crawl = startCrawl(testConfig(dir, { peersFile, active: 4, timeout: 1, contactLimit: 60, stopGrace: 0.5, storeIp: true }));
  try {
    await waitFor(() => withState.connections.length + without.connections.length === 2, 10_000, 'both contacts');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const summary = await crawl.stop();
    const stopMs = Date.now() - t0;
    assert.ok(stopMs >= 400 && stopMs < 3000, `stop took ${stopMs} ms`);
    assert.equal(summary.contacts, 2);

    const sqlite = new Sqlite(join(dir, 'btda.sqlite'), { readonly: true });
    const reasons = Object.fromEntries((sqlite.prepare('SELECT reason, sum(count) AS n FROM outcomes GROUP BY reason').all() as { reason: string; n: number }[]).map((r) => [r.reason, r.n]));
    assert.deepEqual(reasons, { success: 1, stopped: 1 });
    const row = sqlite.prepare('SELECT first_pieces AS first, visits FROM peers WHERE port = ?').get(withState.port) as { first: number; visits: number };
    assert.deepEqual(row, { first: 7, visits: 1 });
    sqlite.close();
  } finally {
    await crawl.stop();
    await Promise.all([withState.close(), without.close()]);
  }
});
