// Benchmark 1: contacts per second against seeds, btda's pipeline next to the minimal loop, in the same
// run and against the same swarm, at --active 512 and 4096. The runs alternate (minimal, btda, btda,
// minimal, ...) so drift on a noisy machine hits both; the ratio is taken per pair, then the median.
// A btda run is timed from the first contact until the last result is in SQLite (the final flush).
//
//   node --import tsx scripts/bench/contacts.ts [--peers 30000] [--reps 3] [--active 512,4096]
//     [--only btda|minimal] (for profiles)  [--skip-writer] (diagnostic: the pool without the ResultWriter)
import { args, emit, fmt, hardLimit, makeTorrents, median, StallMonitor, startSwarm, withTimeout } from './lib.ts';
import { runMinimalLoop, type Target } from './minimal-loop.ts';
import { createPipeline, type PeerToAdd } from './pipeline.ts';

const a = args();
const PEERS = Number(a.peers ?? 30_000);
const REPS = Number(a.reps ?? 3);
const ACTIVES = (a.active ?? '512,4096').split(',').map(Number);
const RUN_LIMIT_MS = 40_000;
/** `--only btda` skips the minimal loop (for profiles: node --cpu-prof --import tsx ...), `--only minimal` btda. */
const ONLY_BTDA = a.only === 'btda';
const ONLY_MINIMAL = a.only === 'minimal';
/** `--skip-writer`: a diagnostic, btda's pool without the ResultWriter (nothing is written). */
const SKIP_WRITER = a['skip-writer'] === 'true';
hardLimit(Number(a['limit-ms'] ?? 170_000), 'contacts benchmark');

const torrents = makeTorrents(13, 2000);
const swarm = await startSwarm({ torrents, mix: { haveAll: 1, bitfieldFull: 1 }, idleMs: 20_000, lifetimeMs: 200_000 });
console.log(`swarm: ${swarm.endpoints.length} endpoints x ${torrents.length} torrents = ${swarm.endpoints.length * torrents.length} distinct peers (listen ${swarm.listenMs} ms, ${swarm.failedBinds} binds failed)`);

// Every (endpoint, torrent) pair is a peer; runs take consecutive slices, so a peer is seldom reused.
const all: PeerToAdd[] = [];
for (let ti = 0; ti < torrents.length; ti++) for (const e of swarm.endpoints) all.push({ torrentIndex: ti, ip: e.ip, port: e.port });
shuffle(all);
let cursor = 0;
const slice = (n: number): PeerToAdd[] => {
  const out: PeerToAdd[] = [];
  for (let i = 0; i < n; i++) out.push(all[(cursor + i) % all.length]);
  cursor = (cursor + n) % all.length;
  return out;
};
const handshakes = torrents.map((t) => {
  const hs = Buffer.alloc(68);
  hs[0] = 19;
  hs.write('BitTorrent protocol', 1, 'latin1');
  hs[25] = 0x10;
  hs[27] = 0x04;
  Buffer.from(t.infoHash, 'hex').copy(hs, 28);
  Buffer.from('-BD0001-minimalloop!', 'latin1').copy(hs, 48);
  return hs;
});

interface Run {
  rate: number;
  cpuMs: number;
  simCpuMs: number;
  ok: number;
  ms: number;
}

async function minimal(active: number): Promise<Run> {
  if (ONLY_BTDA) return { rate: NaN, cpuMs: NaN, simCpuMs: NaN, ok: 1, ms: NaN };
  const targets: Target[] = slice(PEERS).map((p) => ({ ip: p.ip, port: p.port, handshake: handshakes[p.torrentIndex] }));
  const sim0 = await swarm.stats();
  const cpu0 = process.cpuUsage();
  const r = await runMinimalLoop(targets, active, RUN_LIMIT_MS);
  const cpu = process.cpuUsage(cpu0);
  const sim1 = await swarm.stats();
  return { rate: (r.contacts / r.ms) * 1000, cpuMs: (cpu.user + cpu.system) / 1000, simCpuMs: simCpu(sim1) - simCpu(sim0), ok: r.ok, ms: r.ms };
}

