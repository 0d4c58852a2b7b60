// Benchmark: what MSE/PE costs. CPU per encrypted handshake on each side (two 768-bit modular
// exponentiations with 160-bit exponents in BigInt, SHA-1s, RC4 key set-ups with 1024 bytes dropped),
// run in-process between btda's own initiator and responder, and RC4 throughput. No network: a
// contact's plaintext handshake costs about 70 µs of CPU in the contacts benchmark, for comparison.
//
//   node --import tsx scripts/bench/mse.ts [--handshakes 1000]
import { args, emit, fmt, hardLimit, median } from './lib.ts';
import { MseInitiator, MseResponder, obfuscatedInfoHash } from '../../src/wire/mse.ts';
import { Rc4 } from '../../src/wire/rc4.ts';

const a = args();
const N = Number(a.handshakes ?? 1000);
hardLimit(60_000, 'mse benchmark');

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
emit('mse', { handshakes: N, initiatorUs: Math.round(initiatorUs), responderUs: Math.round(responderUs), rc4MBps: Math.round(rc4MBps) });
