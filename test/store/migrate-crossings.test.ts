// A database of an older btda (schema of migrations 0000-0002: one row per (torrent, address, port), a
// crossing read from the latest last_pieces by the old view) opened by this btda: the migrations turn each
// crossing the old view counted into a recorded fact with the threshold in force, its first and last states
// into observations of phase `migrated`, and the counts do not change on upgrade (README "What counts").
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import Sqlite from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { Database } from '../../src/store/database.ts';
import { rederiveCrossings } from '../../src/store/rederive.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const MIGRATIONS = join(dirname(fileURLToPath(import.meta.url)), '../../src/store/migrations');
const OLD = 3; // migrations 0000_init, 0001_contact_waits, 0002_peer_encrypted: the schema before identity and evidence

/** A SQLite file migrated only as far as an older btda did. */
function olderDatabase(dir: string): string {
  const folder = join(dir, 'old-migrations');
  mkdirSync(join(folder, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(join(MIGRATIONS, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.slice(0, OLD);
  writeFileSync(join(folder, 'meta/_journal.json'), JSON.stringify(journal));
  for (const e of journal.entries) copyFileSync(join(MIGRATIONS, `${e.tag}.sql`), join(folder, `${e.tag}.sql`));
  const path = join(dir, 'old.sqlite');
  const sqlite = new Sqlite(path);
  migrate(drizzle(sqlite), { migrationsFolder: folder });
  sqlite.close();
  return path;
}

test('an older database migrates: the crossings its view counted become facts with their evidence, same count', () => {
  const dir = tempDir('btda-migrate-');
  const path = olderDatabase(dir);
  const old = new Sqlite(path);
  assert.equal((old.prepare("SELECT count(*) n FROM pragma_table_info('peers') WHERE name = 'crossing_class'").get() as { n: number }).n, 0);
  old.prepare(`INSERT INTO torrents (info_hash, name, pieces, piece_size, total_size, source, added_at, threshold_pieces)
    VALUES ('${'dd'.repeat(20)}', 'x', 100, 16384, 1638400, 'x', '2026-01-01T00:00:00.000Z', 98)`).run();
  old.prepare(`INSERT INTO runs (started_at, ended_at, version, args, host, exit_reason, threshold)
    VALUES ('2026-01-01T10:00:00.000Z', '2026-01-01T12:00:00.000Z', '0.1', '[]', 'h', 'completed', 0.98)`).run();
  const peer = old.prepare(`INSERT INTO peers (torrent_id, address, address_key, port, peer_id, client, first_pieces, first_seen,
    last_pieces, last_seen, crossed_at, visits, sources, discovered_at) VALUES (1, ?, ?, 6881, ?, 'Transmission 3.00', ?, ?, ?, ?, ?, ?, 'http', ?)`);
  const t = (m: number) => new Date(Date.parse('2026-01-01T10:00:00Z') + m * 60_000).toISOString();
  // between visits (no crossed_at: the old view fell back to last_seen), inside a contact, a seed, one below,
  // one discovered and never contacted
  peer.run('81.2.69.0/24', 'k1', 'aa'.repeat(20), 10, t(0), 100, t(30), null, 2, t(0));
  peer.run('81.2.69.0/24', 'k2', 'bb'.repeat(20), 97, t(1), 100, t(1.1), t(1.05), 1, t(0));
  peer.run('81.2.69.0/24', 'k3', 'cc'.repeat(20), 100, t(2), 100, t(2), null, 1, t(0));
  peer.run('81.2.69.0/24', 'k4', 'dd'.repeat(20), 10, t(3), 50, t(40), null, 2, t(0));
  peer.run('81.2.69.0/24', 'k5', null, null, null, null, null, null, 0, t(0));
  const before = old.prepare('SELECT peer_row, crossed_at, threshold_pieces FROM confirmed_downloads ORDER BY peer_row').all();
  assert.equal(before.length, 2, 'the old view: the finisher and the in-contact crossing');
  old.close();

  const db = Database.open(path); // applies every later migration
  const q = <T>(sql: string) => db.sqlite.prepare(sql).all() as T[];
  assert.deepEqual(q('SELECT peer_row, crossed_at, threshold_pieces FROM confirmed_downloads ORDER BY peer_row'), before,
    'the same downloads, at the same times, with the threshold in force');
  assert.deepEqual(q('SELECT id, crossing_class, crossed_pieces, crossed_threshold, low_pieces, latest FROM peers ORDER BY id'), [
    { id: 1, crossing_class: 'confirmed', crossed_pieces: 100, crossed_threshold: 98, low_pieces: 10, latest: 1 },
    { id: 2, crossing_class: 'confirmed', crossed_pieces: 100, crossed_threshold: 98, low_pieces: 97, latest: 1 },
    { id: 3, crossing_class: null, crossed_pieces: null, crossed_threshold: null, low_pieces: 100, latest: 1 },
    { id: 4, crossing_class: null, crossed_pieces: null, crossed_threshold: null, low_pieces: 10, latest: 1 },
    { id: 5, crossing_class: null, crossed_pieces: null, crossed_threshold: null, low_pieces: null, latest: 1 },
  ]);
  // the summaries become evidence: first and last state, phase and run 'migrated' (run 0)
  assert.deepEqual(q("SELECT peer_row, run_id, phase, pieces FROM observations ORDER BY peer_row, id"), [
    { peer_row: 1, run_id: 0, phase: 'migrated', pieces: 10 }, { peer_row: 1, run_id: 0, phase: 'migrated', pieces: 100 },
    { peer_row: 2, run_id: 0, phase: 'migrated', pieces: 97 }, { peer_row: 2, run_id: 0, phase: 'migrated', pieces: 100 },
    { peer_row: 3, run_id: 0, phase: 'migrated', pieces: 100 },
    { peer_row: 4, run_id: 0, phase: 'migrated', pieces: 10 }, { peer_row: 4, run_id: 0, phase: 'migrated', pieces: 50 },
  ]);
  // re-deriving from the migrated evidence (run 0 takes the threshold of the run under way) keeps the count
  const report = rederiveCrossings(db, { defaultSuspectRate: 10_000, dryRun: true });
  assert.deepEqual(report.after, report.before, JSON.stringify(report));
  assert.equal(report.before.confirmed, 2);
  db.close();
});
