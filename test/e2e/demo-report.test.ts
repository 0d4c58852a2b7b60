// `btda report` on the database a real `btda demo` wrote (loopback swarm, 20 s), through the real CLI, in every
// format: the tables and figures are there and say what the demo did; then the HTML page in headless Chromium
// (skipped without /usr/bin/chromium), where no table may be wider than a 1,400-px page.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { screenshotReport } from '../../scripts/screenshot-report.ts';
import { parseCsv } from '../analysis/parse-csv.ts';
import { runCli } from '../helpers/run-cli.ts';

const CHROMIUM = '/usr/bin/chromium';
const TABLES = ['torrents-measured', 'sets', 'torrents', 'classes', 'trackers', 'sources', 'outcomes', 'clients', 'countries',
  'country-speeds', 'networks', 'speeds', 'watch', 'runs'];
const FIGURES = ['fig-5.1-longest-wait', 'fig-5.2-load', 'fig-5.3-addresses-per-source', 'fig-5.4-confirmed-vs-reported',
  'map-confirmed-by-country', 'contacts-over-time', 'outcomes-per-run', 'download-speeds'];

let dir: string;
let db: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'btda-demo-report-'));
  db = join(dir, 'demo.sqlite');
  const r = await runCli(['demo', '--duration', '20', '--db', db], { timeoutMs: 80_000 });
  assert.equal(r.code, 0, r.stderr);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function report(...args: string[]): Promise<string> {
  const r = await runCli(['report', '--db', db, ...args], { timeoutMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('btda report on a demo database: JSON and text say what the demo did', { timeout: 120_000 }, async () => {
  const json = JSON.parse(await report('--format', 'json'));
  assert.equal(json.torrents.length, 1);
  const t = json.torrents[0];
  // src/cli/demo/plans.ts: six peers finish while reachable; 200 pieces
  assert.deepEqual([t.pieces, t.confirmed], [200, 6]);
  assert.ok(t.seedersStart !== null && t.seedersEnd !== null, 'table 5.4: the swarm at the first and the latest scrape');
  // loopback peers: no country, no network; fewer than 10 peers per country have a speed
  assert.deepEqual(json.countries.map((c: { country: string }) => c.country), ['unknown']);
  assert.deepEqual(json.networks.map((n: { asn: number | null }) => n.asn), [null]);
  assert.deepEqual(json.countrySpeeds, []);
  assert.equal(json.confirmedByCountry.unknown, 6);
  assert.match(json.databases.country.name, /@ip-location-db/);
  assert.match(json.databases.network.name, /@ip-location-db\/asn/);
  assert.ok(json.window.measuredHours > 0 && json.window.measuredHours < 0.02, `${json.window.measuredHours} h`);

  const text = await report();
  for (const title of ['Torrents measured (thesis table 5.4)', 'Download speed per country', 'Networks (thesis 4.4.3', 'Peer addresses per source']) {
    assert.ok(text.includes(title), title);
  }
  // a 20-second run is not "0.0 measured hours"
  assert.match(text, /\(0\.0\d{2,} measured hours in 1 run\)/);
});

test('btda report on a demo database: CSV tables and the HTML page with every figure', { timeout: 120_000 }, async () => {
  const csvDir = join(dir, 'csv');
  await report('--format', 'csv', '--out', csvDir);
  for (const name of TABLES) assert.ok(existsSync(join(csvDir, `${name}.csv`)), name);
  const measured = parseCsv(readFileSync(join(csvDir, 'torrents-measured.csv'), 'utf8'));
  assert.equal(measured.length, 2);
  assert.equal(measured[1][measured[0].indexOf('pieces')], '200');

  const htmlDir = join(dir, 'html');
  await report('--format', 'html', '--out', htmlDir);
  const html = readFileSync(join(htmlDir, 'report.html'), 'utf8');
  for (const id of [...TABLES.filter((n) => n !== 'speed-histogram'), ...FIGURES]) assert.ok(html.includes(`id="${id}"`), id);
  assert.deepEqual(readdirSync(htmlDir).filter((f) => f.endsWith('.svg')).sort(), FIGURES.map((f) => `${f}.svg`).sort());
  assert.ok(html.includes('6 confirmed downloads, none with a known country'), 'the map says why it is empty');
  const svg = (id: string) => readFileSync(join(htmlDir, `${id}.svg`), 'utf8');
  // fig 5.3: one panel per source that the demo used (trackers over http and udp, and PEX)
  for (const kind of ['http', 'udp', 'pex']) assert.ok(svg('fig-5.3-addresses-per-source').includes(`>${kind}<`), kind);
  assert.equal((svg('fig-5.3-addresses-per-source').match(/>addresses</g) ?? []).length, 3, 'one y axis per panel');
  // fig 5.1: the legend lists only events with data (the demo has no inbound contacts)
  assert.ok(!svg('fig-5.1-longest-wait').includes('>incoming<'));
  assert.ok(svg('fig-5.4-confirmed-vs-reported').includes('>reported (scrape)<'));
});

test('btda report on a demo database in headless Chromium: no table wider than 1,400 px', {
  timeout: 120_000, skip: existsSync(CHROMIUM) ? false : `no ${CHROMIUM}`,
}, async () => {
  const { written, cut } = await screenshotReport({ db, out: join(dir, 'shots'), width: 1400, chromiumPath: CHROMIUM });
  assert.deepEqual(cut, []);
  for (const id of [...FIGURES, 'torrents', 'report-top']) assert.ok(written.some((p) => p.endsWith(`/${id}.png`)), id);
});
