// Resume: a scheduled `btda run` (bin/btda.js, a child process, as cron starts it) on a database that already
// holds 1,000,000 known peers (sessions in `peers` with their observations, as a crawl with --store-ip leaves
// them): time from the spawn to the first contact attempt, to the 1,000th, and to the end of the load (every
// known peer queued), and the RSS then; beside the minimal loop (resume-minimal.ts: a process that opens the
// same file, reads 1,000 addresses and dials them). Medians of --reps runs, each on a fresh copy of the file.
//
//   node --import tsx scripts/bench/resume.ts [--peers 1000000] [--layouts many,few] [--reps 3] [--active 512] [--keep]
//     [--address-base 152]   (the swarm listens on 127.<base>.0.1-8)
//
// Layouts: `many` = 125 torrents x the swarm's 8,000 endpoints, every peer answers (the swarm in its own
// process, scripts/bench/swarm-simulator.ts); `few` = 4 torrents x 250,000 addresses, of which 1 in 31 is
// a swarm endpoint and the rest refuse at once (127.153.0.0/16, nothing listens: a refused connect is a
// contact attempt too). All traffic stays on 127.0.0.0/8.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { thresholdPieces } from '../../src/config.ts';
import { openAddressKey } from '../../src/store/address-key.ts';
import { Database } from '../../src/store/database.ts';
import { writeKnownPeers, type KnownPeer } from '../../test/helpers/known-peers.ts';
import { args, emit, fmt, hardLimit, makeTorrents, median, startSwarm, type Swarm } from './lib.ts';
import type { SwarmTorrent } from './swarm-simulator.ts';

const a = args();
const PEERS = Number(a.peers ?? 1_000_000);
const LAYOUTS = (a.layouts ?? 'many,few').split(',') as ('many' | 'few')[];
const REPS = Number(a.reps ?? 3);
const ACTIVE = Number(a.active ?? 512);
const KEEP = a.keep === 'true';
hardLimit(30 * 60_000, 'resume');

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
console.log(`resume: ${fmt(PEERS)} known peers, layouts ${LAYOUTS.join(', ')}, ${REPS} reps, --active ${ACTIVE}; swarm ${E.length} endpoints; folder ${dir}`);

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

function build(layout: 'many' | 'few'): { path: string; dialable: number; buildS: number; mb: number } {
  const t0 = Date.now();
  const path = join(dir, `${layout}.sqlite`);
  const db = Database.open(path);
  const ids = layoutTorrents[layout].map((t, i) => db.addTorrent({ infoHash: t.infoHash, infoHashV2: null, name: `${layout}-${i}`, pieces: PIECES,
    pieceSize: 262_144, totalSize: PIECES * 262_144, trackers: [] }, `${layout}-${i}.torrent`, null, Date.now())!.id);
  const hasher = openAddressKey(db, path, keyFile);
  const written = writeKnownPeers(db, hasher, layoutPeers(layout, ids), { pieces: PIECES, thresholdPieces: THRESHOLD_PIECES, endedAt: Date.now() - 7_200_000 });
  db.checkpoint();
  db.close();
  const buildS = (Date.now() - t0) / 1000;
  const mb = statSync(path).size / 1048576;
  console.log(`${layout}: ${fmt(written.sessions)} sessions, ${fmt(written.observations)} observations, ${fmt(mb)} MB, built in ${fmt(buildS, 1)} s`);
  return { path, dialable: written.dialable, buildS, mb };
}

interface Timing {
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
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', PROBE, ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
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
        } else if (/ (warn|error) /.test(line)) console.log(`  ${line}`);
      }
      if (done(t)) stop();
    });
    child.on('exit', () => {
      clearTimeout(limit);
      resolve(t);
    });
  });
}

const figures: Record<string, unknown> = { peers: PEERS, active: ACTIVE, reps: REPS };
for (const layout of LAYOUTS) {
  const built = build(layout);
  const runs: Partial<Timing>[] = [];
  const minimal: Partial<Timing>[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const copy = join(dir, `${layout}-run.sqlite`);
    copyFileSync(built.path, copy);
    const run = await timeChild([BTDA, 'run', '--db', copy, '--key-file', keyFile, '--store-ip', '--input', join(dir, 'none'),
      '--magnet-file', join(dir, 'none.txt'), '--allow', '127.0.0.0/8', '--active', String(ACTIVE), '--encryption', 'off', '--duration', '10m'],
    (t) => t.thousandMs !== undefined && t.loadedMs !== undefined);
    runs.push(run);
    const min = await timeChild([MINIMAL, copy], () => false);
    minimal.push(min);
    rmSync(copy, { force: true });
    rmSync(`${copy}.lock`, { force: true });
    console.log(`  ${layout} rep ${rep + 1}: btda first contact ${fmt(run.firstMs ?? NaN)} ms, 1,000th ${fmt(run.thousandMs ?? NaN)} ms, ` +
      `all ${fmt(run.queued ?? NaN)} queued at ${fmt(run.loadedMs ?? NaN)} ms (load ${fmt(run.loadMs ?? NaN)} ms), RSS ${fmt(run.rssMb ?? NaN)} MB (peak ${fmt(run.hwmMb ?? NaN)}); ` +
      `minimal loop ${fmt(min.firstMs ?? NaN)} / ${fmt(min.thousandMs ?? NaN)} ms`);
  }
  const m = (xs: Partial<Timing>[], k: keyof Timing) => median(xs.map((x) => x[k] ?? NaN).filter(Number.isFinite));
  const r = {
    dialable: built.dialable, dbMb: Math.round(built.mb), buildS: Math.round(built.buildS),
    firstMs: m(runs, 'firstMs'), thousandMs: m(runs, 'thousandMs'), loadedMs: m(runs, 'loadedMs'), loadMs: m(runs, 'loadMs'),
    queued: m(runs, 'queued'), rssMb: Math.round(m(runs, 'rssMb')), hwmMb: Math.round(m(runs, 'hwmMb')),
    minimalFirstMs: m(minimal, 'firstMs'), minimalThousandMs: m(minimal, 'thousandMs'),
  };
  figures[layout] = r;
  console.log(`${layout} (medians of ${REPS}): first contact ${fmt(r.firstMs)} ms (minimal loop ${fmt(r.minimalFirstMs)} ms), 1,000th ${fmt(r.thousandMs)} ms ` +
    `(minimal ${fmt(r.minimalThousandMs)} ms); all ${fmt(r.queued)} of ${fmt(built.dialable)} dialable queued at ${fmt(r.loadedMs)} ms; RSS then ${fmt(r.rssMb)} MB (peak ${fmt(r.hwmMb)} MB)`);
}
await swarm.close();
if (!KEEP) rmSync(dir, { recursive: true, force: true });
emit('resume', figures);
