// The address key belongs to its database: it is created beside the database (not in the working
// folder), its fingerprint is recorded, and a run with another key or without the key stops with one line.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { runCli } from '../helpers/run-cli.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

test('the key lives beside the database; another key or a missing one is refused with exit 2 naming both files', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-key-'));
  dirs.push(dir);
  const elsewhere = join(dir, 'cron-cwd');
  mkdirSync(elsewhere);
  mkdirSync(join(dir, 'data'));
  const db = join(dir, 'data', 'btda.sqlite');
  const run = (extra: string[] = [], cwd = dir) =>
    runCli(['run', '--db', db, '--duration', '1', '--active', '0', '--quiet', '--input', join(dir, 'none'), '--magnet-file', join(dir, 'none.txt'), ...extra], { cwd });

  const first = await run();
  assert.equal(first.code, 0, first.stderr);
  assert.ok(existsSync(join(dir, 'data', 'btda.key')), 'created beside the database');
  const fingerprint = () => {
    const s = new Sqlite(db, { readonly: true });
    try {
      return (s.prepare("SELECT value FROM meta WHERE key = 'address_key_fingerprint'").get() as { value: string } | undefined)?.value;
    } finally {
      s.close();
    }
  };
  assert.match(fingerprint() ?? '', /^[0-9a-f]{16}$/);

  // a cron job started in another folder finds the same key
  const again = await run([], elsewhere);
  assert.equal(again.code, 0, again.stderr);
  assert.ok(!existsSync(join(elsewhere, 'data')), 'nothing made in the working folder');

  // another key: refused, naming the key file and the database
  const other = join(dir, 'other.key');
  writeFileSync(other, 'ab'.repeat(32) + '\n');
  const wrong = await run(['--key-file', other]);
  assert.equal(wrong.code, 2);
  assert.match(wrong.stderr, /other\.key.*not the key database .*btda\.sqlite/);
  assert.equal(wrong.stderr.trim().split('\n').length, 1, 'one line');

  // the key gone: refused rather than re-keyed
  renameSync(join(dir, 'data', 'btda.key'), join(dir, 'moved.key'));
  const missing = await run();
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /btda\.key does not exist, but database .*btda\.sqlite was written with key [0-9a-f]{16}/);
  assert.ok(!existsSync(join(dir, 'data', 'btda.key')), 'no new key was made');
  const moved = await run(['--key-file', join(dir, 'moved.key')]);
  assert.equal(moved.code, 0, moved.stderr);
});

test('a database of an older btda (peers, no fingerprint) is not silently re-keyed', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-key-old-'));
  dirs.push(dir);
  const db = join(dir, 'btda.sqlite');
  const args = ['run', '--db', db, '--duration', '1', '--active', '0', '--quiet', '--input', join(dir, 'none'), '--magnet-file', join(dir, 'none.txt')];
  assert.equal((await runCli(args)).code, 0);
  const s = new Sqlite(db);
  s.exec("DELETE FROM meta; INSERT INTO peers (torrent_id, address, address_key, port, discovered_at) VALUES (1, '81.2.69.0/24', 'k', 1, 'x')");
  s.close();
  rmSync(join(dir, 'btda.key'));
  const r = await runCli(args);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /already has peers keyed by an earlier key/);
});
