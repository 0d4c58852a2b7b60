// The report's numbers on a database with known contents (test/analysis/fixture.ts derives each of them).
import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { buildReport, quantile, ReportedDownloads, type Report } from '../../src/analysis/report.ts';
import { reportTables } from '../../src/analysis/tables.ts';
import { parseTime, parseWindow, WindowError } from '../../src/analysis/window.ts';
import { Database } from '../../src/store/database.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { buildFixture, HASH_A, HASH_B, HASH_C, HOUR, iso, MIN, T0, TRACKER1, TRACKER2 } from './fixture.ts';

let path: string;
before(async () => {
  path = (await buildFixture()).path;
});

async function report(opts: Parameters<typeof buildReport>[1] = {}): Promise<Report> {
  const db = Database.open(path, { readonly: true });
  try {
    return await buildReport(db, { now: new Date(T0 + 10 * HOUR), ...opts });
  } finally {
    db.close();
  }
}

const pick = <T extends object, K extends keyof T>(o: T, keys: K[]) => Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;

test('table 5.6 per torrent: confirmed by crossed_at, reported = growth of the best tracker, ratio, peers, scrape maxima', async () => {
  const r = await report();
  assert.equal(r.generatedAt, iso(T0 + 10 * HOUR));
  assert.deepEqual(r.window, { since: null, until: null, measuredHours: 3 });
  const keys = ['infoHash', 'name', 'set', 'pieces', 'thresholdPieces', 'confirmed', 'reportedDownloaded', 'bestTracker', 'reportedLatest',
    'ratio', 'uniquePeers', 'peersDiscovered', 'seeders', 'leechers'] as const;
  assert.deepEqual(r.torrents.map((t) => pick(t, [...keys])), [
    { infoHash: HASH_A, name: 'alpha', set: 'A', pieces: 100, thresholdPieces: 98, confirmed: 2, reportedDownloaded: 5, bestTracker: TRACKER1,
      reportedLatest: 105, ratio: 0.4, uniquePeers: 4, peersDiscovered: 4, seeders: 6, leechers: 4 },
    // 10 → 2 → 4: highest − first = 0 (what came after the reset is not counted: the rule errs on fewer)
    { infoHash: HASH_B, name: 'beta', set: 'A', pieces: 50, thresholdPieces: 49, confirmed: 1, reportedDownloaded: 0, bestTracker: TRACKER1,
      reportedLatest: 4, ratio: null, uniquePeers: 1, peersDiscovered: 1, seeders: 1, leechers: 1 },
    { infoHash: HASH_C, name: 'gamma, "the third"', set: 'B', pieces: 200, thresholdPieces: 196, confirmed: 0, reportedDownloaded: null,
      bestTracker: null, reportedLatest: null, ratio: null, uniquePeers: 1, peersDiscovered: 2, seeders: 7, leechers: 7 },
  ]);
  assert.deepEqual(r.torrents[0].trackers, [
    { tracker: TRACKER1, scrapes: 3, firstDownloaded: 100, latestDownloaded: 105, maxDownloaded: 105, latestAt: iso(T0 + 2 * HOUR), growth: 5,
      maxSeeders: 6, maxLeechers: 4, firstSeeders: 3, firstLeechers: 4, latestSeeders: 2, latestLeechers: 1 },
    { tracker: TRACKER2, scrapes: 2, firstDownloaded: 50, latestDownloaded: 52, maxDownloaded: 52, latestAt: iso(T0 + 110 * MIN), growth: 2,
      maxSeeders: 1, maxLeechers: 1, firstSeeders: 1, firstLeechers: 1, latestSeeders: 1, latestLeechers: 1 },
  ]);
  // a tracker restart (10 → 2 → 4): neither the drop nor the climb after it counts
  assert.equal(r.torrents[1].trackers[0].growth, 0);
  assert.equal(r.torrents[1].trackers[0].maxDownloaded, 10);
  assert.equal(r.torrents[1].trackers[0].firstDownloaded, 10);
  // scrapes without a downloaded number: counted, no growth
  assert.deepEqual(pick(r.torrents[2].trackers[0], ['scrapes', 'growth', 'latestDownloaded']), { scrapes: 2, growth: null, latestDownloaded: null });
});

