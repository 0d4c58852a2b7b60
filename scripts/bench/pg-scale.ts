// Benchmark: how many crawler hosts one local PostgreSQL takes once `peers` is large (issue 15 item 5).
// The server holds --peers 1,000,000 sessions and as many observations (built server-side with
// generate_series, each host's rows in its own spool id block, as pushes leave them); then 1, 2, 4 hosts
// (--hosts) push at once for --seconds each, every host as a push does it: one transaction per round of
// --round peers rows (upsertPeers, the push's own statements: the demotion check for new sessions, then the
// upsert by id) and their observations (the soak's measured 0.9 rows per contact), 85 % of the peers rows
// revisits of the host's known sessions and 15 % new ones. A host's contact writes one peers row, so the
// peers rows/s the server takes is the contacts/s of all hosts together; a host at full rate makes 4,100.
// Server variants (--variants), each a fresh server, fsync on, synchronous_commit off:
//   packed     peers at fillfactor 100, 128 MB shared_buffers (what `initdb` and the migrations before 0002 gave)
//   default    peers at fillfactor 70 (migration 0002: a revisit rewrites a row in its own page, a HOT update
//              that touches no index), 128 MB shared_buffers
//   tuned      default, and the server settings a write-heavy database is given: shared_buffers 1 GB (the
//              million-peer table and its indexes in memory), max_wal_size 8 GB and checkpoint_timeout 15 min
//              (fewer checkpoints, so fewer full-page images of randomly updated pages in the WAL),
//              wal_compression on
// The minimal loop beside: the same rounds appended into a table with only a primary key (no upsert, no
// other index), on the same server: what the disk and the protocol allow.
//
//   node --import tsx scripts/bench/pg-scale.ts [--peers 1000000] [--hosts 1,2,4] [--seconds 20] [--variants packed,default,tuned]
import type pg from 'pg';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { PEERS, upsertPeers } from '../../src/store/pg/push-peers.ts';
import { idPlan, sendColumns } from '../../src/store/pg/append-writer.ts';
import * as schema from '../../src/store/pg/schema.ts';
import { postgresSkipReason, startPostgres } from '../../test/helpers/postgres.ts';
import { args, emit, fmt, hardLimit } from './lib.ts';

const a = args();
const PEER_COUNT = Number(a.peers ?? 1_000_000);
const HOSTS = (a.hosts ?? '1,2,4').split(',').map(Number);
const SECONDS = Number(a.seconds ?? 20);
const ROUND = Number(a.round ?? 10_000);
const VARIANTS = (a.variants ?? 'packed,default,tuned').split(',');
const OBS_PER_CONTACT = 0.9;
const MAX_HOSTS = Math.max(...HOSTS);
const BLOCK = 2 ** 40;
const HOST_RATE = 4_100;
/** --statements: where the server's time goes (pg_stat_statements), printed per variant. */
const STATEMENTS = a.statements !== undefined;
hardLimit(Number(a['limit-ms'] ?? 1_800_000), 'pg-scale benchmark');

const OBSERVATIONS = idPlan(schema.observations, 'append');
const OBS_AT = OBSERVATIONS.columns.findIndex((c) => c.name === 'at');
const T0 = Date.parse('2026-01-01T00:00:00Z');

/** Host h's known sessions: ids h·BLOCK + 1 ... + PEER_COUNT / MAX_HOSTS (the preload), torrent = id mod 125. */
const perHost = Math.floor(PEER_COUNT / MAX_HOSTS);

