// The address policy runs on every address a collector delivers (millions in a long crawl), so its cost per
// address is measured here beside a minimal loop (touching each address and port, nothing else), node's
// net.isIP (validation alone) and node's net.BlockList holding the same ranges. Two policies: the built-in
// ranges only, and with an exclude list of 10,000 CIDRs (a long opt-out file). No network traffic at all.
//
//   node --import tsx scripts/bench/address-policy.ts [--addresses 1000000] [--reps 7]
import { randomInt } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { AddressPolicy, parseExcludeList } from '../../src/collectors/address-policy.ts';
import { SPECIAL_IPV4, SPECIAL_IPV6 } from '../../src/collectors/special-ranges.ts';
import { args, emit, fmt, hardLimit, median } from './lib.ts';

hardLimit(110_000, 'address-policy benchmark');
const a = args();
const N = Number(a.addresses ?? 1_000_000);
const REPS = Number(a.reps ?? 7);
const EXCLUDED = 10_000;

/** What collectors deliver: mostly public IPv4, a tenth special-purpose IPv4, a twentieth IPv6. */
function makeAddresses(n: number): { ip: string[]; port: Int32Array } {
  const ip: string[] = new Array(n);
  const port = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r = randomInt(100);
    if (r < 85) ip[i] = `${randomInt(1, 224)}.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`;
    else if (r < 95) ip[i] = [`10.${randomInt(256)}.${randomInt(256)}.${randomInt(256)}`, `192.168.${randomInt(256)}.${randomInt(256)}`, `100.${64 + randomInt(64)}.${randomInt(256)}.${randomInt(256)}`][randomInt(3)];
    else ip[i] = r < 99 ? `2a0${randomInt(10)}:${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}::${randomInt(65536).toString(16)}` : `fe80::${randomInt(65536).toString(16)}`;
    port[i] = randomInt(100) === 0 ? 0 : randomInt(1024, 65536);
  }
  return { ip, port };
}

function excludeText(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(i % 10 === 9 ? `2a0${randomInt(10)}:${randomInt(65536).toString(16)}::/32` : `${randomInt(1, 224)}.${randomInt(256)}.${randomInt(256)}.0/24`);
  return lines.join('\n');
}

/** A BlockList per family (a BlockList also matches IPv4 against IPv6 subnets through the mapped form). */
function blockLists(cidrs: string[]): { v4: BlockList; v6: BlockList } {
  const lists = { v4: new BlockList(), v6: new BlockList() };
  for (const c of cidrs) {
    const [addr, len] = c.split('/');
    if (addr.includes(':')) lists.v6.addSubnet(addr, Number(len ?? 128), 'ipv6');
    else lists.v4.addSubnet(addr, Number(len ?? 32), 'ipv4');
  }
  return lists;
}

const { ip, port } = makeAddresses(N);
const special = [...SPECIAL_IPV4, ...SPECIAL_IPV6].map((r) => r.cidr);
const exclude = excludeText(EXCLUDED);
const plain = new AddressPolicy();
const withExclude = new AddressPolicy({ allow: ['127.0.0.0/8'], exclude: parseExcludeList(exclude, 'bench') });
const bl = blockLists(special);
const blExclude = blockLists([...special, ...exclude.split('\n')]);
let sink = 0;

type Loop = (from: number, to: number) => number;
const loops: Record<string, { fn: Loop; n: number }> = {
  'minimal loop': {
    n: N,
    fn: (from, to) => {
      let ok = 0;
      for (let i = from; i < to; i++) if (ip[i].length > 0 && port[i] > 0) ok++;
      return ok;
    },
  },
  'net.isIP': {
    n: N,
    fn: (from, to) => {
      let ok = 0;
      for (let i = from; i < to; i++) if (port[i] > 0 && isIP(ip[i]) !== 0) ok++;
      return ok;
    },
  },
  'AddressPolicy (built-in ranges)': {
    n: N,
    fn: (from, to) => {
      let ok = 0;
      for (let i = from; i < to; i++) if (plain.mayDial(ip[i], port[i])) ok++;
      return ok;
    },
  },
  [`AddressPolicy (+ ${fmt(EXCLUDED)} excluded CIDRs)`]: {
    n: N,
    fn: (from, to) => {
      let ok = 0;
      for (let i = from; i < to; i++) if (withExclude.mayDial(ip[i], port[i])) ok++;
      return ok;
    },
  },
  'net.BlockList (built-in ranges)': {
    n: Math.min(N, 200_000),
    fn: (from, to) => {
      let ok = 0;
      for (let i = from; i < to; i++) {
        const s = ip[i];
        const v6 = s.includes(':');
        if (port[i] > 0 && isIP(s) !== 0 && !(v6 ? bl.v6.check(s, 'ipv6') : bl.v4.check(s, 'ipv4'))) ok++;
      }
      return ok;
    },
  },
  [`net.BlockList (+ ${fmt(EXCLUDED)} excluded CIDRs)`]: {
    // a BlockList checks its rules one by one: a small sample keeps this within the time limit
    n: Math.min(N, 2_000),
    fn: (from, to) => {
      let ok = 0;
      for (let i = from; i < to; i++) {
        const s = ip[i];
        const v6 = s.includes(':');
        if (port[i] > 0 && isIP(s) !== 0 && !(v6 ? blExclude.v6.check(s, 'ipv6') : blExclude.v4.check(s, 'ipv4'))) ok++;
      }
      return ok;
    },
  },
};

// agreement first: the policy and BlockList judge the sample alike
const sample = Math.min(N, 20_000);
if (loops['AddressPolicy (built-in ranges)'].fn(0, sample) !== loops['net.BlockList (built-in ranges)'].fn(0, sample)) {
  console.error('AddressPolicy and BlockList disagree on the sample');
  process.exit(1);
}

console.log(`${fmt(N)} addresses (85 % public IPv4, 10 % special IPv4, 5 % IPv6, 1 % port 0), ${REPS} alternating reps; ns per address, median`);
const samples = new Map<string, number[]>(Object.keys(loops).map((k) => [k, []]));
for (let rep = 0; rep < REPS; rep++) {
  const order = rep % 2 ? Object.keys(loops).reverse() : Object.keys(loops);
  for (const name of order) {
    const { fn, n } = loops[name];
    const t0 = process.hrtime.bigint();
    sink += fn(0, n);
    const ns = Number(process.hrtime.bigint() - t0);
    samples.get(name)!.push(ns / n);
  }
}
const minimal = median(samples.get('minimal loop')!);
const figures: Record<string, number> = {};
for (const [name, xs] of samples) {
  const m = median(xs);
  console.log(`  ${name.padEnd(44)} ${fmt(m, 1).padStart(9)} ns/address  ${fmt(1e3 / m, 2).padStart(8)} M/s  (${fmt(loops[name].n)} per rep)`);
  figures[name] = m;
}
emit('address-policy', {
  addresses: N,
  minimalNs: minimal,
  policyNs: figures['AddressPolicy (built-in ranges)'],
  policyExcludeNs: figures[`AddressPolicy (+ ${fmt(EXCLUDED)} excluded CIDRs)`],
  isIpNs: figures['net.isIP'],
  blockListNs: figures['net.BlockList (built-in ranges)'],
  blockListExcludeNs: figures[`net.BlockList (+ ${fmt(EXCLUDED)} excluded CIDRs)`],
  excluded: EXCLUDED,
  sink,
});
