// The report at the scale of a real crawl: a synthetic 48-hour database (fixture-48h.ts) with public addresses
// located by the built-in databases. Every expectation is derived from the fixture's plan.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeCsvTables, writeHtmlReport } from '../../src/analysis/output.ts';
import { mapData, renderFigures, timeTicks } from '../../src/analysis/plots.ts';
import { buildReport, quantile, type Report } from '../../src/analysis/report.ts';
import { buildSeries, type Series } from '../../src/analysis/series.ts';
import { reportTables } from '../../src/analysis/tables.ts';
import { reportText } from '../../src/cli/commands/report.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { build48hFixture, END, FLAPPING, HOUR, PLAN, STEADY, T0 } from './fixture-48h.ts';
import { parseCsv } from './parse-csv.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let report: Report;
let series: Series;
before(async () => {
  const { path } = await build48hFixture();
  const db = Database.open(path, { readonly: true });
  report = await buildReport(db, { now: new Date(END), geo: await Geolocator.open('', { networks: true }) });
  series = await buildSeries(db, report);
  db.close();
});

const near = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
const byCountry = (pred: (p: (typeof PLAN)[number]) => boolean) => {
  const m = new Map<string, number>();
  for (const p of PLAN) if (pred(p)) m.set(p.country ?? 'unknown', (m.get(p.country ?? 'unknown') ?? 0) + 1);
  return m;
};

test('48 h: countries out of the box, with names; the report names the databases and their dates', () => {
  assert.match(report.databases.country!.name, /@ip-location-db\/geo-whois-asn-country-mmdb/);
  assert.match(report.databases.country!.date!, /^\d{4}-\d{2}-\d{2}$/);
  assert.match(report.databases.network!.name, /@ip-location-db\/asn/);
  assert.equal(report.databases.network!.licence, 'CC BY 4.0');
  const expected = [...byCountry(() => true).entries()].sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  assert.deepEqual(report.countries.map((c) => [c.country, c.peers]), expected);
  assert.equal(report.countries.find((c) => c.country === 'DE')!.name, 'Germany');
  const confirmed = byCountry((p) => p.confirmed);
  for (const c of report.countries) assert.equal(c.confirmed, confirmed.get(c.country) ?? 0, c.country);
  assert.deepEqual(report.confirmedByCountry, Object.fromEntries(confirmed));
});

test('48 h: speed per country only where at least 10 peers have a speed; median, mean, deviation', () => {
  const speeds = new Map<string, number[]>();
  for (const p of PLAN) if (p.speed !== null && p.country) speeds.set(p.country, [...(speeds.get(p.country) ?? []), p.speed]);
  const eligible = [...speeds.entries()].filter(([, v]) => v.length >= 10).map(([c]) => c).sort();
  assert.deepEqual(eligible, ['DE', 'US']); // JP (4), GB (no second contact) and NL (seedboxes: no progress, no speed) are left out
  assert.deepEqual(report.countrySpeeds.map((c) => c.country).sort(), eligible);
  for (const c of report.countrySpeeds) {
    const v = speeds.get(c.country)!.sort((a, b) => a - b);
    const mean = v.reduce((s, x) => s + x, 0) / v.length;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1));
    assert.equal(c.peers, v.length);
    // the store measures time with julianday(): exact to about a millisecond
    for (const [got, want] of [[c.median, quantile(v, 0.5)!], [c.mean, mean], [c.stddev, sd], [c.min, v[0]], [c.max, v.at(-1)!]]) {
      assert.ok(Math.abs(got - want) / want < 1e-5, `${c.country}: ${got} vs ${want}`);
    }
  }
  // fastest median first
  for (let i = 1; i < report.countrySpeeds.length; i++) assert.ok(report.countrySpeeds[i - 1].median >= report.countrySpeeds[i].median);
});

