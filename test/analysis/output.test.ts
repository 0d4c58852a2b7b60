// Every report format produces what it promises: JSON keeps the contract keys, text is readable tables, CSV is
// one file per table with a header, HTML is one self-contained page with the figures inline.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { csvField, csvLine } from '../../src/analysis/csv.ts';
import { writeCsvTables, writeHtmlReport } from '../../src/analysis/output.ts';
import { renderFigures, speedText } from '../../src/analysis/plots.ts';
import { buildReport, type Report } from '../../src/analysis/report.ts';
import { buildSeries, type Series } from '../../src/analysis/series.ts';
import { hoursText, reportTables } from '../../src/analysis/tables.ts';
import { textWidth } from '../../src/analysis/text-width.ts';
import { reportText } from '../../src/cli/commands/report.ts';
import { Database } from '../../src/store/database.ts';
import { buildFixture, HASH_A, HASH_C, T0 } from './fixture.ts';
import { parseCsv } from './parse-csv.ts';
import { tempDir } from '../helpers/temp-dir.ts';

let report: Report;
let series: Series;
before(async () => {
  const { path } = await buildFixture();
  const db = Database.open(path, { readonly: true });
  report = await buildReport(db, { now: new Date(T0) });
  series = await buildSeries(db, report);
  db.close();
});

test('the JSON contract: these keys stay', () => {
  const json = JSON.parse(JSON.stringify(report));
  for (const key of ['generatedAt', 'window', 'torrents', 'sets', 'sources', 'outcomes', 'clients', 'countries', 'speeds', 'watch']) {
    assert.ok(key in json, key);
  }
  assert.deepEqual(Object.keys(json.window).slice(0, 2), ['since', 'until']);
  for (const t of json.torrents) {
    for (const key of ['infoHash', 'name', 'set', 'pieces', 'confirmed', 'reportedDownloaded', 'uniquePeers']) assert.ok(key in t, key);
  }
});

test('text: one readable table per section, numbers formatted', () => {
  const text = reportText(report, reportTables(report));
  for (const title of ['thesis table 5.6', 'thesis table 5.5', 'thesis table 5.7', 'Clients', 'Countries', 'Download speed distribution', 'Runs']) {
    assert.ok(text.includes(title), title);
  }
  assert.match(text, /^A\s+2\s+3\s+5\s+0\.60\s+5\s+5\s+7\s+5$/m); // set A
  assert.match(text, /^http\s+4\s+1\s+55\s+3\s+5\.5%\s+3\s+1\.0\s+3\s+52$/m);
  assert.match(text, /^first\s+success\s+5\s+50\.0%$/m);
  assert.match(text, /^cccccccccccc\s+gamma, "the third"\s+B\s+200\s+0\s+-\s+-/m);
  assert.match(text, /^2\s+512 B\/s\s+543 B\/s/m); // speeds
  assert.ok(text.includes('The watch per run'));
  assert.match(text, /^1\s+7\s+4\s+2\s+3\s+95$/m); // the watch of run 1: its last statistics row
  assert.ok(!text.includes('speed histogram'), 'csv-only tables stay out of the text');
});

test('csv: one file per table, a header row, quoting that round-trips', () => {
  const dir = tempDir('btda-csv-');
  const paths = writeCsvTables(reportTables(report), dir);
  const names = ['torrents-measured', 'sets', 'torrents', 'classes', 'trackers', 'sources', 'outcomes', 'clients', 'countries', 'country-speeds', 'networks',
    'speeds', 'speed-histogram', 'watch', 'runs'];
  assert.deepEqual(paths.map((p) => p.slice(dir.length + 1)), names.map((n) => `${n}.csv`));
  const read = (name: string) => parseCsv(readFileSync(join(dir, `${name}.csv`), 'utf8'));
  const torrents = read('torrents');
  assert.deepEqual(torrents[0].slice(0, 7), ['infoHash', 'name', 'set', 'pieces', 'confirmed', 'reportedDownloaded', 'ratio']);
  assert.deepEqual(torrents[3].slice(0, 7), [HASH_C, 'gamma, "the third"', 'B', '200', '0', '', '']);
  assert.deepEqual(torrents[1].slice(4, 7), ['2', '5', '0.4']);
  assert.deepEqual(read('sources')[1], ['http', '4', '1', '55', '3', String(3 / 55), '3', '1', '3', '52']);
  assert.deepEqual(read('outcomes'), [
    ['event', 'reason', 'count', 'share'],
    ['first', 'success', '5', '0.5'], ['first', 'timeout', '3', '0.3'], ['first', 'refused', '2', '0.2'],
    ['later', 'success', '2', String(2 / 3)], ['later', 'timeout', '1', String(1 / 3)],
    ['incoming', 'success', '1', '0.5'], ['incoming', 'unknown-info-hash', '1', '0.5'],
  ]);
  // table 5.4: size, pieces, swarm at the first and the latest scrape of the best tracker
  assert.deepEqual(read('torrents-measured')[1], [HASH_A, 'alpha', 'A', String(100 * 16_384), '100', '16384', '3', '4', '2', '1', 'http://tracker.one/announce']);
  // without a Geolocator (no network lookups) the networks table is empty; countries need 10 peers with a speed
  for (const n of names.filter((x) => x !== 'networks' && x !== 'country-speeds')) assert.ok(read(n).length >= 2, `${n} has rows`);
  assert.deepEqual(read('watch').slice(0, 2), [['run', 'watched', 'crossed', 'left', 'budgetFull', 'budgetFullSeconds'], ['1', '7', '4', '2', '3', '95']]);
  assert.deepEqual(read('networks'), [['asn', 'org', 'country', 'peers', 'share', 'evaluated', 'seeds', 'confirmed']]);
});

