// Who a peer is, through the whole crawl with real sockets on loopback: another client answering at a known
// address:port, a restart of the same client with a new peer id, two users behind one address on the
// listener, and one client reachable over IPv4 and IPv6. Each must count as the identity rules say.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { freePort, startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { connectScriptedPeer, startScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { waitFor } from '../helpers/tracker-server.ts';

const PIECES = 100;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const id = (prefix: string, rest: string) => Buffer.from(prefix + rest.padEnd(12, 'z'), 'latin1');

test('identity through the crawl: address reuse, restart, NAT on the listener, dual stack', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-identity-'));
  dirs.push(dir);
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const session = (peerId: Buffer, state: Step): Step[] => [{ handshake: { peerId } }, state];

  // another client at the same address:port: transmission at 30 %, then qBittorrent seeding
  const reused = await startScriptedPeer({ infoHash, pieces: PIECES, script: (n) =>
    n === 0 ? session(id('-TR3000-', 'a'), { bitfield: 30 }) : session(id('-qB4520-', 'b'), { haveAll: true }) });
  // the same program restarted with a new peer id: 40 %, then complete
  const restarted = await startScriptedPeer({ infoHash, pieces: PIECES, script: (n) =>
    n === 0 ? session(id('-TR3000-', 'c'), { bitfield: 40 }) : session(id('-TR3000-', 'd'), { haveAll: true }) });
  // one client on 127.0.0.1 and ::1 with one peer id: 10 % on its first visit over each family, then complete
  const twinId = id('-TR3000-', 'twin');
  let twinVisits = 0;
  const twinScript = () => session(twinId, ++twinVisits <= 2 ? { bitfield: 10 } : { haveAll: true });
  const twin4 = await startScriptedPeer({ infoHash, pieces: PIECES, peerId: twinId, script: twinScript });
  const twin6 = await startScriptedPeer({ infoHash, pieces: PIECES, peerId: twinId, host: '::1', script: twinScript });

  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, [`127.0.0.1:${reused.port}`, `127.0.0.1:${restarted.port}`, `127.0.0.1:${twin4.port}`, `[::1]:${twin6.port}`].join('\n') + '\n');
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();
  const config = testConfig(dir, {
    peersFile, passive: true, port: await freePort(), active: 8, timeout: 0.5, contactLimit: 5, openingGrace: 0.1,
    revisitDelay: 1.5, revisitComplete: true, retryDelay: 0.5,
  });
  const crawl = startCrawl(config);
  try {
    // two users behind 127.0.0.1 who both advertise port 51413: a seed and a leecher that finishes later
    const inbound = (peerId: Buffer, state: Step) => connectScriptedPeer(config.port, {
      infoHash, pieces: PIECES, peerId, script: [{ handshake: true }, { awaitHandshake: true }, { extHandshake: { m: {}, p: 51413 } }, state, { wait: 300 }],
    }).then((c) => c.closed);
    await new Promise((r) => setTimeout(r, 300));
    await inbound(id('-TR3000-', 'user1'), { haveAll: true });
    await inbound(id('-TR3000-', 'user2'), { bitfield: 20 });
    await inbound(id('-TR3000-', 'user1'), { haveAll: true });
    await inbound(id('-TR3000-', 'user2'), { haveAll: true });
    await waitFor(() => reused.accepted >= 2 && restarted.accepted >= 2 && twin4.accepted + twin6.accepted >= 4, 20_000, 'revisits');
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    await crawl.stop();
    await Promise.all([reused.close(), restarted.close(), twin4.close(), twin6.close()]);
  }

  const s = new Sqlite(config.db, { readonly: true });
  const q = <T>(sql: string, ...args: unknown[]) => s.prepare(sql).all(...args) as T[];
  const at = (port: number) => q<{ client: string; crossing_class: string | null }>('SELECT client, crossing_class FROM peers WHERE port = ? AND visits > 0 ORDER BY id', port);
  assert.deepEqual(at(reused.port), [{ client: 'Transmission 3.00', crossing_class: null }, { client: 'qBittorrent 4.5.2', crossing_class: null }],
    'another client at a reused address:port is another peer, never a download');
  assert.deepEqual(at(restarted.port).map((r) => r.crossing_class), [null, 'restart'], 'a restart is its own class');
  const nat = q<{ crossing_class: string | null; first_pieces: number }>('SELECT crossing_class, first_pieces FROM peers WHERE port = 51413 ORDER BY id');
  assert.deepEqual(nat, [{ crossing_class: null, first_pieces: 100 }, { crossing_class: 'confirmed', first_pieces: 20 }], 'users behind one NAT stay apart');
  const twins = q<{ id: number; crossing_class: string | null }>('SELECT id, crossing_class FROM peers WHERE peer_id = ?', twinId.toString('hex'));
  assert.equal(twins.length, 1, 'one session over both families');
  assert.equal(twins[0].crossing_class, 'confirmed');
  const families = new Set(q<{ family: number }>('SELECT family FROM observations WHERE peer_row = ?', twins[0].id).map((o) => o.family));
  assert.deepEqual([...families].sort(), [4, 6]);
  assert.equal((s.prepare('SELECT count(*) n FROM confirmed_downloads').get() as { n: number }).n, 2, 'the NAT leecher and the twin');
  s.close();
});
