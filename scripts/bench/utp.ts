// uTP trial and benchmark (issue 17 item 6): can btda reach peers over uTP (BEP 29) through utp-native,
// and what does a uTP contact cost next to a TCP one? Not in `npm run bench`: it needs utp-native, which
// btda does not depend on (install it aside first: bash scripts/utp/install-utp-native.sh), and
// transmission-daemon + qbittorrent-nox (Debian packages).
//
//   node --import tsx scripts/bench/utp.ts [--contacts 200] [--reps 2]
//
// 1. Interop: one contact over TCP and one over uTP with btda's real contact (src/evaluator/contact.ts,
//    its transport swapped through ContactOptions.openSocket) against transmission 3.00 (libutp) and
//    qBittorrent 4.5.2 / libtorrent 2.0.8, one of them uTP only (TCP off).
// 2. Cost: CPU (this process, where libutp runs too) and wall time per contact, sequential contacts to
//    the TCP + uTP qBittorrent: the minimal loop (TCP), btda over TCP, btda over uTP (one shared UDP
//    socket), alternating (ABBA) so drift hits all.
// 3. Memory per uTP connection (utp-native allocates its read buffer up front) and IPv6.
// Everything stays on 127.0.0.0/8 and ::1; every wait is bounded.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { contactPeer, type ContactOptions } from '../../src/evaluator/contact.ts';
import { buildHandshake } from '../../src/wire/handshake.ts';
import { missingClients, startSeeds, type Seed } from '../utp/seeds.ts';
import { loadUtpNative, openUtp, utpSocketFactory, type UtpInstance } from '../utp/utp-socket.ts';
import { args, emit, fmt, hardLimit, median, sleep, withTimeout } from './lib.ts';
import { runMinimalLoop } from './minimal-loop.ts';

const IPV6_PROBE = fileURLToPath(new URL('../utp/ipv6-probe.ts', import.meta.url));
const a = args();
const CONTACTS = Math.min(Number(a.contacts ?? 200), 1000);
const REPS = Number(a.reps ?? 2);
hardLimit(Number(a['limit-ms'] ?? 150_000), 'utp benchmark');

const missing = missingClients();
if (missing.length > 0) {
  console.log(`needs ${missing.join(' and ')} (Debian: apt-get install ${missing.join(' ')})`);
  process.exit(0);
}
const utpNative = loadUtpNative();
const seeds = await startSeeds();
// the clients end with us, also on Ctrl-C or kill (the ProcessGroup's own hook covers a normal exit only)
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void seeds.close().finally(() => process.exit(130)));
const utp = await openUtp(utpNative, '127.0.0.1');
const torrent = { torrentId: 1, infoHash: seeds.infoHash, pieces: seeds.pieces, thresholdPieces: seeds.pieces };
const base: ContactOptions = { peerId: randomBytes(20), timeoutMs: 3000, connectTimeoutMs: 5000, contactLimitMs: 8000, maxMessages: 50, openingGraceMs: 1000 };
const overUtp: ContactOptions = { ...base, openSocket: utpSocketFactory(utp) };
// libtorrent drops a uTP connection from an address, or with a peer id, whose previous uTP connection it
// has not yet torn down (measured: back to back from one address, every second contact times out; 300 ms
// apart, 4 in 12), so the cost loop dials from one address per contact, 127.0.2.1 and on (each its own
// UDP socket), with a peer id per contact (TCP contacts too: libtorrent refuses a duplicate peer id).
const pool: UtpInstance[] = [];
for (let i = 0; i < CONTACTS; i++) pool.push(await openUtp(utpNative, `127.0.${2 + Math.floor(i / 250)}.${1 + (i % 250)}`));
const peerIds = Array.from({ length: CONTACTS }, () => randomBytes(20));
const poolOpts = pool.map((u): ContactOptions => ({ ...base, openSocket: utpSocketFactory(u) }));

