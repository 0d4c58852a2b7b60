// The real `btda report` and `btda export` executables on a database with known contents.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { runCli } from '../helpers/run-cli.ts';
import { buildFixture, HASH_A } from './fixture.ts';
import { parseCsv } from './parse-csv.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let path: string;
before(async () => {
  path = (await buildFixture()).path;
});

test('btda report --format json: the contract on stdout, windowed and by set', async () => {
  const r = await runCli(['report', '--db', path, '--format', 'json', '--since', '2026-01-01T10:45', '--until', '2026-01-01T13:00Z', '--set', 'A']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  const json = JSON.parse(r.stdout);
  assert.deepEqual(json.window, { since: '2026-01-01T10:45:00.000Z', until: '2026-01-01T13:00:00.000Z', measuredHours: 1.25 });
  assert.equal(json.set, 'A');
  assert.deepEqual(json.torrents.map((t: { infoHash: string; confirmed: number; reportedDownloaded: number | null }) => [t.infoHash, t.confirmed, t.reportedDownloaded]),
    [[HASH_A, 1, 2], ['bb'.repeat(20), 0, null]]);
  assert.deepEqual(json.sets.map((s: { set: string; confirmed: number; reportedDownloaded: number; ratio: number }) => [s.set, s.confirmed, s.reportedDownloaded, s.ratio]), [['A', 1, 2, 0.5]]);
  for (const key of ['generatedAt', 'sources', 'outcomes', 'clients', 'countries', 'speeds']) assert.ok(key in json, key);
});

test('btda report: text to stdout; csv and html into --out (csv defaults to report/)', async () => {
  const text = await runCli(['report', '--db', path]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /== Confirmed vs reported downloads per torrent set \(thesis table 5\.6\) ==/);
  assert.match(text.stdout, /^A\s+2\s+3\s+5\s+0\.60/m);

  const cwd = tempDir('btda-report-cli-');
  const csv = await runCli(['report', '--db', path, '--format', 'csv'], { cwd });
  assert.equal(csv.code, 0, csv.stderr);
  assert.match(csv.stdout, /^wrote report\/sources\.csv$/m);
  assert.deepEqual(parseCsv(readFileSync(join(cwd, 'report', 'sets.csv'), 'utf8'))[0],
    ['set', 'torrents', 'confirmed', 'reportedDownloaded', 'ratio', 'uniquePeers', 'peersDiscovered', 'seeders', 'leechers']);

  const out = join(cwd, 'html');
  const html = await runCli(['report', '--db', path, '--format', 'html', '--out', out], { timeoutMs: 60_000 });
  assert.equal(html.code, 0, html.stderr);
  assert.equal(html.stderr, '', 'no vega warnings');
  assert.deepEqual(readdirSync(out).sort(), ['contacts-over-time.svg', 'download-speeds.svg', 'fig-5.1-longest-wait.svg', 'fig-5.2-load.svg',
    'fig-5.3-addresses-per-source.svg', 'fig-5.4-confirmed-vs-reported.svg', 'map-confirmed-by-country.svg', 'outcomes-per-run.svg', 'report.html']);
  assert.equal(readFileSync(join(out, 'report.html'), 'utf8').match(/<svg\b/g)?.length, 8);

  const json = await runCli(['report', '--db', path, '--format', 'json', '--out', join(cwd, 'j')]);
  assert.equal(json.code, 0, json.stderr);
  assert.ok(JSON.parse(readFileSync(join(cwd, 'j', 'report.json'), 'utf8')).torrents);
});

test('btda report: a bad --since is a usage error (2); a missing database fails (1) without creating it', async () => {
  const bad = await runCli(['report', '--db', path, '--since', 'last week']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr.trim(), /^btda: --since: /);
  const format = await runCli(['report', '--db', path, '--format', 'pdf']);
  assert.equal(format.code, 2);
  const dir = tempDir('btda-report-cli-');
  const missing = await runCli(['report', '--db', join(dir, 'nope.sqlite')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot open database/);
  assert.ok(!existsSync(join(dir, 'nope.sqlite')));
});

test('btda export --format csv --out DIR: every table with its row count', async () => {
  const out = join(tempDir('btda-export-cli-'), 'csv');
  const r = await runCli(['export', '--db', path, '--format', 'csv', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  for (const [table, rows] of [['runs', 2], ['torrents', 3], ['peers', 7], ['requests', 8], ['scrapes', 10], ['outcomes', 9], ['statistics', 4]] as const) {
    assert.match(r.stdout, new RegExp(`^wrote ${out}/${table}\\.csv: ${rows} rows, `, 'm'));
    assert.equal(parseCsv(readFileSync(join(out, `${table}.csv`), 'utf8')).length, rows + 1, table);
  }
  const usage = await runCli(['export', '--db', path, '--format', 'csv']);
  assert.equal(usage.code, 2, 'missing --out');
});

test('a database of an older btda (no contact_waits, no peers.encrypted) still reports and exports, unchanged', async () => {
  const { path: old } = await buildFixture();
  const sqlite = new Sqlite(old);
  sqlite.exec('DROP TABLE contact_waits; ALTER TABLE peers DROP COLUMN encrypted;');
  sqlite.close();
  const json = await runCli(['report', '--db', old, '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  assert.ok(JSON.parse(json.stdout).clients.every((c: { encrypted: number }) => c.encrypted === 0));
  const html = await runCli(['report', '--db', old, '--format', 'html', '--out', join(tempDir('btda-old-'), 'r')]);
  assert.equal(html.code, 0, html.stderr);
  const exported = await runCli(['export', '--db', old, '--format', 'csv', '--out', tempDir('btda-old-export-')]);
  assert.equal(exported.code, 0, exported.stderr);
  // read-only: the report did not migrate the file
  const check = new Sqlite(old, { readonly: true });
  assert.equal((check.prepare("SELECT count(*) n FROM pragma_table_info('peers') WHERE name = 'encrypted'").get() as { n: number }).n, 0);
  check.close();
});
