// --shard K/N: two hosts (two crawls here) over the same scripted peers each dial a disjoint share that covers
// them all, and `btda merge` of their two SQLite files counts what one unsharded crawl counts.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { shardOf } from '../../src/queue/shard.ts';
import { Database } from '../../src/store/database.ts';
import { rederiveCrossings } from '../../src/store/rederive.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { runCli } from '../helpers/run-cli.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { makeTorrent, type MadeTorrent } from '../helpers/make-torrent.ts';
import { startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { TRAJECTORIES, TRUTH } from '../helpers/shard-trajectories.ts';

const PIECES = 100;
const root = mkdtempSync(join(tmpdir(), 'btda-shard-'));
after(() => rmSync(root, { recursive: true, force: true }));


async function swarm(infoHash: Buffer): Promise<ScriptedPeer[]> {
  return Promise.all(TRAJECTORIES.map((t) => startScriptedPeer({ infoHash, pieces: PIECES, script: t.script })));
}

/** A database with the torrent, a peers file naming `peers`, and a crawl config for them. */
function host(name: string, made: MadeTorrent, peers: ScriptedPeer[], over: { shard?: string; keyFile?: string }) {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, peers.map((p) => `127.0.0.1:${p.port}`).join('\n') + '\n');
  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parseTorrentFile(made.torrent), made.path, 'T', Date.now());
  db.close();
  return testConfig(dir, {
    peersFile, active: 8, timeout: 0.6, contactLimit: 5, openingGrace: 0.2, revisitDelay: 1.5, retryDelay: 0.5, maxFailures: 2, ...over,
  });
}

const query = <T>(path: string, sql: string) => {
  const db = new Sqlite(path, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
};
const confirmed = (path: string) => query<{ n: number }>(path, 'SELECT count(*) n FROM confirmed_downloads')[0].n;

/** Waits until every finisher was visited twice (or 15 s). */
async function finishersVisited(peers: ScriptedPeer[]): Promise<void> {
  const finishers = TRAJECTORIES.flatMap((t, i) => (t.name.startsWith('finisher') ? [peers[i]] : []));
  const until = Date.now() + 15_000;
  while (Date.now() < until && finishers.some((p) => p.accepted < 2)) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 800)); // the second visits' results written
}

test('two shards dial disjoint shares covering every peer; merged they count what one crawl counts', { timeout: 90_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHashHex = parseTorrentFile(made.torrent).infoHash;
  const infoHash = Buffer.from(infoHashHex, 'hex');
  const shared = await swarm(infoHash); // the swarm the two shards share
  const alone = await swarm(infoHash); // the same trajectories for one unsharded crawl
  const keyFile = join(root, 'shared.key'); // every host crawls with one key, or merge refuses
  writeFileSync(keyFile, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });

  const configs = [
    host('shard1', made, shared, { shard: '1/2', keyFile }),
    host('shard2', made, shared, { shard: '2/2', keyFile }),
    host('one', made, alone, {}),
  ];
  const crawls = configs.map((c) => startCrawl(c));
  await Promise.all([finishersVisited(shared), finishersVisited(alone)]);
  const summaries = await Promise.all(crawls.map((c) => c.stop()));
  for (const s of summaries) assert.equal(s.exitReason, 'test over');

  // who dialled what: a host stores (and so queues) only its own share
  const ports = configs.slice(0, 2).map((c) => new Set(query<{ port: number }>(c.db, 'SELECT port FROM peers').map((r) => r.port)));
  for (const [k, set] of ports.entries()) {
    const expected = shared.filter((p) => shardOf(infoHashHex, '127.0.0.1', p.port, 2) === k + 1).map((p) => p.port);
    assert.deepEqual([...set].sort(), expected.sort(), `shard ${k + 1}/2 dials exactly its share`);
  }
  assert.equal([...ports[0]].filter((p) => ports[1].has(p)).length, 0, 'no peer dialled by both');
  for (const [i, p] of shared.entries()) assert.ok(p.accepted >= 1, `${TRAJECTORIES[i].name} was dialled by one of the shards`);
  assert.deepEqual(query(configs[0].db, 'SELECT shard FROM runs'), [{ shard: '1/2' }]);

  assert.equal(confirmed(configs[2].db), TRUTH, 'the unsharded crawl counts the truth');
  for (const c of configs) {
    const db = Database.open(c.db, { readonly: true });
    const again = rederiveCrossings(db, { defaultSuspectRate: 10_000, dryRun: true });
    db.close();
    assert.equal(again.changed, 0, `re-deriving what the crawl recorded changes nothing: ${JSON.stringify(again)}`);
  }
  const out = join(root, 'merged.sqlite');
  const merged = await runCli(['merge', configs[0].db, configs[1].db, '-o', out]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.equal(confirmed(configs[0].db) + confirmed(configs[1].db), TRUTH, 'each shard counts its share');
  assert.equal(confirmed(out), confirmed(configs[2].db), 'merged shards count what one crawl counts');
  assert.deepEqual(query(out, 'SELECT shard FROM runs ORDER BY id'), [{ shard: '1/2' }, { shard: '2/2' }]);

  for (const p of [...shared, ...alone]) await p.close();
});