try {
  // 1. Interop. Transmission refuses a second connection from an address it still holds (one IP for TCP
  // contacts, one IP:port for uTP from our one UDP socket) for about a second: contacts to it are spaced.
  console.log('\n## Interop (btda contact, plaintext, 64-piece seed)\n');
  console.log('| client | over | outcome | pieces seen | client says | ms |');
  console.log('|---|---|---|---|---|---|');
  const interop: Record<string, string> = {};
  for (const seed of seeds.seeds) {
    for (const over of ['TCP', 'uTP'] as const) {
      const t0 = performance.now();
      const r = await contactPeer(torrent, seed.host, seed.port, 'first', over === 'uTP' ? overUtp : base);
      const ms = performance.now() - t0;
      interop[`${seed.host} ${over}`] = r.reason;
      console.log(`| ${seed.label} | ${over} | ${r.reason} | ${r.endPieces ?? '-'} | ${r.clientVersion ?? '-'} | ${fmt(ms)} |`);
      await sleep(1500);
    }
  }

  // 2. Cost per contact against the TCP + uTP qBittorrent.
  const both = seeds.seeds.find((s) => s.tcp && s.label.includes('qBittorrent'))!;
  const handshake = buildHandshake(seeds.infoHash, randomBytes(20), { dht: false });
  const kinds = ['minimal loop (TCP)', 'btda TCP', 'btda uTP'] as const;
  const runs: Record<string, { cpu: number[]; wall: number[]; ok: number; n: number }> = {};
  for (const k of kinds) runs[k] = { cpu: [], wall: [], ok: 0, n: 0 };
  const once = async (kind: (typeof kinds)[number], seed: Seed) => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    let ok = 0;
    if (kind === 'minimal loop (TCP)') {
      const targets = Array.from({ length: CONTACTS }, () => ({ ip: seed.host, port: seed.port, handshake }));
      ok = (await runMinimalLoop(targets, 1, 30_000)).ok;
    } else {
      for (let i = 0; i < CONTACTS; i++) {
        const opts = { ...(kind === 'btda uTP' ? poolOpts[i] : base), peerId: peerIds[i] };
        const r = await withTimeout(contactPeer(torrent, seed.host, seed.port, 'later', opts), 10_000, kind);
        if (r.reason === 'success') ok++;
      }
    }
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const run = runs[kind];
    run.cpu.push((c.user + c.system) / 1000 / CONTACTS);
    run.wall.push(wall / CONTACTS);
    run.ok += ok;
    run.n += CONTACTS;
    console.error(`  ${kind}: ${ok}/${CONTACTS} in ${fmt(wall)} ms`);
  };
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? kinds : [...kinds].reverse();
    for (const k of order) await once(k, both);
  }
  console.log(`\n## Cost per contact: ${CONTACTS} sequential contacts x ${REPS} runs each, ${both.label}\n`);
  console.log('| loop | CPU ms / contact (median) | wall ms / contact (median) | successes |');
  console.log('|---|---|---|---|');
  for (const k of kinds) {
    const r = runs[k];
    console.log(`| ${k} | ${fmt(median(r.cpu), 3)} | ${fmt(median(r.wall), 2)} | ${r.ok} / ${r.n} |`);
  }

  // 3a. Memory: each utp-native connection allocates its 128 KiB read buffer when created.
  const mem = await memoryPerConnection(utp, 200);
  console.log(`\n## Memory\n\nuTP connection: ${fmt(mem / 1024, 1)} KiB of buffers each (200 connections opened, arrayBuffers delta)`);

  // 3b. IPv6.
  const v6 = tryIpv6();
  console.log(`\n## IPv6\n\nbind ::1: ${v6.bind}\nconnect to ::1 from an IPv4 socket: ${v6.connect}`);

  emit('utp', {
    interop,
    cpuMsPerContact: Object.fromEntries(kinds.map((k) => [k, median(runs[k].cpu)])),
    wallMsPerContact: Object.fromEntries(kinds.map((k) => [k, median(runs[k].wall)])),
    bytesPerUtpConnection: mem,
    ipv6: v6,
  });
} finally {
  utp.close();
  for (const u of pool) u.close();
  await seeds.close();
}

async function memoryPerConnection(instance: UtpInstance, n: number): Promise<number> {
  // to a UDP port on loopback that nobody uses: the connections never complete, we only count buffers
  const before = process.memoryUsage().arrayBuffers;
  const conns = Array.from({ length: n }, () => instance.connect(9, '127.0.0.1'));
  const after = process.memoryUsage().arrayBuffers;
  for (const c of conns) {
    c.on('error', () => {});
    c.destroy();
  }
  await sleep(200);
  return (after - before) / n;
}

/** Each IPv6 attempt in a child process: utp-native's bind to ::1 loops on DNS lookups and never returns. */
function tryIpv6(): { bind: string; connect: string } {
  const probe = (what: string) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', IPV6_PROBE, what], { encoding: 'utf8', timeout: 5000 });
    const said = r.stdout.trim().split('\n')[0] ?? '';
    return r.error ? `no answer in 5 s, killed${said ? ` (said: ${said})` : ''}` : said || `exit ${r.status}`;
  };
  return { bind: probe('bind'), connect: probe('connect') };
}
