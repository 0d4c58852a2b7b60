// A magnet link: its peers are collected, the info dictionary is fetched from one of them (BEP 9) and
// verified, the torrent becomes complete in the database, and then its peers are evaluated.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { findTopLevelValue } from '../../src/bencode/scan.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { startScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { waitFor } from '../helpers/tracker-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('a magnet is resolved from a peer, then its peers are evaluated', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('btda-magnet-');
  const made = await makeTorrent({ size: 200 * 16_384, pieceLength: 16_384, dir });
  const parsed = parseTorrentFile(made.torrent);
  const span = findTopLevelValue(made.torrent, 'info')!;
  const info = Buffer.from(made.torrent.subarray(span.start, span.end));
  const infoHash = Buffer.from(parsed.infoHash, 'hex');
  const metadataPeer: Step[] = [
    { handshake: true },
    { extHandshake: { m: { ut_metadata: 3 }, metadata_size: info.length } },
    { serveMetadata: { info, localId: 3 } },
  ];
  // a connection that asks for metadata gets it; an evaluation gets the bitfield
  const peer = await startScriptedPeer({
    infoHash,
    pieces: 200,
    script: (n) => (n === 0 ? metadataPeer : [{ handshake: true }, { bitfield: 150 }]),
  });
  const other = await startScriptedPeer({ infoHash, pieces: 200, script: [{ handshake: true }, { haveAll: true }] });
  t.after(async () => {
    await peer.close();
    await other.close();
  });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, `127.0.0.1:${peer.port}\n127.0.0.1:${other.port}\n`);
  const magnets = join(dir, 'magnets.txt');
  writeFileSync(magnets, `magnet:?xt=urn:btih:${parsed.infoHash}&dn=pending\n`);

  const config = testConfig(dir, { magnetFile: magnets, peersFile, timeout: 0.5 });
  const crawl = startCrawl(config);
  const read = <T>(sql: string) => {
    const s = new Sqlite(config.db, { readonly: true });
    try {
      return s.prepare(sql).all() as T[];
    } finally {
      s.close();
    }
  };
  try {
    await waitFor(() => existsSync(config.db) && read<{ n: number }>('SELECT count(*) AS n FROM peers WHERE visits > 0')[0].n === 2, 20_000, 'both peers evaluated');
  } finally {
    await crawl.stop();
  }
  const [torrent] = read<{ name: string; pieces: number; piece_size: number; total_size: number; threshold_pieces: number }>(
    'SELECT name, pieces, piece_size, total_size, threshold_pieces FROM torrents',
  );
  assert.deepEqual(torrent, { name: parsed.name, pieces: 200, piece_size: 16_384, total_size: 200 * 16_384, threshold_pieces: 196 });
  const peers = read<{ first_pieces: number }>('SELECT first_pieces FROM peers ORDER BY first_pieces');
  assert.deepEqual(peers.map((p) => p.first_pieces), [150, 200]);
});
