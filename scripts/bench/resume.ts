// Resume: a scheduled `btda run` (bin/btda.js, a child process, as cron starts it) on a database that already
// holds 1,000,000 known peers (sessions in `peers` with their observations, as a crawl with --store-ip leaves
// them): time from the spawn to the first contact attempt, to the 1,000th, and to the end of the load (every
// known peer queued), and the RSS then; beside the minimal loop (resume-minimal.ts: a process that opens the
// same file, reads 1,000 addresses and dials them). Medians of --reps runs, each on a fresh copy of the file.
//
//   node --import tsx scripts/bench/resume.ts [--backend sqlite,postgres] [--peers 1000000] [--layouts many,few] [--reps 3]
//     [--active 512] [--backlog 100000] [--keep] [--address-base 152]   (the swarm listens on 127.<base>.0.1-8)
//
// --backend postgres: a real server (test/helpers/postgres.ts, durable) and `btda run --db postgres://... --spool
// FILE`. The known peers are written into a spool (Spool.open reserves its id block) and pushed to PostgreSQL in
// full first (timed: rows/s), so the server holds the same rows; then two cases: `pushed` (push_dirty empty,
// as a run that ended well leaves it) and `backlog` (the last push failed: its newest --backlog peers rows and
// their observations still to send, which the run's first push does beside its first contacts).
//
// Layouts: `many` = 125 torrents x the swarm's 8,000 endpoints, every peer answers (the swarm in its own
// process, scripts/bench/swarm-simulator.ts); `few` = 4 torrents x 250,000 addresses, of which 1 in 31 is
// a swarm endpoint and the rest refuse at once (127.153.0.0/16, nothing listens: a refused connect is a
// contact attempt too). All traffic stays on 127.0.0.0/8.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { thresholdPieces } from '../../src/config.ts';
import { keyFingerprint, openAddressKey } from '../../src/store/address-key.ts';
import { Database } from '../../src/store/database.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { PgPusher } from '../../src/store/pg/push.ts';
import { ID_TABLES, Spool } from '../../src/store/pg/spool.ts';
import { startPostgres, type PgServer } from '../../test/helpers/postgres.ts';
import { writeKnownPeers, type KnownPeer } from '../../test/helpers/known-peers.ts';
import { args, emit, fmt, hardLimit, makeTorrents, median, startSwarm, type Swarm } from './lib.ts';
import type { SwarmTorrent } from './swarm-simulator.ts';

const a = args();
const PEERS = Number(a.peers ?? 1_000_000);
const LAYOUTS = (a.layouts ?? 'many,few').split(',') as ('many' | 'few')[];
const REPS = Number(a.reps ?? 3);
const ACTIVE = Number(a.active ?? 512);
const KEEP = a.keep === 'true';
const BACKENDS = (a.backend ?? 'sqlite').split(',') as ('sqlite' | 'postgres')[];
const BACKLOG = Number(a.backlog ?? 100_000);
hardLimit(60 * 60_000, 'resume');

const BTDA = fileURLToPath(new URL('../../bin/btda.js', import.meta.url));
const PROBE = fileURLToPath(new URL('./connect-probe.ts', import.meta.url));
const MINIMAL = fileURLToPath(new URL('./resume-minimal.ts', import.meta.url));
const PIECES = 1000;
const THRESHOLD_PIECES = thresholdPieces(PIECES, 0.95);
/** A child that has not made its 1,000 contacts and finished its load by then is stopped. */
const CHILD_LIMIT_MS = 120_000;

