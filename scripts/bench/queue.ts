// Benchmark: the DueQueue alone with 1,000,000 peers, a share of them IPv6 (full-length addresses, as
// SLAAC and privacy addresses are). Each run is its own child process (so RSS is the queue's): add
// every peer (new), add them all again (known: most of what collectors report), then take each one
// and finish it (rescheduled: one pop and one push), then the same reading its address text as a visit does.
// Next to it: the same work with `--baseline <git revision>`'s DueQueue, alternating (ABBA) in the
// same session, and a minimal loop (a Map of text keys and an array: de-duplication and FIFO only).
// No network at all.
//
//   node --import tsx scripts/bench/queue.ts [--peers 1000000] [--v6-share 0.5] [--reps 3] [--baseline main]
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { args, emit, fmt, hardLimit, median } from './lib.ts';

const a = args();
const PEERS = Number(a.peers ?? 1_000_000);
const V6_SHARE = Number(a['v6-share'] ?? 0.5);
const CHUNK = 10_000;

interface Figures {
  impl: string;
  addNewNs: number;
  addKnownNs: number;
  takeFinishNs: number;
  takeIpFinishNs: number;
  rssMb: number;
  baseRssMb: number;
  bytesPerPeer: number;
}

/** Queue-like things the child can time: DueQueue (this tree's or a baseline's) or the minimal loop. */
interface Queueish {
  add(torrentId: number, ip: string, port: number, source: 'dht', now: number): unknown;
  take(now: number): { ip: string; port: number } | undefined;
  finish(peer: unknown, success: boolean, complete: boolean, now: number): void;
}

/** Peer i: torrent i % 13; IPv6 for a V6_SHARE of them (spread evenly), else IPv4; all distinct. */
function peerText(i: number): string {
  if (Math.floor((i + 1) * V6_SHARE) === Math.floor(i * V6_SHARE)) return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
  let h = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1);
  const g = () => ((h = Math.imul(h ^ (h >>> 13), 0x85ebca6b)) >>> 16).toString(16);
  return `2a01:e0a:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}:${g()}:${g()}:${g()}:${g()}`;
}

class MinimalLoop implements Queueish {
  private readonly known = new Map<string, number>();
  private readonly fifo: { ip: string; port: number }[] = [];
  private head = 0;
  add(torrentId: number, ip: string, port: number): void {
    const key = `${torrentId}|${ip}|${port}`;
    if (this.known.has(key)) return;
    this.known.set(key, this.known.size);
    this.fifo.push({ ip, port });
  }
  take(): { ip: string; port: number } | undefined {
    return this.head < this.fifo.length ? this.fifo[this.head++] : undefined;
  }
  finish(peer: unknown): void {
    this.fifo.push(peer as { ip: string; port: number });
  }
}

/** CPU time of this process (user + system, GC threads included), in ns: other processes on a busy machine do not count. */
const cpuNs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
};

async function child(impl: string, modulePath: string): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  const policy = { revisitDelayMs: 60_000, revisitComplete: false, maxFailures: 3, retryDelayMs: 1000 };
  const q: Queueish = impl === 'minimal' ? new MinimalLoop() : new (await import(modulePath)).DueQueue(policy);
  gc();
  const base = process.memoryUsage();
  const addAll = (): number => {
    let ns = 0;
    const texts: string[] = new Array(CHUNK);
    for (let i = 0; i < PEERS; i += CHUNK) {
      const n = Math.min(CHUNK, PEERS - i);
      for (let j = 0; j < n; j++) texts[j] = peerText(i + j); // made outside the timed part, like a collector's list
      const t0 = cpuNs();
      for (let j = 0; j < n; j++) q.add((i + j) % 13, texts[j], 6881 + ((i + j) & 1023), 'dht', 0);
      ns += cpuNs() - t0;
    }
    return ns / PEERS;
  };
  const addNewNs = addAll();
  gc();
  const loaded = process.memoryUsage();
  const addKnownNs = addAll();
  // every peer taken and rescheduled (one pop, one push), then again reading its address text as a visit does
  let sink = 0;
  let t0 = cpuNs();
  for (let i = 0; i < PEERS; i++) {
    const peer = q.take(Infinity)!;
    sink += peer.port;
    q.finish(peer, true, false, 2);
  }
  const takeFinishNs = (cpuNs() - t0) / PEERS;
  t0 = cpuNs();
  for (let i = 0; i < PEERS; i++) {
    const peer = q.take(Infinity)!;
    sink += peer.ip.length;
    q.finish(peer, true, false, 3);
  }
  const takeIpFinishNs = (cpuNs() - t0) / PEERS;
  if (sink === 0) throw new Error('nothing taken');
  const figures: Figures = {
    impl,
    addNewNs,
    addKnownNs,
    takeFinishNs,
    takeIpFinishNs,
    rssMb: loaded.rss / 1048576,
    baseRssMb: base.rss / 1048576,
    bytesPerPeer: (loaded.heapUsed + loaded.external - base.heapUsed - base.external) / PEERS,
  };
  process.send!(figures);
}

