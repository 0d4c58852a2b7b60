// Soak: the real `btda run` (bin/btda.js, a child process) for 30 minutes against the loopback swarm
// with faults injected on a share of the visits (resets, stalls, garbage, early closes, wrong info
// hashes, hostile messages, silent and dripping peers, resets after the opening state) and endpoints
// that vanish for good. Every minute it samples btda's RSS, open file descriptors and contacts; at
// the end it checks that btda exited by itself, that the database is intact, that every outcome
// count equals what the swarm injected (less the contacts cut short at the stop, counted as
// `stopped`), and that confirmed downloads equal the swarm's ground truth.
//
//   node --import tsx scripts/bench/soak.ts [--minutes 30] [--active 512] [--revisit-delay 300]
//     [--sample-s 60] [--keep]   (--keep: leave the database and log in the temp folder)
//
// All traffic stays on 127.77.0.0/16 (the swarm) and nothing listens on a wildcard address.
import bencode from 'bencode';
import Sqlite from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultConfig, thresholdPieces } from '../../src/config.ts';
import { args, emit, fmt, hardLimit, sleep, startSwarm } from './lib.ts';
import type { FaultKind, FaultMix } from './swarm-faults.ts';
import type { SwarmTorrent } from './swarm-simulator.ts';

const a = args();
const MINUTES = Number(a.minutes ?? 30);
const ACTIVE = Number(a.active ?? 512);
const REVISIT_S = Number(a['revisit-delay'] ?? 300);
const SAMPLE_S = Number(a['sample-s'] ?? 60);
const KEEP = a.keep === 'true';
const RUN_MS = MINUTES * 60_000;
hardLimit(RUN_MS + 5 * 60_000, 'soak');

const BTDA = fileURLToPath(new URL('../../bin/btda.js', import.meta.url));
const PIECES = 2000;
const PIECE_LENGTH = 262_144;
const THRESHOLD = defaultConfig.threshold;
const MAX_FAILURES = defaultConfig.maxFailures;

/** Shares of visits that get each fault (about 9 % in all), and the endpoints that vanish. */
const FAULTS: FaultMix = {
  reset: 0.02,
  stall: 0.01,
  garbage: 0.01,
  close: 0.01,
  wrongHash: 0.005,
  badMessage: 0.01,
  silent: 0.01,
  drip: 0.002,
  resetAfterState: 0.02,
  vanishEndpoints: 0.03,
  vanishWithinMs: RUN_MS * 0.6,
};
/** The reason btda must count for each fault. */
const EXPECTED_REASON: Record<FaultKind, string> = {
  reset: 'reset',
  stall: 'timeout',
  garbage: 'unknown-protocol',
  close: 'closed-early',
  wrongHash: 'wrong-info-hash',
  badMessage: 'bad-message',
  silent: 'no-state',
  drip: 'no-state',
  resetAfterState: 'success',
};

// 13 real .torrent files (content never exists: only the info dict matters to a crawler)
const dir = mkdtempSync(join(tmpdir(), 'btda-soak-'));
const torrentDir = join(dir, 'torrents');
mkdirSync(torrentDir);
const torrents: SwarmTorrent[] = [];
for (let i = 0; i < 13; i++) {
  const info = {
    name: `soak-${i}.bin`,
    'piece length': PIECE_LENGTH,
    length: PIECES * PIECE_LENGTH,
    pieces: Buffer.alloc(20 * PIECES, createHash('sha1').update(`soak ${i}`).digest()),
  };
  const infoHash = createHash('sha1').update(bencode.encode(info)).digest('hex');
  writeFileSync(join(torrentDir, `soak-${i}.torrent`), bencode.encode({ info }));
  torrents.push({ infoHash, pieces: PIECES, thresholdPieces: thresholdPieces(PIECES, THRESHOLD) });
}

const swarm = await startSwarm({
  torrents,
  mix: { haveAll: 1, bitfieldFull: 1, bitfieldHaves: 2, haveNoneHaves: 0.5 },
  afterScript: 'close',
  idleMs: 30_000,
  lifetimeMs: RUN_MS + 4 * 60_000,
  faults: FAULTS,
});
const peersFile = join(dir, 'peers.txt');
const lines: string[] = [];
for (const t of torrents) for (const e of swarm.endpoints) lines.push(`${t.infoHash} ${e.ip}:${e.port}`);
writeFileSync(peersFile, lines.join('\n') + '\n');
console.log(`soak: ${MINUTES} min, --active ${ACTIVE}, revisit ${REVISIT_S} s; swarm ${swarm.endpoints.length} endpoints x ${torrents.length} torrents = ${lines.length} peers; folder ${dir}`);

