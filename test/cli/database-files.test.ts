// --db by one rule, errors that name the file, a .sqlite file that is the whole result, bad inputs of
// `add`, closed pipes, and `run --set` (issue 13 items 8, 15, 16, 17).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { parseMagnet } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { BTDA_BIN, runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { startRealTracker } from '../helpers/tracker-server.ts';

const count = (db: string, sql: string) => {
  const sqlite = new Sqlite(db, { readonly: true });
  try {
    return (sqlite.prepare(sql).get() as { n: number }).n;
  } finally {
    sqlite.close();
  }
};

test('a run writes everything into the .sqlite file itself, even while an analyst holds it open', async () => {
  const dir = tempDir('btda-wal-');
  const db = join(dir, 'btda.sqlite');
  assert.equal((await runCli(['add', `magnet:?xt=urn:btih:${'ab'.repeat(20)}`, '--db', db])).code, 0);
  const analyst = new Sqlite(db, { readonly: true }); // keeps btda from being the last connection...
  analyst.prepare('SELECT count(*) FROM torrents').get(); // ...once it has read: SQLite opens the WAL index lazily
  try {
    const r = await runCli(['--db', db, '--key-file', join(dir, 'key'), '--input', join(dir, 'none'), '--duration', '200ms', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    const copy = join(dir, 'copy.sqlite');
    copyFileSync(db, copy); // the file alone, as a user would mail it
    assert.equal(count(copy, 'SELECT count(*) AS n FROM runs WHERE ended_at IS NOT NULL'), 1);
    assert.equal(count(copy, 'SELECT count(*) AS n FROM torrents'), 1);
    // add and rederive write too, and end the same way
    assert.equal((await runCli(['add', `magnet:?xt=urn:btih:${'ef'.repeat(20)}`, '--db', db])).code, 0);
    const copy2 = join(dir, 'copy2.sqlite');
    copyFileSync(db, copy2);
    assert.equal(count(copy2, 'SELECT count(*) AS n FROM torrents'), 2);
    const rederive = await runCli(['rederive', '--db', db, '--threshold', '0.9']);
    assert.equal(rederive.code, 0, rederive.stderr);
    const copy3 = join(dir, 'copy3.sqlite');
    copyFileSync(db, copy3);
    assert.equal(count(copy3, "SELECT count(*) AS n FROM meta WHERE key = 'rederived'"), 1);
  } finally {
    analyst.close();
  }
});

test('--db: writing commands create the folder; reading commands need an existing btda database; errors name the file', async () => {
  const dir = tempDir('btda-dbrule-');
  const keys = ['--key-file', join(dir, 'key'), '--input', join(dir, 'none'), '--quiet'];
  const run = await runCli(['run', '--db', join(dir, 'newdir', 'x.sqlite'), '--duration', '1ms', ...keys]);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(existsSync(join(dir, 'newdir', 'x.sqlite')));

  for (const command of [['torrents'], ['report'], ['export', '--format', 'csv', '--out', join(dir, 'out')]]) {
    const typo = join(dir, 'typo.sqlite');
    const r = await runCli([...command, '--db', typo]);
    assert.equal(r.code, 1, `${command[0]}: ${r.stderr}`);
    assert.equal(r.stderr, `btda: cannot open database ${typo}: no such file (btda add or btda run creates one)\n`);
    assert.equal(existsSync(typo), false, `${command[0]} created an empty database`);
  }

  const text = join(dir, 'notes.sqlite');
  writeFileSync(text, 'not a database at all, just some text that is long enough to have a header\n'.repeat(20));
  const foreign = join(dir, 'other.sqlite');
  const other = new Sqlite(foreign);
  other.exec('CREATE TABLE recipes (name TEXT)');
  other.close();
  for (const command of [['torrents'], ['report'], ['add', `magnet:?xt=urn:btih:${'cd'.repeat(20)}`], ['run', '--duration', '1ms', ...keys]]) {
    const notDb = await runCli([...command, '--db', text]);
    assert.equal(notDb.code, 1, `${command[0]}: ${notDb.stderr}`);
    assert.equal(notDb.stderr.trim().split('\n').length, 1, notDb.stderr);
    assert.ok(notDb.stderr.includes(text), `${command[0]} names the file: ${notDb.stderr}`);
    assert.match(notDb.stderr, /file is not a database/);
    const notBtda = await runCli([...command, '--db', foreign]);
    assert.equal(notBtda.code, 1, `${command[0]}: ${notBtda.stderr}`);
    assert.equal(notBtda.stderr, `btda: ${foreign} is not a btda database (it has no runs and torrents tables)\n`);
  }
  assert.equal(count(foreign, "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'"), 1, 'no btda tables added to it');
});

test('btda add: an empty file or a folder without torrents says so; broken files alone exit 1; magnets need 40 hex or 32 base32', async () => {
  const dir = tempDir('btda-addbad-');
  const db = join(dir, 'btda.sqlite');
  writeFileSync(join(dir, 'empty.txt'), '');
  mkdirSync(join(dir, 'notes'));
  writeFileSync(join(dir, 'notes', 'readme.txt'), 'hello');
  mkdirSync(join(dir, 'broken'));
  writeFileSync(join(dir, 'broken', 'a.torrent'), 'garbage');
  writeFileSync(join(dir, 'broken', 'b.torrent'), 'd4:infod6:lengthi1eee');
  for (const input of ['empty.txt', 'notes', 'broken']) {
    const r = await runCli(['add', input, '--db', db], { cwd: dir });
    assert.equal(r.code, 1, `${input}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^error: ${input}`, 'm'));
  }
  const empty = await runCli(['add', 'empty.txt', '--db', db], { cwd: dir });
  assert.equal(empty.stdout, 'error: empty.txt: no .torrent files or magnet links found\n');

  const hex = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
  for (const bad of [hex.slice(0, 39), `${hex}a`, `${hex}ab`, 'YNCKHTQCWBJHVHE6A3JPSQGLGXCA6ZL']) {
    assert.throws(() => parseMagnet(`magnet:?xt=urn:btih:${bad}`), /not 40 hex or 32 base32 characters/, bad);
  }
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${hex.toUpperCase()}`).infoHash, hex);
  assert.equal(parseMagnet('magnet:?xt=urn:btih:YNCKHTQCWBJHVHE6A3JPSQGLGXCA6ZLM').infoHash, 'c344a3ce02b0527a9c9e06d2f940cb35c40f656c');
  const r = await runCli(['add', `magnet:?xt=urn:btih:${hex.slice(0, 39)}`, '--db', db]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /btih "c12fe1c06bba254a9dc9f519b335aa7c1367a88" is not 40 hex or 32 base32 characters \(39 characters\)/);
  assert.equal(count(db, 'SELECT count(*) AS n FROM torrents'), 0, 'nothing stored with a made-up hash');
});

test('a closed pipe ends export and report quietly (no stack trace), and the export still completes', async () => {
  const dir = tempDir('btda-pipe-');
  const db = join(dir, 'btda.sqlite');
  assert.equal((await runCli(['add', `magnet:?xt=urn:btih:${'ef'.repeat(20)}`, '--db', db])).code, 0);
  for (const command of [`export --db ${db} --format csv --out ${join(dir, 'out')}`, `report --db ${db}`]) {
    // `true` reads nothing and exits at once: every write of btda meets a closed pipe (EPIPE)
    const shell = spawnSync('sh', ['-c', `("${process.execPath}" "${BTDA_BIN}" ${command} 2>"${dir}/err"; echo $? >"${dir}/rc") | true`], { encoding: 'utf8' });
    assert.equal(shell.status, 0);
    assert.equal(readFileSync(join(dir, 'err'), 'utf8'), '', command);
    assert.equal(readFileSync(join(dir, 'rc'), 'utf8').trim(), '0', command);
  }
  assert.ok(existsSync(join(dir, 'out', 'torrents.csv')), 'the export wrote its files all the same');
});

test('run --set A measures only the torrents of set A', { timeout: 60_000 }, async (t) => {
  const dir = tempDir('btda-set-');
  const db = join(dir, 'btda.sqlite');
  const tracker = await startRealTracker(1);
  t.after(() => tracker.close());
  const a = await makeTorrent({ name: 'a.bin', size: 40_000, dir, trackers: [[tracker.httpUrl]] });
  const b = await makeTorrent({ name: 'b.bin', size: 50_000, dir, trackers: [[tracker.httpUrl]] });
  assert.equal((await runCli(['add', a.path, '--set', 'A', '--db', db])).code, 0);
  assert.equal((await runCli(['add', b.path, '--set', 'B', '--db', db])).code, 0);
  const r = await runCli(['--set', 'A', '--db', db, '--key-file', join(dir, 'key'), '--input', join(dir, 'none'), '--duration', '2s']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /run 1: 1 torrents of set A/);
  const sqlite = new Sqlite(db, { readonly: true });
  const announced = sqlite.prepare("SELECT DISTINCT t.set_label AS s FROM requests r JOIN torrents t ON t.id = r.torrent_id WHERE r.kind = 'http'").all();
  sqlite.close();
  assert.deepEqual(announced, [{ s: 'A' }]);
});