function runChild(impl: string, modulePath: string): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const c = fork(fileURLToPath(import.meta.url), ['--child', impl, '--module', modulePath, '--peers', String(PEERS), '--v6-share', String(V6_SHARE)], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
    });
    let got: Figures | undefined;
    c.on('message', (m) => (got = m as Figures));
    c.on('exit', (code) => (got ? resolve(got) : reject(new Error(`${impl}: child exited with ${code}`))));
  });
}

if (a.child) {
  await child(a.child, a.module);
  process.exit(0);
}

hardLimit(Number(a['limit-ms'] ?? 540_000), 'queue benchmark');
const REPS = Number(a.reps ?? 3);
const current = fileURLToPath(new URL('../../src/queue/due-queue.ts', import.meta.url));
const impls: [string, string][] = [['current', current]];
/** The baseline's src/ tree as it was at that revision (the DueQueue imports the index and heap beside it). */
let baselineDir: string | undefined;
if (a.baseline) {
  baselineDir = mkdtempSync(join(tmpdir(), 'btda-baseline-'));
  const tar = execFileSync('git', ['archive', '--format=tar', a.baseline, 'src', 'package.json', 'tsconfig.json'], { maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', baselineDir], { input: tar });
  impls.unshift([`baseline (${a.baseline})`, join(baselineDir, 'src/queue/due-queue.ts')]);
}
impls.push(['minimal', '']);
const runs = new Map<string, Figures[]>(impls.map(([name]) => [name, []]));
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 === 0 ? impls : [...impls].reverse(); // ABBA: drift hits each the same
  for (const [name, path] of order) runs.get(name)!.push(await runChild(name, path));
}
if (baselineDir) rmSync(baselineDir, { recursive: true, force: true });

console.log(`${fmt(PEERS)} peers, ${fmt(V6_SHARE * 100)} % IPv6, ${REPS} runs each (medians; CPU ns per peer):`);
console.log('| queue | add (new) | add (known) | take + finish | take + address text + finish | RSS with all queued | heap + external per peer |');
console.log('|---|---|---|---|---|---|---|');
const row: Record<string, number> = { peers: PEERS, v6Share: V6_SHARE };
for (const [name] of impls) {
  const f = runs.get(name)!;
  const m = (k: keyof Figures) => median(f.map((x) => x[k] as number));
  console.log(`| ${name} | ${fmt(m('addNewNs'))} | ${fmt(m('addKnownNs'))} | ${fmt(m('takeFinishNs'))} | ${fmt(m('takeIpFinishNs'))} | ${fmt(m('rssMb'))} MB (base ${fmt(m('baseRssMb'))}) | ${fmt(m('bytesPerPeer'))} B |`);
  const key = name.split(' ')[0];
  row[`${key}AddNewNs`] = m('addNewNs');
  row[`${key}AddKnownNs`] = m('addKnownNs');
  row[`${key}TakeFinishNs`] = m('takeFinishNs');
  row[`${key}TakeIpFinishNs`] = m('takeIpFinishNs');
  row[`${key}RssMb`] = m('rssMb');
  row[`${key}BytesPerPeer`] = m('bytesPerPeer');
}
emit('queue', row);
