// A magnet whose peers require encryption (a client set to "require encryption" closes a plaintext
// handshake at once) is resolved over MSE/PE, and what the metadata fetch saw of the peer's pieces is
// recorded as an observation with its own time, before the contacts that follow the resolution.
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

test('a magnet resolved from peers that require encryption; the fetch\'s view of the peer is an observation', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('btda-magnet-enc-');
  const made = await makeTorrent({ size: 200 * 16_384, pieceLength: 16_384, dir });
  const parsed = parseTorrentFile(made.torrent);
  const span = findTopLevelValue(made.torrent, 'info')!;
  const info = Buffer.from(made.torrent.subarray(span.start, span.end));
  const infoHash = Buffer.from(parsed.infoHash, 'hex');
  // the first encrypted connection asks for metadata and sees 120 pieces; later ones (contacts) see 150
  const metadataPeer: Step[] = [
    { handshake: true },
    { bitfield: 120 },
    { extHandshake: { m: { ut_metadata: 3 }, metadata_size: info.length } },
    { serveMetadata: { info, localId: 3 } },
  ];
  const peer = await startScriptedPeer({
    infoHash,
    pieces: 200,
    encrypted: true,
    script: (n) => (n === 0 ? metadataPeer : [{ handshake: true }, { bitfield: 150 }]),
  });
  t.after(() => peer.close());
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, `127.0.0.1:${peer.port}\n`);
  const magnets = join(dir, 'magnets.txt');
  writeFileSync(magnets, `magnet:?xt=urn:btih:${parsed.infoHash}&dn=pending\n`);

  const config = testConfig(dir, { magnetFile: magnets, peersFile, timeout: 0.5, encryption: 'fallback' });
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
    await waitFor(
      () => existsSync(config.db) && read<{ n: number }>('SELECT count(*) AS n FROM peers WHERE last_pieces = 150').length > 0 &&
        read<{ n: number }>('SELECT count(*) AS n FROM peers WHERE last_pieces = 150')[0].n === 1,
      20_000, 'the peer evaluated after the resolution',
    );
  } finally {
    await crawl.stop();
  }
  const [torrent] = read<{ pieces: number }>('SELECT pieces FROM torrents');
  assert.equal(torrent.pieces, 200);
  const peers = read<{ first_pieces: number; last_pieces: number; encrypted: number; visits: number }>(
    'SELECT first_pieces, last_pieces, encrypted, visits FROM peers',
  );
  assert.equal(peers.length, 1, 'one peer session: the fetch and the contacts are the same client');
  assert.equal(peers[0].first_pieces, 120, "the fetch's view is the first observation");
  assert.equal(peers[0].last_pieces, 150);
  assert.equal(peers[0].encrypted, 1);
  const observations = read<{ at: string; pieces: number; encrypted: number }>('SELECT at, pieces, encrypted FROM observations ORDER BY id');
  assert.deepEqual(observations.slice(0, 2).map((o) => o.pieces), [120, 150]);
  assert.ok(observations[0].at < observations[1].at, 'the fetch observed first, at its own time');
  assert.equal(observations[0].encrypted, 1);
});
