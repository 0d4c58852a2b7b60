// A database written by a real crawl on loopback, for comparing backends: a real tracker (bittorrent-tracker,
// HTTP and UDP) announcing scripted peers with known trajectories, one more peer from a peers file, the whole
// pipeline for a few seconds (contacts, revisits, observations, statistics, outcomes, waits, scrapes).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { startScriptedPeer, type ScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { announceHttpPeer, startRealTracker, waitFor } from '../helpers/tracker-server.ts';

const PIECES = 100;

/** Crawls for about five seconds; returns the database (closed, WAL checkpointed) and its confirmed count. */
export async function buildCrawlFixture(): Promise<{ path: string }> {
  const dir = tempDir('btda-crawl-fixture-');
  const tracker = await startRealTracker(2);
  const peers: ScriptedPeer[] = [];
  try {
    const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir, trackers: [[tracker.httpUrl], [tracker.udpUrl]] });
    const parsed = parseTorrentFile(made.torrent);
    const infoHash = Buffer.from(parsed.infoHash, 'hex');
    const hs: Step = { handshake: true };
    const scripts: ((n: number) => Step[])[] = [
      (n) => [hs, { bitfield: n === 0 ? 10 : 100 }], // finishes between two visits: confirmed
      () => [hs, { bitfield: 97 }, { wait: 300 }, { have: [97, 98, 99] }], // crosses inside one contact: confirmed
      () => [hs, { haveAll: true }], // a seed
      () => [hs, { bitfield: 40 }], // stays below
      () => [hs, { close: true }], // closes after the handshake
    ];
    for (const script of scripts) peers.push(await startScriptedPeer({ infoHash, pieces: PIECES, script }));
    for (const p of peers.slice(0, 4)) await announceHttpPeer(tracker.httpPort, infoHash, { ip: '127.0.0.1', port: p.port });
    const peersFile = join(dir, 'peers.txt');
    writeFileSync(peersFile, `127.0.0.1:${peers[4].port}\n127.0.0.1:${peers[0].port}\n`);

    const db = Database.open(join(dir, 'btda.sqlite'));
    db.addTorrent(parsed, made.path, 'crawl', Date.now());
    db.close();
    const config = testConfig(dir, {
      peersFile, active: 8, timeout: 0.6, contactLimit: 5, openingGrace: 0.2, revisitDelay: 1.5, retryDelay: 0.5, maxFailures: 2,
      statsInterval: 1, trackerInterval: 2,
    });
    const crawl = startCrawl(config);
    try {
      // both confirmed downloads, then a little more (a second announce, statistics rows)
      await waitFor(() => peers[0].connections.length >= 2, 20_000, 'the finisher revisited');
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      await crawl.stop();
    }
    const done = Database.open(config.db);
    done.checkpoint();
    done.close();
    return { path: config.db };
  } finally {
    for (const p of peers) await p.close();
    await tracker.close();
  }
}
