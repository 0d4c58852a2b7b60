// Benchmark: append-only rows written per second into a local PostgreSQL by PgAppendWriter (multi-row
// inserts through unnest, one transaction per flush; issue 15 item 5), beside SQLite in the same run:
//   sqlite        the same observation rows through a prepared INSERT per row, one transaction per batch, into
//                 a WAL file database opened as the crawl opens it (what ResultWriter does for these tables)
//   pg batched    PgAppendWriter: rows buffered, flushed every `batch` rows
//   pg per-row    the minimal loop on PostgreSQL: a prepared INSERT per row awaited in turn, one
//                 transaction per batch (one round trip per row; `rows / 10` of them)
//   pg N hosts    `--hosts N` processes each running `pg batched` at once into the same database (N crawler
//                 hosts on one server; on this 2-core machine they share the cores with the server)
// then runs scripts/bench/writer.ts (ResultWriter's peer rows into SQLite) and prints its figures too.
// The server runs from a temporary folder on 127.0.0.1 with fsync on and synchronous_commit off (commits do
// not wait for the disk, as SQLite's synchronous=NORMAL in WAL mode).
//
//   node --import tsx scripts/bench/pg-writer.ts [--rows 200000] [--batch 10000] [--reps 3] [--hosts 2] [--skip-writer]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database } from '../../src/store/database.ts';
import { PgAppendWriter } from '../../src/store/pg/append-writer.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import * as pgSchema from '../../src/store/pg/schema.ts';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.ts';
import { args, emit, fmt, hardLimit, median } from './lib.ts';

const a = args();
const ROWS = Number(a.rows ?? 200_000);
const BATCH = Number(a.batch ?? 10_000);
const REPS = Number(a.reps ?? 3);
const HOSTS = Number(a.hosts ?? 2);
const SELF = fileURLToPath(import.meta.url);
hardLimit(Number(a['limit-ms'] ?? 115_000), 'pg-writer benchmark');

const T0 = Date.parse('2026-01-01T00:00:00Z');
/** An observation as a contact leaves it: about 12 columns, a third of them text. */
function observation(i: number, runId: number) {
  return {
    peerRow: i + 1, runId, at: new Date(T0 + i).toISOString(), phase: i % 3 === 0 ? 'open' : 'end', event: i % 5 === 0 ? 'first' : 'later',
    direction: 'out', encrypted: i & 1, family: 4, pieces: i % 2000, peerId: i % 7 === 0 ? '2d5452333030302d6162636465666768696a6b6c' : null,
    client: i % 7 === 0 ? 'Transmission 3.00' : null, uploadOnly: 0,
  };
}

async function pgBatched(url: string, runId: number, rows = ROWS): Promise<{ rowsPerSec: number; longestFlushMs: number }> {
  const store = await PgStore.open(url);
  const w = new PgAppendWriter(store.pool);
  const s = performance.now();
  let longest = 0;
  for (let i = 0; i < rows; i++) {
    w.append(pgSchema.observations, observation(i, runId));
    if ((i + 1) % BATCH === 0 || i === rows - 1) {
      const f0 = performance.now();
      await w.flush();
      longest = Math.max(longest, performance.now() - f0);
    }
  }
  const ms = performance.now() - s;
  await store.close();
  return { rowsPerSec: (rows / ms) * 1000, longestFlushMs: longest };
}

async function pgPerRow(url: string, runId: number, rows: number): Promise<number> {
  const store = await PgStore.open(url);
  const client = await store.pool.connect();
  const text = 'INSERT INTO observations (peer_row, run_id, at, phase, event, direction, encrypted, family, pieces, peer_id, client, upload_only) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)';
  const s = performance.now();
  await client.query('BEGIN');
  for (let i = 0; i < rows; i++) {
    const o = observation(i, runId);
    await client.query({ name: 'bench_row', text, values: [o.peerRow, o.runId, o.at, o.phase, o.event, o.direction, o.encrypted, o.family, o.pieces, o.peerId, o.client, o.uploadOnly] });
    if ((i + 1) % BATCH === 0) await client.query('COMMIT; BEGIN');
  }
  await client.query('COMMIT');
  const ms = performance.now() - s;
  client.release();
  await store.close();
  return (rows / ms) * 1000;
}

