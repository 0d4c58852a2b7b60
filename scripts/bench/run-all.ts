// `npm run bench`: every benchmark in its own process (so RSS and CPU are its own), one after the
// other, each with a time limit, then one table of the figures (Markdown, ready for the README).
// Only loopback traffic; the whole suite takes about 3 minutes (each benchmark < 2 minutes).
//
//   npm run bench                      all of them
//   npm run bench -- contacts writer   a selection
//   npm run bench -- --json out.json   also write the figures as JSON
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { fmt } from './lib.ts';

interface Bench {
  name: string;
  script: string;
  args: string[];
  nodeFlags?: string[];
  limitMs: number;
}

const BENCHES: Bench[] = [
  { name: 'contacts', script: 'contacts.ts', args: ['--peers', '30000', '--reps', '5'], limitMs: 180_000 },
  { name: 'latency', script: 'latency.ts', args: ['--seconds', '40'], limitMs: 120_000 },
  { name: 'memory', script: 'memory.ts', args: [], nodeFlags: ['--expose-gc'], limitMs: 120_000 },
  { name: 'writer', script: 'writer.ts', args: [], limitMs: 120_000 },
  { name: 'pg-writer', script: 'pg-writer.ts', args: ['--skip-writer'], limitMs: 120_000 },
  { name: 'pg-push', script: 'pg-push.ts', args: ['--contacts', '50000', '--delta', '20000', '--limit-ms', '140000'], limitMs: 150_000 },
  { name: 'dht', script: 'dht.ts', args: [], limitMs: 120_000 },
  { name: 'mse', script: 'mse.ts', args: [], limitMs: 180_000 },
  { name: 'address-policy', script: 'address-policy.ts', args: [], limitMs: 120_000 },
  { name: 'resume', script: 'resume.ts', args: ['--layouts', 'many', '--reps', '2'], limitMs: 300_000 },
  { name: 'shards', script: 'shards.ts', args: ['--reps', '2', '--seconds', '15'], limitMs: 300_000 },
];

const argv = process.argv.slice(2);
const jsonAt = argv.indexOf('--json');
const jsonPath = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const wanted = argv.filter((a, i) => !a.startsWith('--') && !(jsonAt >= 0 && i === jsonAt + 1));
const selected = wanted.length ? BENCHES.filter((b) => wanted.includes(b.name)) : BENCHES;

type Figures = Record<string, any>;
const results = new Map<string, Figures>();

function run(b: Bench): Promise<void> {
  return new Promise((resolve) => {
    const script = fileURLToPath(new URL(`./${b.script}`, import.meta.url));
    const started = Date.now();
    console.log(`\n=== ${b.name}: node ${[...(b.nodeFlags ?? []), '--import', 'tsx', `scripts/bench/${b.script}`, ...b.args].join(' ')}`);
    const child = spawn(process.execPath, [...(b.nodeFlags ?? []), '--import', 'tsx', script, ...b.args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      const lines = (rest + text).split('\n');
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.startsWith('BENCH-RESULT ')) {
          const r = JSON.parse(line.slice('BENCH-RESULT '.length)) as Figures;
          results.set(r.name, r);
        } else {
          console.log(`  ${line}`);
        }
      }
    });
    const limit = setTimeout(() => {
      console.log(`  ${b.name}: time limit of ${b.limitMs / 1000} s reached, stopping it`);
      child.kill('SIGKILL');
    }, b.limitMs);
    child.on('close', (code) => {
      clearTimeout(limit);
      console.log(`  (${b.name}: ${((Date.now() - started) / 1000).toFixed(0)} s, exit ${code})`);
      resolve();
    });
  });
}

const t0 = Date.now();
console.log(`btda benchmarks: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), node ${process.version}, load average ${loadavg()[0].toFixed(2)}`);
for (const b of selected) await run(b);

