// Benchmark 3: memory of btda's pipeline with 1,000,000 peers queued and 4,096 contacts in flight.
// The queue is filled the way a collector fills it (crawl.ts's addPeers: queue + a discovered row each,
// in chunks of 10,000 like the peers file), the scheduler keeps 4,096 contacts open against the swarm's
// slow leechers (2-5 s reply latency, then haves, then quiet until btda's timeout), and RSS is sampled
// once every in-flight slot is taken and the discovered rows are written. The swarm runs in its own
// process, so its memory is not counted.
//
//
// `--v6-share 0.5`: that share of the waiting peers are IPv6 (full-length addresses in 2001:db8::/32,
// the documentation range). Those are not loopback, so the benchmark then re-runs itself inside a
// private network namespace (`unshare -n`, only `lo` up: root needed), swarm included, where a dial
// of such an address fails at once and no packet can leave the machine.
//
//   node --expose-gc --import tsx scripts/bench/memory.ts [--peers 1000000] [--active 4096] [--v6-share 0.5]
import { spawnSync } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { args, emit, fmt, hardLimit, makeTorrents, sleep, StallMonitor, startSwarm } from './lib.ts';
import { createPipeline, type PeerToAdd } from './pipeline.ts';

const a = args();
const PEERS = Number(a.peers ?? 1_000_000);
const ACTIVE = Number(a.active ?? 4096);
const V6_SHARE = Number(a['v6-share'] ?? 0);
const CHUNK = 10_000;

