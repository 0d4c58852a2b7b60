// Issue 17: the BEP 33 DHT scrape estimate (scrapes of tracker `dht` and `dht6`) in its own columns of the
// per-torrent table, beside the trackers' numbers and never mixed into them: text, JSON and CSV.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeCsvTables } from '../../src/analysis/output.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { reportTables } from '../../src/analysis/tables.ts';
import { reportText } from '../../src/cli/commands/report.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { parseCsv } from './parse-csv.ts';

const T0 = Date.parse('2026-02-01T12:00:00Z');
const MIN = 60_000;
const TRACKER = 'http://tracker.example/announce';
let path: string;

before(async () => {
  path = join(tempDir('btda-report-dht-'), 'btda.sqlite');
  const db = Database.open(path);
  const add = (hash: string, name: string) =>
    db.addTorrent({ infoHash: hash, infoHashV2: null, name, pieces: 10, pieceSize: 16_384, totalSize: 163_840, trackers: [TRACKER] }, `${name}.torrent`, null, T0)!.id;
  const withDht = add('dd'.repeat(20), 'with-dht');
  const trackerOnly = add('ee'.repeat(20), 'tracker-only');
  const run = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 });
  const w = new ResultWriter(db, { runId: run, hasher: new AddressHasher(Buffer.alloc(32, 1)), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0 });
  const scrape = (torrentId: number, tracker: string, at: number, seeders: number, leechers: number, downloaded: number | null) =>
    w.scrape({ torrentId, tracker, at, seeders, leechers, downloaded });
  scrape(withDht, TRACKER, T0 + MIN, 5, 3, 100);
  scrape(withDht, TRACKER, T0 + 4 * MIN, 6, 2, 104);
  scrape(withDht, 'dht', T0 + 2 * MIN, 40, 12, null);
  scrape(withDht, 'dht', T0 + 3 * MIN, 42, 11, null); // the latest IPv4 estimate
  scrape(withDht, 'dht6', T0 + 3 * MIN + 30_000, 7, 2, null); // the IPv6 DHT sees fewer: the larger estimate is shown
  scrape(trackerOnly, TRACKER, T0 + MIN, 9, 9, 50);
  w.flush();
  w.close();
  db.endRun(run, 'completed', T0 + 5 * MIN);
  db.close();
});

async function report(window?: { since: string | null; until: string | null }) {
  const db = Database.open(path, { readonly: true });
  try {
    return await buildReport(db, { now: new Date(T0 + 10 * MIN), window });
  } finally {
    db.close();
  }
}

test('JSON: the latest DHT estimate beside the trackers\' numbers; the trackers\' maxima and swarm leave it out', async () => {
  const r = await report();
  const [a, b] = r.torrents;
  assert.equal(a.dhtSeeders, 42);
  assert.equal(a.dhtDownloaders, 11);
  assert.equal(a.dhtAt, new Date(T0 + 3 * MIN).toISOString());
  // the trackers' numbers are the tracker's alone (40 DHT seeds would have been the maximum before)
  assert.equal(a.seeders, 6);
  assert.equal(a.leechers, 3);
  assert.equal(a.swarmTracker, TRACKER);
  assert.equal(a.bestTracker, TRACKER);
  assert.equal(a.reportedDownloaded, 4);
  // the DHT rows stay in the per-tracker list (scrape counts)
  assert.deepEqual(a.trackers.map((t) => [t.tracker, t.scrapes]), [['dht', 2], ['dht6', 1], [TRACKER, 2]]);
  assert.deepEqual(r.sets.map((s) => s.seeders), [6 + 9]);
  assert.equal(b.dhtSeeders, null);
  assert.equal(b.dhtDownloaders, null);
  assert.equal(b.dhtAt, null);
  // a window ending before the second IPv4 estimate shows the first
  const early = await report({ since: null, until: new Date(T0 + 2 * MIN + 30_000).toISOString() });
  assert.deepEqual([early.torrents[0].dhtSeeders, early.torrents[0].dhtDownloaders], [40, 12]);
});

test('text and CSV: DHT seeds and downloaders columns in the per-torrent table', async () => {
  const r = await report();
  const tables = reportTables(r);
  const text = reportText(r, tables);
  const section = text.slice(text.indexOf('== Confirmed vs reported downloads per torrent =='));
  const lines = section.split('\n');
  assert.match(lines[1], /DHT seeds \(est\.\) +DHT downloaders \(est\.\)/);
  const row = lines.find((l) => l.includes('with-dht'))!;
  assert.match(row, / 6 +3 +42 +11 /);
  assert.match(section, /BEP 33/);
  const dir = tempDir('btda-report-dht-csv-');
  writeCsvTables(tables, dir);
  const csv = parseCsv(readFileSync(join(dir, 'torrents.csv'), 'utf8'));
  const header = csv[0];
  const at = (name: string) => header.indexOf(name);
  assert.ok(at('dhtSeeders') > at('leechers') && at('dhtDownloaders') === at('dhtSeeders') + 1, header.join(','));
  assert.deepEqual(csv.slice(1).map((c) => [c[at('name')], c[at('dhtSeeders')], c[at('dhtDownloaders')]]), [['with-dht', '42', '11'], ['tracker-only', '', '']]);
});
