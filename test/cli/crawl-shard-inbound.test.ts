// --shard K/N and the listener: a peer behind NAT dials every host it learns of, but only the owner of its
// advertised endpoint records it; the other host reads it and counts outcome `other-shard`, storing nothing,
// so one client is never a session on two hosts (and a download counted twice in a shared database).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { shardOf } from '../../src/queue/shard.ts';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { freePort, startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { connectScriptedPeer } from '../helpers/scripted-peer.ts';

const PIECES = 100;
const root = mkdtempSync(join(tmpdir(), 'btda-shard-inbound-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('--shard: an inbound peer is recorded by the owner of its advertised endpoint only', { timeout: 60_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const parsed = parseTorrentFile(made.torrent);
  const keyFile = join(root, 'shared.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  const configs = [];
  for (const k of [1, 2]) {
    const dir = join(root, `host${k}`);
    mkdirSync(dir);
    const db = Database.open(join(dir, 'btda.sqlite'));
    db.addTorrent(parsed, made.path, 'T', Date.now());
    db.close();
    configs.push(testConfig(dir, { shard: `${k}/2`, keyFile, passive: true, port: await freePort(), timeout: 1, contactLimit: 2, revisitDelay: 30 }));
  }
  const crawls = configs.map((c) => startCrawl(c));
  try {
    await new Promise((r) => setTimeout(r, 300));
    // two NAT users behind 127.0.0.1 advertising ports that fall to different shards; each dials both hosts
    const ports = [40_000, 40_001, 40_002, 40_003, 40_004, 40_005].map((p) => ({ p, owner: shardOf(parsed.infoHash, '127.0.0.1', p, 2) }));
    const users = [ports.find((x) => x.owner === 1)!, ports.find((x) => x.owner === 2)!];
    for (const [i, u] of users.entries()) {
      for (const c of configs) {
        const conn = await connectScriptedPeer(c.port, {
          infoHash: Buffer.from(parsed.infoHash, 'hex'),
          pieces: PIECES,
          peerId: Buffer.from(`-TR3000-natuser${i}aaaa`),
          script: [{ handshake: true }, { awaitHandshake: true }, { extHandshake: { m: {}, p: u.p } }, { bitfield: 30 + i }, { wait: 400 }],
        });
        await conn.closed;
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const c of crawls) await c.stop();

    for (const [k, c] of configs.entries()) {
      const s = new Sqlite(c.db, { readonly: true });
      const sessions = s.prepare('SELECT listen_port, first_pieces FROM peers WHERE peer_id IS NOT NULL ORDER BY listen_port').all();
      const mine = users.flatMap((u, i) => (u.owner === k + 1 ? [{ listen_port: u.p, first_pieces: 30 + i }] : []));
      assert.deepEqual(sessions, mine, `host ${k + 1}/2 records exactly the inbound peers it owns`);
      const outcomes = s.prepare("SELECT reason, sum(count) AS n FROM outcomes WHERE event = 'incoming' GROUP BY reason ORDER BY reason").all();
      assert.deepEqual(outcomes, [{ reason: 'other-shard', n: 1 }, { reason: 'success', n: 1 }], `host ${k + 1}/2: ${JSON.stringify(outcomes)}`);
      s.close();
    }
  } finally {
    for (const c of crawls) await c.stop().catch(() => {});
  }
});
