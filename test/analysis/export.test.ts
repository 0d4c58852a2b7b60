// `btda export` writes every table, row for row, as CSV (header + proper quoting) or JSON Lines.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { EXPORT_TABLES, exportTables } from '../../src/analysis/export.ts';
import { Database } from '../../src/store/database.ts';
import { buildFixture, HASH_C } from './fixture.ts';
import { parseCsv } from './parse-csv.ts';
import { tempDir } from '../helpers/temp-dir.ts';

// the fixture's rows (see fixture.ts): 7 outcome rows in run 1 and 2 in run 2; p1, p3 and p5 confirmed in 3 different hours
const ROWS: Record<string, number> = {
  runs: 2, torrents: 3, peers: 7, requests: 8, scrapes: 10, outcomes: 9, contact_waits: 5, statistics: 4, confirmed_downloads: 3, hourly_confirmed: 3,
};

let path: string;
before(async () => {
  path = (await buildFixture()).path;
});

async function exportTo(format: 'csv' | 'jsonl') {
  const dir = tempDir(`btda-export-${format}-`);
  const db = Database.open(path, { readonly: true });
  try {
    return { dir, files: await exportTables(db, format, join(dir, 'out')) };
  } finally {
    db.close();
  }
}

test('csv: every table with a header row and all its rows; quoting round-trips', async () => {
  const { dir, files } = await exportTo('csv');
  assert.deepEqual(files.map((f) => [f.table, f.rows]), EXPORT_TABLES.map((t) => [t.name, ROWS[t.name]]));
  assert.deepEqual(readdirSync(join(dir, 'out')).sort(), EXPORT_TABLES.map((t) => `${t.name}.csv`).sort());
  const db = Database.open(path, { readonly: true });
  for (const f of files) {
    const rows = parseCsv(readFileSync(f.path, 'utf8'));
    const columns = (db.sqlite.prepare(`SELECT * FROM "${f.table}" LIMIT 0`).columns()).map((c) => c.name);
    assert.deepEqual(rows[0], columns, `${f.table} header`);
    assert.equal(rows.length - 1, ROWS[f.table], f.table);
    assert.ok(rows.every((r) => r.length === columns.length), `${f.table}: every row has every column`);
    assert.equal(f.bytes, readFileSync(f.path).length);
  }
  db.close();
  const torrents = parseCsv(readFileSync(join(dir, 'out', 'torrents.csv'), 'utf8'));
  const c = torrents.find((r) => r[1] === HASH_C)!;
  assert.equal(c[torrents[0].indexOf('name')], 'gamma, "the third"');
  assert.equal(c[torrents[0].indexOf('trackers')], '["http://tracker.one/announce","udp://tracker.two:6969"]');
  assert.equal(c[torrents[0].indexOf('info_hash_v2')], '', 'null is an empty field');
  const peers = parseCsv(readFileSync(join(dir, 'out', 'peers.csv'), 'utf8'));
  assert.deepEqual(peers.slice(1).map((r) => r[peers[0].indexOf('sources')]), ['http,dht', 'http', 'dht', 'udp', 'dht', 'incoming', 'http']);
});

test('jsonl: one object per row with the column names as keys, nulls kept', async () => {
  const { files } = await exportTo('jsonl');
  assert.deepEqual(files.map((f) => [f.table, f.rows]), EXPORT_TABLES.map((t) => [t.name, ROWS[t.name]]));
  for (const f of files) {
    const text = readFileSync(f.path, 'utf8');
    assert.ok(text.endsWith('\n'));
    const objects = text.trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(objects.length, ROWS[f.table]);
  }
  const outcomes = readFileSync(files.find((f) => f.table === 'outcomes')!.path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(outcomes[0], { run_id: 1, torrent_id: -1, event: 'incoming', reason: 'unknown-info-hash', count: 1 });
  const torrents = readFileSync(files.find((f) => f.table === 'torrents')!.path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.equal(torrents[2].name, 'gamma, "the third"');
  assert.equal(torrents[2].info_hash_v2, null);
  const hourly = readFileSync(files.find((f) => f.table === 'hourly_confirmed')!.path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(hourly.map((h) => [h.torrent_id, h.hour, h.confirmed]), [[1, '2026-01-01 10:00', 1], [1, '2026-01-01 11:00', 1], [2, '2026-01-01 13:00', 1]]);
});

test('an empty database exports header-only CSV files and empty JSON Lines files', async () => {
  const dir = tempDir('btda-export-empty-');
  const db = Database.open(join(dir, 'empty.sqlite'));
  const csv = await exportTables(db, 'csv', join(dir, 'csv'));
  const jsonl = await exportTables(db, 'jsonl', join(dir, 'jsonl'));
  db.close();
  for (const f of csv) {
    assert.equal(f.rows, 0);
    assert.equal(parseCsv(readFileSync(f.path, 'utf8')).length, 1, `${f.table}: the header`);
  }
  for (const f of jsonl) assert.equal(readFileSync(f.path, 'utf8'), '');
});

test('a large table streams through in chunks', async () => {
  const dir = tempDir('btda-export-big-');
  const db = Database.open(join(dir, 'big.sqlite'));
  const insert = db.sqlite.prepare(`INSERT INTO requests (run_id, torrent_id, kind, url, started_at, duration_ms, received, new, duplicates, error)
    VALUES (1, 1, 'http', ?, '2026-01-01T00:00:00.000Z', 1, 1, 0, 1, NULL)`);
  db.sqlite.transaction(() => {
    for (let i = 0; i < 20_000; i++) insert.run(`http://tracker/${i}?a=1,b="2"`);
  })();
  const files = await exportTables(db, 'csv', join(dir, 'out'));
  db.close();
  const requests = files.find((f) => f.table === 'requests')!;
  assert.equal(requests.rows, 20_000);
  assert.ok(requests.bytes > 64 * 1024 * 10, 'several chunks');
  const rows = parseCsv(readFileSync(requests.path, 'utf8'));
  assert.equal(rows.length, 20_001);
  assert.equal(rows[20_000][rows[0].indexOf('url')], 'http://tracker/19999?a=1,b="2"');
});