test('48 h: networks: peers, seeds and confirmed downloads per autonomous system; seedbox hosts stand out', () => {
  const rows = new Map(report.networks.map((n) => [n.asn, n]));
  for (const asn of [24940, 200052, 7922, 17676, 20712, null]) {
    const mine = PLAN.filter((p) => p.asn === asn);
    const n = rows.get(asn)!;
    assert.ok(n, `AS${asn}`);
    assert.equal(n.peers, mine.length, `AS${asn} peers`);
    assert.equal(n.seeds, mine.filter((p) => p.seed).length, `AS${asn} seeds`);
    assert.equal(n.confirmed, mine.filter((p) => p.confirmed).length, `AS${asn} confirmed`);
  }
  assert.deepEqual([rows.get(24940)!.org, rows.get(24940)!.country], ['Hetzner Online GmbH', 'DE']);
  assert.deepEqual([rows.get(200052)!.org, rows.get(200052)!.country], ['Feral.io Ltd', 'NL']);
  // the seedbox provider: every peer a seed, not one confirmed download; the access ISP: its peers' downloads
  assert.deepEqual([rows.get(200052)!.seeds, rows.get(200052)!.confirmed], [10, 0]);
  assert.ok(rows.get(7922)!.confirmed === rows.get(7922)!.peers);
  assert.equal(rows.get(null)!.org, null);
  assert.deepEqual(report.networks.map((n) => n.peers), [...report.networks.map((n) => n.peers)].sort((a, b) => b - a));
});

test('48 h: table 5.4 and reported downloads: highest − first per tracker; a flapping tracker adds nothing', () => {
  const x = report.torrents[0];
  assert.deepEqual([x.name, x.set, x.pieces, x.pieceSize, x.totalSize], ['xray', 'S', 400, 262_144, 400 * 262_144]);
  // 96 scrapes per tracker; steady: downloaded 500 + floor(n/2) → highest − first = 47; flapping 1000/990 → 0
  const steady = x.trackers.find((t) => t.tracker === STEADY)!;
  const flapping = x.trackers.find((t) => t.tracker === FLAPPING)!;
  assert.deepEqual([steady.scrapes, steady.growth, flapping.scrapes, flapping.growth, flapping.maxDownloaded], [96, 47, 96, 0, 1000]);
  assert.equal(x.bestTracker, STEADY);
  assert.equal(x.reportedDownloaded, 47);
  // the swarm at the first and the latest scrape of the best tracker
  assert.deepEqual([x.swarmTracker, x.seedersStart, x.leechersStart, x.seedersEnd, x.leechersEnd], [STEADY, 10, 40, 10 + 47, 40 - 19]);
  assert.equal(x.confirmed, PLAN.filter((p) => p.torrent === 'X' && p.confirmed).length);
});

test('48 h: series: 30-minute bins over exactly the 48 hours; steps at event times; load from every statistics row', () => {
  assert.deepEqual(series.span, { start: new Date(T0).toISOString(), end: new Date(END).toISOString() });
  // at most 100 bins; 15-minute bins would alternate with the half-hourly announces: a barcode of empty bins
  assert.equal(series.bucketSeconds, 1800);
  assert.deepEqual(timeTicks(48 * HOUR), { tickCount: { interval: 'hours', step: 6 }, format: '%b %d %H:%M' });
  for (const kind of ['http', 'udp', 'dht']) {
    const bins = series.addresses.filter((a) => a.kind === kind);
    assert.equal(bins.length, 96, kind);
    assert.ok(bins.every((b) => (b.received ?? 0) > 0), `${kind}: no empty bin between announces`);
    assert.equal(bins.reduce((s, b) => s + (b.received ?? 0), 0), 96 * 2 * (kind === 'dht' ? 20 : 50), kind);
  }
  assert.equal(series.addresses[0].from, series.span.start);
  assert.equal(series.addresses.at(-1)!.to, series.span.end);
  const crossings = PLAN.filter((p) => p.torrent === 'X' && p.confirmed).map((p) => new Date(p.secondAt!).toISOString()).sort();
  const steps = series.downloads.filter((d) => d.torrent === 'xray' && d.measure === 'confirmed' && d.event);
  assert.deepEqual(steps.map((d) => d.time), crossings);
  assert.deepEqual(steps.map((d) => d.count), crossings.map((_, i) => i + 1));
  for (const metric of ['queue (peers waiting)', 'in flight (open contacts)', 'memory (RSS, MB)', 'load average (1 min)', 'contacts finished per second']) {
    assert.equal(series.load.filter((l) => l.metric === metric).length, 576, metric);
  }
  assert.ok(series.load.filter((l) => l.metric === 'contacts finished per second').every((l) => near(l.value, 12 / 300)));
});