// only `lo` in sight: a private network namespace (or a machine with no network at all)
const isolated = Object.keys(networkInterfaces()).every((name) => name === 'lo');
if (V6_SHARE > 0 && !isolated) {
  if (a.netns) throw new Error('memory benchmark: still not in a private network namespace');
  const node = [process.execPath, ...process.execArgv, ...process.argv.slice(1), '--netns'].map((x) => `'${x.replace(/'/g, `'\\''`)}'`).join(' ');
  const run = spawnSync('unshare', ['-n', 'sh', '-c', `ip link set lo up && exec ${node}`], { stdio: 'inherit' });
  if (run.error || run.status !== 0) console.error(`memory benchmark: could not run inside a private network namespace (${run.error?.message ?? `exit ${run.status}`}; unshare -n needs root)`);
  process.exit(run.status ?? 1);
}
hardLimit(Number(a['limit-ms'] ?? 110_000), 'memory benchmark');

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number) => n / 1048576;
const sample = () => {
  gc?.();
  const m = process.memoryUsage();
  return { rss: mb(m.rss), heapUsed: mb(m.heapUsed), external: mb(m.external) }; // external includes arrayBuffers
};

const torrents = makeTorrents(13, 2000);
const swarm = await startSwarm({
  torrents,
  mix: { bitfieldHaves: 3, haveNoneHaves: 1 },
  latencyMs: [2000, 5000],
  haves: 4,
  haveGapMs: 500,
  afterScript: 'quiet',
  idleMs: 20_000,
  lifetimeMs: 120_000,
});
// no watch: this measures the queue and the contacts in flight, as before the watch (its cost: watch.ts)
const p = await createPipeline({ torrents, active: ACTIVE, config: { watch: 0 } });
const base = sample();

// The swarm's peers first (they are contacted), then addresses nobody listens on, to reach PEERS
// distinct (torrent, ip, port) peers; those wait in the queue for the whole measurement.
const live: PeerToAdd[] = [];
for (let ti = 0; ti < torrents.length; ti++) for (const e of swarm.endpoints) live.push({ torrentIndex: ti, ip: e.ip, port: e.port });
/** Waiting peer i is IPv6 for a V6_SHARE of them (spread evenly), else an IPv4 address nobody listens on. */
const isV6 = (i: number) => Math.floor((i + 1) * V6_SHARE) !== Math.floor(i * V6_SHARE);
const group = (i: number, k: number) => (Math.imul(i ^ (k * 0x5bd1e995), 0x9e3779b1) >>> 16).toString(16);
const peerAt = (i: number): PeerToAdd =>
  i < live.length
    ? live[i]
    : isV6(i)
      ? { torrentIndex: i % torrents.length, ip: `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}:${group(i, 1)}:${group(i, 2)}:${group(i, 3)}:${group(i, 4)}`, port: 10000 + (i & 255) }
      : { torrentIndex: i % torrents.length, ip: `127.78.${(i >> 16) & 255}.${(i >> 8) & 255}`, port: 10000 + (i & 255) };

// peaks while the peers arrive and the writer catches up
const peak = { rss: 0, heapUsed: 0, external: 0, pending: 0 };
const sampler = setInterval(() => {
  const m = process.memoryUsage();
  peak.rss = Math.max(peak.rss, mb(m.rss));
  peak.heapUsed = Math.max(peak.heapUsed, mb(m.heapUsed));
  peak.external = Math.max(peak.external, mb(m.external));
  peak.pending = Math.max(peak.pending, p.writer.pending);
}, 100);
const stall = new StallMonitor();
stall.start();
p.start();
const t0 = performance.now();
let longestAddMs = 0;
for (let i = 0; i < PEERS; i += CHUNK) {
  const chunk: PeerToAdd[] = [];
  for (let j = i; j < Math.min(PEERS, i + CHUNK); j++) chunk.push(peerAt(j));
  const a0 = performance.now();
  p.addPeers(chunk, 'dht');
  longestAddMs = Math.max(longestAddMs, performance.now() - a0);
  await new Promise((r) => setImmediate(r)); // a collector hands over one chunk per turn of the loop
}
const addMs = performance.now() - t0;
// wait (bounded) until every slot is in flight and the discovered rows are written
const deadline = performance.now() + 60_000;
while ((p.scheduler.active < Math.min(ACTIVE, PEERS) || p.writer.pending > 10_000) && performance.now() < deadline) await sleep(200);
await sleep(1000);
const loaded = sample();
clearInterval(sampler);
const inFlight = p.scheduler.active;
const queued = p.queue.queued;
const stalls = stall.stop();
const written = p.writer.written;
await sleep(0);
const sim = await swarm.stats();
await p.stop();
p.close();
await swarm.close();

const row = {
  peers: PEERS,
  v6Share: V6_SHARE,
  queued,
  inFlight,
  rssMb: loaded.rss,
  peakRssMb: peak.rss,
  peakHeapUsedMb: peak.heapUsed,
  peakExternalMb: peak.external,
  peakPendingRows: peak.pending,
  heapUsedMb: loaded.heapUsed,
  externalMb: loaded.external,
  baseRssMb: base.rss,
  /** Heap and typed arrays (external) grown per peer: the queue, the pool and the writer together. */
  bytesPerQueuedPeer: ((loaded.heapUsed + loaded.external - base.heapUsed - base.external) * 1048576) / PEERS,
  addMs,
  longestChunkMs: longestAddMs,
  rowsWritten: written,
  maxStallMs: stalls.maxMs,
  busyStallMs: stalls.busyMaxMs,
  stallAtMs: stalls.worstAtMs,
  gcMaxMs: stalls.gcMaxMs,
  swarmOpen: sim.open,
};
console.log(
  `${fmt(queued)} queued (${fmt(V6_SHARE * 100)} % of the waiting ones IPv6), ${fmt(inFlight)} in flight (swarm holds ${fmt(sim.open)} open): RSS ${fmt(row.rssMb)} MB (target <= 400), heap ${fmt(row.heapUsedMb)} MB, ` +
    `peaks while adding: RSS ${fmt(peak.rss)} MB, heap ${fmt(peak.heapUsed)} MB, external ${fmt(peak.external)} MB, ${fmt(peak.pending)} rows unwritten; ` +
    `external ${fmt(row.externalMb)} MB; base RSS ${fmt(row.baseRssMb)} MB; ${fmt(row.bytesPerQueuedPeer)} bytes (heap + external) per peer; ` +
    `adding ${fmt(PEERS)} peers took ${fmt(addMs)} ms (longest chunk of ${fmt(CHUNK)}: ${fmt(longestAddMs)} ms), ${fmt(written)} rows written, longest stall ${fmt(row.maxStallMs)} ms (at ${fmt(row.stallAtMs)} ms; ${fmt(row.busyStallMs)} ms on our CPU; longest GC ${fmt(row.gcMaxMs)} ms)`,
);
emit('memory', row);
