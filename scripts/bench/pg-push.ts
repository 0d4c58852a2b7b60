// Benchmark: spool and push (README "Running on several hosts"). A crawl on PostgreSQL writes a local SQLite
// spool through ResultWriter and PgPusher sends what changed. Measured, in one process, per repetition:
//   write       100,000 contacts (50,000 peers visited twice, a quarter of them crossing) through ResultWriter
//               into a spool, beside the same contacts into a plain SQLite database: what the spool's
//               push_dirty triggers cost the crawl's hot path, in CPU µs per contact
//   full push   everything at once into an empty PostgreSQL database: rows/s (peers, observations, outcomes, ...)
//   delta push  10 s of a crawl at 4,100 contacts/s (41,000 more visits) pushed: how long a push takes and
//               how long it held the event loop (its reads of the spool are synchronous)
//   baseline    PgAppendWriter appending as many observation rows from memory (nothing read, nothing mapped):
//               the batched insert the push is built on
// The server runs from a temporary folder on 127.0.0.1, fsync on, synchronous_commit off (as pg-writer.ts).
//
//   node --import tsx scripts/bench/pg-push.ts [--contacts 100000] [--reps 3]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { PgAppendWriter } from '../../src/store/pg/append-writer.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { PgPusher, rowsSent } from '../../src/store/pg/push.ts';
import * as pgSchema from '../../src/store/pg/schema.ts';
import { Spool } from '../../src/store/pg/spool.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult } from '../../src/types.ts';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.ts';
import { args, emit, fmt, hardLimit, median, StallMonitor } from './lib.ts';

const a = args();
const CONTACTS = Number(a.contacts ?? 100_000);
const REPS = Number(a.reps ?? 3);
const DELTA = Number(a.delta ?? 41_000);
const BATCH = 10_000;
hardLimit(Number(a['limit-ms'] ?? 300_000), 'pg-push benchmark');