const layoutTorrents: Record<'many' | 'few', SwarmTorrent[]> = { many: makeTorrents(125, PIECES), few: makeTorrents(4, PIECES) };
const swarm: Swarm = await startSwarm({
  torrents: [...layoutTorrents.many, ...layoutTorrents.few],
  mix: { haveAll: 1, bitfieldFull: 1, bitfieldHaves: 2 },
  afterScript: 'close',
  lifetimeMs: 30 * 60_000,
  // its own addresses (--address-base): another benchmark's swarm on the default 127.77.0.0/16 may be running
  addressBase: Number(a['address-base'] ?? 152),
});
if (swarm.endpoints.length === 0) throw new Error(`the swarm bound no listener (${swarm.failedBinds} failed): another process holds its addresses?`);
const E = swarm.endpoints;
const dir = mkdtempSync(join(tmpdir(), 'btda-resume-'));
const keyFile = join(dir, 'btda.key');
console.log(`resume: ${fmt(PEERS)} known peers, backends ${BACKENDS.join(', ')}, layouts ${LAYOUTS.join(', ')}, ${REPS} reps, --active ${ACTIVE}; ` +
  `swarm ${E.length} endpoints; folder ${dir}`);
const server: PgServer | null = BACKENDS.includes('postgres') ? await startPostgres({ durable: true, timeoutMs: 60_000 }) : null;

/** The known peers of a layout, generated (not held in memory). */
function* layoutPeers(layout: 'many' | 'few', torrentIds: number[]): Generator<KnownPeer> {
  const t = torrentIds.length;
  for (let i = 0; i < PEERS; i++) {
    const torrentId = torrentIds[i % t];
    const j = Math.floor(i / t);
    if (layout === 'many') {
      const e = E[j % E.length];
      yield { torrentId, ip: e.ip, port: e.port };
    } else if (j % 31 === 0 && j / 31 < E.length) {
      const e = E[j / 31];
      yield { torrentId, ip: e.ip, port: e.port };
    } else {
      yield { torrentId, ip: `127.153.${(j >> 8) & 255}.${j & 255}`, port: 30_000 + (j >> 16) };
    }
  }
}

function addTorrents(db: Database, layout: 'many' | 'few'): number[] {
  return layoutTorrents[layout].map((t, i) => db.addTorrent({ infoHash: t.infoHash, infoHashV2: null, name: `${layout}-${i}`, pieces: PIECES,
    pieceSize: 262_144, totalSize: PIECES * 262_144, trackers: [] }, `${layout}-${i}.torrent`, null, Date.now())!.id);
}

interface Built {
  path: string;
  dialable: number;
  buildS: number;
  mb: number;
}

function build(layout: 'many' | 'few'): Built {
  const t0 = Date.now();
  const path = join(dir, `${layout}.sqlite`);
  const db = Database.open(path);
  const ids = addTorrents(db, layout);
  const hasher = openAddressKey(db, path, keyFile);
  const written = writeKnownPeers(db, hasher, layoutPeers(layout, ids), { pieces: PIECES, thresholdPieces: THRESHOLD_PIECES, endedAt: Date.now() - 7_200_000 });
  db.checkpoint();
  db.close();
  const buildS = (Date.now() - t0) / 1000;
  const mb = statSync(path).size / 1048576;
  console.log(`${layout}: ${fmt(written.sessions)} sessions, ${fmt(written.observations)} observations, ${fmt(mb)} MB, built in ${fmt(buildS, 1)} s`);
  return { path, dialable: written.dialable, buildS, mb };
}

interface SpoolBuilt extends Built {
  url: string;
  backlogPath: string;
  pushS: number;
  pushRowsPerS: number;
  backlogPushS: number;
  /** What the fixture left in PostgreSQL: a rep's own rows (beyond it) are removed after the rep. */
  /** Says what PostgreSQL holds then. */
  reset: () => Promise<string>;
  resetBacklog: () => Promise<string>;
}