test('48 h: every format carries the new tables; the HTML map colours the countries with downloads', async () => {
  const tables = reportTables(report);
  const text = reportText(report, tables);
  for (const title of ['Torrents measured (thesis table 5.4)', 'Download speed per country', 'Networks (thesis 4.4.3', 'Hetzner Online GmbH', 'AS24940',
    'Feral.io Ltd', 'Germany', 'country database: @ip-location-db/geo-whois-asn-country-mmdb']) assert.ok(text.includes(title), title);
  const dir = tempDir('btda-48h-out-');
  writeCsvTables(tables, dir);
  const networks = parseCsv(readFileSync(join(dir, 'networks.csv'), 'utf8'));
  assert.deepEqual(networks[0], ['asn', 'org', 'country', 'peers', 'share', 'evaluated', 'seeds', 'confirmed']);
  assert.ok(networks.some((r) => r[0] === 'AS7922' && r[1] === 'Comcast Cable Communications, LLC' && r[3] === '16'));
  const speeds = parseCsv(readFileSync(join(dir, 'country-speeds.csv'), 'utf8'));
  assert.deepEqual(speeds.slice(1).map((r) => r[0]).sort(), ['DE', 'US']);
  const json = JSON.parse(JSON.stringify(report));
  for (const key of ['databases', 'countrySpeeds', 'networks', 'confirmedByCountry']) assert.ok(key in json, key);

  const map = mapData(report);
  assert.deepEqual(map.shown.map((s) => s.code).sort(), [...byCountry((p) => p.confirmed).keys()].filter((c) => c !== 'unknown').sort());
  const figures = await renderFigures(report, series);
  const svgOf = (id: string) => figures.find((f) => f.id === id)!.svg;
  const mapSvg = svgOf('map-confirmed-by-country');
  // ~170 grey country shapes plus one coloured shape per country with downloads
  assert.ok((mapSvg.match(/<path/g) ?? []).length > 150);
  assert.ok(mapSvg.includes('>confirmed downloads<'));
  // fig 5.3's time axis: ticks every 6 hours, labelled with the date
  assert.ok(svgOf('fig-5.3-addresses-per-source').includes('>Mar 01 06:00<'));
  assert.ok(svgOf('fig-5.2-load').includes('>memory (RSS, MB)<'));
  // 0.04 contacts/s is labelled 0.04, not "40m" (an SI milli that reads as minutes)
  assert.ok(svgOf('fig-5.2-load').includes('>0.04<'));
  assert.ok(!/>\d+(\.\d+)?m</.test(svgOf('fig-5.2-load')), 'no SI milli on the load axes');
  // contacts finished and successful contacts coincide where every contact succeeds: the second line is dashed
  assert.ok(svgOf('contacts-over-time').includes('stroke-dasharray="6,3"'));
  const html = readFileSync(writeHtmlReport(report, tables, figures, dir)[0], 'utf8');
  assert.ok(html.includes('id="networks"') && html.includes('id="country-speeds"') && html.includes('id="torrents-measured"'));
  assert.ok(!/(src|href)="(?!#)/.test(html), 'links only within the page');
});
