// The whole pipeline (peers file → queue → contacts → store) against scripted peers on loopback whose
// progress follows known trajectories: btda's confirmed count must equal the truth exactly.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { forbiddenIds, startScriptedPeer, type ScriptedPeer, type Step } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const PIECES = 100; // threshold 0.98 → 98 pieces

test('confirmed downloads equal the truth for peers with known trajectories', { timeout: 60_000 }, async () => {
  const dir = tempDir('btda-crawl-');
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const hs: Step = { handshake: true };
  const later = (visit: (n: number) => Step[]) => (n: number) => [hs, ...visit(n)];

  const trajectories: Record<string, { script: (n: number) => Step[]; confirmed: boolean }> = {
    // finishes between two visits
    finisher: { script: later((n) => (n === 0 ? [{ bitfield: 10 }] : [{ bitfield: 100 }])), confirmed: true },
    // lazy bitfield: the haves right behind it belong to the opening state; seed on the next visit
    lazy: { script: later((n) => (n === 0 ? [{ bitfield: 50 }, { have: [50, 51, 52] }] : [{ haveAll: true }])), confirmed: true },
    // crosses the threshold inside one contact, after the opening grace
    crossesInContact: { script: later(() => [{ bitfield: 97 }, { wait: 400 }, { have: [97, 98, 99] }]), confirmed: true },
    // a seed from the start: never a confirmed download
    seed: { script: later(() => [{ haveAll: true }]), confirmed: false },
    // nothing, then nothing
    empty: { script: later(() => [{ haveNone: true }]), confirmed: false },
    // 97 pieces then the same: just below the threshold
    stuckBelow: { script: later(() => [{ bitfield: 97 }]), confirmed: false },
    // malformed bitfield (wrong length): a counted bad message
    malformed: { script: later(() => [{ bitfield: Buffer.alloc(3, 0xff) }]), confirmed: false },
    // silent after the handshake
    silent: { script: later(() => [{ wait: 3000 }]), confirmed: false },
    // closes right after the handshake
    closer: { script: later(() => [{ close: true }]), confirmed: false },
  };
  const peers: Record<string, ScriptedPeer> = {};
  for (const [name, t] of Object.entries(trajectories)) {
    peers[name] = await startScriptedPeer({ infoHash, pieces: PIECES, script: t.script });
  }
  // leaves right after finishing: seen at 50 %, then gone (the method's blind spot)
  const leaver = await startScriptedPeer({ infoHash, pieces: PIECES, script: [hs, { bitfield: 50 }] });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, [...Object.values(peers), leaver].map((p) => `127.0.0.1:${p.port}`).join('\n') + '\n');

  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();

  const config = testConfig(dir, {
    peersFile,
    active: 8,
    timeout: 0.6,
    contactLimit: 5,
    openingGrace: 0.2,
    revisitDelay: 1.5,
    retryDelay: 0.5,
    maxFailures: 2,
    statsInterval: 1,
  });
  const crawl = startCrawl(config);
  // let every peer be visited twice, then take the leaver away
  await leaver.connection(0).then((c) => c.scriptDone);
  await leaver.close();
  await new Promise((r) => setTimeout(r, 4500));
  const summary = await crawl.stop();
  assert.equal(summary.exitReason, 'test over');

  const sqlite = new Sqlite(config.db, { readonly: true });
  const confirmed = sqlite.prepare('SELECT count(*) AS n FROM confirmed_downloads').get() as { n: number };
  const truth = Object.values(trajectories).filter((t) => t.confirmed).length;
  assert.equal(confirmed.n, truth);
  assert.equal(summary.confirmed, truth, 'the live counter agrees with the view');

  const rows = sqlite.prepare('SELECT port, first_pieces, last_pieces, visits, crossed_at FROM peers').all() as
    { port: number; first_pieces: number | null; last_pieces: number | null; visits: number; crossed_at: string | null }[];
  const byName = (name: string) => rows.find((r) => r.port === (peers[name] ?? leaver).port)!;
  assert.equal(byName('finisher').first_pieces, 10);
  assert.equal(byName('finisher').last_pieces, 100);
  assert.equal(byName('lazy').first_pieces, 53);
  assert.equal(byName('crossesInContact').first_pieces, 97);
  assert.ok(byName('crossesInContact').crossed_at);
  assert.equal(byName('seed').visits, 1, 'a seed is not visited again');
  assert.ok(byName('stuckBelow').visits >= 2, 'a peer below the threshold is revisited');
  assert.equal(byName('leaver').first_pieces, 50);
  assert.equal(byName('leaver').crossed_at, null);

  const outcomes = Object.fromEntries(
    (sqlite.prepare("SELECT reason, sum(count) AS n FROM outcomes GROUP BY reason").all() as { reason: string; n: number }[])
      .map((r) => [r.reason, r.n]),
  );
  assert.ok(outcomes['bad-message'] >= 1, JSON.stringify(outcomes));
  assert.ok(outcomes['no-state'] >= 2, JSON.stringify(outcomes));
  assert.ok(outcomes.refused >= 1, JSON.stringify(outcomes));
  const run = sqlite.prepare('SELECT exit_reason, ended_at FROM runs').get() as { exit_reason: string; ended_at: string };
  assert.equal(run.exit_reason, 'test over');
  const fileRequests = sqlite.prepare("SELECT received, new FROM requests WHERE kind = 'file'").get() as { received: number; new: number };
  assert.deepEqual(fileRequests, { received: 10, new: 10 });
  assert.ok((sqlite.prepare('SELECT count(*) AS n FROM statistics').get() as { n: number }).n >= 3);
  sqlite.close();

  for (const p of Object.values(peers)) {
    for (const c of p.connections) assert.deepEqual(forbiddenIds(c), [], 'btda sent a forbidden message');
    await p.close();
  }
});