test('csv quoting', () => {
  assert.equal(csvLine(['a', 1, null, undefined, true, 'x,y', 'say "hi"', 'two\nlines', ' pad']), 'a,1,,,true,"x,y","say ""hi""","two\nlines"," pad"\n');
  assert.equal(csvField(0.25), '0.25');
  assert.deepEqual(parseCsv(csvLine(['a,"b"', '\r\n', ''])), [['a,"b"', '\r\n', '']]);
});

test('html: one self-contained page with the tables and the figures as inline SVG; SVG files next to it', async () => {
  const dir = tempDir('btda-html-');
  const figures = await renderFigures(report, series);
  assert.deepEqual(figures.map((f) => f.id), ['fig-5.1-longest-wait', 'fig-5.2-load', 'fig-5.3-addresses-per-source', 'fig-5.4-confirmed-vs-reported',
    'map-confirmed-by-country', 'contacts-over-time', 'outcomes-per-run', 'download-speeds']);
  const paths = writeHtmlReport(report, reportTables(report), figures, dir);
  assert.equal(paths[0], join(dir, 'report.html'));
  const html = readFileSync(paths[0], 'utf8');
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.equal(html.match(/<svg\b/g)?.length, 8);
  assert.ok(!/<script|<link|<img|<iframe|@import/i.test(html), 'nothing loaded from elsewhere');
  assert.ok(!/(src|href)="(?!#)/.test(html), 'links only within the page');
  assert.ok(!/url\((?!#)/.test(html));
  assert.ok(html.includes('gamma, &quot;the third&quot;'), 'names are escaped');
  assert.ok(html.includes('thesis table 5.5') && html.includes('thesis table 5.7') && html.includes('The watch per run'));
  const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(new Set(ids).size, ids.length, 'ids unique across the inlined figures');
  for (const f of figures) {
    const svg = readFileSync(join(dir, `${f.id}.svg`), 'utf8');
    assert.ok(svg.startsWith('<?xml') && svg.includes('<svg') && svg.includes('xmlns="http://www.w3.org/2000/svg"'), f.id);
  }
  // axes titled with their units
  const svgs = figures.map((f) => f.svg).join('\n');
  for (const title of ['time (UTC)', 'addresses', 'downloads (cumulative)', 'count per minute', 'share of contacts of the event',
    'highest download speed (bytes/s, log scale)', 'peers', 'confirmed downloads', 'queue (peers waiting)', 'memory (RSS, MB)', 'load average (1 min)',
    'contacts finished per second', 'in flight (open contacts)']) {
    assert.ok(svgs.includes(`>${title}<`), title);
  }
  for (const legend of ['confirmed', 'reported (scrape)', 'http', 'dht', 'udp', 'incoming', 'success', 'timeout', 'refused']) {
    assert.ok(svgs.includes(`>${legend}<`), legend);
  }
});

test('the figures\' series: buckets, cumulative downloads, contact rates, outcomes per run', () => {
  assert.equal(series.bucketSeconds, 300); // 4 h of runs → 5 min bins (at most 100)
  assert.deepEqual(series.span, { start: '2026-01-01T10:00:00.000Z', end: '2026-01-01T14:00:00.000Z' });
  const sum = (kind: string) => series.addresses.filter((a) => a.kind === kind).reduce((n, a) => n + (a.received ?? 0), 0);
  assert.deepEqual(['http', 'udp', 'dht', 'incoming'].map(sum), [55, 8, 14, 3]);
  // between the runs (T0+2h..T0+3h) nothing was measured: gaps, not zeros
  assert.ok(series.addresses.some((a) => a.received === null && a.from === '2026-01-01T12:30:00.000Z'));
  const last = (torrent: string, measure: string) => series.downloads.filter((d) => d.torrent === torrent && d.measure === measure).at(-1)?.count;
  assert.deepEqual([last('alpha', 'confirmed'), last('alpha', 'reported (scrape)'), last('beta', 'confirmed'), last('beta', 'reported (scrape)')], [2, 5, 1, 0]);
  // steps sit at the events: alpha's crossings at T0+30m05s (p1) and T0+1h (p3), then flat to the end of the span
  assert.deepEqual(series.downloads.filter((d) => d.torrent === 'alpha' && d.measure === 'confirmed').map((d) => [d.time, d.count, d.event]), [
    ['2026-01-01T10:00:00.000Z', 0, false], ['2026-01-01T10:30:05.000Z', 1, true], ['2026-01-01T11:00:00.000Z', 2, true], ['2026-01-01T14:00:00.000Z', 2, false],
  ]);
  // reported: highest − first at each scrape of the best tracker (100, 103, 105 at T0, T0+1h, T0+2h)
  assert.deepEqual(series.downloads.filter((d) => d.torrent === 'alpha' && d.measure === 'reported (scrape)').map((d) => [d.time, d.count]), [
    ['2026-01-01T10:00:00.000Z', 0], ['2026-01-01T11:00:00.000Z', 3], ['2026-01-01T12:00:00.000Z', 5], ['2026-01-01T14:00:00.000Z', 5],
  ]);
  // no time outside the measured span
  for (const d of series.downloads) assert.ok(d.time >= series.span.start && d.time <= series.span.end, d.time);
  for (const a of series.addresses) assert.ok(a.from >= series.span.start && a.to <= series.span.end, a.from);
  // fig 5.2: every statistics row gives queue, in flight, RSS, load; contacts/s from consecutive rows
  const load = (metric: string) => series.load.filter((l) => l.metric === metric).map((l) => [l.run, l.time, l.value]);
  assert.equal(load('queue (peers waiting)').length, 4);
  assert.deepEqual(load('contacts finished per second'), [
    [1, '2026-01-01T11:00:00.000Z', 8 / 3600], [1, '2026-01-01T12:00:00.000Z', 5 / 3600], [2, '2026-01-01T13:30:00.000Z', 1 / 1800], [2, '2026-01-01T14:00:00.000Z', 1 / 1800],
  ]);
  assert.deepEqual(load('memory (RSS, MB)').map((x) => x[2]), [80, 80, 80, 80]);
  assert.deepEqual(series.torrentOrder, ['alpha', 'beta']); // gamma has neither confirmed nor reported downloads
  const first = series.contacts.filter((c) => c.run === 1 && c.time === '2026-01-01T11:00:00.000Z');
  assert.deepEqual(first.map((c) => [c.series, c.perMinute]), [['contacts finished', 8 / 60], ['successful contacts', 5 / 60], ['inbound connections', 2 / 60]]);
  assert.equal(series.outcomes.filter((o) => o.run.startsWith('run 2')).reduce((n, o) => n + o.count, 0), 2);
});

test('units and text widths', () => {
  assert.deepEqual([0, 999, 1000, 12_345, 5_600_000].map(speedText), ['0 B/s', '999 B/s', '1.0 kB/s', '12.3 kB/s', '5.6 MB/s']);
  assert.equal(textWidth('i', 1000), 278);
  assert.ok(textWidth('WWW', 12, true) > textWidth('WWW', 12));
  // a one-minute demo is 0.017 measured hours, not "0.0" (its unique/h divides by it)
  assert.deepEqual([0, 1 / 60, 0.5, 1, 47.96].map(hoursText), ['0.0', '0.017', '0.50', '1.0', '48.0']);
});

test('an empty database still renders every format', async () => {
  const dir = tempDir('btda-empty-');
  const db = Database.open(join(dir, 'empty.sqlite'));
  const r = await buildReport(db);
  const figures = await renderFigures(r, await buildSeries(db, r));
  db.close();
  assert.equal(figures.length, 8);
  for (const f of figures) assert.ok(f.svg.includes('no '), f.id);
  writeHtmlReport(r, reportTables(r), figures, dir);
  assert.ok(existsSync(join(dir, 'report.html')));
  assert.ok(reportText(r, reportTables(r)).includes('(nothing in this window)'));
});
