// --shard K/N on one PostgreSQL (--db postgres://...): two sharded crawls (two hosts, here two crawls in one
// process, each with its spool) pushing into ONE database count what one unsharded crawl counts, and the
// truth; their runs rows carry host and shard. A second scheduled run resuming from the spool finds a
// crossing whose state below the threshold was read by the first run.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { AddressKeyError } from '../../src/store/address-key.ts';
import { RunLockedError } from '../../src/store/run-lock.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { startCrawl, testConfig } from '../helpers/crawl.ts';
import { runCli } from '../helpers/run-cli.ts';
import { makeTorrent, type MadeTorrent } from '../helpers/make-torrent.ts';
import { postgresPerFile, queryRows, until } from '../helpers/pg-per-file.ts';
import { startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { hs, TRAJECTORIES, TRUTH } from '../helpers/shard-trajectories.ts';

const PIECES = 100;
const { skip, root, server: pgServer } = postgresPerFile('btda-pg-shard-');


/** A host's folder: its torrent input and a peers file naming `peers`; the crawl writes `url` (its spool beside the key file). */
function host(name: string, made: MadeTorrent, peers: ScriptedPeer[], url: string, over: { shard?: string; keyFile: string }) {
  const dir = join(root, name);
  mkdirSync(join(dir, 'input'), { recursive: true });
  copyFileSync(made.path, join(dir, 'input', 'x.torrent'));
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, peers.map((p) => `127.0.0.1:${p.port}`).join('\n') + '\n');
  return testConfig(dir, {
    db: url, inputPath: join(dir, 'input'), pushInterval: 0.3,
    peersFile, active: 8, timeout: 0.6, contactLimit: 5, openingGrace: 0.2, revisitDelay: 1.5, retryDelay: 0.5, maxFailures: 2, ...over,
  });
}

const confirmed = async (url: string) => Number((await queryRows<{ n: string }>(url, 'SELECT count(*) AS n FROM confirmed_downloads'))[0].n);


function keyFile(name: string): string {
  const path = join(root, name); // every host crawls with one key (copied to each)
  writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
  return path;
}

test('two shards on one PostgreSQL count what one crawl counts, and the truth', { skip, timeout: 90_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const swarm = () => Promise.all(TRAJECTORIES.map((t) => startScriptedPeer({ infoHash, pieces: PIECES, script: t.script })));
  const shared = await swarm(); // the swarm the two shards share
  const alone = await swarm(); // the same trajectories for one unsharded crawl
  const sharedDb = await pgServer().createDatabase('shards');
  const aloneDb = await pgServer().createDatabase('alone');
  const key = keyFile('shared.key');
  const configs = [
    host('shard1', made, shared, sharedDb, { shard: '1/2', keyFile: key }),
    host('shard2', made, shared, sharedDb, { shard: '2/2', keyFile: key }),
    host('one', made, alone, aloneDb, { keyFile: key }),
  ];
  const crawls = configs.map((c) => startCrawl(c));
  const finishers = (peers: ScriptedPeer[]) => TRAJECTORIES.flatMap((t, i) => (t.name.startsWith('finisher') ? [peers[i]] : []));
  await until(() => [...finishers(shared), ...finishers(alone)].every((p) => p.accepted >= 2));
  await new Promise((r) => setTimeout(r, 800)); // the second visits' results written
  const summaries = await Promise.all(crawls.map((c) => c.stop()));
  for (const s of summaries) assert.equal(s.exitReason, 'test over');

  // one spool per database and shard, beside the key file
  assert.deepEqual(readdirSync(root).filter((f) => f.startsWith('btda-spool-') && f.endsWith('.sqlite')).map((f) => f.replace(/-[0-9a-f]{12}/, '')).sort(),
    ['btda-spool-1of2.sqlite', 'btda-spool-2of2.sqlite', 'btda-spool.sqlite']);
  for (const [i, p] of shared.entries()) assert.ok(p.accepted >= 1, `${TRAJECTORIES[i].name} was dialled by one of the shards`);
  assert.equal(await confirmed(aloneDb), TRUTH, 'the unsharded crawl counts the truth');
  assert.equal(await confirmed(sharedDb), TRUTH, 'two shards on one database count what one crawl counts');
  const runs = await queryRows<{ host: string; shard: string; ended: boolean; args: string }>(sharedDb,
    'SELECT host, shard, ended_at IS NOT NULL AS ended, args FROM runs ORDER BY shard');
  assert.deepEqual(runs.map((r) => ({ host: r.host, shard: r.shard, ended: r.ended })),
    [{ host: hostname(), shard: '1/2', ended: true }, { host: hostname(), shard: '2/2', ended: true }]);
  // the report on the shared database: every host's runs, the count of all of them
  const report = await runCli(['report', '--db', sharedDb, '--format', 'json']);
  assert.equal(report.code, 0, report.stderr);
  const json = JSON.parse(report.stdout) as { runs: unknown[]; torrents: { confirmed: number }[] };
  assert.equal(json.runs.length, 2);
  assert.equal(json.torrents.reduce((n, t) => n + t.confirmed, 0), TRUTH);
  // each endpoint is one session, dialled by its shard alone
  const ports = await queryRows<{ port: number; n: string }>(sharedDb, 'SELECT port, count(*) AS n FROM peers GROUP BY port');
  assert.ok(ports.every((p) => Number(p.n) === 1), JSON.stringify(ports));
  assert.equal(ports.length, shared.length);
  // every spool is a btda database: merged, the two shards' spools count the same (and would join sessions across shards)
  const spools = readdirSync(root).filter((f) => /^btda-spool-.*-[12]of2\.sqlite$/.test(f)).map((f) => join(root, f));
  const merged = await runCli(['merge', ...spools, '-o', join(root, 'merged.sqlite')]);
  assert.equal(merged.code, 0, merged.stderr);
  const lite = new Sqlite(join(root, 'merged.sqlite'), { readonly: true });
  assert.equal((lite.prepare('SELECT count(*) AS n FROM confirmed_downloads').get() as { n: number }).n, TRUTH);
  lite.close();
  for (const p of [...shared, ...alone]) await p.close();
});

