// Counts re-derived from the observations: a database written by the real ResultWriter gives back the very
// facts the writer recorded (idempotent), and another threshold gives the counts that threshold implies.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bytesPerSecond } from '../../src/config.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { rederiveCrossings } from '../../src/store/rederive.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult } from '../../src/types.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { runCli } from '../helpers/run-cli.ts';

const T0 = Date.parse('2026-03-01T10:00:00Z');
const MIN = 60_000;
const PIECE = 4 * 1024 * 1024;
const RATE = 1000; // Mbit/s: 125 MB/s, so 70 pieces of 4 MiB within a second or two are suspect
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const TR = (n: string) => Buffer.from(`-TR3000-${n.padEnd(12, 'x')}`);

/** A database with one torrent of 100 pieces and two runs (98 %, then 50 %) written by the real writer. */
export async function writtenDatabase(dir = mkdtempSync(join(tmpdir(), 'btda-rederive-'))) {
  dirs.push(dir);
  const path = join(dir, 'btda.sqlite');
  const db = Database.open(path);
  const t = db.addTorrent({ infoHash: 'cc'.repeat(20), infoHashV2: null, name: 'x', pieces: 100, pieceSize: PIECE, totalSize: 100 * PIECE, trackers: [] }, 'x', null, T0)!;
  const geo = await Geolocator.open('');
  const hasher = new AddressHasher(Buffer.alloc(32, 5));
  const run = (threshold: number, startedAt: number, contacts: (c: (minute: number, over: Partial<ContactResult>) => void) => void) => {
    const runId = db.startRun({ version: 't', args: '[]', host: 'h', threshold: threshold / 100, suspectRate: RATE, startedAt });
    const writer = new ResultWriter(db, { runId, hasher, geo, storeIp: false, flushIntervalMs: 0, runStartedAt: startedAt, maxRate: bytesPerSecond(RATE) });
    contacts((minute, over) => {
      const at = T0 + minute * MIN;
      const r = contactResult({ torrentId: t.id, startedAt: at, openedAt: at + 100, endedAt: at + 3000, endPieces: over.openingPieces, ...over });
      writer.contact(r, 'http', { pieceSize: PIECE, thresholdPieces: threshold });
    });
    writer.close();
  };
  run(98, T0, (c) => {
    c(0, { ip: '81.2.69.1', openingPieces: 10 }); // A: finisher
    c(30, { ip: '81.2.69.1', openingPieces: 100, event: 'later' });
    c(0, { ip: '81.2.69.2', openingPieces: 30 }); // G: below 98 in run 1, 60 in run 2 (threshold 50)
    c(0, { ip: '81.2.69.3', openingPieces: 60 }); // H: never below 50
    c(0, { ip: '81.2.69.4', openingPieces: 100 }); // E: a seed
    c(0, { ip: '81.2.69.5', openingPieces: 10 }); // F: crosses, then drops
    c(30, { ip: '81.2.69.5', openingPieces: 100, event: 'later' });
    c(40, { ip: '81.2.69.5', openingPieces: 60, event: 'later' });
    c(0, { ip: '81.2.69.6', peerId: TR('first'), clientVersion: 'Transmission 3.00', openingPieces: 40 }); // C: a restart
    c(30, { ip: '81.2.69.6', peerId: TR('second'), clientVersion: 'Transmission 3.00', openingPieces: 100, event: 'later' });
    c(0, { ip: '81.2.69.7', openingPieces: 40, uploadOnly: true }); // D: upload_only while below
    c(30, { ip: '81.2.69.7', openingPieces: 100, event: 'later' });
    const inContact = T0 + 2000;
    c(0, { ip: '81.2.69.8', openingPieces: 10, crossedAt: inContact, crossedPieces: 100, endPieces: 100 }); // R: 90 pieces in 2 s
    c(0, { ip: '81.2.69.9', openingPieces: 30 }); // B: unchanged opening, then 70 pieces in a second
    c(30, { ip: '81.2.69.9', openingPieces: 30, event: 'later', crossedAt: T0 + 30 * MIN + 1100, crossedPieces: 100, endPieces: 100 });
    c(0, { ip: '81.2.69.10', openingPieces: 45 }); // K: 45, then 55
  });
  run(50, T0 + 60 * MIN, (c) => {
    c(70, { ip: '81.2.69.2', openingPieces: 60, event: 'later' });
    c(70, { ip: '81.2.69.3', openingPieces: 70, event: 'later' });
    c(70, { ip: '81.2.69.10', openingPieces: 55, event: 'later' });
  });
  return { db, path, dir };
}

