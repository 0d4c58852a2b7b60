// Benchmark 2: contacts per worker per minute against an internet-like swarm: every peer answers
// after 50-300 ms; seeds (have_all / full bitfield) end a contact at once, leechers send a bitfield
// or have_none and then `have` messages 100 ms apart and go quiet, so btda ends their contact after
// --timeout seconds of silence (the default, 6 s). A worker is one of the --active slots. The figure
// is bound by the protocol's waiting, not by CPU; the report compares the measured contact length
// with the least the script allows (reply latency + haves + timeout), so overhead shows as a gap.
//
//   node --import tsx scripts/bench/latency.ts [--active 512] [--seconds 40] [--timeout 6]
import type { ContactResult } from '../../src/types.ts';
import { args, emit, fmt, hardLimit, makeTorrents, median, sleep, StallMonitor, startSwarm } from './lib.ts';
import { createPipeline, type PeerToAdd } from './pipeline.ts';

const a = args();
const ACTIVE = Number(a.active ?? 512);
const SECONDS = Number(a.seconds ?? 40);
const TIMEOUT_S = Number(a.timeout ?? 6);
const HAVES = 4;
const HAVE_GAP_MS = 100;
const LATENCY: [number, number] = [50, 300];
hardLimit(Number(a['limit-ms'] ?? (SECONDS + TIMEOUT_S + 60) * 1000), 'latency benchmark');

const torrents = makeTorrents(13, 2000);
const swarm = await startSwarm({
  torrents,
  mix: { haveAll: 1, bitfieldFull: 1, bitfieldHaves: 3, haveNoneHaves: 1 },
  latencyMs: LATENCY,
  haves: HAVES,
  haveGapMs: HAVE_GAP_MS,
  afterScript: 'quiet',
  idleMs: (TIMEOUT_S + 10) * 1000,
  lifetimeMs: (SECONDS + TIMEOUT_S + 60) * 1000,
});
const durations = { seed: [] as number[], leecher: [] as number[] };
let ended = 0;
let measuring = true;
const p = await createPipeline({
  torrents,
  active: ACTIVE,
  // no watch: contacts per worker as before the watch (a quiet leecher's connection would be handed over)
  config: { timeout: TIMEOUT_S, watch: 0 },
  onResult: (r: ContactResult) => {
    if (!measuring) return;
    ended++;
    const ms = r.endedAt - r.startedAt;
    if (r.reason !== 'success') return;
    (r.openingPieces === 2000 ? durations.seed : durations.leecher).push(ms);
  },
});
const peers: PeerToAdd[] = [];
for (let ti = 0; ti < torrents.length; ti++) for (const e of swarm.endpoints) peers.push({ torrentIndex: ti, ip: e.ip, port: e.port });
p.addPeers(peers);
p.writer.flush();

const stall = new StallMonitor();
const cpu0 = process.cpuUsage();
stall.start();
const t0 = performance.now();
p.start();
await sleep(SECONDS * 1000);
const elapsed = performance.now() - t0;
measuring = false;
const count = ended;
const stalls = stall.stop();
const cpu = process.cpuUsage(cpu0);
await p.stop();
const reasons = [...p.counters.reasons].map(([k, v]) => `${k}=${v}`).join(' ');
p.close();
await swarm.close();

// The least a contact can take under this script: seeds the reply latency, leechers the latency,
// their haves and the quiet timeout.
const meanLatency = (LATENCY[0] + LATENCY[1]) / 2;
const leastLeecher = meanLatency + HAVES * HAVE_GAP_MS + TIMEOUT_S * 1000;
const row = {
  active: ACTIVE,
  seconds: elapsed / 1000,
  contacts: count,
  perWorkerPerMinute: count / ACTIVE / (elapsed / 60_000),
  contactsPerSec: (count / elapsed) * 1000,
  seedMedianMs: median(durations.seed),
  leecherMedianMs: median(durations.leecher),
  leecherLeastMs: leastLeecher,
  seedLeastMs: meanLatency,
  /** btda's process CPU over the run, % of one core: the run waits on the network, not on CPU. */
  cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsed) * 100,
  maxStallMs: stalls.maxMs,
  stallAtMs: stalls.worstAtMs,
  busyStallMs: stalls.busyMaxMs,
  gcMaxMs: stalls.gcMaxMs,
};
console.log(
  `active ${ACTIVE}, ${fmt(row.seconds)} s: ${fmt(count)} contacts = ${fmt(row.perWorkerPerMinute, 1)} contacts per worker per minute (${fmt(row.contactsPerSec)}/s); ` +
    `median contact: seed ${fmt(row.seedMedianMs)} ms (least ~${fmt(row.seedLeastMs)}), leecher ${fmt(row.leecherMedianMs)} ms (least ~${fmt(leastLeecher)}); ` +
    `btda used ${fmt(row.cpuPercent, 1)} % of a core; longest stall ${fmt(row.maxStallMs)} ms (at ${fmt(row.stallAtMs)} ms; ${fmt(row.busyStallMs)} ms of it on our CPU; longest GC ${fmt(row.gcMaxMs)} ms); ${reasons}`,
);
emit('latency', row);
