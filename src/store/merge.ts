// `btda merge`: several databases (shards, hosts, years) into one new database (README "Merging databases").
// Runs are appended with new ids and a note of their origin; torrents are matched by info hash; sessions by
// the identity rules (merge-sessions.ts); observations are kept; the other tables are appended with their ids
// re-pointed; then every crossing is derived again from the merged observations (rederive.ts), since a session
// two hosts saw may cross only in their observations together.
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Sqlite from 'better-sqlite3';
import { FINGERPRINT } from './address-key.ts';
import { Database } from './database.ts';
import { mergeSessions, type MergeInput, type SessionCounts } from './merge-sessions.ts';
import { rederiveCrossings, type ClassOrNone, type RederiveReport } from './rederive.ts';

/** The inputs cannot be merged as asked: a usage error (exit 2). */
export class MergeError extends Error {}

export interface MergeOptions {
  threshold?: number;
  suspectRate?: number;
  defaultSuspectRate: number;
}

export interface MergeReport {
  inputs: { path: string; runs: number; sessions: number; classes: Record<ClassOrNone, number> }[];
  runs: number;
  torrents: { matched: number; added: number };
  sessions: SessionCounts;
  /** Rows appended per table (requests, scrapes, outcomes, contact_waits, statistics). */
  rows: Record<string, number>;
  rederived: RederiveReport;
}

const JOURNAL = join(dirname(fileURLToPath(import.meta.url)), 'migrations', 'meta', '_journal.json');

export function mergeDatabases(paths: string[], outPath: string, opts: MergeOptions): { report: MergeReport; out: Database } {
  if (existsSync(outPath)) throw new MergeError(`merge: ${outPath} exists; merge writes a new database (name the old one as an input)`);
  let out: Database | undefined;
  try {
    const report = mergeInto(paths, () => (out = Database.open(outPath)), opts);
    out!.checkpoint(); // the .sqlite file alone is the whole result
    return { report, out: out! };
  } catch (err) {
    out?.close();
    if (out) for (const suffix of ['', '-wal', '-shm']) rmSync(outPath + suffix, { force: true });
    throw err;
  }
}

/**
 * Merges the inputs into the empty database `target()` opens (a new file, or the spool of a PostgreSQL target:
 * pg/merge-into.ts), once every input has been checked. Sets the target's address key fingerprint.
 */
export function mergeInto(paths: string[], target: () => Database, opts: MergeOptions): MergeReport {
  const real = new Map<string, string>();
  for (const p of paths) {
    if (!existsSync(p)) throw new MergeError(`merge: no database ${p}`);
    const r = realpathSync(p);
    if (real.has(r)) throw new MergeError(`merge: ${p} is named twice (as ${real.get(r)}): its runs would count twice`);
    real.set(r, p);
  }
  const inputs: (MergeInput & { handle: Database })[] = [];
  try {
    for (const path of paths) {
      const handle = Database.open(path, { readonly: true });
      inputs.push({ path, handle, db: handle.sqlite, runs: new Map(), torrents: new Map(), sessions: new Map() });
      checkSchema(handle, path);
    }
    const fingerprint = commonFingerprint(inputs);
    const out = target();
    if (fingerprint) out.setMeta(FINGERPRINT, fingerprint);
    const report = out.sqlite.transaction(() => copyAll(out.sqlite, inputs))();
    const rederived = rederiveCrossings(out, { ...opts, dryRun: false });
    return { ...report, rederived };
  } finally {
    for (const i of inputs) i.handle.close();
  }
}

/** An input must have this btda's schema: an older one is migrated by opening it once with this version. */
function checkSchema(db: Database, path: string): void {
  if (!db.hasTable('runs') || !db.hasTable('torrents')) throw new MergeError(`merge: ${path} is not a btda database (it has no runs and torrents tables)`);
  const expected = (JSON.parse(readFileSync(JOURNAL, 'utf8')) as { entries: unknown[] }).entries.length;
  const applied = db.hasTable('__drizzle_migrations')
    ? (db.sqlite.prepare('SELECT count(*) n FROM __drizzle_migrations').get() as { n: number }).n : 0;
  if (applied < expected) {
    throw new MergeError(`merge: ${path} was written by an older btda: open it once with this version (btda torrents --db ${path}) to migrate it`);
  }
  if (applied > expected) throw new MergeError(`merge: ${path} was written by a newer btda: merge with that version`);
}