const PIECES = 2000;
const THRESHOLD = Math.ceil(0.98 * PIECES);
const PEERS = CONTACTS / 2;
const KEY = randomBytes(32);
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Visit `visit` of peer i: opening below the threshold first; a quarter of the peers complete on the second visit. */
function contact(torrentId: number, i: number, visit: number): ContactResult {
  const startedAt = T0 + visit * 300_000 + i;
  const opening = visit > 0 && i % 4 === 0 ? PIECES : Math.min(THRESHOLD - 1, 200 + visit * 300 + (i % 500));
  return {
    torrentId, ip: `${11 + (i % 200)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6881 + (i % 1000), event: visit === 0 ? 'first' : 'later',
    reason: 'success', startedAt, endedAt: startedAt + 40, openingPieces: opening, openedAt: startedAt + 20, endPieces: Math.min(PIECES, opening + 3),
    crossedAt: null, crossedPieces: null, uploadOnly: false, completeAgo: null, peerId: Buffer.from(`-TR3000-${String(i).padStart(12, '0')}`),
    clientVersion: null, listenPort: null, longestWaitMs: 20, messages: 4, dhtPort: null, encrypted: false, pexPeers: null,
  };
}

/** Writes contacts i in [from, to) of `visit` the way the crawl does (flushed every BATCH); returns CPU µs per contact (robust against a busy machine descheduling us). */
function write(db: Database, writer: ResultWriter, torrentId: number, visit: number, from: number, to: number): number {
  const facts = { pieceSize: 262_144, thresholdPieces: THRESHOLD };
  const c0 = process.cpuUsage();
  for (let i = from; i < to; i++) {
    writer.contact(contact(torrentId, i, visit), 'dht', facts);
    if ((i + 1) % BATCH === 0 || i === to - 1) if (!writer.flush()) throw new Error('flush failed');
  }
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / (to - from);
}

async function openWriter(db: Database) {
  const t = db.addTorrent({ infoHash: randomBytes(20).toString('hex'), infoHashV2: null, name: 'p', pieces: PIECES, pieceSize: 262_144, totalSize: PIECES * 262_144, trackers: [] }, 'bench', null, T0)!;
  db.setThreshold(0.98);
  const runId = db.startRun({ version: 'bench', args: '[]', host: 'bench', threshold: 0.98, startedAt: T0 });
  const writer = new ResultWriter(db, { runId, hasher: new AddressHasher(KEY), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0, runStartedAt: T0 });
  return { torrentId: t.id, runId, writer };
}


async function once(url: string, rep: number) {
  const dir = mkdtempSync(join(tmpdir(), 'btda-bench-push-'));
  try {
    // the same contacts into a plain database: the hot path without the spool's triggers (in turn first and second)
    const writePlain = async () => {
      const plain = Database.open(join(dir, 'plain.sqlite'));
      const p = await openWriter(plain);
      const rate = (write(plain, p.writer, p.torrentId, 0, 0, PEERS) + write(plain, p.writer, p.torrentId, 1, 0, PEERS)) / 2;
      plain.close();
      return rate;
    };
    let plainCpuUs = rep % 2 === 0 ? await writePlain() : NaN;
    const store = await PgStore.open(url);
    const spool = await Spool.open(join(dir, 'spool.sqlite'), store);
    const s = await openWriter(spool.db);
    const spoolCpuUs = (write(spool.db, s.writer, s.torrentId, 0, 0, PEERS) + write(spool.db, s.writer, s.torrentId, 1, 0, PEERS)) / 2;
    if (Number.isNaN(plainCpuUs)) plainCpuUs = await writePlain();
    const pusher = new PgPusher(spool, store);
    pusher.liveRun = s.runId;
    const f0 = performance.now();
    const full = await pusher.push();
    const fullMs = performance.now() - f0;

    write(spool.db, s.writer, s.torrentId, 2, 0, Math.min(DELTA, PEERS));
    const stall = new StallMonitor();
    stall.start();
    const d0 = performance.now();
    const c0 = process.cpuUsage();
    const delta = await pusher.push();
    const deltaMs = performance.now() - d0;
    const cpu = process.cpuUsage(c0);
    const stalls = stall.stop();

    // the baseline: as many observation rows appended from memory by PgAppendWriter
    const rows = rowsSent(full);
    const w = new PgAppendWriter(store.pool);
    const b0 = performance.now();
    for (let i = 0; i < rows; i++) {
      w.append(pgSchema.observations, { peerRow: i + 1, runId: 1000 + rep, at: new Date(T0 + i).toISOString(), phase: 'open', event: 'later', direction: 'out', family: 4, pieces: i % 2000, peerId: null, client: null });
      if ((i + 1) % BATCH === 0 || i === rows - 1) await w.flush();
    }
    const baseline = (rows / (performance.now() - b0)) * 1000;
    spool.db.close();
    await store.close();
    return { plainCpuUs, spoolCpuUs, full, fullRows: rows, fullPerSec: (rows / fullMs) * 1000, delta, deltaRows: rowsSent(delta), deltaMs, deltaPerSec: (rowsSent(delta) / deltaMs) * 1000, deltaCpuUsPerRow: (cpu.user + cpu.system) / rowsSent(delta), stallMs: stalls.maxMs, baseline };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const skip = postgresSkipReason();
if (skip) {
  console.log(`pg-push: skipped: ${skip}`);
  emit('pg-push', { skipped: skip });
  process.exit(0);
}
const server = await startPostgres({ durable: true });
try {
  const runs = [];
  for (let r = 0; r < REPS; r++) {
    const x = await once(await server.createDatabase(`push${r}`), r);
    runs.push(x);
    console.log(`rep ${r + 1}: write ${fmt(x.spoolCpuUs, 1)} µs CPU per contact into the spool, ${fmt(x.plainCpuUs, 1)} into a plain database; ` +
      `full push ${fmt(x.fullRows)} rows (${x.full.peers} peers, ${x.full.observations} observations) at ${fmt(x.fullPerSec)} rows/s; ` +
      `delta push ${fmt(x.deltaRows)} rows in ${fmt(x.deltaMs)} ms (${fmt(x.deltaPerSec)} rows/s, ${fmt(x.deltaCpuUsPerRow, 1)} µs CPU per row here), longest stall ${fmt(x.stallMs)} ms; ` +
      `PgAppendWriter ${fmt(x.baseline)} rows/s; load ${fmt(loadavg()[0], 1)}`);
  }
  const summary = {
    contacts: CONTACTS,
    spoolCpuUsPerContact: median(runs.map((r) => r.spoolCpuUs)),
    plainCpuUsPerContact: median(runs.map((r) => r.plainCpuUs)),
    fullPushRows: median(runs.map((r) => r.fullRows)),
    fullPushPerSec: median(runs.map((r) => r.fullPerSec)),
    deltaContacts: DELTA,
    deltaPushRows: median(runs.map((r) => r.deltaRows)),
    deltaPushMs: median(runs.map((r) => r.deltaMs)),
    deltaPushPerSec: median(runs.map((r) => r.deltaPerSec)),
    deltaPushStallMs: median(runs.map((r) => r.stallMs)),
    deltaPushCpuUsPerRow: median(runs.map((r) => r.deltaCpuUsPerRow)),
    appendWriterPerSec: median(runs.map((r) => r.baseline)),
  };
  console.log(
    `median: CPU per contact written into the spool ${fmt(summary.spoolCpuUsPerContact, 1)} µs (plain database ${fmt(summary.plainCpuUsPerContact, 1)} µs); ` +
      `full push of ${fmt(summary.fullPushRows)} rows ${fmt(summary.fullPushPerSec)} rows/s; delta push (${DELTA} contacts, ${fmt(summary.deltaPushRows)} rows) ` +
      `${fmt(summary.deltaPushMs)} ms = ${fmt(summary.deltaPushPerSec)} rows/s (${fmt(summary.deltaPushCpuUsPerRow, 1)} µs CPU per row in this process), longest event-loop stall ${fmt(summary.deltaPushStallMs)} ms; ` +
      `PgAppendWriter (the minimal batched insert) ${fmt(summary.appendWriterPerSec)} rows/s`,
  );
  emit('pg-push', summary);
} finally {
  await server.stop();
}