async function preload(client: pg.ClientBase, fill: boolean): Promise<number> {
  const t0 = performance.now();
  await client.query(`ALTER TABLE peers SET (fillfactor = ${fill ? 70 : 100})`);
  for (let h = 1; h <= MAX_HOSTS; h++) {
    const base = h * BLOCK;
    // the columns as a crawl fills them: keyed-hash address key, 40 hex of peer id, ISO times
    await client.query(`INSERT INTO peers (id, torrent_id, address, address_key, port, peer_id, client, client_version, first_pieces, first_seen,
        last_pieces, last_seen, visits, sources, country, continent, discovered_at, low_pieces, latest, attempted_at)
      SELECT ${base} + g, 1 + g % 125, 'h' || ${h} || '.' || g, substr(md5(${h} || ':' || g), 1, 22), 6881 + g % 1000,
        md5('id' || ${h} || g) || '2d5452', 'Transmission', '3.00', g % 1900, '2026-01-01T00:00:00.000Z', g % 1990, '2026-01-01T00:05:00.000Z',
        2, 'dht,udp', 'DE', 'EU', '2026-01-01T00:00:00.000Z', g % 1900, 1, '2026-01-01T00:00:00.000Z'
      FROM generate_series(1, ${perHost}) g`);
    await client.query(`INSERT INTO observations (id, peer_row, run_id, at, phase, event, direction, encrypted, family, pieces, peer_id, client)
      SELECT ${base} + g, ${base} + g, ${h}, '2026-01-01T00:00:00.000Z', 'open', 'first', 'out', 0, 4, g % 1900, md5('id' || g), 'Transmission 3.00'
      FROM generate_series(1, ${perHost}) g`);
  }
  await client.query('VACUUM ANALYZE peers');
  await client.query('VACUUM ANALYZE observations');
  return performance.now() - t0;
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/** One host: its counters (next new session id, next observation id) and its pseudo-random revisits. */
class Host {
  private nextPeer: number;
  private nextObs: number;
  private seed: number;
  constructor(readonly h: number) {
    this.nextPeer = h * BLOCK + perHost + 1;
    this.nextObs = h * BLOCK + perHost + 1;
    this.seed = h * 7919;
  }
  private random(n: number): number {
    this.seed = (Math.imul(this.seed, 1103515245) + 12345) >>> 0;
    return this.seed % n;
  }
  /** A round: peers columns in PEERS' order and observation columns in OBSERVATIONS' order. */
  round(t: number): { peers: unknown[][]; obs: unknown[][]; obsRows: number } {
    const at = new Date(T0 + t).toISOString();
    const values: Record<string, unknown[]> = {};
    for (const c of PEERS.columns) values[c.name] = new Array(ROUND);
    const o: Record<string, unknown[]> = {};
    for (const c of OBSERVATIONS.columns) o[c.name] = [];
    const taken = new Set<number>(); // a push sends each row once per round
    for (let i = 0; i < ROUND; i++) {
      const isNew = this.random(100) < 15;
      let g = isNew ? this.nextPeer++ - this.h * BLOCK : 1 + this.random(perHost);
      while (taken.has(g)) g = 1 + this.random(perHost);
      taken.add(g);
      const row: Record<string, unknown> = {
        id: this.h * BLOCK + g, torrent_id: 1 + (g % 125), address: `h${this.h}.${g}`, address_key: md5(`${this.h}:${g}`).slice(0, 22), ip: null,
        port: 6881 + (g % 1000), peer_id: `${md5(`id${this.h}${g}`)}2d5452`, client: 'Transmission', client_version: '3.00', listen_port: null,
        first_pieces: g % 1900, first_seen: '2026-01-01T00:00:00.000Z', last_pieces: Math.min(2000, (g % 1990) + 10), last_seen: at,
        crossed_at: null, visits: 3, max_speed: 123_456.5, sources: 'dht,udp', country: 'DE', continent: 'EU', city: null,
        discovered_at: '2026-01-01T00:00:00.000Z', encrypted: 0, low_pieces: g % 1900, crossed_pieces: null, crossed_threshold: null,
        crossing_class: null, suspect_reason: null, crossed_observation: null, restart_of: null, latest: 1, reported_complete_at: null, attempted_at: '2026-01-01T00:00:00.000Z',
      };
      for (const c of PEERS.columns) values[c.name][i] = row[c.name] === undefined ? c.fallback : row[c.name];
      if (this.random(1000) < OBS_PER_CONTACT * 1000) {
        const obs: Record<string, unknown> = { id: this.nextObs++, peer_row: row.id, run_id: this.h, at, phase: 'open', event: 'later', direction: 'out', encrypted: 0,
          family: 4, pieces: row.last_pieces, peer_id: row.peer_id, client: 'Transmission 3.00', upload_only: 0 };
        for (const c of OBSERVATIONS.columns) o[c.name].push(obs[c.name] === undefined ? c.fallback : obs[c.name]);
      }
    }
    return { peers: PEERS.columns.map((c) => values[c.name]), obs: OBSERVATIONS.columns.map((c) => o[c.name]), obsRows: o.id.length };
  }
}

let minimalId = 1;

/**
 * CPU ms the server spent so far: its postmaster and every process it started (backends, WAL writer,
 * checkpointer), the exited ones through the postmaster's children times. Robust against other work on the
 * machine, unlike rows/s: a server with C free cores takes about C × 1,000,000 / (CPU µs per contact) contacts/s.
 */
function serverCpuMs(postmaster: number): number {
  const ticks = (stat: string) => stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let sum = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let f: string[];
    try {
      f = ticks(readFileSync(join('/proc', name, 'stat'), 'utf8'));
    } catch {
      continue; // ended meanwhile
    }
    // after the command: state, ppid, ... utime (11), stime (12), cutime (13), cstime (14), in clock ticks (100/s)
    const pid = Number(name);
    if (pid === postmaster) sum += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    else if (Number(f[1]) === postmaster) sum += Number(f[11]) + Number(f[12]);
  }
  return sum * 10;
}

