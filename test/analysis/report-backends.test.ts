// One query layer, two backends (issue 15): the same crawl data in SQLite and, copied row for row, in a real
// PostgreSQL on loopback gives the same report (JSON and text), the same figures' series, the same export
// files and the same evidence, for the whole database, a window and a set; `btda report --db postgres://...`
// prints what `--db file.sqlite` prints.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { exportTables } from '../../src/analysis/export.ts';
import { buildReport, type ReportOptions } from '../../src/analysis/report.ts';
import { buildSeries } from '../../src/analysis/series.ts';
import { reportTables } from '../../src/analysis/tables.ts';
import { reportText } from '../../src/cli/commands/report.ts';
import { openReader } from '../../src/cli/open-database.ts';
import { ConfigError, resolveConfig } from '../../src/cli/options.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { readEvidence } from '../../src/store/queries/evidence.ts';
import { PgReader, SqliteReader, type Reader } from '../../src/store/queries/reader.ts';
import { copySqliteToPg } from '../helpers/pg-copy.ts';
import { postgresSkipReason, startPostgres, type PgServer } from '../helpers/postgres.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { build48hFixture, END } from './fixture-48h.ts';
import { buildCrawlFixture } from './fixture-crawl.ts';
import { buildFixture, GEO, HOUR, iso, T0 } from './fixture.ts';

const skip = postgresSkipReason();
let server: PgServer | undefined;
interface Pair {
  sqlitePath: string;
  url: string;
  sqlite: Reader;
  pg: Reader;
}
const pairs: Record<'small' | 'day2' | 'crawl', Pair> = {} as Record<'small' | 'day2' | 'crawl', Pair>;

/**
 * A database that sorts text by a language's rules (ICU en-US) where the server has ICU, as many servers do:
 * the report must not depend on the collation (SQLite compares bytes).
 */