test('table 5.6 per set: sums, ratio of the sums', async () => {
  const r = await report();
  assert.deepEqual(r.sets, [
    { set: 'A', torrents: 2, confirmed: 3, restarts: 0, suspect: 0, reportedByPeer: 0, reportedDownloaded: 5, ratio: 3 / 5, uniquePeers: 5, peersDiscovered: 5, seeders: 7, leechers: 5 },
    { set: 'B', torrents: 1, confirmed: 0, restarts: 0, suspect: 0, reportedByPeer: 0, reportedDownloaded: null, ratio: null, uniquePeers: 1, peersDiscovered: 2, seeders: 7, leechers: 7 },
  ]);
});

test('table 5.5 sources: received, unique, share new, unique per measured hour', async () => {
  const r = await report();
  const keys = ['kind', 'requests', 'errors', 'received', 'new', 'newFrom', 'duplicates', 'unique', 'firstSource', 'shareNew', 'uniquePerHour'] as const;
  assert.deepEqual(r.sources.map((s) => pick(s, [...keys])), [
    { kind: 'http', requests: 4, errors: 1, received: 55, new: 3, newFrom: 'requests', duplicates: 52, unique: 3, firstSource: 3, shareNew: 3 / 55, uniquePerHour: 1 },
    { kind: 'udp', requests: 1, errors: 0, received: 8, new: 1, newFrom: 'requests', duplicates: 7, unique: 1, firstSource: 1, shareNew: 1 / 8, uniquePerHour: 1 / 3 },
    { kind: 'dht', requests: 2, errors: 0, received: 14, new: 3, newFrom: 'requests', duplicates: 11, unique: 3, firstSource: 2, shareNew: 3 / 14, uniquePerHour: 1 },
    // the listener cannot tell new peers: new = peers whose first source is incoming
    { kind: 'incoming', requests: 1, errors: 0, received: 3, new: 1, newFrom: 'peers', duplicates: 0, unique: 1, firstSource: 1, shareNew: 1 / 3, uniquePerHour: 1 / 3 },
  ]);
  assert.deepEqual(r.sourcesTotal, { received: 80, new: 8, unique: 7, shareNew: 0.1, uniquePerHour: 7 / 3 });
});

test('table 5.7 outcomes: count and share within the event, most frequent first', async () => {
  const r = await report();
  assert.deepEqual(r.outcomes, [
    { event: 'first', reason: 'success', count: 5, share: 0.5 },
    { event: 'first', reason: 'timeout', count: 3, share: 0.3 },
    { event: 'first', reason: 'refused', count: 2, share: 0.2 },
    { event: 'later', reason: 'success', count: 2, share: 2 / 3 },
    { event: 'later', reason: 'timeout', count: 1, share: 1 / 3 },
    { event: 'incoming', reason: 'success', count: 1, share: 0.5 },
    { event: 'incoming', reason: 'unknown-info-hash', count: 1, share: 0.5 },
  ]);
  // the note says what 'first' means since issue 13 item 9: first ever at the endpoint, not first in the run
  const notes = reportTables(r).find((t) => t.name === 'outcomes')!.notes.join(' ');
  assert.match(notes, /first: the first attempt ever at an address:port in this database; later: any further attempt, in this run or a later one/);
});

test('clients, countries and speed quantiles', async () => {
  const r = await report();
  assert.deepEqual(r.clients, [
    { client: 'Transmission 3.00', peers: 5, share: 5 / 6, confirmed: 3, encrypted: 0 },
    { client: 'qBittorrent 4.5.2', peers: 1, share: 1 / 6, confirmed: 0, encrypted: 1 },
  ]);
  // the store computes speeds from julianday() differences: exact to about a millisecond, so round them
  const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  assert.deepEqual(r.countries.map((c) => ({ ...c, medianSpeed: round(c.medianSpeed) })), [
    { country: 'unknown', name: null, peers: 4, share: 4 / 7, evaluated: 3, confirmed: 1, medianSpeed: 512 },
    { country: 'GB', name: 'United Kingdom', peers: 1, share: 1 / 7, evaluated: 1, confirmed: 1, medianSpeed: 819.2 },
    { country: 'SE', name: 'Sweden', peers: 1, share: 1 / 7, evaluated: 1, confirmed: 0, medianSpeed: null },
    { country: 'US', name: 'United States of America', peers: 1, share: 1 / 7, evaluated: 1, confirmed: 1, medianSpeed: null },
  ]);
  const s = r.speeds;
  assert.equal(s.unit, 'bytes/s');
  assert.equal(s.peers, 2);
  assert.deepEqual([s.min, s.p10, s.median, s.p90, s.max, s.mean].map(round), [512, 542.72, 665.6, 788.48, 819.2, 665.6]);
  assert.equal(s.histogram.reduce((n, h) => n + h.peers, 0), 2);
  for (const h of s.histogram) assert.ok(h.to > h.from);
  assert.ok(s.histogram[0].from <= 512 && s.histogram.at(-1)!.to > 819.2);
});

