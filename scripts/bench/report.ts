// Benchmark: `btda report` through the query layer on each backend. A synthetic 48-hour database (N peers
// over 10 torrents, a first contact each, a revisit for a third of them, scrapes of two trackers and the DHT
// every 30 min, requests, statistics) is written by the real ResultWriter into SQLite and copied row for row
// into a fresh PostgreSQL (test/helpers/postgres.ts, test/helpers/pg-copy.ts). Timed per backend:
//   report        buildReport (every table; no geolocation lookups) through SqliteReader / PgReader
//   minimal loop  one pass over the peers that the report's peer tally reads (the same rows, no tallying):
//                 what any report must at least pay to look at every peer once
// The JSON of both reports is compared (they must be identical in content).
//
//   node --import tsx scripts/bench/report.ts [--peers 200000] [--reps 3] [--keep FILE (the SQLite database is kept there)]
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { buildReport } from '../../src/analysis/report.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { PgReader, SqliteReader, type Reader } from '../../src/store/queries/reader.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { PeerSource } from '../../src/types.ts';
import { contactResult } from '../../test/helpers/contact-result.ts';
import { copySqliteToPg } from '../../test/helpers/pg-copy.ts';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.ts';
import { args, emit, fmt, hardLimit, median } from './lib.ts';

const a = args();
const PEERS = Number(a.peers ?? 200_000);
const REPS = Number(a.reps ?? 3);
hardLimit(Number(a['limit-ms'] ?? 300_000), 'report benchmark');

const T0 = Date.parse('2026-03-01T00:00:00Z');
const HOUR = 3_600_000;
const TORRENTS = 10;
const PIECES = 1000;
const THRESHOLD = Math.ceil(0.98 * PIECES);
const SOURCES: PeerSource[] = ['http', 'udp', 'dht', 'pex'];

