// kill -9 in the middle of a run loses at most the last flush interval (1 s) of results, leaves the
// database intact, and the next run resumes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { runCli, when } from '../helpers/run-cli.ts';
import { startScriptedPeer, type ScriptedPeer } from '../helpers/scripted-peer.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('kill -9 loses at most the last second of results; the next run resumes', { timeout: 90_000 }, async (t) => {
  const dir = tempDir('btda-kill9-');
  const made = await makeTorrent({ size: 100 * 16_384, pieceLength: 16_384, dir });
  const infoHash = Buffer.from(parseTorrentFile(made.torrent).infoHash, 'hex');
  const peers: ScriptedPeer[] = [];
  for (let i = 0; i < 40; i++) peers.push(await startScriptedPeer({ infoHash, pieces: 100, script: [{ handshake: true }, { bitfield: 10 + i }] }));
  t.after(async () => {
    for (const p of peers) await p.close();
  });
  writeFileSync(join(dir, 'peers.txt'), peers.map((p) => `127.0.0.1:${p.port}`).join('\n'));
  const db = join(dir, 'btda.sqlite');
  const log = join(dir, 'btda.log');
  assert.equal((await runCli(['add', made.path, '--db', db])).code, 0);
  const args = ['--db', db, '--key-file', join(dir, 'key'), '--allow', '127.0.0.0/8', '--peers-file', join(dir, 'peers.txt'), '--timeout', '0.2', '--revisit-delay', '0.3', '--watch', '0', '--quiet'];

  let killedAt = 0;
  const killed = await runCli([...args, '--debug', '--log', log], {
    timeoutMs: 30_000,
    onStart: (child) => when(() => existsSync(`${db}.lock`), () => setTimeout(() => {
      killedAt = Date.now();
      child.kill('SIGKILL');
    }, 4000)),
  });
  assert.equal(killed.signal, 'SIGKILL');

  // every contact logged (synchronously) more than one flush interval plus margin before the kill must be in the database
  const contactTimes = readFileSync(log, 'utf8').split('\n').filter((l) => / debug contact /.test(l)).map((l) => Date.parse(l.slice(0, 24)));
  const mustBeStored = contactTimes.filter((at) => at < killedAt - 1250).length;
  const sqlite = new Sqlite(db, { readonly: true });
  assert.equal((sqlite.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  const stored = (sqlite.prepare('SELECT coalesce(sum(count), 0) AS n FROM outcomes').get() as { n: number }).n;
  const visits = (sqlite.prepare('SELECT coalesce(sum(visits), 0) AS n FROM peers').get() as { n: number }).n;
  sqlite.close();
  assert.ok(mustBeStored > 100, `only ${mustBeStored} contacts logged`);
  assert.ok(stored >= mustBeStored, `${stored} contacts stored, ${mustBeStored} finished more than 1.25 s before the kill`);
  assert.ok(stored <= contactTimes.length, 'no contact stored twice');
  assert.equal(visits, stored);
  t.diagnostic(`kill -9: ${contactTimes.length} contacts measured, ${stored} stored, ${contactTimes.length - stored} lost (the last flush interval)`);

  const next = await runCli([...args, '--duration', '2'], { timeoutMs: 30_000 });
  assert.equal(next.code, 0, next.stderr);
  const after = new Sqlite(db, { readonly: true });
  const runs = after.prepare('SELECT id, exit_reason FROM runs ORDER BY id').all();
  assert.deepEqual(runs, [{ id: 1, exit_reason: null }, { id: 2, exit_reason: 'completed' }]);
  const firsts = after.prepare('SELECT first_pieces FROM peers ORDER BY first_pieces').all() as { first_pieces: number }[];
  assert.deepEqual(firsts.map((r) => r.first_pieces), peers.map((_, i) => 10 + i), 'first contacts kept across the crash');
  after.close();
});
