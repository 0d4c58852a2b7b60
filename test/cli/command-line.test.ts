// What a new user types first: --no- forms, durations with units, config files from any folder, typos
// in the command, a PostgreSQL URL, and what --help says about all of it (issue 13 items 1-3, 11, 14, 19).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { formatDuration, parseDuration } from '../../src/cli/durations.ts';
import { COMMANDS } from '../../src/cli/main.ts';
import { resolveConfig, SETTINGS, yargsOptions } from '../../src/cli/options.ts';
import { defaultConfig } from '../../src/config.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const EXAMPLE = fileURLToPath(new URL('../../config.example.ts', import.meta.url));

/** The effective settings a run logs with --debug. */
function loggedSettings(stderr: string): Record<string, unknown> {
  const line = stderr.split('\n').find((l) => l.includes(' debug settings: '));
  assert.ok(line, stderr);
  return JSON.parse(line.slice(line.indexOf('settings: ') + 10));
}

const quickRun = (dir: string) => ['--db', join(dir, 'btda.sqlite'), '--key-file', join(dir, 'key'), '--input', join(dir, 'none'), '--duration', '1ms'];

test('every switch takes its --no- form (--no-pex is documented) and it turns the setting off', async () => {
  const dir = tempDir('btda-flags-');
  const switches = SETTINGS.filter((s) => s.kind === 'bool').map((s) => s.flag);
  assert.ok(switches.includes('pex'));
  const r = await runCli([...quickRun(dir), ...switches.map((f) => `--no-${f}`), '--debug', '--pex', 'false']);
  assert.equal(r.code, 0, r.stderr);
  const r2 = await runCli([...quickRun(dir), '--no-pex', '--debug']);
  assert.equal(r2.code, 0, r2.stderr);
  assert.equal(loggedSettings(r2.stderr).pex, false);
  const bad = await runCli([...quickRun(dir), '--no-db']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^btda: --db: needs a value/);
});

test('one duration syntax for every time setting, flags and config files alike; plain numbers keep their unit', async () => {
  assert.equal(parseDuration('6s'), 6);
  assert.equal(parseDuration('500ms'), 0.5);
  assert.equal(parseDuration('1h30m'), 5400);
  assert.equal(parseDuration('6'), 6);
  assert.equal(parseDuration('250', 'ms'), 0.25);
  assert.equal(parseDuration('5m6'), undefined);
  assert.equal(parseDuration('x5m'), undefined);
  assert.equal(formatDuration(300), '5m');
  assert.equal(formatDuration(0.5), '500ms');
  assert.equal(formatDuration(5400), '1h30m');

  const c = await resolveConfig({ timeout: '6s', 'connect-timeout': '1500ms', 'revisit-delay': '5m', 'flush-interval': '2s', duration: '1h30m', 'stats-interval': '90' });
  assert.equal(c.timeout, 6);
  assert.equal(c.connectTimeout, 1.5);
  assert.equal(c.revisitDelay, 300);
  assert.equal(c.flushIntervalMs, 2000);
  assert.equal(c.duration, 5400);
  assert.equal(c.statsInterval, 90);
  assert.equal((await resolveConfig({ 'flush-interval': '250' })).flushIntervalMs, 250, 'a plain number stays milliseconds');

  const dir = tempDir('btda-durations-');
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ timeout: '8s', flushIntervalMs: '1s', revisitDelay: 120 }));
  const fromFile = await resolveConfig({ config: file });
  assert.deepEqual([fromFile.timeout, fromFile.flushIntervalMs, fromFile.revisitDelay], [8, 1000, 120]);

  const r = await runCli([...quickRun(dir), '--timeout', '6s', '--contact-limit', '1m', '--flush-interval', '500ms', '--debug']);
  assert.equal(r.code, 0, r.stderr);
  const s = loggedSettings(r.stderr);
  assert.deepEqual([s.timeout, s.contactLimit, s.flushIntervalMs], [6, 60, 500]);
  for (const [flag, value] of [['--timeout', '0'], ['--stop-grace', '-1s'], ['--retry-delay', 'soon'], ['--flush-interval', '0ms']]) {
    const bad = await runCli([...quickRun(dir), flag, value]);
    assert.equal(bad.code, 2, `${flag} ${value}`);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
    assert.match(bad.stderr, new RegExp(`^btda: ${flag}: expected a duration`));
  }
});