/** A spool of `url` holding the known peers, all pushed; and a copy whose last BACKLOG peers rows were not. */
async function buildSpool(layout: 'many' | 'few'): Promise<SpoolBuilt> {
  const url = await server!.createDatabase(`resume_${layout}`);
  const t0 = Date.now();
  const path = join(dir, `${layout}-spool.sqlite`);
  const store = await PgStore.open(url);
  const spool = await Spool.open(path, store);
  const db = spool.db;
  const ids = addTorrents(db, layout);
  const hasher = openAddressKey(db, path, keyFile);
  // as the first host of a crawl records it (pg-crawl.ts checkAddressKey)
  await store.setMeta('address_key_fingerprint', keyFingerprint(hasher.key));
  const written = writeKnownPeers(db, hasher, layoutPeers(layout, ids), { pieces: PIECES, thresholdPieces: THRESHOLD_PIECES, endedAt: Date.now() - 7_200_000 });
  const buildS = (Date.now() - t0) / 1000;
  const t1 = Date.now();
  const pusher = new PgPusher(spool, store);
  let rows = 0;
  for (;;) {
    const c = await pusher.push();
    const n = c.peers + c.observations + c.requests + c.scrapes + c.statistics;
    rows += n + c.torrents + c.runs + c.outcomes + c.contact_waits;
    if (n === 0) break;
  }
  const pushS = (Date.now() - t1) / 1000;
  await store.pool.query('ANALYZE'); // as autovacuum leaves a database that has been crawled for a while
  const pgRun = pusher.pgRunId(written.runId)!;
  const maxIds = Object.fromEntries(ID_TABLES.map((t) => [t, Number(db.sqlite.prepare(`SELECT coalesce(max(id), 0) FROM ${t}`).pluck().get())]));
  const pgPeers = Number((await store.pool.query('SELECT count(*) AS n FROM peers')).rows[0].n);
  db.checkpoint();
  db.close();
  const mb = statSync(path).size / 1048576;
  console.log(`${layout} spool: ${fmt(written.sessions)} sessions, ${fmt(written.observations)} observations, ${fmt(mb)} MB, built in ${fmt(buildS, 1)} s; ` +
    `first push ${fmt(rows)} rows in ${fmt(pushS, 1)} s (${fmt(rows / pushS)} rows/s), PostgreSQL holds ${fmt(pgPeers)} peers`);
  // the backlog: the newest BACKLOG peers rows and their observations as a failed push leaves them
  const backlogPath = join(dir, `${layout}-backlog.sqlite`);
  copyFileSync(path, backlogPath);
  const b = Database.open(backlogPath);
  const backlogIds: Record<string, number> = { ...maxIds, peers: maxIds.peers - BACKLOG };
  backlogIds.observations = Number(b.sqlite.prepare('SELECT coalesce(max(id), 0) FROM observations WHERE peer_row <= ?').pluck().get(backlogIds.peers));
  b.sqlite.transaction(() => {
    b.sqlite.prepare('INSERT INTO push_dirty (id) SELECT id FROM peers WHERE id > ?').run(backlogIds.peers);
    b.setMeta('push_peers', String(backlogIds.peers));
    b.setMeta('push_observations', String(backlogIds.observations));
  })();
  b.checkpoint();
  b.close();
  /** PostgreSQL as the fixture left it up to `ids`: rows beyond (a rep's own, or the backlog) removed. */
  const resetTo = async (ids: Record<string, number>) => {
    for (const t of ID_TABLES) await store.pool.query(`DELETE FROM ${t} WHERE id > $1`, [ids[t]]);
    for (const t of ['outcomes', 'contact_waits', 'runs']) await store.pool.query(`DELETE FROM ${t} WHERE ${t === 'runs' ? 'id' : 'run_id'} <> $1`, [pgRun]);
    const n = await store.pool.query<{ peers: number; runs: number }>('SELECT (SELECT count(*) FROM peers) AS peers, (SELECT count(*) FROM runs) AS runs');
    return `PostgreSQL before: ${fmt(Number(n.rows[0].peers))} peers, ${n.rows[0].runs} run`;
  };
  // how long the run's first push takes on that backlog, alone (in this process, on a copy of the spool)
  await resetTo(backlogIds);
  const trial = join(dir, `${layout}-backlog-trial.sqlite`);
  copyFileSync(backlogPath, trial);
  const trialSpool = await Spool.open(trial, store);
  const t2 = Date.now();
  const c = await new PgPusher(trialSpool, store).push();
  const backlogPushS = (Date.now() - t2) / 1000;
  trialSpool.db.close();
  rmSync(trial, { force: true });
  console.log(`${layout} backlog: ${fmt(c.peers)} peers rows and ${fmt(c.observations)} observations; a push of it alone takes ${fmt(backlogPushS, 1)} s ` +
    `(${fmt((c.peers + c.observations) / backlogPushS)} rows/s)`);
  // before each rep: the fixture's rows only (a rep's run, sessions and observations removed; the fixture's sessions
  // it updated keep its changes, which the next rep sends again by id, the same work); for the backlog case the
  // backlog is not in PostgreSQL, as after the failed push
  const reset = () => resetTo(maxIds);
  const resetBacklog = () => resetTo(backlogIds);
  closers.push(() => store.close());
  return { path, backlogPath, url, dialable: written.dialable, buildS, mb, pushS, pushRowsPerS: rows / pushS, backlogPushS, reset, resetBacklog };
}
const closers: (() => Promise<void>)[] = [];