test('a second scheduled run resumes from the spool: a crossing that spans the two runs is found', { skip, timeout: 60_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  // 10 pieces when the first run meets it, complete when the next run does
  const peer = await startScriptedPeer({ infoHash, pieces: PIECES, script: (n) => [hs, { bitfield: n === 0 ? 10 : 100 }] });
  const url = await pgServer().createDatabase('scheduled');
  const config = host('scheduled', made, [peer], url, { keyFile: keyFile('scheduled.key') });
  for (const visits of [1, 2]) {
    const crawl = startCrawl({ ...config, revisitDelay: 3600 });
    await until(() => peer.accepted >= visits);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await crawl.stop()).exitReason, 'test over');
    if (visits === 1) assert.equal(await confirmed(url), 0, 'seen below only');
  }
  assert.equal(await confirmed(url), 1);
  const runs = await queryRows<{ id: number }>(url, 'SELECT id FROM runs ORDER BY id');
  assert.equal(runs.length, 2);
  const evidence = await queryRows<{ run_id: number; pieces: number; crossing: boolean }>(url,
    `SELECT o.run_id, o.pieces, o.id = p.crossed_observation AS crossing FROM observations o JOIN peers p ON p.id = o.peer_row
      WHERE p.crossing_class = 'confirmed' ORDER BY o.id`);
  assert.deepEqual(evidence.map((e) => [e.run_id, e.pieces, e.crossing]), [[runs[0].id, 10, false], [runs[1].id, 100, true]],
    'below in the first run, the crossing in the second');
  assert.ok(existsSync(config.keyFile));
  await peer.close();
});

test('two processes of one shard: the second is refused; a host with another address key is refused', { skip, timeout: 60_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const url = await pgServer().createDatabase('refusals');
  const key = keyFile('refusals.key');
  const first = startCrawl(host('refuse1', made, [], url, { shard: '1/2', keyFile: key }));
  try {
    await new Promise((r) => setTimeout(r, 1000)); // holds the lock of shard 1/2
    await assert.rejects(startCrawl(host('refuse2', made, [], url, { shard: '1/2', keyFile: key })).done, (err: Error) => {
      assert.ok(err instanceof RunLockedError);
      assert.match(err.message, /holds the run shard 1\/2 lock of postgres:\/\/btda@127\.0\.0\.1:\d+\/refusals/);
      return true;
    });
    // another shard with another key: the database keeps the first key's fingerprint
    await assert.rejects(startCrawl(host('refuse3', made, [], url, { shard: '2/2', keyFile: keyFile('other.key') })).done, (err: Error) => {
      assert.ok(err instanceof AddressKeyError);
      assert.match(err.message, /is not the key database postgres:\/\/.*\/refusals was written with/);
      return true;
    });
    // the same shard count with the right key runs beside it
    const second = startCrawl(host('refuse4', made, [], url, { shard: '2/2', keyFile: key }));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await second.stop()).exitReason, 'test over');
  } finally {
    await first.stop();
  }
});

test('btda run --db postgres://...: SIGTERM stops it through the normal path, the last push delivers, no password stored', { skip, timeout: 60_000 }, async () => {
  const made = await makeTorrent({ size: PIECES * 16_384, pieceLength: 16_384, dir: root });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const seed = await startScriptedPeer({ infoHash, pieces: PIECES, script: () => [hs, { haveAll: true }] });
  const cwd = join(root, 'cli');
  mkdirSync(join(cwd, 'input'), { recursive: true });
  copyFileSync(made.path, join(cwd, 'input', 'x.torrent'));
  writeFileSync(join(cwd, 'peers.txt'), `127.0.0.1:${seed.port}\n`);
  const url = (await pgServer().createDatabase('cli')).replace('btda@', 'btda:secret@'); // trust: the password is not asked for
  const r = await runCli(['run', '--db', url, '--peers-file', 'peers.txt', '--allow', '127.0.0.0/8', '--listen-host', '127.0.0.1', '--quiet',
    '--push-interval', '200ms'], {
    cwd,
    onStart: (child) => {
      const poll = setInterval(() => {
        if (seed.accepted < 1) return;
        clearInterval(poll);
        setTimeout(() => child.kill('SIGTERM'), 500);
      }, 100);
      child.once('close', () => clearInterval(poll));
    },
  });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stderr.includes('secret'));
  const runs = await queryRows<{ exit_reason: string; args: string; shard: string | null }>(url, 'SELECT exit_reason, args, shard FROM runs');
  assert.deepEqual(runs.map((x) => [x.exit_reason, x.shard]), [['signal SIGTERM', null]]);
  assert.ok(!runs[0].args.includes('secret') && runs[0].args.includes('postgres://btda:***@'), runs[0].args);
  const peers = await queryRows<{ port: number; visits: number }>(url, 'SELECT port, visits FROM peers');
  assert.deepEqual(peers, [{ port: seed.port, visits: 1 }]);
  // the key and the spool in data/, as for a SQLite database there
  assert.deepEqual(readdirSync(join(cwd, 'data')).filter((f) => f.endsWith('.key') || f.endsWith('.sqlite')).map((f) => f.replace(/-[0-9a-f]{12}/, '')).sort(),
    ['btda-spool.sqlite', 'btda.key']);
  await seed.close();
});
