// Shards on one host: contacts/s of one `btda run` process against the loopback swarm, then of two processes
// `--shard 1/2` and `--shard 2/2` at once (each its own SQLite file, the same key file) against the same swarm
// (its own process, scripts/bench/swarm-simulator.ts); beside the same for the minimal loop (minimal-loop.ts:
// one process over all the peers, then two over a half each, split by the same shard key). The order of one
// and two alternates per rep (ABBA), and the figures are medians. Each rep ends with one `--shard 1/2` process
// alone: what sharding costs a process, apart from two crawlers sharing the cores.
//
//   node --import tsx scripts/bench/shards.ts [--reps 3] [--seconds 20] [--active 512] [--torrents 13] [--address-base 151]
//
// What a btda process's rate is: the `statistics` rows it writes every 2 s (`evaluations`, cumulative
// contacts), from the first row after the warm-up (the torrents imported, the peers file read) to its last
// row; its CPU time per contact over the same window (/proc, sampled every 100 ms). On a machine shared with
// other work the rates swing with that work; the CPU per contact says whether a shard costs more per contact. The peers (torrents x 8,000 endpoints) are all seeds, visited again 5 s after each contact
// (--revisit-complete), so no process ever runs out of due peers. All traffic stays on 127.0.0.0/8.
import bencode from 'bencode';
import Sqlite from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shardOf } from '../../src/queue/shard.ts';
import { args, emit, fmt, hardLimit, machineBusyMs, median, sleep, startSwarm } from './lib.ts';
import { runMinimalLoop, type Target } from './minimal-loop.ts';
import type { SwarmTorrent } from './swarm-simulator.ts';

const a = args();
const REPS = Number(a.reps ?? 3);
const SECONDS = Number(a.seconds ?? 20);
const ACTIVE = Number(a.active ?? 512);
const TORRENTS = Number(a.torrents ?? 13);
const WARMUP_S = 4;
const SELF = fileURLToPath(import.meta.url);
const BTDA = fileURLToPath(new URL('../../bin/btda.js', import.meta.url));
const PIECES = 1000;

/** The torrents (real .torrent files: the run imports them) and their info hashes. */
function writeTorrents(dir: string): SwarmTorrent[] {
  const out: SwarmTorrent[] = [];
  for (let i = 0; i < TORRENTS; i++) {
    const info = { name: `shard-${i}.bin`, 'piece length': 262_144, length: PIECES * 262_144, pieces: Buffer.alloc(20 * PIECES, createHash('sha1').update(`shard ${i}`).digest()) };
    writeFileSync(join(dir, `shard-${i}.torrent`), bencode.encode({ info }));
    out.push({ infoHash: createHash('sha1').update(bencode.encode(info)).digest('hex'), pieces: PIECES });
  }
  return out;
}

function handshakeOf(infoHash: string): Buffer {
  const hs = Buffer.alloc(68);
  hs[0] = 19;
  hs.write('BitTorrent protocol', 1, 'latin1');
  hs[25] = 0x10;
  hs[27] = 0x04;
  Buffer.from(infoHash, 'hex').copy(hs, 28);
  Buffer.from('-BD0001-minimalloop!', 'latin1').copy(hs, 48);
  return hs;
}

// --- child mode: the minimal loop over its share of the peers file, for --seconds ---
if (a['child-minimal']) {
  const [k, n] = a['child-minimal'].split('/').map(Number);
  const targets: Target[] = [];
  for (const line of readFileSync(a.peers, 'utf8').split('\n')) {
    const m = /^([0-9a-f]{40}) ([\d.]+):(\d+)$/.exec(line);
    if (m && shardOf(m[1], m[2], Number(m[3]), n) === k) targets.push({ ip: m[2], port: Number(m[3]), handshake: handshakeOf(m[1]) });
  }
  const end = performance.now() + SECONDS * 1000;
  let contacts = 0;
  let ms = 0;
  const cpu0 = process.cpuUsage();
  while (performance.now() < end) {
    const r = await runMinimalLoop(targets, ACTIVE, end - performance.now());
    contacts += r.contacts;
    ms += r.ms;
  }
  const cpu = process.cpuUsage(cpu0);
  console.log(`MINIMAL ${JSON.stringify({ contacts, ms, cpuMs: (cpu.user + cpu.system) / 1000 })}`);
  process.exit(0);
}

hardLimit(REPS * (5 * SECONDS + 150) * 1000, 'shards');
const dir = mkdtempSync(join(tmpdir(), 'btda-shards-'));
const torrentDir = join(dir, 'torrents');
mkdirSync(torrentDir);
const torrents = writeTorrents(torrentDir);
// its own addresses (--address-base): another benchmark's swarm on the default 127.77.0.0/16 may be running
const swarm = await startSwarm({ torrents, mix: { haveAll: 1, bitfieldFull: 1 }, afterScript: 'close', lifetimeMs: REPS * (5 * SECONDS + 150) * 1000,
  addressBase: Number(a['address-base'] ?? 151) });
