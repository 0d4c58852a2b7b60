// Benchmark 5: DHT lookups per second. btda's DhtCollector (its own bittorrent-dht node, the guarded
// socket, get_peers lookups staggered over --dht-interval) against a private DHT of >= 50 real
// bittorrent-dht nodes on 127.0.0.1, run in a child process. Half the torrents have announced
// peers (up to 200). The collector is offered more lookups per second than it can finish (many torrents, a
// short interval); a round is skipped while a torrent's previous lookup still runs, so the finished
// lookups per second are what it sustains. Each lookup ends when bittorrent-dht's does, or after 5 s.
//
//   node --import tsx scripts/bench/dht.ts [--nodes 60] [--torrents 2000] [--interval 1] [--seconds 20]
import { randomBytes } from 'node:crypto';
import { DhtCollector } from '../../src/collectors/dht-collector.ts';
import type { CollectorContext } from '../../src/collectors/collector.ts';
import { silentLogger } from '../../src/log.ts';
import type { RequestLog, Torrent } from '../../src/types.ts';
import { startDhtSwarm } from './dht-swarm.ts';
import { args, emit, fmt, hardLimit, median, sleep, StallMonitor } from './lib.ts';

const a = args();
const NODES = Number(a.nodes ?? 60);
const TORRENTS = Number(a.torrents ?? 2000);
const INTERVAL_S = Number(a.interval ?? 1);
const SECONDS = Number(a.seconds ?? 20);
hardLimit(Number(a['limit-ms'] ?? 115_000), 'DHT benchmark');

const torrents: Torrent[] = Array.from({ length: TORRENTS }, (_, i) => ({
  id: i + 1, infoHash: randomBytes(20).toString('hex'), infoHashV2: null, name: `t${i}`, setLabel: null,
  pieces: 100, pieceSize: 16384, totalSize: 1638400, trackers: [], source: 'bench',
}));
// every other torrent has peers (at most 200 of them: announcing is slow and only makes lookups richer)
const announced = torrents.filter((_, i) => i % 2 === 0).slice(0, 200).map((t) => t.infoHash);
const dht = await startDhtSwarm({ nodes: NODES, announced, peersEach: 2, lifetimeMs: 110_000 });
console.log(`local DHT: ${NODES} nodes, ${announced.length} torrents with 2 announced peers each, ready in ${fmt(dht.setupMs)} ms`);

const requests: RequestLog[] = [];
let peers = 0;
let measuring = false;
const ctx: CollectorContext = {
  addPeers: (_id, list) => {
    if (measuring) peers += list.length;
    return { new: list.length, duplicates: 0, skipped: 0 };
  },
  logRequest: (r) => {
    if (measuring) requests.push(r);
  },
  logScrape() {},
  log: silentLogger,
  now: () => Date.now(),
};
const collector = new DhtCollector({
  torrents, port: 0, host: '127.0.0.1', bootstrap: [dht.bootstrap], intervalS: INTERVAL_S, lookupTimeoutMs: 5000, bootstrapWaitMs: 10_000,
});
await collector.start(ctx);
// warm-up: the routing table fills and the first round of lookups starts
await sleep(INTERVAL_S * 1000 + 2000);
const stall = new StallMonitor();
const cpu0 = process.cpuUsage();
const dhtCpu0 = await dht.cpuMs();
measuring = true;
stall.start();
const t0 = performance.now();
await sleep(SECONDS * 1000);
measuring = false;
const elapsed = performance.now() - t0;
const stalls = stall.stop();
const cpu = process.cpuUsage(cpu0);
const dhtCpu = (await dht.cpuMs()) - dhtCpu0;
const stats = collector.stats();
await collector.stop();
await dht.close();

const ok = requests.filter((r) => r.error === null);
const withPeers = requests.filter((r) => r.received > 0).length;
const row = {
  nodes: NODES,
  torrents: TORRENTS,
  offeredPerSec: TORRENTS / INTERVAL_S,
  lookupsPerSec: (requests.length / elapsed) * 1000,
  lookups: requests.length,
  failed: requests.length - ok.length,
  withPeers,
  medianLookupMs: median(requests.map((r) => r.durationMs)),
  peersPerSec: (peers / elapsed) * 1000,
  routingTableNodes: stats.nodes,
  btdaCpuMsPerLookup: (cpu.user + cpu.system) / 1000 / Math.max(1, requests.length),
  dhtCpuShare: dhtCpu / elapsed,
  maxStallMs: stalls.maxMs,
};
console.log(
  `${fmt(row.lookupsPerSec, 1)} lookups/s finished (offered ${fmt(row.offeredPerSec)}/s; ${row.lookups} lookups, ${row.failed} failed, ${withPeers} found peers), ` +
    `median lookup ${fmt(row.medianLookupMs)} ms, ${fmt(row.peersPerSec, 1)} peers/s, routing table ${stats.nodes} nodes; ` +
    `btda ${fmt(row.btdaCpuMsPerLookup, 2)} ms CPU per lookup, the local DHT used ${fmt(row.dhtCpuShare * 100)} % of a core; longest stall ${fmt(row.maxStallMs)} ms`,
);
emit('dht', row);
