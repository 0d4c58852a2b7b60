// Abuse of the inbound listener during a crawl — a connection flood from one address, slowloris
// clients, handshake floods and garbage — while honest peers (outgoing and inbound) are measured exactly.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { buildHandshake } from '../../src/wire/handshake.ts';
import { freePort, startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { connectScriptedPeer, startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';

/** Opens a connection from `localAddress`, runs `play`, and always destroys it within `maxMs`. */
function attacker(port: number, localAddress: string, play: (s: net.Socket) => void, maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, maxMs);
    s.on('error', done);
    s.on('close', done);
    s.on('connect', () => play(s));
  });
}

test('listener abuse: limits hold, memory stays bounded, honest peers are measured exactly', { timeout: 90_000 }, async (t) => {
  const dir = tempDir('btda-abuse-');
  const made = await makeTorrent({ size: 100 * 16_384, pieceLength: 16_384, dir });
  const parsed = parseTorrentFile(made.torrent);
  const infoHash = Buffer.from(parsed.infoHash, 'hex');
  const honest: ScriptedPeer[] = [];
  for (let i = 0; i < 5; i++) {
    honest.push(await startScriptedPeer({ infoHash, pieces: 100, script: (n) => [{ handshake: true }, { bitfield: n === 0 ? 20 + i : 100 }] }));
  }
  t.after(async () => {
    for (const p of honest) await p.close();
  });
  writeFileSync(join(dir, 'peers.txt'), honest.map((p) => `127.0.0.1:${p.port}`).join('\n'));
  const dbPath = join(dir, 'btda.sqlite');
  const db = Database.open(dbPath);
  db.addTorrent(parsed, made.path, null, Date.now());
  db.close();
  const config = testConfig(dir, {
    peersFile: join(dir, 'peers.txt'),
    passive: true,
    port: await freePort(),
    maxIncoming: 64,
    maxIncomingPerIp: 4,
    timeout: 0.5,
    contactLimit: 3,
    revisitDelay: 2,
  });
  const crawl = startCrawl(config);
  const rssBefore = process.memoryUsage.rss();
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage.rss())), 100);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const port = config.port;
    const attacks: Promise<void>[] = [];
    // 1,000 connections from one address: at most 4 at a time get in
    for (let i = 0; i < 1000; i++) attacks.push(attacker(port, '127.0.0.2', (s) => s.write(Buffer.alloc(10, 1)), 3000));
    // slowloris: 40 clients from 10 addresses trickling one handshake byte every 300 ms
    for (let i = 0; i < 40; i++) {
      attacks.push(attacker(port, `127.0.1.${1 + (i % 10)}`, (s) => {
        const hs = buildHandshake(infoHash, Buffer.alloc(20, i));
        let at = 0;
        const drip = setInterval(() => (at < hs.length && s.writable ? s.write(hs.subarray(at, ++at)) : clearInterval(drip)), 300);
        s.on('close', () => clearInterval(drip));
      }, 8000));
    }
    // handshake flood for unknown torrents, and garbage with a huge length prefix after a valid handshake
    for (let i = 0; i < 200; i++) {
      attacks.push(attacker(port, `127.0.2.${1 + (i % 50)}`, (s) => s.write(buildHandshake(Buffer.alloc(20, i), Buffer.alloc(20, 7))), 2000));
      attacks.push(attacker(port, `127.0.3.${1 + (i % 50)}`, (s) => {
        s.write(buildHandshake(infoHash, Buffer.alloc(20, 8)));
        s.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 5]));
      }, 2000));
    }
    // fake encrypted handshakes: 96 bytes of "public key" and 600 of junk where req1 should be (each costs
    // btda a Diffie-Hellman computation, then is given up as unknown-protocol)
    for (let i = 0; i < 100; i++) {
      attacks.push(attacker(port, `127.0.4.${1 + (i % 25)}`, (s) => s.write(randomBytes(696)), 2000));
    }
    // an honest inbound peer in the middle of it all
    const inbound = await connectScriptedPeer(port, {
      infoHash,
      pieces: 100,
      script: [{ handshake: true }, { awaitHandshake: true }, { extHandshake: { m: {}, p: 9999 } }, { bitfield: 42 }, { wait: 1500 }],
    });
    await Promise.all(attacks);
    await inbound.closed;
    // once the flood is over: 12 more fake encrypted handshakes, 3 per address (under the per-address limit),
    // so the count below does not depend on which attackers won a slot during the flood
    await Promise.all(Array.from({ length: 12 }, (_, i) => attacker(port, `127.0.5.${1 + (i % 4)}`, (s) => s.write(randomBytes(696)), 5000)));
    await new Promise((r) => setTimeout(r, 3000)); // the honest peers' second visits
  } finally {
    clearInterval(sampler);
    await crawl.stop();
  }
  const s = new Sqlite(dbPath, { readonly: true });
  const rows = s.prepare('SELECT port, first_pieces, last_pieces FROM peers WHERE visits > 0 ORDER BY port').all() as { port: number; first_pieces: number; last_pieces: number }[];
  for (const [i, p] of honest.entries()) {
    const row = rows.find((r) => r.port === p.port);
    assert.ok(row, `honest peer ${i} measured`);
    assert.equal(row.first_pieces, 20 + i);
    assert.equal(row.last_pieces, 100);
  }
  assert.equal(rows.find((r) => r.port === 9999)?.first_pieces, 42, 'the honest inbound peer is measured');
  assert.equal((s.prepare('SELECT count(*) AS n FROM confirmed_downloads').get() as { n: number }).n, honest.length);
  const outcomes = Object.fromEntries(
    (s.prepare("SELECT reason, sum(count) AS n FROM outcomes WHERE event = 'incoming' GROUP BY reason").all() as { reason: string; n: number }[]).map((r) => [r.reason, r.n]),
  );
  // Which attackers get a slot depends on timing (a loaded machine holds slots longer); what must hold:
  // every accepted connection has a counted outcome, each kind of attack was met, and the rest was turned
  // away at the limits (counted in the listener's requests rows).
  const door = s.prepare("SELECT coalesce(sum(received), 0) AS accepted, group_concat(error, '|') AS errors FROM requests WHERE kind = 'incoming'")
    .get() as { accepted: number; errors: string | null };
  const counted = Object.values(outcomes).reduce((a, b) => a + b, 0);
  assert.equal(counted, door.accepted, `every accepted connection has an outcome: ${JSON.stringify(outcomes)}`);
  const rejected = (door.errors ?? '').split('|').reduce((n, e) => n + (Number(/^(\d+) connections rejected/.exec(e)?.[1]) || 0), 0);
  assert.ok(rejected > 900, `rejected at the limits: ${rejected}`);
  assert.ok(outcomes['unknown-protocol'] >= 12, `the fake encrypted handshakes are unknown-protocol too: ${JSON.stringify(outcomes)}`);
  for (const reason of ['unknown-info-hash', 'bad-message', 'unknown-protocol', 'timeout']) assert.ok(outcomes[reason] > 0, `${reason}: ${JSON.stringify(outcomes)}`);
  assert.equal(outcomes.success, 1, JSON.stringify(outcomes));
  s.close();
  const growthMb = (rssPeak - rssBefore) / 1048576;
  t.diagnostic(`listener abuse: RSS grew ${growthMb.toFixed(1)} MB at peak; incoming outcomes ${JSON.stringify(outcomes)}`);
  assert.ok(growthMb < 150, `RSS grew ${growthMb.toFixed(1)} MB`);
});