/** Address keys made with different keys cannot be compared: every session would be a stranger to the other's. */
function commonFingerprint(inputs: { path: string; handle: Database }[]): string | null {
  let first: { path: string; fingerprint: string } | null = null;
  for (const { path, handle } of inputs) {
    const fingerprint = handle.meta(FINGERPRINT);
    if (fingerprint === null) {
      if (handle.hasPeers()) throw new MergeError(`merge: ${path} has peers but no recorded address key fingerprint: run btda once on it with its key (--key-file)`);
      continue;
    }
    if (first && first.fingerprint !== fingerprint) {
      throw new MergeError(`merge: ${first.path} (address key fingerprint ${first.fingerprint}) and ${path} (fingerprint ${fingerprint}) ` +
        'were written with different address keys, so their peers cannot be matched: crawl with one key file on every host');
    }
    first ??= { path, fingerprint };
  }
  return first?.fingerprint ?? null;
}

function copyAll(out: Sqlite.Database, inputs: MergeInput[]): Omit<MergeReport, 'rederived'> {
  const report: Omit<MergeReport, 'rederived' | 'sessions'> = { inputs: [], runs: 0, torrents: { matched: 0, added: 0 }, rows: {} };
  const runKeys = new Map<string, string>();
  for (const input of inputs) {
    const count = (sql: string) => (input.db.prepare(sql).get() as { n: number }).n;
    const classes: Record<ClassOrNone, number> = { confirmed: 0, restart: 0, suspect: 0, none: 0 };
    for (const r of input.db.prepare("SELECT coalesce(crossing_class, 'none') c, count(*) n FROM peers GROUP BY 1").all() as { c: ClassOrNone; n: number }[]) {
      classes[r.c] = r.n;
    }
    report.inputs.push({ path: input.path, runs: count('SELECT count(*) n FROM runs'), sessions: count('SELECT count(*) n FROM peers'), classes });
    report.runs += copyRuns(out, input, runKeys);
    copyTorrents(out, input, report.torrents);
  }
  const sessions = mergeSessions(out, inputs);
  for (const input of inputs) copyRunTables(out, input, report.rows);
  return { ...report, sessions };
}

interface RunRow {
  id: number;
  started_at: string;
  ended_at: string | null;
  version: string;
  args: string;
  host: string;
  exit_reason: string | null;
  threshold: number;
  suspect_rate: number | null;
  shard: string | null;
  origin: string | null;
}