test('runs: a crashed run counts until its last row', async () => {
  const r = await report();
  assert.deepEqual(r.runs.map((x) => pick(x, ['id', 'endedAt', 'lastActivity', 'exitReason', 'hoursInWindow'])), [
    { id: 1, endedAt: iso(T0 + 2 * HOUR), lastActivity: iso(T0 + 2 * HOUR), exitReason: 'completed', hoursInWindow: 2 },
    { id: 2, endedAt: null, lastActivity: iso(T0 + 4 * HOUR), exitReason: null, hoursInWindow: 1 },
  ]);
});

test('the watch per run: the totals of its last statistics row; a database without the watch columns has none', async () => {
  assert.deepEqual((await report()).watch, [
    { run: 1, at: iso(T0 + 2 * HOUR), watched: 7, crossed: 4, left: 2, budgetFull: 3, budgetFullSeconds: 95 },
    { run: 2, at: iso(T0 + 4 * HOUR), watched: 0, crossed: 0, left: 0, budgetFull: 0, budgetFullSeconds: 0 },
  ]);
  // like outcomes, a window selects the runs that overlap it
  assert.deepEqual((await report({ window: { since: iso(T0 + 3 * HOUR), until: null } })).watch.map((w) => w.run), [2]);
  // a database of a version before the watch
  const old = join(tempDir('btda-report-watch-'), 'old.sqlite');
  copyFileSync(path, old);
  const sqlite = new Sqlite(old);
  for (const c of ['watching', 'watched', 'watch_crossed', 'watch_left', 'watch_full', 'watch_full_s']) sqlite.exec(`ALTER TABLE statistics DROP COLUMN ${c}`);
  sqlite.close();
  const db = Database.open(old, { readonly: true });
  try {
    assert.deepEqual((await buildReport(db, { now: new Date(T0 + 10 * HOUR) })).watch, []);
  } finally {
    db.close();
  }
});

test('a window limits every count: --since inclusive, --until exclusive', async () => {
  const r = await report({ window: { since: iso(T0 + 45 * MIN), until: iso(T0 + 3 * HOUR) } });
  assert.equal(r.window.measuredHours, 1.25);
  const a = r.torrents[0];
  // only p3 crossed inside; tracker1 grew 103 → 105; tracker2 has one scrape in the window (growth 0)
  assert.deepEqual(pick(a, ['confirmed', 'reportedDownloaded', 'bestTracker', 'reportedLatest', 'ratio', 'uniquePeers', 'peersDiscovered']),
    { confirmed: 1, reportedDownloaded: 2, bestTracker: TRACKER1, reportedLatest: 105, ratio: 0.5, uniquePeers: 1, peersDiscovered: 0 });
  assert.equal(a.trackers[1].growth, 0);
  // beta's crossing (T0+3h26m) and scrapes (from T0+3h) are outside
  assert.deepEqual(pick(r.torrents[1], ['confirmed', 'reportedDownloaded', 'ratio', 'uniquePeers']), { confirmed: 0, reportedDownloaded: null, ratio: null, uniquePeers: 0 });
  // outcomes: run 2 starts at --until, so only run 1
  assert.deepEqual(r.outcomes.map((o) => [o.event, o.reason, o.count, o.share]), [
    ['first', 'success', 4, 4 / 9], ['first', 'timeout', 3, 3 / 9], ['first', 'refused', 2, 2 / 9],
    ['later', 'success', 1, 0.5], ['later', 'timeout', 1, 0.5],
    ['incoming', 'success', 1, 0.5], ['incoming', 'unknown-info-hash', 1, 0.5],
  ]);
  assert.deepEqual(r.sources.map((s) => pick(s, ['kind', 'requests', 'errors', 'received', 'new', 'unique', 'shareNew', 'uniquePerHour'])), [
    { kind: 'http', requests: 2, errors: 1, received: 20, new: 0, unique: 0, shareNew: 0, uniquePerHour: 0 },
  ]);
  assert.equal(r.speeds.peers, 0);
  assert.deepEqual(r.speeds.histogram, []);
});