const FACTS = `SELECT id, low_pieces, crossed_at, crossed_pieces, crossed_threshold, crossing_class, suspect_reason, crossed_observation
  FROM peers ORDER BY id`;
const classes = (db: Database) => db.sqlite.prepare(`SELECT coalesce(crossing_class, 'none') c, count(*) n FROM peers GROUP BY 1 ORDER BY 1`).all();

test('re-deriving a database written by the writer changes nothing: the same facts', async () => {
  const { db } = await writtenDatabase();
  const before = db.sqlite.prepare(FACTS).all();
  assert.deepEqual(classes(db), [{ c: 'confirmed', n: 4 }, { c: 'none', n: 3 }, { c: 'restart', n: 1 }, { c: 'suspect', n: 3 }],
    'the writer: A, F, G (at 50 in run 2), K; restart C; suspect D (upload-only), R and B (rate); none: H, E, C before its restart');
  const report = rederiveCrossings(db, { defaultSuspectRate: 10_000, dryRun: false });
  assert.equal(report.changed, 0, JSON.stringify(report));
  assert.deepEqual(db.sqlite.prepare(FACTS).all(), before);
  assert.deepEqual(report.before, report.after);
  assert.deepEqual(db.sqlite.prepare("SELECT suspect_reason r FROM peers WHERE suspect_reason IS NOT NULL ORDER BY id").all().map((r) => (r as { r: string }).r),
    ['upload-only', 'rate', 'rate']);
  db.close();
});

test('another threshold for every observation gives the counts it implies; written, then idempotent again', async () => {
  const { db } = await writtenDatabase();
  const at98 = rederiveCrossings(db, { threshold: 0.98, defaultSuspectRate: 10_000, dryRun: true });
  // G and K crossed 50 in run 2; at 98 for all they never cross
  assert.deepEqual(at98.after, { confirmed: 2, restart: 1, suspect: 3, none: 5 });
  assert.deepEqual(at98.moves, { 'confirmed → none': 2 });
  assert.equal((classes(db) as { c: string; n: number }[]).find((r) => r.c === 'confirmed')!.n, 4, 'a dry run writes nothing');

  const at50 = rederiveCrossings(db, { threshold: 0.5, defaultSuspectRate: 10_000, dryRun: false });
  // at 50 for all: A, F, G, K confirmed (H never below 50, E a seed), C restart, D, R, B suspect
  assert.deepEqual(at50.after, { confirmed: 4, restart: 1, suspect: 3, none: 3 });
  const crossedThresholds = db.sqlite.prepare('SELECT DISTINCT crossed_threshold t FROM peers WHERE crossed_threshold IS NOT NULL').all();
  assert.deepEqual(crossedThresholds, [{ t: 50 }]);
  const again = rederiveCrossings(db, { threshold: 0.5, defaultSuspectRate: 10_000, dryRun: false });
  assert.equal(again.changed, 0);

  const noSuspects = rederiveCrossings(db, { suspectRate: 100_000, defaultSuspectRate: 10_000, dryRun: true });
  assert.deepEqual(noSuspects.after, { confirmed: 6, restart: 1, suspect: 1, none: 3 }, 'a higher rate cap keeps only the upload-only suspect');
  db.close();
});

test('btda rederive prints the change per class and writes it unless --dry-run', async () => {
  const { db, path } = await writtenDatabase();
  db.close();
  const dry = await runCli(['rederive', '--db', path, '--threshold', '0.98', '--dry-run']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /confirmed\s+4\s+2\s+-2/);
  assert.match(dry.stdout, /confirmed → none: 2/);
  assert.match(dry.stdout, /dry run: nothing written/);
  const wrote = await runCli(['rederive', '--db', path, '--threshold', '0.98']);
  assert.equal(wrote.code, 0, wrote.stderr);
  const again = await runCli(['rederive', '--db', path, '--threshold', '0.98']);
  assert.match(again.stdout, /confirmed\s+2\s+2\s+0/);
  assert.match(again.stdout, /0 sessions changed/);
  const check = Database.open(path, { readonly: true });
  assert.match(check.meta('rederived') ?? '', /"threshold":0.98/);
  check.close();
});
