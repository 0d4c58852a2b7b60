// The autonomous system (number and organisation) of an address, from the CSV ranges of the
// @ip-location-db/asn package (RouteViews, the five RIRs and DB-IP's IP-to-ASN Lite, CC BY 4.0).
// The package ships no .mmdb, so its ~515,000 inclusive ranges are parsed once into sorted typed arrays
// (about 10 MB) and searched by bisection: no per-lookup allocation, a few µs per address.
import { readFileSync } from 'node:fs';
import { canonicalIp, ipv4Of } from './peer-identity.ts';

export interface Network {
  asn: number | null;
  /** The organisation that holds the AS, e.g. "Hetzner Online GmbH". */
  org: string | null;
}

export const NO_NETWORK: Network = Object.freeze({ asn: null, org: null });

interface Ranges {
  /** IPv4: start/end as uint32. IPv6: start/end as (hi, lo) 64-bit halves. */
  startHi: Float64Array | BigUint64Array;
  startLo: BigUint64Array | null;
  endHi: Float64Array | BigUint64Array;
  endLo: BigUint64Array | null;
  asn: Uint32Array;
  org: Uint32Array;
}

const MASK64 = (1n << 64n) - 1n;

export class AsnTable {
  private constructor(
    private readonly v4: Ranges,
    private readonly v6: Ranges,
    private readonly orgs: string[],
  ) {}

  /** Reads `<prefix>-ipv4-num.csv` and `<prefix>-ipv6-num.csv`: start,end,asn,organisation per line. */
  static load(ipv4Csv: string, ipv6Csv: string): AsnTable {
    const orgs: string[] = [];
    const orgIndex = new Map<string, number>();
    const v4 = parse(readFileSync(ipv4Csv, 'utf8'), false, orgs, orgIndex);
    const v6 = parse(readFileSync(ipv6Csv, 'utf8'), true, orgs, orgIndex);
    return new AsnTable(v4, v6, orgs);
  }

  get size(): number {
    return this.v4.asn.length + this.v6.asn.length;
  }

  lookup(ip: string): Network {
    const v4 = ipv4Of(ip);
    if (v4) {
      const n = ipv4Number(v4);
      return n === null ? NO_NETWORK : this.find(this.v4, n, 0n);
    }
    const halves = ipv6Halves(ip);
    return halves === null ? NO_NETWORK : this.find(this.v6, halves[0], halves[1]);
  }

  private find(r: Ranges, hi: number | bigint, lo: bigint): Network {
    // the last range whose start <= ip, then check its end
    let a = 0;
    let b = r.asn.length - 1;
    let at = -1;
    while (a <= b) {
      const m = (a + b) >>> 1;
      if (cmp(r.startHi[m], r.startLo?.[m] ?? 0n, hi, lo) <= 0) {
        at = m;
        a = m + 1;
      } else b = m - 1;
    }
    if (at < 0 || cmp(r.endHi[at], r.endLo?.[at] ?? 0n, hi, lo) < 0) return NO_NETWORK;
    return { asn: r.asn[at] || null, org: this.orgs[r.org[at]] || null };
  }
}

function cmp(aHi: number | bigint, aLo: bigint, bHi: number | bigint, bLo: bigint): number {
  if (aHi !== bHi) return aHi < bHi ? -1 : 1;
  return aLo === bLo ? 0 : aLo < bLo ? -1 : 1;
}

function ipv4Number(ip: string): number | null {
  const p = ip.split('.');
  if (p.length !== 4) return null;
  return ((+p[0] << 24) >>> 0) + (+p[1] << 16) + (+p[2] << 8) + +p[3];
}

function ipv6Halves(ip: string): [bigint, bigint] | null {
  const c = canonicalIp(ip);
  const groups = c.split(':');
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{4}$/.test(g))) return null;
  return [BigInt(`0x${groups.slice(0, 4).join('')}`), BigInt(`0x${groups.slice(4).join('')}`)];
}

/** One CSV file, already sorted by start in the package; a line it cannot read is skipped. */
function parse(text: string, v6: boolean, orgs: string[], orgIndex: Map<string, number>): Ranges {
  const lines = text.split('\n');
  const n = lines.length;
  const startHi = v6 ? new BigUint64Array(n) : new Float64Array(n);
  const endHi = v6 ? new BigUint64Array(n) : new Float64Array(n);
  const startLo = v6 ? new BigUint64Array(n) : null;
  const endLo = v6 ? new BigUint64Array(n) : null;
  const asn = new Uint32Array(n);
  const org = new Uint32Array(n);
  let k = 0;
  for (const line of lines) {
    const c1 = line.indexOf(',');
    const c2 = line.indexOf(',', c1 + 1);
    const c3 = line.indexOf(',', c2 + 1);
    if (c1 < 0 || c2 < 0 || c3 < 0) continue;
    const num = Number(line.slice(c2 + 1, c3));
    if (!Number.isInteger(num) || num < 0) continue;
    let name = line.slice(c3 + 1).replace(/\r$/, '');
    if (name.startsWith('"') && name.endsWith('"')) name = name.slice(1, -1).replace(/""/g, '"');
    let idx = orgIndex.get(name);
    if (idx === undefined) {
      idx = orgs.length;
      orgs.push(name);
      orgIndex.set(name, idx);
    }
    try {
      if (v6) {
        const s = BigInt(line.slice(0, c1));
        const e = BigInt(line.slice(c1 + 1, c2));
        (startHi as BigUint64Array)[k] = s >> 64n;
        startLo![k] = s & MASK64;
        (endHi as BigUint64Array)[k] = e >> 64n;
        endLo![k] = e & MASK64;
      } else {
        const s = Number(line.slice(0, c1));
        const e = Number(line.slice(c1 + 1, c2));
        if (!Number.isFinite(s) || !Number.isFinite(e)) continue;
        startHi[k] = s;
        endHi[k] = e;
      }
    } catch {
      continue; // not a number: skip the line
    }
    asn[k] = num;
    org[k] = idx;
    k++;
  }
  return {
    startHi: startHi.subarray(0, k), endHi: endHi.subarray(0, k),
    startLo: startLo?.subarray(0, k) ?? null, endLo: endLo?.subarray(0, k) ?? null,
    asn: asn.subarray(0, k), org: org.subarray(0, k),
  };
}
