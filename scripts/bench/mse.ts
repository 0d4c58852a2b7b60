// Benchmark: what MSE/PE costs.
// 1. CPU per encrypted handshake on each side (DH with 160-bit private keys, SHA-1s, RC4 key set-ups with
//    1024 bytes dropped), btda's own initiator against its responder, in-process; and RC4 throughput.
// 2. Contacts per second and CPU per contact of btda's pipeline against seeds that require encryption
//    (`--encryption prefer`: every contact opens encrypted) next to the same pipeline against plaintext
//    seeds (`--encryption off`), two swarms of 26,000 peers (2 x 1,000 listeners on 127.78.0.x / 127.79.0.x,
//    13 torrents), runs alternating.
//
//   node --import tsx scripts/bench/mse.ts [--handshakes 1000] [--peers 20000] [--reps 2] [--active 512]
import { args, emit, fmt, hardLimit, makeTorrents, median, startSwarm, withTimeout } from './lib.ts';
import { createPipeline, type PeerToAdd } from './pipeline.ts';
import { MseInitiator, MseResponder, obfuscatedInfoHash } from '../../src/wire/mse.ts';
import { Rc4 } from '../../src/wire/rc4.ts';
import type { EncryptionPolicy } from '../../src/config.ts';
import type { Swarm } from './lib.ts';

const a = args();
const N = Number(a.handshakes ?? 1000);
const PEERS = Number(a.peers ?? 20_000);
const REPS = Number(a.reps ?? 2);
const ACTIVE = Number(a.active ?? 512);
hardLimit(Number(a['limit-ms'] ?? 170_000), 'mse benchmark');

// ---- 1. handshake CPU, in-process
const infoHash = Buffer.alloc(20, 7);
const known = obfuscatedInfoHash(infoHash);
const ia = Buffer.alloc(68, 1);

function handshake(): { initiatorUs: number; responderUs: number } {
  let initiatorUs = 0;
  let responderUs = 0;
  const time = <T>(side: 'i' | 'r', f: () => T): T => {
    const t0 = performance.now();
    const out = f();
    const us = (performance.now() - t0) * 1000;
    if (side === 'i') initiatorUs += us;
    else responderUs += us;
    return out;
  };
  const initiator = time('i', () => new MseInitiator(infoHash, ia));
  const responder = time('r', () => new MseResponder((h) => (h.equals(known) ? infoHash : undefined)));
  const hello = time('i', () => initiator.hello());
  const r1 = time('r', () => responder.feed(hello));
  const i1 = time('i', () => initiator.feed(r1.status === 'more' ? r1.write! : Buffer.alloc(0)));
  const r2 = time('r', () => responder.feed(i1.status === 'more' ? i1.write! : Buffer.alloc(0)));
  if (r2.status !== 'done') throw new Error('responder did not finish');
  const i2 = time('i', () => initiator.feed(r2.write!));
  if (i2.status !== 'done') throw new Error('initiator did not finish');
  return { initiatorUs, responderUs };
}

for (let i = 0; i < 50; i++) handshake(); // warm-up
const reps: { initiatorUs: number; responderUs: number }[] = [];
for (let i = 0; i < N; i++) reps.push(handshake());
const initiatorUs = median(reps.map((r) => r.initiatorUs));
const responderUs = median(reps.map((r) => r.responderUs));

const rc4 = new Rc4(Buffer.alloc(20, 3)).skip(1024);
const block = Buffer.alloc(1 << 20);
const rates: number[] = [];
for (let i = 0; i < 7; i++) {
  const t0 = performance.now();
  rc4.apply(block);
  rates.push(1 / ((performance.now() - t0) / 1000));
}
const rc4MBps = median(rates);
console.log(`MSE/PE handshake, median of ${N}: initiator ${fmt(initiatorUs)} µs CPU, responder ${fmt(responderUs)} µs CPU; RC4 ${fmt(rc4MBps)} MB/s`);

// ---- 2. contacts against seeds that require encryption vs plaintext seeds
const torrents = makeTorrents(13, 2000);
const swarmOpts = { torrents, addresses: 2, mix: { haveAll: 1, bitfieldFull: 1 }, idleMs: 20_000, lifetimeMs: 180_000 };
const encryptedSwarm = await startSwarm({ ...swarmOpts, addressBase: 78, requireEncryption: true });
const plainSwarm = await startSwarm({ ...swarmOpts, addressBase: 79 });

function peersOf(swarm: Swarm): PeerToAdd[] {
  const all: PeerToAdd[] = [];
  for (let ti = 0; ti < torrents.length; ti++) for (const e of swarm.endpoints) all.push({ torrentIndex: ti, ip: e.ip, port: e.port });
  return all.slice(0, PEERS);
}

async function run(swarm: Swarm, encryption: EncryptionPolicy): Promise<{ rate: number; cpuUs: number; ok: number; encrypted: number }> {
  swarm.resetVisits();
  let encrypted = 0;
  const p = await createPipeline({ torrents, active: ACTIVE, config: { encryption }, onResult: (r) => void (r.encrypted && encrypted++) });
  const peers = peersOf(swarm);
  p.addPeers(peers);
  p.writer.flush();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  p.start();
  await withTimeout(p.contactsReached(peers.length, 60_000), 65_000, 'contacts');
  await p.stop();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const ok = p.counters.successes;
  p.close();
  return { rate: (peers.length / ms) * 1000, cpuUs: ((cpu.user + cpu.system) / peers.length), ok, encrypted };
}

const mse: { rate: number; cpuUs: number }[] = [];
const plain: { rate: number; cpuUs: number }[] = [];
for (let r = 0; r < REPS; r++) {
  const order = r % 2 === 0 ? ['plain', 'mse'] : ['mse', 'plain'];
  for (const which of order) {
    const res = which === 'mse' ? await run(encryptedSwarm, 'prefer') : await run(plainSwarm, 'off');
    console.log(`${which.padEnd(5)} ${fmt(res.rate)}/s, ${fmt(res.cpuUs)} µs CPU/contact, ${fmt(res.ok)} ok, ${fmt(res.encrypted)} encrypted`);
    if (res.ok < PEERS * 0.99) throw new Error(`${which}: only ${res.ok} of ${PEERS} contacts succeeded`);
    (which === 'mse' ? mse : plain).push(res);
  }
}
await Promise.all([encryptedSwarm.close(), plainSwarm.close()]);
const mseRate = median(mse.map((x) => x.rate));
const plainRate = median(plain.map((x) => x.rate));
const mseCpu = median(mse.map((x) => x.cpuUs));
const plainCpu = median(plain.map((x) => x.cpuUs));
console.log(`contacts, --active ${ACTIVE}: encrypted ${fmt(mseRate)}/s (${fmt(mseCpu)} µs CPU), plaintext ${fmt(plainRate)}/s (${fmt(plainCpu)} µs CPU): ratio ${fmt(mseRate / plainRate, 2)}`);
emit('mse', {
  handshakes: N, initiatorUs: Math.round(initiatorUs), responderUs: Math.round(responderUs), rc4MBps: Math.round(rc4MBps),
  active: ACTIVE, encryptedPerSec: Math.round(mseRate), plaintextPerSec: Math.round(plainRate), ratio: mseRate / plainRate,
  encryptedCpuUs: Math.round(mseCpu), plaintextCpuUs: Math.round(plainCpu),
});