// --- the table ---
const rows: Array<[string, string, string]> = [];
const c = results.get('contacts');
if (c) {
  for (const active of [512, 4096]) {
    const r = c[`active${active}`];
    if (!r) continue;
    rows.push([
      `contacts/s against seeds, --active ${active} (every result in SQLite)`,
      `${fmt(r.btdaPerSec)}/s = ${fmt(r.ratio, 2)} x the minimal loop (${fmt(r.minimalPerSec)}/s); CPU ${fmt(r.btdaCpuUsPerContact)} vs ${fmt(r.minimalCpuUsPerContact)} µs/contact (CPU ratio ${fmt(r.cpuRatio, 2)})`,
      '>= 0.8 x minimal loop',
    ]);
  }
}
const l = results.get('latency');
if (l) {
  rows.push([
    `contacts per worker per minute (50-300 ms latency, haves, --timeout 6)`,
    `${fmt(l.perWorkerPerMinute, 1)} (${fmt(l.contactsPerSec)}/s at --active ${l.active}); median contact seed ${fmt(l.seedMedianMs)} ms, leecher ${fmt(l.leecherMedianMs)} ms (least ${fmt(l.leecherLeastMs)})`,
    '',
  ]);
}
const m = results.get('memory');
if (m) {
  rows.push([
    `RSS, ${fmt(m.queued + m.inFlight)} peers known, ${fmt(m.inFlight)} in flight`,
    `${fmt(m.rssMb)} MB (peak ${fmt(m.peakRssMb)} MB while adding; heap ${fmt(m.heapUsedMb)} MB, ${fmt(m.bytesPerQueuedPeer)} B/peer)`,
    '<= 400 MB',
  ]);
}
const w = results.get('writer');
if (w) {
  rows.push([
    'peer rows written/s (ResultWriter, WAL file)',
    `contact upserts ${fmt(w.contactPerSec)}/s, revisits ${fmt(w.revisitPerSec)}/s, discovered ${fmt(w.discoveredPerSec)}/s`,
    '>= 50,000/s',
  ]);
}
const pw = results.get('pg-writer');
if (pw && !pw.skipped) {
  rows.push([
    'observation rows written/s, PostgreSQL (local server) beside SQLite',
    `batched ${fmt(pw.pgBatchedPerSec)}/s (${pw.hosts} hosts at once ${fmt(pw.pgHostsPerSec)}/s in total), per-row minimal loop ${fmt(pw.pgPerRowPerSec)}/s; SQLite ${fmt(pw.sqlitePerSec)}/s`,
    '',
  ]);
}
const pp = results.get('pg-push');
if (pp && !pp.skipped) {
  rows.push([
    `spool pushed to PostgreSQL (${fmt(pp.contacts)} contacts, then ${fmt(pp.deltaContacts)} more)`,
    `full push ${fmt(pp.fullPushPerSec)} rows/s, delta ${fmt(pp.deltaPushMs)} ms (${fmt(pp.deltaPushPerSec)} rows/s, stall ${fmt(pp.deltaPushStallMs)} ms); ` +
      `PgAppendWriter ${fmt(pp.appendWriterPerSec)} rows/s; CPU per contact written into the spool ${fmt(pp.spoolCpuUsPerContact, 1)} µs vs a plain database ${fmt(pp.plainCpuUsPerContact, 1)} µs`,
    '',
  ]);
}
const d = results.get('dht');
if (d) {
  rows.push([
    `DHT lookups/s (local DHT of ${d.nodes} bittorrent-dht nodes)`,
    `${fmt(d.lookupsPerSec)}/s sustained (offered ${fmt(d.offeredPerSec)}/s), ${fmt(d.btdaCpuMsPerLookup, 2)} ms CPU per lookup`,
    '',
  ]);
}
const e = results.get('mse');
if (e) {
  rows.push([
    'MSE/PE handshake CPU (in-process, both sides)',
    `initiator ${fmt(e.initiatorUs)} µs, responder ${fmt(e.responderUs)} µs per handshake; RC4 ${fmt(e.rc4MBps)} MB/s; ` +
      `contacts at --active ${e.active} against seeds that require it ${fmt(e.encryptedPerSec)}/s (${fmt(e.encryptedCpuUs)} µs CPU) vs plaintext ${fmt(e.plaintextPerSec)}/s (${fmt(e.plaintextCpuUs)} µs): ${fmt(e.ratio, 2)} x`,
    '',
  ]);
}
const ap = results.get('address-policy');
if (ap) {
  rows.push([
    `address policy, ns per address (${fmt(ap.addresses)} addresses)`,
    `${fmt(ap.policyNs)} ns (with ${fmt(ap.excluded)} excluded CIDRs ${fmt(ap.policyExcludeNs)} ns); minimal loop ${fmt(ap.minimalNs)} ns, net.isIP ${fmt(ap.isIpNs)} ns, ` +
      `net.BlockList ${fmt(ap.blockListNs)} ns (with the exclusions ${fmt(ap.blockListExcludeNs)} ns)`,
    '',
  ]);
}
const rs = results.get('resume');
if (rs?.many) {
  const r = rs.many;
  rows.push([
    `scheduled run resuming ${fmt(rs.peers)} known peers (SQLite, child process)`,
    `first contact ${fmt(r.firstMs)} ms after the spawn (minimal loop ${fmt(r.minimalFirstMs)} ms), 1,000th ${fmt(r.thousandMs)} ms; all ${fmt(r.queued)} queued at ${fmt(r.loadedMs)} ms, RSS then ${fmt(r.rssMb)} MB`,
    'first contact <= 10 s',
  ]);
}
const sh = results.get('shards');
if (sh) {
  rows.push([
    `2 shards (--shard 1/2, 2/2) vs 1 process, same swarm, ${availableParallelism()} cores`,
    `btda ${fmt(sh.btda.twoPerSec)}/s vs ${fmt(sh.btda.onePerSec)}/s = ${fmt(sh.btda.ratio, 2)} x (CPU ${fmt(sh.btda.twoCpuUs)} vs ${fmt(sh.btda.oneCpuUs)} µs a contact; a shard alone ${fmt(sh.shardAloneCpuUs)} µs); minimal loop ${fmt(sh.minimal.twoPerSec)}/s vs ${fmt(sh.minimal.onePerSec)}/s = ${fmt(sh.minimal.ratio, 2)} x (machine busy ${fmt(sh.machineBusyPct)} %)`,
    '',
  ]);
}
const stalls: Array<[string, number]> = [];
if (c) for (const active of [512, 4096]) if (c[`active${active}`]) stalls.push([`contacts --active ${active}`, c[`active${active}`].maxStallMs]);
if (l) stalls.push(['latency', l.maxStallMs]);
if (m) stalls.push(['1,000,000 peers added', m.maxStallMs]);
if (d) stalls.push(['DHT', d.maxStallMs]);
if (stalls.length) {
  const worst = stalls.reduce((x, y) => (y[1] > x[1] ? y : x));
  rows.push(['longest event-loop stall', `${fmt(worst[1])} ms (${worst[0]}); ${stalls.map(([k, v]) => `${k} ${fmt(v)}`).join(', ')}`, '<= 100 ms']);
}

console.log(`\n## Figures (${availableParallelism()} cores, ${((Date.now() - t0) / 60_000).toFixed(1)} min)\n`);
console.log('| benchmark | result | target |');
console.log('|---|---|---|');
for (const [k, v, t] of rows) console.log(`| ${k} | ${v} | ${t} |`);
if (jsonPath) writeFileSync(jsonPath, JSON.stringify(Object.fromEntries(results), null, 2) + '\n');