test('--set keeps only that set: its torrents, requests, peers and outcomes', async () => {
  const r = await report({ setLabel: 'B' });
  assert.equal(r.set, 'B');
  assert.deepEqual(r.torrents.map((t) => t.infoHash), [HASH_C]);
  assert.deepEqual(r.sets.map((s) => [s.set, s.confirmed, s.reportedDownloaded, s.uniquePeers, s.peersDiscovered]), [['B', 0, null, 1, 2]]);
  // the listener's rows name no torrent: left out; inbound peers still count as unique and new
  assert.deepEqual(r.sources.map((s) => pick(s, ['kind', 'requests', 'received', 'new', 'unique', 'firstSource', 'shareNew'])), [
    { kind: 'dht', requests: 1, received: 4, new: 1, unique: 1, firstSource: 1, shareNew: 0.25 },
    { kind: 'incoming', requests: 0, received: 0, new: 1, unique: 1, firstSource: 1, shareNew: null },
  ]);
  assert.deepEqual(r.outcomes, [{ event: 'incoming', reason: 'success', count: 1, share: 1 }]);
  assert.deepEqual(r.clients.map((c) => [c.client, c.peers]), [['Transmission 3.00', 1]]);
});

test('an empty window gives zeros and empty lists, not errors', async () => {
  const r = await report({ window: { since: '2020-01-01T00:00:00.000Z', until: '2020-01-02T00:00:00.000Z' } });
  assert.equal(r.window.measuredHours, 0);
  assert.deepEqual(r.torrents.map((t) => [t.confirmed, t.reportedDownloaded, t.uniquePeers]), [[0, null, 0], [0, null, 0], [0, null, 0]]);
  assert.deepEqual([r.sources, r.outcomes, r.clients, r.countries], [[], [], [], []]);
  assert.equal(r.sourcesTotal.uniquePerHour, null);
});

test('--since/--until accept dates and times, UTC unless an offset is given; bad values name the flag', async () => {
  assert.equal(parseTime('2026-01-01', '--since'), '2026-01-01T00:00:00.000Z');
  assert.equal(parseTime('2026-01-01T10:30', '--since'), '2026-01-01T10:30:00.000Z');
  assert.equal(parseTime('2026-01-01 10:30:15', '--since'), '2026-01-01T10:30:15.000Z');
  assert.equal(parseTime('2026-01-01T10:30:15.5Z', '--since'), '2026-01-01T10:30:15.500Z');
  assert.equal(parseTime('2026-01-01T12:30+02:00', '--since'), '2026-01-01T10:30:00.000Z');
  assert.equal(parseTime('2026-01-01T12:30+0200', '--since'), '2026-01-01T10:30:00.000Z');
  assert.throws(() => parseTime('yesterday', '--since'), (e: Error) => e instanceof WindowError && e.message.startsWith('--since:'));
  assert.throws(() => parseTime('2026-13-01', '--until'), /--until/);
  assert.deepEqual(parseWindow(undefined, '2026-01-02'), { since: null, until: '2026-01-02T00:00:00.000Z' });
  assert.throws(() => parseWindow('2026-01-02', '2026-01-01'), /later than --since/);
});

test('quantiles interpolate linearly between ranks', async () => {
  assert.equal(quantile([], 0.5), null);
  assert.equal(quantile([7], 0.9), 7);
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  assert.equal(quantile([10, 20, 30, 40, 50], 0.25), 20);
  assert.equal(quantile([0, 100], 0.99), 99);
});

test('reported downloads: highest − first per tracker and torrent, so backends with different counters do not inflate it', async () => {
  const growth = (series: number[]) => {
    const c = new ReportedDownloads();
    for (const v of series) c.add(v);
    return c.growth;
  };
  // a tracker answering from two backends: summing the increases would give 10 per round trip, without bound
  const flapping = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 1000 : 990));
  assert.equal(growth(flapping), 0);
  assert.equal(growth([1000, 990, 1000, 990, 1003, 995, 1003]), 3);
  assert.equal(growth([5, 6, 7]), 2); // a counter that only grows: latest − first
  assert.equal(growth([10, 2, 4]), 0); // a reset never adds
  assert.equal(growth([42]), 0);
  assert.equal(growth([]), null);
});
