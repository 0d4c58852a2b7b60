// Peer exchange in a crawl: a peer names another peer in a ut_pex message; btda queues and contacts it,
// logs the PEX step in `requests`, and keeps `pex` among the new peer's sources.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import bencode from 'bencode';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { OUR_EXTENSION_IDS } from '../../src/wire/extension-handshake.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { startScriptedPeer } from '../helpers/scripted-peer.ts';
import { waitFor } from '../helpers/tracker-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('a peer named in a PEX message is queued, contacted and logged with source pex', { timeout: 30_000 }, async () => {
  const dir = tempDir('btda-pex-');
  const made = await makeTorrent({ size: 20 * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const named = await startScriptedPeer({ infoHash, pieces: 20, script: [{ handshake: true }, { haveAll: true }] });
  const compact = Buffer.from([127, 0, 0, 1, named.port >> 8, named.port & 255]);
  const teller = await startScriptedPeer({
    infoHash, pieces: 20,
    script: [{ handshake: true }, { bitfield: 5 }, { extended: { id: OUR_EXTENSION_IDS.ut_pex, payload: bencode.encode({ added: compact }) } }, { close: true }],
  });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, `127.0.0.1:${teller.port}\n`);
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();

  const crawl = startCrawl(testConfig(dir, { peersFile, active: 4, timeout: 1, storeIp: true }));
  try {
    await waitFor(() => named.connections.length > 0, 10_000, 'the named peer contacted');
  } finally {
    await crawl.stop();
    await Promise.all([named.close(), teller.close()]);
  }
  const sqlite = new Sqlite(join(dir, 'btda.sqlite'), { readonly: true });
  const pex = sqlite.prepare("SELECT received, new, duplicates FROM requests WHERE kind = 'pex'").all();
  assert.deepEqual(pex, [{ received: 1, new: 1, duplicates: 0 }]);
  const row = sqlite.prepare('SELECT sources, last_pieces AS pieces FROM peers WHERE port = ?').get(named.port);
  assert.deepEqual(row, { sources: 'pex', pieces: 20 });
  sqlite.close();
});