if (swarm.endpoints.length === 0) throw new Error(`the swarm bound no listener (${swarm.failedBinds} failed): another process holds its addresses?`);
const peersFile = join(dir, 'peers.txt');
const lines: string[] = [];
for (const t of torrents) for (const e of swarm.endpoints) lines.push(`${t.infoHash} ${e.ip}:${e.port}`);
writeFileSync(peersFile, lines.join('\n') + '\n');
const keyFile = join(dir, 'btda.key');
console.log(`shards: ${fmt(lines.length)} peers (${TORRENTS} torrents x ${swarm.endpoints.length} endpoints, seeds), --active ${ACTIVE}, ${SECONDS} s a run, ${REPS} reps; ` +
  `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);

interface ProcessRate {
  perSec: number;
  contacts: number;
  cpuUsPerContact: number;
}

function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

/** One `btda run` (a shard when `shard` is given); its rate from its statistics rows. */
async function btdaProcess(name: string, shard: string | null): Promise<ProcessRate> {
  const db = join(dir, `${name}.sqlite`);
  const argv = [BTDA, 'run', '--db', db, '--input', torrentDir, '--magnet-file', join(dir, 'none.txt'), '--peers-file', peersFile, '--key-file', keyFile,
    '--allow', '127.0.0.0/8', '--active', String(ACTIVE), '--encryption', 'off', '--revisit-complete', '--revisit-delay', '5',
    '--duration', String(SECONDS), '--stats-interval', '2', '--stop-grace', '1', '--quiet', ...(shard ? ['--shard', shard] : [])];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'inherit'] });
  // (wall time, CPU time) of the process every 100 ms: its CPU over the steady window, not its start-up
  const cpu: [number, number][] = [];
  const sampler = setInterval(() => {
    const ms = cpuMsOf(child.pid!);
    if (Number.isFinite(ms)) cpu.push([Date.now(), ms]);
  }, 100);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(sampler);
  if (code !== 0) console.log(`  ${name}: exit code ${code}`);
  const sqlite = new Sqlite(db, { readonly: true });
  const rows = sqlite.prepare('SELECT at, evaluations FROM statistics ORDER BY id').all() as { at: string; evaluations: number }[];
  const contacts = (sqlite.prepare('SELECT coalesce(sum(count), 0) AS n FROM outcomes').get() as { n: number }).n;
  const started = Date.parse((sqlite.prepare('SELECT started_at FROM runs').get() as { started_at: string }).started_at);
  sqlite.close();
  rmSync(db, { force: true });
  // from the first row after the warm-up to the last row before the stop (the final row is written after it)
  const steady = rows.filter((r) => Date.parse(r.at) - started >= WARMUP_S * 1000 && Date.parse(r.at) - started <= SECONDS * 1000 + 500);
  const first = steady[0];
  const last = steady.at(-1);
  if (!first || !last || last === first) return { perSec: NaN, contacts, cpuUsPerContact: NaN };
  const from = Date.parse(first.at);
  const to = Date.parse(last.at);
  const steadyContacts = last.evaluations - first.evaluations;
  // the first sample at or after t (the process may have ended within 100 ms of its last row: then its last sample)
  const cpuAt = (t: number) => cpu.find(([at]) => at >= t)?.[1] ?? cpu.at(-1)?.[1] ?? NaN;
  return { perSec: (steadyContacts * 1000) / (to - from), contacts, cpuUsPerContact: ((cpuAt(to) - cpuAt(from)) * 1000) / steadyContacts };
}

async function minimalProcess(shard: string): Promise<ProcessRate> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--child-minimal', shard, '--peers', peersFile, '--seconds', String(SECONDS), '--active', String(ACTIVE)],
    { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (t: string) => (out += t));
  await new Promise((resolve) => child.on('exit', resolve));
  const m = /MINIMAL (\{.*\})/.exec(out);
  if (!m) return { perSec: NaN, contacts: 0, cpuUsPerContact: NaN };
  const r = JSON.parse(m[1]) as { contacts: number; ms: number; cpuMs: number };
  return { perSec: (r.contacts * 1000) / r.ms, contacts: r.contacts, cpuUsPerContact: (r.cpuMs * 1000) / r.contacts };
}

interface Setting {
  one: ProcessRate[];
  two: [ProcessRate, ProcessRate][];
}
const results: Record<'btda' | 'minimal', Setting> = { btda: { one: [], two: [] }, minimal: { one: [], two: [] } };
const busy: number[] = [];
const shardAlone: ProcessRate[] = [];

/** The swarm's CPU, ms: on 2 cores it takes a large share of the machine that the crawlers cannot have. */
const swarmCpuMs = async () => {
  const st = await swarm.stats();
  return st.cpuUserMs + st.cpuSystemMs;
};
const swarmShare: number[] = [];

async function measure(kind: 'btda' | 'minimal', procs: 1 | 2): Promise<void> {
  const busy0 = machineBusyMs();
  const swarm0 = await swarmCpuMs();
  const t0 = Date.now();
  if (procs === 1) {
    const r = kind === 'btda' ? await btdaProcess('one', null) : await minimalProcess('1/1');
    results[kind].one.push(r);
    console.log(`  ${kind.padEnd(7)} 1 process:   ${fmt(r.perSec)}/s (${fmt(r.cpuUsPerContact)} µs CPU a contact)`);
  } else {
    const [x, y] = kind === 'btda' ? await Promise.all([btdaProcess('shard1', '1/2'), btdaProcess('shard2', '2/2')])
      : await Promise.all([minimalProcess('1/2'), minimalProcess('2/2')]);
    results[kind].two.push([x, y]);
    console.log(`  ${kind.padEnd(7)} 2 processes: ${fmt(x.perSec)}/s + ${fmt(y.perSec)}/s = ${fmt(x.perSec + y.perSec)}/s ` +
      `(${fmt(x.cpuUsPerContact)}, ${fmt(y.cpuUsPerContact)} µs CPU a contact)`);
  }
  // the machine's busy share meanwhile (2 cores = 200 %): the swarm, the crawlers and whatever else runs here
  busy.push(((machineBusyMs() - busy0) / (Date.now() - t0)) * 100);
  swarmShare.push((((await swarmCpuMs()) - swarm0) / (Date.now() - t0)) * 100);
  await sleep(1000);
}

for (let rep = 0; rep < REPS; rep++) {
  console.log(`rep ${rep + 1}: load average ${loadavg()[0].toFixed(2)}`);
  const order: (1 | 2)[] = rep % 2 === 0 ? [1, 2] : [2, 1];
  for (const procs of order) await measure('btda', procs);
  for (const procs of order) await measure('minimal', procs);
  // one shard with the machine to itself: what --shard costs a process (its key is computed per address named,
  // not per contact), apart from two crawlers sharing the cores
  const alone = await btdaProcess('alone', '1/2');
  shardAlone.push(alone);
  console.log(`  btda    --shard 1/2 alone: ${fmt(alone.perSec)}/s (${fmt(alone.cpuUsPerContact)} µs CPU a contact)`);
  await sleep(1000);
}
await swarm.close();
rmSync(dir, { recursive: true, force: true });

const summary = (s: Setting) => {
  const one = median(s.one.map((r) => r.perSec));
  const two = median(s.two.map(([x, y]) => x.perSec + y.perSec));
  const each = median(s.two.flatMap(([x, y]) => [x.perSec, y.perSec]));
  // the ratio of each rep's adjacent runs (one and two alternate), then their median: drift hits both sides
  const pairRatio = median(s.one.map((r, i) => (s.two[i][0].perSec + s.two[i][1].perSec) / r.perSec));
  return { onePerSec: Math.round(one), twoPerSec: Math.round(two), twoEachPerSec: Math.round(each), ratio: Math.round((two / one) * 100) / 100,
    pairRatio: Math.round(pairRatio * 100) / 100,
    oneCpuUs: Math.round(median(s.one.map((r) => r.cpuUsPerContact))), twoCpuUs: Math.round(median(s.two.flatMap(([x, y]) => [x.cpuUsPerContact, y.cpuUsPerContact]))) };
};
const b = summary(results.btda);
const m = summary(results.minimal);
console.log(`\nmedians of ${REPS} (machine busy ${fmt(median(busy))} % of 200 % during the runs, the swarm ${fmt(median(swarmShare))} %; load average now ${loadavg()[0].toFixed(2)}):`);
console.log(`btda:         1 process ${fmt(b.onePerSec)}/s; 2 shards ${fmt(b.twoEachPerSec)}/s each, ${fmt(b.twoPerSec)}/s together = ${fmt(b.ratio, 2)} x (per rep ${fmt(b.pairRatio, 2)} x); CPU ${fmt(b.oneCpuUs)} vs ${fmt(b.twoCpuUs)} µs a contact`);
console.log(`--shard 1/2 alone: ${fmt(median(shardAlone.map((r) => r.perSec)))}/s, CPU ${fmt(median(shardAlone.map((r) => r.cpuUsPerContact)))} µs a contact`);
console.log(`minimal loop: 1 process ${fmt(m.onePerSec)}/s; 2 processes ${fmt(m.twoEachPerSec)}/s each, ${fmt(m.twoPerSec)}/s together = ${fmt(m.ratio, 2)} x (per rep ${fmt(m.pairRatio, 2)} x); CPU ${fmt(m.oneCpuUs)} vs ${fmt(m.twoCpuUs)} µs a contact`);
emit('shards', { reps: REPS, seconds: SECONDS, active: ACTIVE, peers: lines.length, btda: b, minimal: m, machineBusyPct: Math.round(median(busy)), swarmCpuPct: Math.round(median(swarmShare)),
  shardAlonePerSec: Math.round(median(shardAlone.map((r) => r.perSec))), shardAloneCpuUs: Math.round(median(shardAlone.map((r) => r.cpuUsPerContact))) });