interface Timing {
  openedMs: number;
  firstMs: number;
  thousandMs: number;
  loadedMs: number;
  loadMs: number;
  queued: number;
  rssMb: number;
  hwmMb: number;
}

function procMb(pid: number, key: string): number {
  try {
    return Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;
  } catch {
    return NaN;
  }
}

/** Spawns a child with the connect probe; resolves with its timings once `done` says so (then stops it) or it exits. */
function timeChild(argv: string[], done: (t: Partial<Timing>) => boolean): Promise<Partial<Timing>> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const env = { ...process.env, PROBE_IGNORE_PORT: String(server?.port ?? 0) };
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', PROBE, ...argv], { stdio: ['ignore', 'ignore', 'pipe'], env });
    const t: Partial<Timing> = {};
    let rest = '';
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      child.kill('SIGTERM');
    };
    const limit = setTimeout(() => {
      console.log(`  child not done after ${CHILD_LIMIT_MS / 1000} s: stopped`);
      stop();
    }, CHILD_LIMIT_MS);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        const probe = /^PROBE connects=(\d+) at=(\d+)/.exec(line);
        if (/ spool .* \(block \d+\), pushed to /.test(line)) t.openedMs = Date.now() - t0;
        const resumed = /resumed (\d+) known peers of (\d+) in the database \(([\d.]+) s\)/.exec(line);
        if (probe) {
          if (probe[1] === '1') t.firstMs = Number(probe[2]) - t0;
          else t.thousandMs = Number(probe[2]) - t0;
        } else if (resumed) {
          t.loadedMs = Date.now() - t0;
          t.loadMs = Number(resumed[3]) * 1000;
          t.queued = Number(resumed[1]);
          t.rssMb = procMb(child.pid!, 'VmRSS');
          t.hwmMb = procMb(child.pid!, 'VmHWM');
        } else if (/ (warn|error) /.test(line) || process.env.RESUME_DEBUG) console.log(`  ${line}`);
      }
      if (done(t)) stop();
    });
    child.on('exit', () => {
      clearTimeout(limit);
      resolve(t);
    });
  });
}

const runArgs = ['--key-file', keyFile, '--store-ip', '--input', join(dir, 'none'), '--magnet-file', join(dir, 'none.txt'), '--allow', '127.0.0.0/8',
  '--active', String(ACTIVE), '--encryption', 'off', '--duration', '10m'];
const cases: { name: string; backend: 'sqlite' | 'postgres'; built: () => Promise<Built & Partial<SpoolBuilt>> }[] = [];
for (const backend of BACKENDS) {
  for (const layout of LAYOUTS) {
    if (backend === 'sqlite') {
      cases.push({ name: layout, backend, built: async () => build(layout) });
    } else {
      // both cases share one build
      let spool: Promise<SpoolBuilt> | undefined;
      const get = () => (spool ??= buildSpool(layout));
      cases.push({ name: `postgres-${layout}`, backend, built: get });
      if (BACKLOG > 0) cases.push({ name: `postgres-${layout}-backlog`, backend, built: async () => {
        const b = await get();
        return { ...b, path: b.backlogPath, reset: b.resetBacklog };
      } });
    }
  }
}

