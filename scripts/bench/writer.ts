// Benchmark 4: peer rows written per second by ResultWriter (batched upserts in transactions, on a
// file database in WAL mode, as a crawl opens it). Three row kinds, each timed by itself:
//   discovered  a new peer reported by a collector (INSERT ... ON CONFLICT)
//   contact     a contact merged into a known peer row (the upsert's UPDATE path: the steady state)
//   revisit     a second contact of the same peers (speed between visits, crossing)
// Rows are buffered the way the crawl buffers them and flushed every `batch` rows (about one second of
// contacts at 10,000/s); the longest single flush is reported too (it blocks the event loop).
//
//   node --import tsx scripts/bench/writer.ts [--rows 100000] [--batch 10000] [--reps 3]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult } from '../../src/types.ts';
import { args, emit, fmt, hardLimit, median, StallMonitor } from './lib.ts';

const a = args();
const ROWS = Number(a.rows ?? 100_000);
const BATCH = Number(a.batch ?? 10_000);
const REPS = Number(a.reps ?? 3);
hardLimit(Number(a['limit-ms'] ?? 110_000), 'writer benchmark');

const PIECES = 2000;
const THRESHOLD = Math.ceil(0.98 * PIECES);

interface Phase {
  rowsPerSec: number;
  /** CPU time per row (robust against a busy machine descheduling us). */
  cpuUsPerRow: number;
  longestFlushMs: number;
}

async function once(): Promise<{ discovered: Phase; contact: Phase; revisit: Phase; stallMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'btda-bench-writer-'));
  const db = Database.open(join(dir, 'w.sqlite'));
  const torrent = db.addTorrent(
    { infoHash: randomBytes(20).toString('hex'), infoHashV2: null, name: 'w', pieces: PIECES, pieceSize: 262_144, totalSize: PIECES * 262_144, trackers: [] },
    'bench', null, Date.now(),
  )!;
  db.setThreshold(0.98);
  const writer = new ResultWriter(db, {
    runId: db.startRun({ version: 'bench', args: '[]', host: 'bench', threshold: 0.98, startedAt: Date.now() }),
    hasher: new AddressHasher(randomBytes(32)),
    geo: await Geolocator.open(''),
    storeIp: false,
    flushIntervalMs: 0,
  });
  const facts = { pieceSize: 262_144, thresholdPieces: THRESHOLD };
  // distinct public-looking IPv4 addresses, ports as peers use them
  const peers = Array.from({ length: ROWS }, (_, i) => ({
    ip: `${11 + (i % 200)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
    port: 6881 + (i % 1000),
  }));
  const peerId = Buffer.from('-TR3000-abcdefghijkl', 'latin1');
  const t0 = Date.now();
  const result = (i: number, visit: number): ContactResult => {
    const startedAt = t0 + visit * 300_000 + i;
    const opening = Math.min(PIECES, 500 + visit * 1000 + (i % 500));
    return {
      torrentId: torrent.id, ip: peers[i].ip, port: peers[i].port, event: visit === 0 ? 'first' : 'later', reason: 'success',
      startedAt, endedAt: startedAt + 40, openingPieces: opening, openedAt: startedAt + 20, endPieces: Math.min(PIECES, opening + 3),
      crossedAt: null, crossedPieces: null, uploadOnly: false, completeAgo: null, peerId, clientVersion: null, listenPort: null, longestWaitMs: 20, messages: 4, dhtPort: null,
      encrypted: false, pexPeers: null,
    };
  };
  const stall = new StallMonitor();
  stall.start();
  // rows/s of the writer itself: buffering plus flushes
  const timed = (add: (i: number) => void): Phase => {
    const s = performance.now();
    const c0 = process.cpuUsage();
    let longest = 0;
    for (let i = 0; i < ROWS; i++) {
      add(i);
      if ((i + 1) % BATCH === 0 || i === ROWS - 1) {
        const f0 = performance.now();
        if (!writer.flush()) throw new Error('flush failed');
        longest = Math.max(longest, performance.now() - f0);
      }
    }
    const ms = performance.now() - s;
    const c = process.cpuUsage(c0);
    return { rowsPerSec: (ROWS / ms) * 1000, cpuUsPerRow: (c.user + c.system) / ROWS, longestFlushMs: longest };
  };
  const now = Date.now();
  const discovered = timed((i) => writer.peerDiscovered(torrent.id, peers[i].ip, peers[i].port, 'dht', now));
  const contact = timed((i) => writer.contact(result(i, 0), 'dht', facts));
  const revisit = timed((i) => writer.contact(result(i, 1), 'dht', facts));
  const stalls = stall.stop();
  const check = db.sqlite.prepare('SELECT count(*) AS n, sum(visits) AS v FROM peers').get() as { n: number; v: number };
  if (check.n !== ROWS || check.v !== 2 * ROWS) throw new Error(`expected ${ROWS} rows with 2 visits, got ${check.n} / ${check.v}`);
  db.close();
  rmSync(dir, { recursive: true, force: true });
  return { discovered, contact, revisit, stallMs: stalls.maxMs };
}

const runs = [];
for (let r = 0; r < REPS; r++) {
  const x = await once();
  runs.push(x);
  console.log(
    `rep ${r + 1}: discovered ${fmt(x.discovered.rowsPerSec)} rows/s (${fmt(x.discovered.cpuUsPerRow, 1)} µs CPU/row), ` +
      `contact ${fmt(x.contact.rowsPerSec)} rows/s (${fmt(x.contact.cpuUsPerRow, 1)} µs), revisit ${fmt(x.revisit.rowsPerSec)} rows/s (${fmt(x.revisit.cpuUsPerRow, 1)} µs); ` +
      `longest flush of ${BATCH} rows ${fmt(Math.max(x.discovered.longestFlushMs, x.contact.longestFlushMs, x.revisit.longestFlushMs))} ms`,
  );
}
const summary = {
  rows: ROWS,
  batch: BATCH,
  discoveredPerSec: median(runs.map((r) => r.discovered.rowsPerSec)),
  contactPerSec: median(runs.map((r) => r.contact.rowsPerSec)),
  revisitPerSec: median(runs.map((r) => r.revisit.rowsPerSec)),
  discoveredCpuUsPerRow: median(runs.map((r) => r.discovered.cpuUsPerRow)),
  contactCpuUsPerRow: median(runs.map((r) => r.contact.cpuUsPerRow)),
  revisitCpuUsPerRow: median(runs.map((r) => r.revisit.cpuUsPerRow)),
  longestFlushMs: median(runs.map((r) => Math.max(r.discovered.longestFlushMs, r.contact.longestFlushMs, r.revisit.longestFlushMs))),
};
console.log(
  `median: discovered ${fmt(summary.discoveredPerSec)} rows/s (${fmt(summary.discoveredCpuUsPerRow, 1)} µs CPU/row), contact ${fmt(summary.contactPerSec)} rows/s ` +
    `(${fmt(summary.contactCpuUsPerRow, 1)} µs), revisit ${fmt(summary.revisitPerSec)} rows/s (${fmt(summary.revisitCpuUsPerRow, 1)} µs) (target >= 50,000); ` +
    `longest flush of ${BATCH} rows ${fmt(summary.longestFlushMs)} ms`,
);
emit('writer', summary);
