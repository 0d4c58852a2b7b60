// Scheduled runs: consecutive runs on one database continue one history; an overlapping run is refused;
// a lock left by a killed run is taken over.
import assert from 'node:assert/strict';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { runCli, when } from '../helpers/run-cli.ts';
import { startScriptedPeer } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('two consecutive --duration runs give one continuous history; an overlapping run is refused', { timeout: 90_000 }, async () => {
  const dir = tempDir('btda-sched-');
  const made = await makeTorrent({ size: 100 * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  // 20 pieces in the first run, complete in the second
  const peer = await startScriptedPeer({ infoHash, pieces: 100, script: (n) => [{ handshake: true }, n === 0 ? { bitfield: 20 } : { haveAll: true }] });
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, `127.0.0.1:${peer.port}\n`);
  const db = join(dir, 'btda.sqlite');
  const common = ['--db', db, '--key-file', join(dir, 'key'), '--allow', '127.0.0.0/8', '--peers-file', peersFile, '--timeout', '0.5', '--quiet'];
  try {
    assert.equal((await runCli(['add', made.path, '--db', db])).code, 0);
    const first = await runCli([...common, '--duration', '2'], { timeoutMs: 30_000 });
    assert.equal(first.code, 0, first.stderr);

    // the second run overlaps with a third: the third is refused with exit code 3
    let third: Promise<{ code: number | null; stderr: string }> | undefined;
    const second = await runCli([...common, '--duration', '4'], {
      timeoutMs: 30_000,
      onStart: () => {
        third = new Promise((resolve) => when(() => existsSync(`${db}.lock`), () => resolve(runCli([...common, '--duration', '1']))));
      },
    });
    assert.equal(second.code, 0, second.stderr);
    const refused = await third!;
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /another btda run \(pid \d+/);

    const sqlite = new Sqlite(db, { readonly: true });
    const runs = sqlite.prepare('SELECT id, exit_reason FROM runs ORDER BY id').all();
    assert.deepEqual(runs, [{ id: 1, exit_reason: 'completed' }, { id: 2, exit_reason: 'completed' }]);
    const row = sqlite.prepare('SELECT first_pieces, last_pieces, visits, crossed_at FROM peers').get() as Record<string, unknown>;
    assert.equal(row.first_pieces, 20, 'the peer keeps its first contact across runs');
    assert.equal(row.last_pieces, 100);
    assert.equal(row.visits, 2);
    assert.ok(row.crossed_at);
    assert.equal((sqlite.prepare('SELECT count(*) AS n FROM confirmed_downloads').get() as { n: number }).n, 1);
    sqlite.close();
    assert.equal(existsSync(`${db}.lock`), false, 'the lock is released');
  } finally {
    await peer.close();
  }
});

test('a lock left by a killed run (kill -9) is taken over, and the database is intact', { timeout: 60_000 }, async () => {
  const dir = tempDir('btda-sched-');
  const db = join(dir, 'btda.sqlite');
  const killed = await runCli(['--db', db, '--key-file', join(dir, 'key'), '--quiet'], {
    timeoutMs: 30_000,
    onStart: (child) => when(() => existsSync(`${db}.lock`), () => setTimeout(() => child.kill('SIGKILL'), 300)),
  });
  assert.equal(killed.signal, 'SIGKILL');
  assert.ok(existsSync(`${db}.lock`));
  const next = await runCli(['--db', db, '--key-file', join(dir, 'key'), '--duration', '1', '--quiet'], { timeoutMs: 30_000 });
  assert.equal(next.code, 0, next.stderr);
  const sqlite = new Sqlite(db, { readonly: true });
  assert.equal((sqlite.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  const runs = sqlite.prepare('SELECT id, exit_reason FROM runs ORDER BY id').all();
  assert.deepEqual(runs, [{ id: 1, exit_reason: null }, { id: 2, exit_reason: 'completed' }]);
  sqlite.close();
});