function sqlite(runId: number): number {
  const dir = mkdtempSync(join(tmpdir(), 'btda-bench-pgw-'));
  const db = Database.open(join(dir, 'w.sqlite'));
  const stmt = db.sqlite.prepare('INSERT INTO observations (peer_row, run_id, at, phase, event, direction, encrypted, family, pieces, peer_id, client, upload_only) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  let buffer: ReturnType<typeof observation>[] = [];
  const write = db.sqlite.transaction((rows: ReturnType<typeof observation>[]) => {
    for (const o of rows) stmt.run(o.peerRow, o.runId, o.at, o.phase, o.event, o.direction, o.encrypted, o.family, o.pieces, o.peerId, o.client, o.uploadOnly);
  });
  const s = performance.now();
  for (let i = 0; i < ROWS; i++) {
    buffer.push(observation(i, runId));
    if (buffer.length === BATCH || i === ROWS - 1) {
      write(buffer);
      buffer = [];
    }
  }
  const ms = performance.now() - s;
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return (ROWS / ms) * 1000;
}

/** N processes writing at once; total rows/s over the span from the first start to the last end. */
async function pgHosts(url: string, n: number): Promise<number> {
  const children = Array.from({ length: n }, (_, k) =>
    new Promise<{ start: number; end: number }>((resolve, reject) => {
      const c = spawn(process.execPath, ['--import', 'tsx', SELF, '--child', url, '--run', String(100 + k), '--rows', String(ROWS), '--batch', String(BATCH)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
      c.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!)) : reject(new Error(`host ${k} exited ${code}`))));
    }),
  );
  const spans = await Promise.all(children);
  const ms = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
  return ((n * ROWS) / ms) * 1000;
}

if (a.child) {
  // one "host": waits for nothing but its own start; reports its span in wall-clock ms
  const start = Date.now();
  await pgBatched(a.child, Number(a.run));
  console.log(JSON.stringify({ start, end: Date.now() }));
  process.exit(0);
}

const skip = postgresSkipReason();
if (skip) {
  console.log(`pg-writer: skipped: ${skip}`);
  emit('pg-writer', { skipped: skip });
  process.exit(0);
}
const server = await startPostgres({ durable: true });
try {
  const url = await server.createDatabase('bench');
  await (await PgStore.open(url)).close(); // migrate once, outside the timings
  const runs: { sqlite: number; batched: number; longestFlushMs: number; perRow: number }[] = [];
  for (let r = 0; r < REPS; r++) {
    // alternate the order so that drift (a busy machine, a growing table) hits both
    const lite = r % 2 === 0 ? sqlite(r) : NaN;
    const b = await pgBatched(url, r);
    const perRow = await pgPerRow(url, r, Math.max(1000, Math.round(ROWS / 10)));
    const x = { sqlite: Number.isNaN(lite) ? sqlite(r) : lite, batched: b.rowsPerSec, longestFlushMs: b.longestFlushMs, perRow };
    runs.push(x);
    console.log(`rep ${r + 1}: sqlite ${fmt(x.sqlite)} rows/s, pg batched ${fmt(x.batched)} rows/s (longest flush of ${BATCH} ${fmt(x.longestFlushMs)} ms), pg per-row ${fmt(x.perRow)} rows/s`);
  }
  const hosts = HOSTS > 1 ? await pgHosts(url, HOSTS) : NaN;
  const summary = {
    rows: ROWS,
    batch: BATCH,
    sqlitePerSec: median(runs.map((r) => r.sqlite)),
    pgBatchedPerSec: median(runs.map((r) => r.batched)),
    pgPerRowPerSec: median(runs.map((r) => r.perRow)),
    pgLongestFlushMs: median(runs.map((r) => r.longestFlushMs)),
    hosts: HOSTS,
    pgHostsPerSec: hosts,
  };
  console.log(
    `median: observations into SQLite ${fmt(summary.sqlitePerSec)} rows/s; into PostgreSQL batched ${fmt(summary.pgBatchedPerSec)} rows/s ` +
      `(${fmt(summary.pgBatchedPerSec / summary.sqlitePerSec, 2)}x SQLite), per-row minimal loop ${fmt(summary.pgPerRowPerSec)} rows/s; ` +
      `${HOSTS} hosts at once ${fmt(hosts)} rows/s in total`,
  );
  emit('pg-writer', summary);
} finally {
  await server.stop();
}

if (!a['skip-writer']) {
  // ResultWriter's peer rows into SQLite, in the same run (its own process, as run-all runs it)
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./writer.ts', import.meta.url)), '--rows', '50000', '--reps', '1'], { encoding: 'utf8', timeout: 100_000 });
  const line = out.split('\n').find((l) => l.startsWith('median:'));
  console.log(`SQLite ResultWriter (writer.ts --rows 50000 --reps 1): ${line?.slice('median: '.length) ?? out.trim()}`);
}
