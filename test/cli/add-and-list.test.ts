import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { runCli, when } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('btda add imports files, folders and magnets, skips duplicates, names corrupt files; btda torrents lists them', async () => {
  const dir = tempDir('btda-cli-');
  const db = join(dir, 'data', 'btda.sqlite');
  const one = await makeTorrent({ name: 'one.bin', size: 300_000, pieceLength: 16_384, dir, trackers: [['http://127.0.0.1:9/announce']] });
  mkdirSync(join(dir, 'folder', 'deep'), { recursive: true });
  await makeTorrent({ name: 'two.bin', size: 70_000, pieceLength: 32_768, dir: join(dir, 'folder', 'deep') });
  writeFileSync(join(dir, 'folder', 'broken.torrent'), 'd4:infod6:lengthi1eee');
  const magnets = join(dir, 'magnets.txt');
  writeFileSync(magnets, '# comment\nmagnet:?xt=urn:btih:c12fe1c06bba254a9dc9f519b335aa7c1367a88a&dn=M\n\nnot a magnet\n');

  const add = await runCli(['add', one.path, join(dir, 'folder'), magnets, one.path, '--set', 'A', '--db', db]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /added [0-9a-f]{40} one\.bin \(19 pieces\)/);
  assert.match(add.stdout, /added [0-9a-f]{40} two\.bin \(3 pieces\)/);
  assert.match(add.stdout, /added c12fe1c06bba254a9dc9f519b335aa7c1367a88a M/);
  assert.match(add.stdout, /skipped [0-9a-f]{40}: already in the database/);
  assert.match(add.stdout, /error: .*broken\.torrent: missing or invalid "piece length"/);
  assert.match(add.stdout, /error: .*magnets\.txt:4: not a magnet link/);

  const list = await runCli(['torrents', '--db', db]);
  assert.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines.length, 2 + 3);
  assert.match(list.stdout, /one\.bin\s+A\s+19\s+293\.0 KiB\s+1/);
  // a set that holds nothing (a typo) names the sets there are, rather than print an empty table
  const typo = await runCli(['torrents', '--db', db, '--set', 'a']);
  assert.equal(typo.code, 0, typo.stderr);
  assert.equal(typo.stdout, `no torrents in set a; the sets in ${db}: A\n`);

  const sqlite = new Sqlite(db, { readonly: true });
  const names = (sqlite.prepare("SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name").all() as { name: string }[]).map((r) => r.name);
  for (const want of ['runs', 'torrents', 'peers', 'requests', 'scrapes', 'outcomes', 'statistics', 'confirmed_downloads', 'hourly_confirmed']) {
    assert.ok(names.includes(want), `missing ${want}`);
  }
  assert.equal((sqlite.prepare('PRAGMA journal_mode').get() as { journal_mode: string }).journal_mode, 'wal');
  sqlite.close();
});

test('a bad flag value gives one clear line naming the flag and exit code 2', async () => {
  const dir = tempDir('btda-cli-');
  for (const [args, flag] of [
    [['--active', 'many'], '--active'],
    [['--threshold', '1.5'], '--threshold'],
    [['--duration', '2x'], '--duration'],
    [['--port', '70000'], '--port'],
    [['--dht-bootstrap', 'nohostport'], '--dht-bootstrap'],
    [['--encryption', 'maybe'], '--encryption'],
    [['--stop-grace', '0'], '--stop-grace'],
  ] as const) {
    const r = await runCli([...args, '--db', join(dir, 'x.sqlite')]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].includes(flag), lines[0]);
  }
  const unknown = await runCli(['--no-such-flag']);
  assert.equal(unknown.code, 2);
});

test('btda run with --duration stops by itself and records the run', async () => {
  const dir = tempDir('btda-cli-');
  const db = join(dir, 'btda.sqlite');
  const r = await runCli(['--duration', '1', '--db', db, '--key-file', join(dir, 'key'), '--input', join(dir, 'none')], { timeoutMs: 20_000 });
  assert.equal(r.code, 0, r.stderr);
  const sqlite = new Sqlite(db, { readonly: true });
  const run = sqlite.prepare('SELECT * FROM runs').get() as Record<string, unknown>;
  assert.equal(run.exit_reason, 'completed');
  assert.ok(run.ended_at);
  sqlite.close();
});

test('SIGTERM ends a run cleanly with its reason recorded', async () => {
  const dir = tempDir('btda-cli-');
  const db = join(dir, 'btda.sqlite');
  const r = await runCli(['run', '--db', db, '--key-file', join(dir, 'key')], {
    timeoutMs: 20_000,
    // signal once the run has started (its lock exists), not at a fixed time: a loaded machine starts slowly
    onStart: (child) => when(() => existsSync(`${db}.lock`), () => setTimeout(() => child.kill('SIGTERM'), 300)),
  });
  assert.equal(r.code, 0, r.stderr);
  const sqlite = new Sqlite(db, { readonly: true });
  assert.equal((sqlite.prepare('SELECT exit_reason FROM runs').get() as { exit_reason: string }).exit_reason, 'signal SIGTERM');
  sqlite.close();
});

test('a broken GeoIP file stops btda run before it starts: clear error, exit 1, no run row, no lock left', async () => {
  const dir = tempDir('btda-cli-');
  const db = join(dir, 'btda.sqlite');
  const broken = new URL('../fixtures/geoip/GeoIP2-City-Test-Invalid-Node-Count.mmdb', import.meta.url).pathname;
  const r = await runCli(['--db', db, '--key-file', join(dir, 'key'), '--geoip', broken, '--duration', '1'], { timeoutMs: 20_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /cannot read GeoIP database .*Invalid-Node-Count\.mmdb/);
  assert.equal(existsSync(`${db}.lock`), false);
  assert.equal(existsSync(db), false, 'no database and no run row for a run that never started');
});