function copyRuns(out: Sqlite.Database, input: MergeInput, seen: Map<string, string>): number {
  const insert = out.prepare(`INSERT INTO runs (started_at, ended_at, version, args, host, exit_reason, threshold, suspect_rate, shard, origin)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  let n = 0;
  for (const r of input.db.prepare('SELECT * FROM runs ORDER BY id').all() as RunRow[]) {
    // one run in two inputs (a database merged, then merged again with its source) would count its peers twice
    const key = `${r.host}\t${r.started_at}\t${r.version}\t${r.args}\t${r.shard}`; // two shards started in one millisecond are two runs
    const origin = r.origin ?? `${input.path} run ${r.id}`;
    const earlier = seen.get(key);
    if (earlier) throw new MergeError(`merge: run ${r.id} of ${input.path} (host ${r.host}, started ${r.started_at}) is also in the inputs as ${earlier}`);
    seen.set(key, origin);
    const info = insert.run(r.started_at, r.ended_at, r.version, r.args, r.host, r.exit_reason, r.threshold, r.suspect_rate, r.shard, origin);
    input.runs.set(r.id, Number(info.lastInsertRowid));
    n++;
  }
  return n;
}

interface TorrentRow {
  id: number;
  info_hash: string;
  info_hash_v2: string | null;
  name: string | null;
  set_label: string | null;
  pieces: number | null;
  piece_size: number | null;
  total_size: number | null;
  trackers: string;
  source: string;
  added_at: string;
  threshold_pieces: number | null;
}

function copyTorrents(out: Sqlite.Database, input: MergeInput, counts: { matched: number; added: number }): void {
  const byHash = out.prepare('SELECT * FROM torrents WHERE info_hash = ?');
  const insert = out.prepare(`INSERT INTO torrents (info_hash, info_hash_v2, name, set_label, pieces, piece_size, total_size, trackers, source, added_at, threshold_pieces)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const fill = out.prepare(`UPDATE torrents SET info_hash_v2 = ?, name = ?, set_label = ?, pieces = ?, piece_size = ?, total_size = ?,
    trackers = ?, added_at = ?, threshold_pieces = ? WHERE id = ?`);
  for (const t of input.db.prepare('SELECT * FROM torrents ORDER BY id').all() as TorrentRow[]) {
    const have = byHash.get(t.info_hash) as TorrentRow | undefined;
    if (!have) {
      const info = insert.run(t.info_hash, t.info_hash_v2, t.name, t.set_label, t.pieces, t.piece_size, t.total_size, t.trackers, t.source, t.added_at, t.threshold_pieces);
      input.torrents.set(t.id, Number(info.lastInsertRowid));
      counts.added++;
      continue;
    }
    if (have.pieces !== null && t.pieces !== null && (have.pieces !== t.pieces || have.piece_size !== t.piece_size)) {
      throw new MergeError(`merge: torrent ${t.info_hash} has ${t.pieces} pieces in ${input.path} but ${have.pieces} in an earlier input`);
    }
    // a magnet one host resolved and another did not: what one knows fills what the other lacks
    fill.run(have.info_hash_v2 ?? t.info_hash_v2, have.name ?? t.name, have.set_label ?? t.set_label, have.pieces ?? t.pieces,
      have.piece_size ?? t.piece_size, have.total_size ?? t.total_size, unionTrackers(have.trackers, t.trackers),
      t.added_at < have.added_at ? t.added_at : have.added_at, have.threshold_pieces ?? t.threshold_pieces, have.id);
    input.torrents.set(t.id, have.id);
    counts.matched++;
  }
}

function unionTrackers(a: string, b: string): string {
  const parse = (s: string): string[] => {
    try {
      const v = JSON.parse(s);
      return Array.isArray(v) ? v.map(String) : [];
    } catch {
      return [];
    }
  };
  return JSON.stringify([...new Set([...parse(a), ...parse(b)])]);
}

/** The tables keyed by run, appended with run and torrent ids re-pointed (-1, an unknown torrent, stays). */
const RUN_TABLES: { table: string; columns: string[]; upsert?: string }[] = [
  { table: 'requests', columns: ['run_id', 'torrent_id', 'kind', 'url', 'started_at', 'duration_ms', 'received', 'new', 'duplicates', 'skipped', 'error'] },
  { table: 'scrapes', columns: ['run_id', 'torrent_id', 'tracker', 'at', 'seeders', 'leechers', 'downloaded'] },
  { table: 'outcomes', columns: ['run_id', 'torrent_id', 'event', 'reason', 'count'], upsert: 'ON CONFLICT (run_id, torrent_id, event, reason) DO UPDATE SET count = outcomes.count + excluded.count' },
  { table: 'contact_waits', columns: ['run_id', 'torrent_id', 'event', 'wait_s', 'count'], upsert: 'ON CONFLICT (run_id, torrent_id, event, wait_s) DO UPDATE SET count = contact_waits.count + excluded.count' },
  { table: 'statistics', columns: ['run_id', 'at', 'queue', 'in_flight', 'evaluations', 'successes', 'incoming', 'peers_known', 'rss_mb', 'load_average', 'watching', 'watched', 'watch_crossed', 'watch_left', 'watch_full', 'watch_full_s'] },
];

function copyRunTables(out: Sqlite.Database, input: MergeInput, rows: Record<string, number>): void {
  for (const { table, columns, upsert } of RUN_TABLES) {
    const insert = out.prepare(`INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ${upsert ?? ''}`);
    for (const r of input.db.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY rowid`).iterate() as Iterable<Record<string, unknown>>) {
      const runId = input.runs.get(r.run_id as number);
      if (runId === undefined) continue;
      const torrentId = r.torrent_id === null || r.torrent_id === undefined ? r.torrent_id : input.torrents.get(r.torrent_id as number) ?? r.torrent_id;
      insert.run(...columns.map((c) => (c === 'run_id' ? runId : c === 'torrent_id' ? torrentId : r[c])));
      rows[table] = (rows[table] ?? 0) + 1;
    }
  }
}