/** `hosts` hosts pushing rounds for SECONDS, each on its own connection; the peers rows and all rows per second. */
async function pushAtOnce(store: PgStore, hosts: number, minimal: boolean, postmaster: number): Promise<{ peersPerSec: number; rowsPerSec: number; roundMs: number; serverUsPerContact: number }> {
  const cpu0 = serverCpuMs(postmaster);
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  let peers = 0;
  let rows = 0;
  const roundTimes: number[] = [];
  await Promise.all(
    Array.from({ length: hosts }, async (_, k) => {
      const host = new Host(k + 1);
      const client = await store.pool.connect();
      try {
        for (let t = 0; performance.now() < end; t += 10_000) {
          const r = host.round(t);
          const r0 = performance.now();
          await client.query('BEGIN');
          if (minimal) await client.query({ text: 'INSERT INTO minimal_rows (id, body) SELECT * FROM unnest($1::bigint[], $2::text[])', values: [r.peers[0].map(() => minimalId++), r.peers[3]] });
          else await upsertPeers(client, r.peers, ROUND, host.h * BLOCK + perHost, 60_000);
          if (minimal) await client.query({ text: 'INSERT INTO minimal_rows (id, body) SELECT * FROM unnest($1::bigint[], $2::text[])', values: [r.obs[0].map(() => minimalId++), r.obs[OBS_AT]] });
          else await sendColumns(client, OBSERVATIONS, r.obs, r.obsRows, 60_000);
          await client.query('COMMIT');
          roundTimes.push(performance.now() - r0);
          peers += ROUND;
          rows += ROUND + r.obsRows;
        }
      } finally {
        client.release();
      }
    }),
  );
  const s = (performance.now() - t0) / 1000;
  roundTimes.sort((x, y) => x - y);
  return { peersPerSec: peers / s, rowsPerSec: rows / s, roundMs: roundTimes[roundTimes.length >> 1] ?? NaN, serverUsPerContact: ((serverCpuMs(postmaster) - cpu0) * 1000) / peers };
}