const figures: Record<string, unknown> = { peers: PEERS, active: ACTIVE, reps: REPS, backlog: BACKLOG };
for (const c of cases) {
  const built = await c.built();
  const runs: Partial<Timing>[] = [];
  const minimal: Partial<Timing>[] = [];
  const loads: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const copy = join(dir, `${c.name}-run.sqlite`);
    copyFileSync(built.path, copy);
    const db = c.backend === 'sqlite' ? ['--db', copy] : ['--db', built.url!, '--spool', copy];
    const before = (await built.reset?.()) ?? '';
    const load = os.loadavg()[0];
    const run = await timeChild([BTDA, 'run', ...db, ...runArgs], (t) => t.thousandMs !== undefined && t.loadedMs !== undefined);
    runs.push(run);
    const min = await timeChild([MINIMAL, copy], () => false);
    minimal.push(min);
    loads.push(load);
    for (const f of [copy, `${copy}.lock`, `${copy}-wal`, `${copy}-shm`]) rmSync(f, { force: true });
    console.log(`  ${c.name} rep ${rep + 1} (load ${fmt(load, 1)}${before && `; ${before}`}): btda ${run.openedMs !== undefined ? `store open ${fmt(run.openedMs)} ms, ` : ''}` +
      `first contact ${fmt(run.firstMs ?? NaN)} ms, 1,000th ${fmt(run.thousandMs ?? NaN)} ms, ` +
      `all ${fmt(run.queued ?? NaN)} queued at ${fmt(run.loadedMs ?? NaN)} ms (load ${fmt(run.loadMs ?? NaN)} ms), RSS ${fmt(run.rssMb ?? NaN)} MB (peak ${fmt(run.hwmMb ?? NaN)}); ` +
      `minimal loop ${fmt(min.firstMs ?? NaN)} / ${fmt(min.thousandMs ?? NaN)} ms`);
  }
  const m = (xs: Partial<Timing>[], k: keyof Timing) => median(xs.map((x) => x[k] ?? NaN).filter(Number.isFinite));
  const r = {
    dialable: built.dialable, dbMb: Math.round(built.mb), buildS: Math.round(built.buildS),
    ...(built.pushS !== undefined ? { pushS: Math.round(built.pushS), pushRowsPerS: Math.round(built.pushRowsPerS!), backlogPushS: built.backlogPushS } : {}),
    openedMs: m(runs, 'openedMs'), firstMs: m(runs, 'firstMs'), thousandMs: m(runs, 'thousandMs'), loadedMs: m(runs, 'loadedMs'), loadMs: m(runs, 'loadMs'),
    queued: m(runs, 'queued'), rssMb: Math.round(m(runs, 'rssMb')), hwmMb: Math.round(m(runs, 'hwmMb')),
    minimalFirstMs: m(minimal, 'firstMs'), minimalThousandMs: m(minimal, 'thousandMs'), loadAverage: Number(median(loads).toFixed(1)),
  };
  figures[c.name] = r;
  console.log(`${c.name} (medians of ${REPS}, load average ${fmt(r.loadAverage, 1)}): ${Number.isFinite(r.openedMs) ? `store open ${fmt(r.openedMs)} ms, ` : ''}` +
    `first contact ${fmt(r.firstMs)} ms (minimal loop ${fmt(r.minimalFirstMs)} ms), 1,000th ${fmt(r.thousandMs)} ms ` +
    `(minimal ${fmt(r.minimalThousandMs)} ms); all ${fmt(r.queued)} of ${fmt(built.dialable)} dialable queued at ${fmt(r.loadedMs)} ms; RSS then ${fmt(r.rssMb)} MB (peak ${fmt(r.hwmMb)} MB)`);
}
await swarm.close();
for (const close of closers) await close();
await server?.stop();
if (!KEEP) rmSync(dir, { recursive: true, force: true });
emit('resume', figures);