async function btda(active: number): Promise<Run & { stallMs: number; busyStallMs: number; gcMaxMs: number; flushMs: number; rows: number; reasons: string }> {
  if (ONLY_MINIMAL) return { rate: NaN, cpuMs: NaN, simCpuMs: NaN, ok: 1, ms: NaN, stallMs: NaN, busyStallMs: NaN, gcMaxMs: NaN, flushMs: NaN, rows: 0, reasons: '' };
  const p = await createPipeline({ torrents, active, skipWriter: SKIP_WRITER });
  const peers = slice(PEERS);
  p.addPeers(peers);
  p.writer.flush(); // the discovered rows: written before the clock starts (a crawl finds peers over time)
  const stall = new StallMonitor();
  const sim0 = await swarm.stats();
  const cpu0 = process.cpuUsage();
  stall.start();
  const t0 = performance.now();
  p.start();
  await p.contactsReached(peers.length, RUN_LIMIT_MS);
  const { flushMs, flushed } = await p.stop();
  const ms = performance.now() - t0;
  const stalls = stall.stop();
  const cpu = process.cpuUsage(cpu0);
  const sim1 = await swarm.stats();
  if (!flushed) throw new Error('final flush failed');
  const rows = (p.db.sqlite.prepare('SELECT count(*) AS n FROM peers WHERE visits > 0').get() as { n: number }).n;
  if (!SKIP_WRITER && rows !== p.counters.successes) throw new Error(`${p.counters.successes} successes but ${rows} peer rows written`);
  const reasons = [...p.counters.reasons].map(([k, v]) => `${k}=${v}`).join(' ');
  p.close();
  return {
    rate: (p.counters.contacts / ms) * 1000,
    cpuMs: (cpu.user + cpu.system) / 1000,
    simCpuMs: simCpu(sim1) - simCpu(sim0),
    ok: p.counters.successes,
    ms,
    stallMs: stalls.maxMs,
    busyStallMs: stalls.busyMaxMs,
    gcMaxMs: stalls.gcMaxMs,
    flushMs,
    rows,
    reasons,
  };
}

const simCpu = (s: { cpuUserMs: number; cpuSystemMs: number }) => s.cpuUserMs + s.cpuSystemMs;

const summary: Record<string, unknown> = { peersPerRun: PEERS, reps: REPS };
// warm-up: JIT, sockets, SQLite (not counted)
await withTimeout(minimal(512), 60_000, 'warm-up');
await withTimeout(btda(512).then(() => undefined), 60_000, 'warm-up');

for (const active of ACTIVES) {
  const mins: Run[] = [];
  const runs: Awaited<ReturnType<typeof btda>>[] = [];
  const ratios: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    // ABBA order: minimal first on even reps, btda first on odd ones
    let m: Run, b: Awaited<ReturnType<typeof btda>>;
    if (rep % 2 === 0) {
      m = await minimal(active);
      b = await btda(active);
    } else {
      b = await btda(active);
      m = await minimal(active);
    }
    mins.push(m);
    runs.push(b);
    ratios.push(b.rate / m.rate);
    console.log(
      `active ${active} rep ${rep + 1}: minimal ${fmt(m.rate)}/s (${fmt((m.cpuMs / m.ok) * 1000, 1)} µs cpu/contact, swarm ${fmt((m.simCpuMs / m.ok) * 1000, 1)} µs)` +
        ` | btda ${fmt(b.rate)}/s (${fmt((b.cpuMs / b.ok) * 1000, 1)} µs cpu/contact, swarm ${fmt((b.simCpuMs / b.ok) * 1000, 1)} µs)` +
        ` ratio ${fmt(b.rate / m.rate, 2)}; final flush ${fmt(b.flushMs)} ms, longest stall ${fmt(b.stallMs)} ms (${fmt(b.busyStallMs)} ms on our CPU, GC ${fmt(b.gcMaxMs)} ms), rows ${b.rows}; ${b.reasons}`,
    );
  }
  const row = {
    minimalPerSec: median(mins.map((r) => r.rate)),
    btdaPerSec: median(runs.map((r) => r.rate)),
    ratio: median(ratios),
    btdaCpuUsPerContact: median(runs.map((r) => (r.cpuMs / r.ok) * 1000)),
    minimalCpuUsPerContact: median(mins.map((r) => (r.cpuMs / r.ok) * 1000)),
    /** Minimal loop CPU per contact over btda's: the throughput ratio when each side is bound by its one thread. */
    cpuRatio: median(mins.map((r) => (r.cpuMs / r.ok) * 1000)) / median(runs.map((r) => (r.cpuMs / r.ok) * 1000)),
    maxStallMs: Math.max(...runs.map((r) => r.stallMs)),
    maxBusyStallMs: Math.max(...runs.map((r) => r.busyStallMs)),
    maxGcMs: Math.max(...runs.map((r) => r.gcMaxMs)),
    finalFlushMs: median(runs.map((r) => r.flushMs)),
  };
  summary[`active${active}`] = row;
  console.log(
    `active ${active}: median minimal ${fmt(row.minimalPerSec)}/s, btda ${fmt(row.btdaPerSec)}/s, ratio ${fmt(row.ratio, 2)} (target >= 0.80), ` +
      `cpu/contact btda ${fmt(row.btdaCpuUsPerContact, 1)} µs vs minimal ${fmt(row.minimalCpuUsPerContact, 1)} µs (CPU ratio ${fmt(row.cpuRatio, 2)}), longest stall ${fmt(row.maxStallMs)} ms (${fmt(row.maxBusyStallMs)} ms on our CPU)`,
  );
}
emit('contacts', summary);
await swarm.close();

function shuffle<T>(xs: T[]): void {
  let seed = 12345;
  for (let i = xs.length - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const j = seed % (i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}