async function createDatabase(name: string, icu: boolean): Promise<string> {
  if (!icu) return server!.createDatabase(name);
  const c = new pg.Client({ connectionString: server!.url() });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`);
  } catch {
    await c.query(`CREATE DATABASE ${name}`); // a server built without ICU
  } finally {
    await c.end();
  }
  return server!.url(name);
}

async function pairOf(name: string, sqlitePath: string, icu = false): Promise<Pair> {
  const url = await createDatabase(name, icu);
  const store = await PgStore.open(url);
  try {
    const copied = await copySqliteToPg(sqlitePath, store.pool);
    assert.ok(copied.peers > 0 && copied.observations > 0 && copied.scrapes > 0, JSON.stringify(copied));
  } finally {
    await store.close();
  }
  return { sqlitePath, url, sqlite: new SqliteReader(Database.open(sqlitePath, { readonly: true })), pg: await PgReader.open(url) };
}

before(async () => {
  if (skip) return;
  server = await startPostgres();
  pairs.small = await pairOf('small', (await buildFixture()).path, true);
  pairs.day2 = await pairOf('day2', (await build48hFixture()).path);
  pairs.crawl = await pairOf('crawl', (await buildCrawlFixture()).path);
});
after(async () => {
  for (const p of Object.values(pairs)) await Promise.all([p.sqlite.close(), p.pg.close()]);
  await server?.stop();
});

/** The report's JSON as it is written (undefined keys dropped, numbers as text would show them). */
const json = (x: unknown) => JSON.parse(JSON.stringify(x)) as unknown;

async function sameReport(pair: Pair, options: ReportOptions): Promise<void> {
  const opts = { now: new Date(T0), ...options };
  const a = await buildReport(pair.sqlite, opts);
  const b = await buildReport(pair.pg, opts);
  assert.deepEqual(json(b), json(a));
  assert.equal(reportText(b, reportTables(b)), reportText(a, reportTables(a)));
  assert.deepEqual(json(await buildSeries(pair.pg, b, opts)), json(await buildSeries(pair.sqlite, a, opts)));
}

test('the report is identical in content from SQLite and PostgreSQL: whole database, a window, a set, with lookups', { skip }, async () => {
  const geo = await Geolocator.open(GEO, { networks: true });
  const now = new Date(T0 + 10 * HOUR);
  const a = await buildReport(pairs.small.pg, { now, geo });
  // not an empty report that happens to match: the fixture's counts are there
  assert.deepEqual(a.torrents.map((t) => t.confirmed), [2, 1, 0]);
  assert.ok(a.sources.length >= 4 && a.outcomes.length > 0 && a.clients.length > 0 && a.watch.length > 0);
  await sameReport(pairs.small, { now, geo });
  await sameReport(pairs.small, { now });
  await sameReport(pairs.small, { now, window: { since: iso(T0 + 45 * 60_000), until: iso(T0 + 3 * HOUR) } });
  await sameReport(pairs.small, { now, setLabel: 'B' });
  await sameReport(pairs.small, { now, window: { since: '2020-01-01T00:00:00.000Z', until: '2020-01-02T00:00:00.000Z' } });
});

test('48 hours of crawl data: the same report, series and figures data from both backends', { skip }, async () => {
  const geo = await Geolocator.open('', { networks: true });
  const now = new Date(END);
  const r = await buildReport(pairs.day2.pg, { now, geo });
  assert.ok(r.speeds.peers > 0 && r.countries.length > 0 && r.window.measuredHours > 47, JSON.stringify(r.window));
  await sameReport(pairs.day2, { now, geo });
  await sameReport(pairs.day2, { now, window: { since: new Date(END - 24 * HOUR).toISOString(), until: null } });
});

test('a real crawl on loopback (tracker, scripted peers, peers file): the same report from both backends', { skip }, async () => {
  const geo = await Geolocator.open('', { networks: true });
  const r = await buildReport(pairs.crawl.pg, { geo });
  assert.equal(r.torrents[0].confirmed, 2, JSON.stringify(r.torrents[0]));
  assert.ok(r.torrents[0].bestTracker !== null || r.torrents[0].seeders !== null, 'scrapes of the real tracker');
  assert.ok(r.sources.some((x) => x.kind === 'http') && r.sources.some((x) => x.kind === 'file'), JSON.stringify(r.sources));
  await sameReport(pairs.crawl, { geo });
  const mid = r.runs[0].startedAt.replace(/\.\d+Z$/, 'Z');
  await sameReport(pairs.crawl, { window: { since: mid, until: null }, setLabel: 'crawl' });
});

test('export writes the same files from both backends; explain shows the same evidence', { skip }, async () => {
  for (const pair of Object.values(pairs)) {
    const dir = tempDir('btda-backends-export-');
    for (const format of ['csv', 'jsonl'] as const) {
      const a = await exportTables(pair.sqlite, format, join(dir, `sqlite-${format}`));
      const b = await exportTables(pair.pg, format, join(dir, `pg-${format}`));
      assert.deepEqual(b.map((f) => [f.table, f.rows]), a.map((f) => [f.table, f.rows]));
      for (let i = 0; i < a.length; i++) assert.equal(readFileSync(b[i].path, 'utf8'), readFileSync(a[i].path, 'utf8'), `${format} ${a[i].table}`);
    }
    for (const q of [{ crossingClass: null }, { crossingClass: 'confirmed' }, { rows: [1, 3, 2, 999] }]) {
      const a = await readEvidence(pair.sqlite, q);
      assert.ok(a.length > 0 && a.some((s) => s.observations.length > 0));
      assert.deepEqual(await readEvidence(pair.pg, q), a);
    }
  }
});

test('btda report, export and explain --db postgres://... print what --db file.sqlite prints', { skip }, async () => {
  const { sqlitePath, url } = pairs.small;
  const args = ['--since', iso(T0), '--until', iso(T0 + 10 * HOUR)];
  const fromFile = await runCli(['report', '--db', sqlitePath, '--format', 'json', ...args]);
  const fromPg = await runCli(['report', '--db', url, '--format', 'json', ...args]);
  assert.equal(fromPg.code, 0, fromPg.stderr);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  const strip = (s: string) => ({ ...JSON.parse(s), generatedAt: null });
  assert.deepEqual(strip(fromPg.stdout), strip(fromFile.stdout));
  const explained = await runCli(['explain', '--db', url, '--format', 'json']);
  assert.equal(explained.code, 0, explained.stderr);
  assert.equal(explained.stdout, (await runCli(['explain', '--db', sqlitePath, '--format', 'json'])).stdout);
  const out = tempDir('btda-backends-cli-');
  const exported = await runCli(['export', '--db', url, '--format', 'csv', '--out', out]);
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stdout, /wrote .*peers\.csv: 7 rows/);
  // an analyst's role that may only read: the report needs no more (no migrations, read-only transactions)
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query('CREATE ROLE analyst LOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst');
  } finally {
    await admin.end();
  }
  const asAnalyst = await runCli(['report', '--db', url.replace('btda@', 'analyst@'), '--format', 'json', ...args]);
  assert.equal(asAnalyst.code, 0, asAnalyst.stderr);
  assert.deepEqual(strip(asAnalyst.stdout), strip(fromFile.stdout));
  // a PostgreSQL database that is not btda's: one line, nothing created in it
  const empty = await server!.createDatabase('not_btda');
  await assert.rejects(openReader(empty), /not_btda is not a btda database \(it has no runs and torrents tables\)/);
  // the commands that read PostgreSQL accept its URL; the others still refuse it with one line
  assert.equal((await resolveConfig({ db: url }, { postgres: true })).db, url);
  await assert.rejects(resolveConfig({ db: url }), ConfigError);
});