const dbPath = join(dir, 'soak.sqlite');
const btdaArgs = [
  BTDA, 'run', '--db', dbPath, '--input', torrentDir, '--peers-file', peersFile, '--key-file', join(dir, 'btda.key'),
  '--active', String(ACTIVE), '--revisit-delay', String(REVISIT_S), '--revisit-complete', '--duration', `${MINUTES * 60}`,
  '--stats-interval', '60', '--log', join(dir, 'btda.log'), '--quiet',
  // plaintext only: with the default 'fallback' a reset or closed handshake is tried again encrypted, which
  // the swarm (no MSE) refuses, so injected resets would be counted as closed-early
  '--encryption', 'off',
  // the swarm lives on 127.77.0.0/16: loopback is a special-purpose range the address policy never dials unless allowed
  '--allow', '127.0.0.0/8',
];
const t0 = Date.now();
const child = spawn(process.execPath, btdaArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
let running = true;
void exited.then(() => (running = false));

interface Sample {
  minute: number;
  rssMb: number;
  fds: number;
  contacts: number;
  swarmOpen: number;
  swarmRssMb: number;
}
const samples: Sample[] = [];
const proc = (pid: number) => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return null; // the process has ended
  }
};
const contactsSoFar = (): number => {
  try {
    const db = new Sqlite(dbPath, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT coalesce(sum(count), 0) AS n FROM outcomes').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return NaN; // not created yet, or busy
  }
};

console.log('minute  btda RSS MB  fds   contacts  swarm open  swarm RSS MB');
let hwmMb = 0;
for (let minute = 1; running; minute++) {
  const wakeAt = t0 + minute * SAMPLE_S * 1000;
  while (running && Date.now() < wakeAt) await sleep(Math.min(1000, wakeAt - Date.now()));
  const p = proc(child.pid!);
  if (!running || !p) break;
  hwmMb = Math.max(hwmMb, p.hwmMb);
  const s = await swarm.stats();
  const sample: Sample = { minute: (minute * SAMPLE_S) / 60, rssMb: p.rssMb, fds: p.fds, contacts: contactsSoFar(), swarmOpen: s.open, swarmRssMb: s.rssMb };
  samples.push(sample);
  console.log(`${fmt(sample.minute, 1).padStart(6)}  ${fmt(sample.rssMb, 1).padStart(11)}  ${String(sample.fds).padStart(4)}  ${fmt(sample.contacts).padStart(9)}  ${String(sample.swarmOpen).padStart(10)}  ${fmt(sample.swarmRssMb, 0).padStart(12)}`);
}
const exit = await exited;
const elapsedS = (Date.now() - t0) / 1000;
const stopS = elapsedS - MINUTES * 60; // includes btda's start-up (about a second)
const final = await swarm.stats();
await swarm.close();

// What btda stored
const db = new Sqlite(dbPath, { readonly: true, fileMustExist: true });
const integrity = (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
const run = db.prepare('SELECT id, exit_reason AS exitReason, ended_at AS endedAt FROM runs ORDER BY id DESC LIMIT 1').get() as { id: number; exitReason: string; endedAt: string | null };
const counted = new Map<string, number>();
for (const r of db.prepare('SELECT reason, sum(count) AS n FROM outcomes WHERE run_id = ? GROUP BY reason').all(run.id) as { reason: string; n: number }[]) counted.set(r.reason, r.n);
const confirmed = (db.prepare('SELECT count(*) AS n FROM confirmed_downloads').get() as { n: number }).n;
const peerRows = (db.prepare('SELECT count(*) AS n FROM peers WHERE visits > 0').get() as { n: number }).n;
// the evidence: rows of observations (state changes only) and their bytes on disk, table and indexes (dbstat)
const observationRows = (db.prepare('SELECT count(*) AS n FROM observations').get() as { n: number }).n;
const observationBytes = (db.prepare("SELECT coalesce(sum(pgsize), 0) AS n FROM dbstat WHERE name IN ('observations', 'observations_peer', 'observations_run')").get() as { n: number }).n;
db.close();

// What the swarm injected, as the reasons btda must count
const expected = new Map<string, number>([['success', final.honest]]);
for (const [fault, n] of Object.entries(final.faults) as [FaultKind, number][]) {
  const reason = EXPECTED_REASON[fault];
  expected.set(reason, (expected.get(reason) ?? 0) + n);
}
const contacts = [...counted.values()].reduce((x, y) => x + y, 0);
console.log(`\nbtda exit code ${exit.code}${exit.signal ? ` (signal ${exit.signal})` : ''} after ${fmt(elapsedS)} s (${fmt(stopS, 1)} s past --duration), run ${run.id}: ${run.exitReason}; integrity_check: ${integrity}`);
console.log(`contacts ${fmt(contacts)} (${fmt(contacts / elapsedS)}/s); handshakes the swarm read ${fmt(final.handshakes)}; peers measured ${fmt(peerRows)}`);
const perMillion = (n: number) => (contacts > 0 ? (n * 1e6) / contacts : 0);
console.log(`observations ${fmt(observationRows)} rows, ${fmt(observationBytes / 1048576, 1)} MB with indexes: ` +
  `${fmt(perMillion(observationRows))} rows and ${fmt(perMillion(observationBytes) / 1048576, 1)} MB per million contacts`);
// Contacts in flight when the run stopped were cut short after --stop-grace: those without a state
// count as `stopped` instead of what was injected, so each reason may fall short by at most that many.
const stopped = counted.get('stopped') ?? 0;
console.log('\nreason            injected   counted   difference');
let mismatches = 0;
let shortfall = 0;
for (const reason of new Set([...expected.keys(), ...counted.keys()])) {
  if (reason === 'refused' || reason === 'stopped') continue;
  const e = expected.get(reason) ?? 0;
  const c = counted.get(reason) ?? 0;
  if (c > e) mismatches++;
  shortfall += e - c;
  console.log(`${reason.padEnd(16)}  ${fmt(e).padStart(8)}  ${fmt(c).padStart(8)}  ${String(c - e).padStart(11)}`);
}
console.log(`stopped           ${fmt(stopped).padStart(8)} counted: cut short at the stop (the reasons above fall short by ${shortfall} in all)`);
if (shortfall < 0 || shortfall > stopped) mismatches++;
const refused = counted.get('refused') ?? 0;
const refusedBound = final.vanishedPeers * MAX_FAILURES;
console.log(`refused           ${fmt(refused).padStart(8)} counted; ${final.vanishedEndpoints} endpoints vanished = ${final.vanishedPeers} peers, each tried at most ${MAX_FAILURES} times (bound ${fmt(refusedBound)})`);
if (refused > refusedBound) mismatches++;
console.log(`confirmed downloads: ${confirmed} in the view, ${final.confirmedTruth} by the swarm's ground truth`);

// RSS flat? It swings with the revisit waves (every peer falls due again after --revisit-delay), so the
// halves are compared by their highs and lows, after the first minute (the initial import).
const steady = samples.slice(1).map((s) => s.rssMb);
const half = Math.max(1, Math.floor(steady.length / 2));
const [first, second] = [steady.slice(0, half), steady.slice(half)];
const range = (xs: number[]) => (xs.length ? { low: Math.min(...xs), high: Math.max(...xs) } : { low: NaN, high: NaN });
const early = range(first);
const late = range(second.length ? second : first);
const fdsMax = Math.max(...samples.map((s) => s.fds));
console.log(`RSS: ${fmt(early.low)}-${fmt(early.high)} MB in the first half, ${fmt(late.low)}-${fmt(late.high)} MB in the second (highs ${late.high >= early.high ? '+' : ''}${fmt(late.high - early.high, 1)} MB); peak ${fmt(hwmMb, 1)} MB; open fds at most ${fdsMax}`);

emit('soak', {
  minutes: MINUTES,
  active: ACTIVE,
  exitCode: exit.code,
  exitReason: run.exitReason,
  integrity,
  contacts,
  contactsPerS: Math.round(contacts / elapsedS),
  mismatches,
  stopped,
  stopS: Math.round(stopS * 10) / 10,
  confirmed,
  confirmedTruth: final.confirmedTruth,
  observationRows,
  observationBytes,
  observationRowsPerMillionContacts: Math.round(perMillion(observationRows)),
  observationMbPerMillionContacts: Math.round((perMillion(observationBytes) / 1048576) * 10) / 10,
  refused,
  vanishedPeers: final.vanishedPeers,
  rssFirstHalfMb: [Math.round(early.low), Math.round(early.high)],
  rssSecondHalfMb: [Math.round(late.low), Math.round(late.high)],
  rssPeakMb: Math.round(hwmMb),
  fdsMax,
  rssPerMinute: samples.map((s) => Math.round(s.rssMb)),
});
if (!KEEP) rmSync(dir, { recursive: true, force: true });
const ok = exit.code === 0 && integrity === 'ok' && mismatches === 0 && confirmed === final.confirmedTruth;
console.log(ok ? '\nsoak: PASS' : '\nsoak: FAIL');
process.exit(ok ? 0 : 1);
