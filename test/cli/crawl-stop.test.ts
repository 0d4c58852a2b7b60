// A stop (--duration, SIGINT, SIGTERM) takes --stop-grace, not --contact-limit: contacts still in flight
// are cut short, and what they read is stored.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { freePort, startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { startScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { waitFor } from '../helpers/tracker-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('stopping cuts contacts short after --stop-grace, outgoing and inbound; a read state is kept, the rest count as stopped', { timeout: 30_000 }, async () => {
  const dir = tempDir('btda-stop-');
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

  const port = await freePort();
  const crawl = startCrawl(testConfig(dir, { peersFile, active: 4, timeout: 1, connectTimeout: 10, contactLimit: 60, stopGrace: 0.5, storeIp: true, passive: true, port }));
  // and an inbound connection that says nothing (only --connect-timeout would end it)
  let silent: net.Socket | undefined;
  try {
    await waitFor(() => withState.connections.length + without.connections.length === 2, 10_000, 'both contacts');
    silent = net.connect({ host: '127.0.0.1', port });
    silent.on('error', () => {});
    await new Promise((r) => silent!.once('connect', r));
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const summary = await crawl.stop();
    const stopMs = Date.now() - t0;
    assert.ok(stopMs >= 400 && stopMs < 3000, `stop took ${stopMs} ms`);
    assert.equal(summary.contacts, 3);

    const sqlite = new Sqlite(join(dir, 'btda.sqlite'), { readonly: true });
    const reasons = Object.fromEntries((sqlite.prepare("SELECT event || ' ' || reason AS k, sum(count) AS n FROM outcomes GROUP BY k").all() as { k: string; n: number }[]).map((r) => [r.k, r.n]));
    assert.deepEqual(reasons, { 'first success': 1, 'first stopped': 1, 'incoming stopped': 1 });
    const row = sqlite.prepare('SELECT first_pieces AS first, visits FROM peers WHERE port = ?').get(withState.port) as { first: number; visits: number };
    assert.deepEqual(row, { first: 7, visits: 1 });
    sqlite.close();
  } finally {
    silent?.destroy();
    await crawl.stop();
    await Promise.all([withState.close(), without.close()]);
  }
});
