// A full disk or a read-only database: a clear error, a clean stop (exit code 1), and what was already
// written stays intact. Uses a small tmpfs (needs root); skipped where mounting is not allowed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

function mountTmpfs(sizeKb: number): string | undefined {
  const dir = tempDir('btda-tmpfs-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKb}k`, 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    return undefined;
  }
}
const unmount = (dir: string) => {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
  } catch {
    // already gone
  }
};
const canMount = (() => {
  const dir = mountTmpfs(64);
  if (dir) unmount(dir);
  return dir !== undefined;
})();

test('a full disk stops the run with a clear error and keeps what was written', { skip: !canMount && 'cannot mount a tmpfs here', timeout: 60_000 }, async (t) => {
  const disk = mountTmpfs(1024)!;
  t.after(() => unmount(disk));
  const dir = tempDir('btda-full-');
  const db = join(disk, 'btda.sqlite');
  const hash = 'ab'.repeat(20);
  assert.equal((await runCli(['add', `magnet:?xt=urn:btih:${hash}`, '--db', db])).code, 0);
  // 60,000 addresses (never dialled: a magnet without metadata) fill 1 MiB of peer rows
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) lines.push(`127.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}:${1024 + (i % 50_000)}`);
  writeFileSync(join(dir, 'peers.txt'), lines.join('\n'));
  const r = await runCli(['--db', db, '--key-file', join(dir, 'key'), '--allow', '127.0.0.0/8', '--peers-file', join(dir, 'peers.txt'), '--duration', '20', '--quiet'], { timeoutMs: 40_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot write to .*btda\.sqlite: database or disk is full/);
  const copy = join(dir, 'copy.sqlite');
  copyFileSync(db, copy);
  try {
    copyFileSync(`${db}-wal`, `${copy}-wal`);
  } catch {
    // checkpointed already
  }
  const sqlite = new Sqlite(copy);
  assert.equal((sqlite.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
  assert.equal((sqlite.prepare('SELECT count(*) AS n FROM torrents').get() as { n: number }).n, 1);
  sqlite.close();
});

test('a read-only database gives a clear error and exit code 1', { skip: !canMount && 'cannot mount a tmpfs here', timeout: 30_000 }, async (t) => {
  const disk = mountTmpfs(4096)!;
  t.after(() => unmount(disk));
  const db = join(disk, 'btda.sqlite');
  assert.equal((await runCli(['add', `magnet:?xt=urn:btih:${'cd'.repeat(20)}`, '--db', db])).code, 0);
  execFileSync('mount', ['-o', 'remount,ro', disk]);
  const r = await runCli(['--db', db, '--key-file', join(tempDir('btda-ro-'), 'key'), '--duration', '2', '--quiet'], { timeoutMs: 20_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /btda: .*btda\.sqlite.*(read-only|readonly)/i);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