async function writeDatabase(path: string): Promise<void> {
  const db = Database.open(path);
  const ids: number[] = [];
  for (let t = 0; t < TORRENTS; t++) {
    ids.push(db.addTorrent({ infoHash: t.toString(16).padStart(40, '0'), infoHashV2: null, name: `t${t}`, pieces: PIECES, pieceSize: 262_144,
      totalSize: PIECES * 262_144, trackers: [] }, 'bench', t % 2 ? 'odd' : 'even', T0)!.id);
  }
  db.setThreshold(0.98);
  const run = db.startRun({ version: 'bench', args: '[]', host: 'bench', threshold: 0.98, startedAt: T0 });
  const w = new ResultWriter(db, { runId: run, hasher: new AddressHasher(Buffer.alloc(32, 5)), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0 });
  const facts = { pieceSize: 262_144, thresholdPieces: THRESHOLD };
  const clients = ['-TR3000-', '-qB4250-', '-UT3550-', '-DE2110-', '-lt0D80-'];
  for (let i = 0; i < PEERS; i++) {
    const torrentId = ids[i % TORRENTS];
    const ip = `${11 + (i % 200)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    const at = T0 + Math.floor((i / PEERS) * 40 * HOUR);
    const source = SOURCES[i % SOURCES.length];
    w.peerDiscovered(torrentId, ip, 6881, source, at);
    const first = (i * 7919) % (PIECES + 1);
    const peerId = Buffer.from(`${clients[i % clients.length]}abcdefghijkl`, 'latin1');
    w.contact(contactResult({ torrentId, ip, port: 6881, peerId, openingPieces: first, endPieces: first, startedAt: at + 60_000, openedAt: at + 60_100,
      endedAt: at + 62_000 }), source, facts);
    if (i % 3 === 0) {
      const later = Math.min(PIECES, first + 600);
      w.contact(contactResult({ torrentId, ip, port: 6881, peerId, event: 'later', openingPieces: later, endPieces: later, startedAt: at + 6 * HOUR,
        openedAt: at + 6 * HOUR + 100, endedAt: at + 6 * HOUR + 2000 }), source, facts);
    }
    if (i % 10_000 === 9_999) w.flush();
  }
  for (let h = 0; h < 96; h++) {
    const at = T0 + h * HOUR / 2;
    for (const [k, torrentId] of ids.entries()) {
      w.scrape({ torrentId, tracker: 'http://a.example/announce', at, seeders: 100 + k, leechers: 50, downloaded: 1000 + h * 3 });
      w.scrape({ torrentId, tracker: 'udp://b.example:6969', at: at + 60_000, seeders: 90, leechers: 40 + k, downloaded: 500 + h });
      w.scrape({ torrentId, tracker: 'dht', at: at + 120_000, seeders: 120, leechers: 30, downloaded: null });
      w.request({ torrentId, kind: 'http', url: 'http://a.example/announce', startedAt: at, durationMs: 150, received: 50, new: 5, duplicates: 45, skipped: 0, error: null });
    }
    w.statistics({ at, queue: 1000, inFlight: 100, evaluations: h * 1000, successes: h * 600, incoming: h, peersKnown: PEERS, rssMb: 300, loadAverage: 1 });
  }
  w.close();
  db.endRun(run, 'completed', T0 + 48 * HOUR);
  db.checkpoint();
  db.close();
}

/** The rows the peer tally reads, once, without tallying. */
async function minimalLoop(r: Reader): Promise<number> {
  let n = 0;
  await r.batches('SELECT p.id, p.address, p.ip, p.country, p.max_speed, p.visits, p.discovered_at FROM peers p JOIN torrents t ON t.id = p.torrent_id', {},
    (_c, rows) => {
      n += rows.length;
    });
  return n;
}

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = process.hrtime.bigint();
  const value = await f();
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, value };
}

const dir = mkdtempSync(join(tmpdir(), 'btda-bench-report-'));
const path = join(dir, 'report.sqlite');
try {
  const written = await timed(() => writeDatabase(path));
  console.log(`database: ${fmt(PEERS)} peers in ${TORRENTS} torrents, written in ${fmt(written.ms / 1000, 1)} s`);
  const sqlite = new SqliteReader(Database.open(path, { readonly: true }));
  const now = new Date(T0 + 48 * HOUR);
  const figures: Record<string, unknown> = { peers: PEERS };
  const measure = async (name: string, r: Reader) => {
    const report: number[] = [];
    const loop: number[] = [];
    let json: unknown;
    for (let i = 0; i < REPS; i++) {
      const t = await timed(() => buildReport(r, { now }));
      report.push(t.ms);
      json = JSON.parse(JSON.stringify(t.value));
      loop.push((await timed(() => minimalLoop(r))).ms);
    }
    figures[`${name}ReportMs`] = Math.round(median(report));
    figures[`${name}MinimalLoopMs`] = Math.round(median(loop));
    console.log(`${name.padEnd(10)} report ${fmt(median(report))} ms   minimal loop (one pass over the peers) ${fmt(median(loop))} ms   (medians of ${REPS})`);
    return json;
  };
  const fromSqlite = await measure('sqlite', sqlite);
  await sqlite.close();
  const skip = postgresSkipReason();
  if (skip) console.log(`PostgreSQL skipped: ${skip}`);
  else {
    const server = await startPostgres({ durable: true });
    try {
      const url = await server.createDatabase('report_bench');
      const store = await PgStore.open(url);
      const copied = await timed(() => copySqliteToPg(path, store.pool));
      await store.pool.query('ANALYZE');
      await store.close();
      console.log(`copied into PostgreSQL in ${fmt(copied.ms / 1000, 1)} s`);
      const pg = await PgReader.open(url);
      const fromPg = await measure('postgres', pg);
      await pg.close();
      figures.identical = isDeepStrictEqual(fromPg, fromSqlite);
      console.log(`the two reports are ${figures.identical ? 'identical in content' : 'DIFFERENT'}`);
    } finally {
      await server.stop();
    }
  }
  emit('report', figures);
  if (a.keep) copyFileSync(path, a.keep);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