test('--help shows the duration syntax, units in the defaults, and no [string] for numbers', async () => {
  const help = await runCli(['run', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Durations: .*500ms, 6s, 5m, 1h30m/);
  assert.match(help.stdout, /--timeout\s+peer silence that ends a contact \[duration\]\s+\[default: 6s\]/);
  assert.match(help.stdout, /--flush-interval[\s\S]*?\[default: 1s\]/);
  assert.match(help.stdout, /--no-pex/);
  for (const command of COMMANDS) {
    assert.doesNotMatch((await runCli([command, '--help'])).stdout, /\[string\]/, command);
  }
  const demo = (await runCli(['demo', '--help'])).stdout;
  assert.match(demo, /--duration\s+length of the demo \(10s to 10m\) \[duration\]\s+\[default: 60s\]/);
  assert.doesNotMatch(demo, /flush-interval/, 'the demo has no --flush-interval');
  const torrents = await runCli(['torrents', '--help']);
  assert.match(torrents.stdout, /--set\s+list only the torrents of this set/);
  const report = await runCli(['report', '--help']);
  assert.match(report.stdout, /--since\s+only what happened at or after this date\/time, e\.g\. 2026-11-22/);
});

test('config.example.ts copied to any folder loads; "not set" values stay unset; ts, js, json, a bad file and a bad value', async () => {
  const dir = tempDir('btda-config-');
  const copy = join(dir, 'my-config.ts');
  copyFileSync(EXAMPLE, copy);
  const fromCopy = await resolveConfig({ config: copy });
  assert.deepEqual(fromCopy, { ...defaultConfig }, 'the example lists the defaults');
  assert.equal(fromCopy.setLabel, undefined);
  assert.equal(fromCopy.peersFile, undefined);
  // as the first line of the example says: from its own folder, through the real CLI
  const r = await runCli(['torrents', '--config', 'my-config.ts', '--db', join(dir, 'x.sqlite')], { cwd: dir });
  assert.equal(r.code, 1, 'the database does not exist yet, so the config loaded');
  assert.match(r.stderr, /cannot open database .*x\.sqlite: no such file/);

  writeFileSync(join(dir, 'c.js'), "export default { active: 7, timeout: '2s' };\n");
  writeFileSync(join(dir, 'c.mjs'), 'export default { numwant: 9 };\n');
  writeFileSync(join(dir, 'c.json'), '{ "pex": false, "setLabel": "B" }');
  assert.deepEqual(
    [(await resolveConfig({ config: join(dir, 'c.js') })).active, (await resolveConfig({ config: join(dir, 'c.js') })).timeout],
    [7, 2],
  );
  assert.equal((await resolveConfig({ config: join(dir, 'c.mjs') })).numwant, 9);
  const json = await resolveConfig({ config: join(dir, 'c.json'), set: 'A' });
  assert.equal(json.pex, false);
  assert.equal(json.setLabel, 'A', 'a flag wins over the file');

  writeFileSync(join(dir, 'broken.ts'), 'export default { active: ;\n');
  writeFileSync(join(dir, 'badvalue.ts'), "export default { threshold: 'most' };\n");
  writeFileSync(join(dir, 'unknown.json'), '{ "actve": 5 }');
  for (const [file, want] of [
    ['broken.ts', /--config: cannot load broken\.ts/],
    ['badvalue.ts', /badvalue\.ts: threshold: expected a share/],
    ['unknown.json', /unknown setting "actve"/],
    ['missing.ts', /--config: no such file missing\.ts/],
  ] as const) {
    const bad = await runCli(['torrents', '--config', file, '--db', join(dir, 'x.sqlite')], { cwd: dir });
    assert.equal(bad.code, 2, `${file}: ${bad.stderr}`);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
    assert.match(bad.stderr, want);
  }
});

test('an unknown command is an error listing the commands, not a crawl; no command still means run', async () => {
  const dir = tempDir('btda-typo-');
  const db = join(dir, 'x.sqlite');
  // the list in the message is the list `btda --help` shows, in its order (explain, merge, ... included)
  const help = (await runCli(['--help'])).stdout;
  const helpCommands = [...help.slice(help.indexOf('Commands:'), help.indexOf('Options:')).matchAll(/^ {2}btda (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual(helpCommands, [...COMMANDS]);
  assert.ok(COMMANDS.includes('explain') && COMMANDS.includes('merge'));
  for (const args of [['bogus-command', '--db', db], ['reprot', '--db', db], ['explian', '--db', db], ['run', 'extra', '--db', db]]) {
    const r = await runCli(args, { cwd: dir, timeoutMs: 15_000 });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    if (args[0] !== 'run') assert.ok(r.stderr.includes(`unknown command "${args[0]}"; the commands are ${helpCommands.join(', ')} (btda --help)`), r.stderr);
    else assert.match(r.stderr, /unexpected argument "extra" after run/);
    assert.equal(existsSync(db), false, 'nothing was started');
  }
  const run = await runCli(['--active', '512', ...quickRun(dir)]);
  assert.equal(run.code, 0, run.stderr);
  // nothing to measure is said, once, not left to an idle crawl
  assert.equal(run.stderr.split('\n').filter((l) => l.includes(' warn no torrents to measure: import some with btda add')).length, 1, run.stderr);
  const sqlite = new Sqlite(join(dir, 'btda.sqlite'), { readonly: true });
  assert.equal((sqlite.prepare('SELECT count(*) AS n FROM runs').get() as { n: number }).n, 1);
  sqlite.close();
});

test('a bad choice or a missing value is one line and exit 2; explain names a missing database as report does', async () => {
  const dir = tempDir('btda-usage-');
  for (const args of [['report', '--format', 'pdf'], ['explain', '--class', 'most'], ['report', '--format'], ['export', '--out', dir, '--format'], ['merge', 'a.sqlite', '-o']]) {
    const r = await runCli([...args, '--db', join(dir, 'x.sqlite')], { cwd: dir });
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^btda: (Invalid values: Argument: \w+, Given: "\w+", Choices: |Not enough arguments following: )/);
  }
  for (const command of ['report', 'explain', 'export']) {
    const extra = command === 'export' ? ['--format', 'csv', '--out', join(dir, 'out')] : [];
    const r = await runCli([command, '--db', join(dir, 'typo.sqlite'), ...extra], { cwd: dir });
    assert.equal(r.code, 1, `${command}: ${r.stderr}`);
    assert.equal(r.stderr, `btda: cannot open database ${join(dir, 'typo.sqlite')}: no such file (btda add or btda run creates one)\n`);
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing created');
  // add and merge without inputs say what to name; a path that does not exist says so
  const add = await runCli(['add', '--db', join(dir, 'x.sqlite')], { cwd: dir });
  assert.equal(add.code, 2);
  assert.equal(add.stderr, 'btda: add: name the .torrent files, folders, magnet links or files of magnet links to import (btda add --help)\n');
  const merge = await runCli(['merge', '-o', join(dir, 'o.sqlite')], { cwd: dir });
  assert.equal(merge.code, 2);
  assert.match(merge.stderr, /^btda: merge: name the databases to merge \(btda merge A\.sqlite B\.sqlite \.\.\. -o OUT\.sqlite\)\n$/);
  assert.deepEqual(readdirSync(dir), [], 'nothing created');
  const missing = await runCli(['add', 'no-such.torrent', '--db', join(dir, 'x.sqlite')], { cwd: dir });
  assert.equal(missing.code, 1);
  assert.equal(missing.stdout, 'error: no-such.torrent: no such file or folder\n');
});

test('--db with a URL: run takes postgres:// (an unreachable server is one line, exit 1); other URLs and other commands get one line and exit 2; no folder named "postgres:"', async () => {
  const dir = tempDir('btda-url-');
  // port 1 on loopback: nothing listens there
  const r = await runCli(['--db', 'postgres://btda:secret@127.0.0.1:1/btda', '--duration', '1ms'], { cwd: dir });
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /cannot open database postgres:\/\/btda:\*\*\*@127\.0\.0\.1:1\/btda: .*ECONNREFUSED/);
  assert.doesNotMatch(r.stderr, /secret/, 'the password is not echoed');
  assert.deepEqual(readdirSync(dir), []);
  const other = await runCli(['--db', 'mysql://btda@127.0.0.1/btda', '--duration', '1ms'], { cwd: dir });
  assert.equal(other.code, 2);
  assert.match(other.stderr, /--db: mysql URLs are not supported/);
  const report = await runCli(['torrents', '--db', 'postgres://btda:secret@127.0.0.1:1/btda'], { cwd: dir });
  assert.equal(report.code, 2);
  assert.match(report.stderr, /--db: postgres URLs are not supported by this command yet/);
  assert.doesNotMatch(report.stderr, /secret/);
  const demo = await runCli(['demo', '--db', 'postgres://btda:secret@127.0.0.1:1/btda'], { cwd: dir });
  assert.equal(demo.code, 2);
  assert.equal(demo.stderr, 'btda: --db: the demo writes a SQLite file; postgres URLs are not supported (--db path/to/demo.sqlite)\n');
  const merge = await runCli(['merge', 'postgres://btda:secret@127.0.0.1:1/btda', 'b.sqlite', '-o', 'out.sqlite'], { cwd: dir });
  assert.equal(merge.code, 2);
  assert.match(merge.stderr, /^btda: merge: postgres:\/\/btda:\*\*\*@127\.0\.0\.1:1\/btda: the inputs are SQLite files written by btda/);
  assert.deepEqual(readdirSync(dir), []);
});

test('every setting has its flag in the README table (with the default --help shows) and in config.example.ts', async () => {
  const { readFileSync } = await import('node:fs');
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const example = readFileSync(EXAMPLE, 'utf8');
  const help = yargsOptions() as Record<string, { default?: unknown; defaultDescription?: string }>;
  for (const s of SETTINGS) {
    assert.match(readme, new RegExp(`^\\| \`--${s.flag}[ \`,]`, 'm'), `README lacks --${s.flag}`);
    assert.ok(example.includes(`[--${s.flag}`), `config.example.ts lacks --${s.flag}`);
    // the README's default is the one --help shows (switches as on/off; the bootstrap list is named, not spelt)
    const row = readme.split('\n').find((l) => new RegExp(`^\\| \`--${s.flag}[ \`,]`).test(l))!;
    const readmeDefault = row.split(/(?<!\\)\|/)[2].trim().replaceAll('`', '');
    const o = help[s.flag];
    const shown = o.defaultDescription ?? (o.default === undefined ? '' : String(o.default));
    if (shown === '' || s.flag === 'dht-bootstrap') continue;
    assert.equal(readmeDefault, shown === 'false' ? 'off' : shown === 'true' ? 'on' : shown, `README default of --${s.flag}`);
  }
});
