// The report and its JSON read the one recorded fact (README "What counts"): a download whose peer later shows
// fewer pieces stays counted, at its crossing time; restarts and suspect crossings are counted beside the
// headline, never in it; the text report, the JSON of `btda report` and the views agree.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildReport } from '../../src/analysis/report.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult } from '../../src/types.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const TR = (n: string) => Buffer.from(`-TR3000-${n.padEnd(12, 'x')}`);

/** One torrent of 100 pieces (threshold 98) and the crossings of every class, written by the real writer. */
async function crawled(): Promise<string> {
  const path = join(tempDir('btda-report-crossings-'), 'btda.sqlite');
  const db = Database.open(path);
  const t = db.addTorrent({ infoHash: 'ee'.repeat(20), infoHashV2: null, name: 'x', pieces: 100, pieceSize: 16_384, totalSize: 1_638_400, trackers: [] }, 'x', 'S', T0)!;
  const runId = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 });
  const writer = new ResultWriter(db, { runId, hasher: new AddressHasher(Buffer.alloc(32, 7)), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0, runStartedAt: T0 });
  const c = (minute: number, over: Partial<ContactResult>) => {
    const at = T0 + minute * MIN;
    writer.contact(contactResult({ torrentId: t.id, startedAt: at, openedAt: at + 100, endedAt: at + 2000, endPieces: over.openingPieces, ...over }), 'http',
      { pieceSize: 16_384, thresholdPieces: 98 });
  };
  c(0, { ip: '81.2.69.1', peerId: TR('a'), openingPieces: 10 }); // a download
  c(30, { ip: '81.2.69.1', peerId: TR('a'), openingPieces: 100, event: 'later' });
  c(0, { ip: '81.2.69.2', peerId: TR('f'), openingPieces: 10 }); // a download, then a recheck leaves 60 %
  c(70, { ip: '81.2.69.2', peerId: TR('f'), openingPieces: 100, event: 'later' });
  c(130, { ip: '81.2.69.2', peerId: TR('f'), openingPieces: 60, event: 'later' });
  c(0, { ip: '81.2.69.3', peerId: TR('r1'), clientVersion: 'Transmission 3.00', openingPieces: 40 }); // a restart
  c(30, { ip: '81.2.69.3', peerId: TR('r2'), clientVersion: 'Transmission 3.00', openingPieces: 100, event: 'later' });
  c(0, { ip: '81.2.69.4', peerId: TR('u'), openingPieces: 40, uploadOnly: true }); // upload_only while below: suspect
  c(30, { ip: '81.2.69.4', peerId: TR('u'), openingPieces: 100, event: 'later' });
  c(0, { ip: '81.2.69.5', peerId: TR('s'), openingPieces: 100 }); // a seed
  writer.close();
  db.close();
  return path;
}

test('the report, its JSON and the views count the recorded facts: a later drop keeps the download, other classes beside it', async () => {
  const path = await crawled();
  const db = Database.open(path, { readonly: true });
  const report = await buildReport(db, { now: new Date(T0 + 4 * 60 * MIN) });
  const hourly = db.sqlite.prepare('SELECT hour, confirmed FROM hourly_confirmed ORDER BY hour').all();
  db.close();
  const [t] = report.torrents;
  assert.deepEqual({ confirmed: t.confirmed, restarts: t.restarts, suspect: t.suspect }, { confirmed: 2, restarts: 1, suspect: 1 });
  assert.deepEqual(report.sets.map((s) => [s.set, s.confirmed]), [['S', 2]]);
  assert.deepEqual(hourly, [{ hour: '2026-03-01 10:00', confirmed: 1 }, { hour: '2026-03-01 11:00', confirmed: 1 }],
    'by the time each crossing was observed, not the later visit that saw fewer pieces');
  // a window that holds the drop but not the crossing: nothing to count (the crossing is when it happened)
  const again = Database.open(path, { readonly: true });
  const late = await buildReport(again, { window: { since: new Date(T0 + 120 * MIN).toISOString(), until: null }, now: new Date(T0 + 4 * 60 * MIN) });
  again.close();
  assert.equal(late.torrents[0].confirmed, 0);

  const json = await runCli(['report', '--db', path, '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { torrents: { confirmed: number; restarts: number; suspect: number }[] };
  assert.deepEqual(parsed.torrents.map((x) => [x.confirmed, x.restarts, x.suspect]), [[2, 1, 1]]);
  const text = await runCli(['report', '--db', path]);
  assert.equal(text.code, 0, text.stderr);
  const beside = text.stdout.split('\n').find((l) => l.startsWith('eeeeeeeeeeee') && /\bx\s+2\s+1\s+1\s+0\s*$/.test(l));
  assert.ok(beside, `a "beside the headline" row with 2 confirmed, 1 restart, 1 suspect:\n${text.stdout}`);
});