const skip = postgresSkipReason();
if (skip) {
  console.log(`pg-scale: skipped: ${skip}`);
  emit('pg-scale', { skipped: skip });
  process.exit(0);
}
const figures: Record<string, unknown> = { peers: PEER_COUNT, seconds: SECONDS, round: ROUND, obsPerContact: OBS_PER_CONTACT };
for (const variant of VARIANTS) {
  const fill = variant !== 'packed';
  const tuned = variant === 'tuned' ? ['shared_buffers=1GB', 'max_wal_size=8GB', 'checkpoint_timeout=15min', 'wal_compression=on'] : [];
  const server = await startPostgres({ durable: true, timeoutMs: 60_000, settings: [...tuned, ...(STATEMENTS ? ['shared_preload_libraries=pg_stat_statements'] : [])] });
  try {
    const store = await PgStore.open(await server.createDatabase('scale'), { poolSize: MAX_HOSTS + 2 });
    const client = await store.pool.connect();
    if (STATEMENTS) await client.query('CREATE EXTENSION pg_stat_statements');
    const loadMs = await preload(client, fill);
    const dataDir = (await client.query('SHOW data_directory')).rows[0].data_directory as string;
    const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (STATEMENTS) await client.query('SELECT pg_stat_statements_reset()');
    await client.query('CREATE UNLOGGED TABLE IF NOT EXISTS minimal_rows (id bigint PRIMARY KEY, body text)');
    const size = (await client.query(`SELECT pg_size_pretty(pg_total_relation_size('peers')) AS s`)).rows[0].s as string;
    client.release();
    console.log(`${variant}: ${fmt(PEER_COUNT)} sessions + observations loaded in ${fmt(loadMs / 1000, 1)} s (peers ${size})`);
    for (const hosts of HOSTS) {
      const x = await pushAtOnce(store, hosts, false, postmaster);
      const m = await pushAtOnce(store, hosts, true, postmaster);
      const hot = (await store.pool.query(`SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'peers'`)).rows[0] as { n_tup_upd: string; n_tup_hot_upd: string };
      const hotShare = Number(hot.n_tup_hot_upd) / Math.max(1, Number(hot.n_tup_upd));
      console.log(`  ${hosts} host(s) at once: ${fmt(x.peersPerSec)} contacts/s (peers rows; ${fmt(x.rowsPerSec)} rows/s with observations) = ` +
        `${fmt(x.peersPerSec / HOST_RATE, 1)} hosts at ${fmt(HOST_RATE)} contacts/s; median round of ${fmt(ROUND)} ${fmt(x.roundMs)} ms; server CPU ${fmt(x.serverUsPerContact, 1)} µs per contact (minimal loop ${fmt(m.serverUsPerContact, 1)} µs per row pair); HOT updates so far ${fmt(hotShare * 100)} %; ` +
        `minimal loop (appends, primary key only) ${fmt(m.rowsPerSec)} rows/s, ratio ${fmt(x.rowsPerSec / m.rowsPerSec, 2)}; load ${fmt(loadavg()[0], 1)}`);
      figures[`${variant}_${hosts}_contactsPerSec`] = Math.round(x.peersPerSec);
      figures[`${variant}_${hosts}_hostEquivalents`] = Number((x.peersPerSec / HOST_RATE).toFixed(2));
      figures[`${variant}_${hosts}_minimalRowsPerSec`] = Math.round(m.rowsPerSec);
      figures[`${variant}_${hosts}_serverCpuUsPerContact`] = Number(x.serverUsPerContact.toFixed(1));
    }
    if (STATEMENTS) {
      const top = await store.pool.query(`SELECT round(total_exec_time) AS ms, calls, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS q
        FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 8`);
      for (const r of top.rows) console.log(`    ${String(r.ms).padStart(7)} ms ${String(r.calls).padStart(5)} calls ${String(r.rows).padStart(8)} rows  ${r.q}`);
    }
    await store.close();
  } finally {
    await server.stop();
  }
}
emit('pg-scale', figures);
