// Which peer addresses btda may dial. Every address a collector delivers (trackers, DHT, PEX, the listener's
// `p`, the peers file) passes here before the queue: trackers and peers routinely name LAN, CGNAT, loopback
// and other special-purpose addresses, and dialling them would reach into the researcher's own network
// (or let a hostile tracker or peer steer a scan of it).
//
// Rules, in order: a malformed address or port 0 is never dialled; an excluded range (--exclude FILE, opt-out
// requests) always wins; an allowed range (--allow CIDR) overrides the built-in special-purpose ranges
// (special-ranges.ts); anything else is dialled. IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as its IPv4
// address, under the IPv4 ranges of all three lists.
import { readFileSync } from 'node:fs';
import { isMappedIPv4, mappedIPv4, parseIPv4, parseIPv6 } from '../wire/ip.ts';
import { SPECIAL_IPV4, SPECIAL_IPV6 } from './special-ranges.ts';

/** Why an address is not dialled ('dial' when it is). */
export type AddressVerdict = 'dial' | 'bad-port' | 'malformed' | 'excluded' | 'special';

/** An address range: IPv4 as unsigned 32-bit bounds, IPv6 as 8 16-bit groups each. */
export type Cidr =
  | { family: 4; first: number; last: number }
  | { family: 6; first: Uint16Array; last: Uint16Array };

/** A user's list (--allow, --exclude) that cannot be read; its message names the flag, file and line. */
export class AddressListError extends Error {}

/**
 * '10.0.0.0/8', '2001:db8::/32', or a single address ('::1' = ::1/128). Host bits below the prefix are
 * ignored (10.1.2.3/8 is 10.0.0.0/8). An IPv4-mapped range (::ffff:10.0.0.0/104) is the IPv4 range it maps.
 */
export function parseCidr(text: string): Cidr | null {
  const s = text.trim();
  const slash = s.indexOf('/');
  const addr = slash < 0 ? s : s.slice(0, slash);
  const lenText = slash < 0 ? null : s.slice(slash + 1);
  if (lenText !== null && !/^\d{1,3}$/.test(lenText)) return null;
  const v4 = parseIPv4(addr);
  if (v4 >= 0) {
    const len = lenText === null ? 32 : Number(lenText);
    return len > 32 ? null : v4Range(v4, len);
  }
  const g = parseIPv6(addr);
  if (!g) return null;
  const len = lenText === null ? 128 : Number(lenText);
  if (len > 128) return null;
  if (isMappedIPv4(g) && len >= 96) return v4Range(mappedIPv4(g), len - 96);
  const first = new Uint16Array(8);
  const last = new Uint16Array(8);
  for (let i = 0; i < 8; i++) {
    const bits = Math.max(0, Math.min(16, len - i * 16)); // prefix bits inside group i
    const mask = bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    first[i] = g[i] & mask;
    last[i] = (g[i] & mask) | (~mask & 0xffff);
  }
  return { family: 6, first, last };
}

function v4Range(addr: number, len: number): Cidr {
  const size = 2 ** (32 - len);
  const first = addr - (addr % size);
  return { family: 4, first, last: first + size - 1 };
}

function compare6(a: Uint16Array, ai: number, b: Uint16Array, bi: number): number {
  for (let k = 0; k < 8; k++) {
    const d = a[ai + k] - b[bi + k];
    if (d !== 0) return d;
  }
  return 0;
}

/** Sorted, merged ranges; membership by binary search (a few steps even for a long exclude file). */
export class RangeSet {
  private readonly first4: Float64Array;
  private readonly last4: Float64Array;
  /** 8 groups per range, flattened. */
  private readonly first6: Uint16Array;
  private readonly last6: Uint16Array;
  readonly size: number;

  constructor(ranges: Cidr[]) {
    const v4 = ranges.filter((r) => r.family === 4).sort((a, b) => a.first - b.first);
    const m4: { first: number; last: number }[] = [];
    for (const r of v4) {
      const top = m4.at(-1);
      if (top && r.first <= top.last + 1) top.last = Math.max(top.last, r.last);
      else m4.push({ first: r.first, last: r.last });
    }
    this.first4 = Float64Array.from(m4, (r) => r.first);
    this.last4 = Float64Array.from(m4, (r) => r.last);

    const v6 = ranges.filter((r) => r.family === 6).sort((a, b) => compare6(a.first, 0, b.first, 0));
    const m6: { first: Uint16Array; last: Uint16Array }[] = [];
    for (const r of v6) {
      const top = m6.at(-1);
      // merge overlapping ranges (adjacent ones stay apart: harmless, one more search step)
      if (top && compare6(r.first, 0, top.last, 0) <= 0) {
        if (compare6(r.last, 0, top.last, 0) > 0) top.last = r.last;
      } else m6.push({ first: r.first, last: r.last });
    }
    this.first6 = new Uint16Array(m6.length * 8);
    this.last6 = new Uint16Array(m6.length * 8);
    m6.forEach((r, i) => {
      this.first6.set(r.first, i * 8);
      this.last6.set(r.last, i * 8);
    });
    this.size = m4.length + m6.length;
  }

  has4(ip: number): boolean {
    const first = this.first4;
    let lo = 0;
    let hi = first.length - 1;
    // the last range starting at or below ip
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (first[mid] <= ip) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && ip <= this.last4[hi];
  }

  has6(g: Uint16Array): boolean {
    let lo = 0;
    let hi = this.first6.length / 8 - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (compare6(this.first6, mid * 8, g, 0) <= 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return hi >= 0 && compare6(g, 0, this.last6, hi * 8) <= 0;
  }
}

const SPECIAL = new RangeSet([...SPECIAL_IPV4, ...SPECIAL_IPV6].map((r) => parseCidr(r.cidr)!));

export interface AddressPolicyOptions {
  /** Ranges dialled even though they are special-purpose (--allow). */
  allow?: string[];
  /** Ranges never dialled, whatever else says (--exclude FILE). */
  exclude?: Cidr[];
}

export class AddressPolicy {
  private readonly allow: RangeSet;
  private readonly exclude: RangeSet;

  constructor(opts: AddressPolicyOptions = {}) {
    this.allow = new RangeSet(parseAllowList(opts.allow ?? []));
    this.exclude = new RangeSet(opts.exclude ?? []);
  }

  /** From the Config's `allow` and `exclude` (a file path, '' = none). Throws AddressListError. */
  static fromConfig(c: { allow: string[]; exclude: string }): AddressPolicy {
    return new AddressPolicy({ allow: c.allow, exclude: c.exclude ? readExcludeFile(c.exclude) : [] });
  }

  verdict(ip: string, port: number): AddressVerdict {
    if (!(port >= 1 && port <= 65535 && Number.isInteger(port))) return 'bad-port';
    if (typeof ip !== 'string') return 'malformed';
    let v4 = parseIPv4(ip);
    if (v4 < 0) {
      const g = parseIPv6(ip);
      if (!g) return 'malformed';
      if (!isMappedIPv4(g)) {
        if (this.exclude.size > 0 && this.exclude.has6(g)) return 'excluded';
        if (this.allow.size > 0 && this.allow.has6(g)) return 'dial';
        return SPECIAL.has6(g) ? 'special' : 'dial';
      }
      v4 = mappedIPv4(g);
    }
    if (this.exclude.size > 0 && this.exclude.has4(v4)) return 'excluded';
    if (this.allow.size > 0 && this.allow.has4(v4)) return 'dial';
    return SPECIAL.has4(v4) ? 'special' : 'dial';
  }

  mayDial(ip: string, port: number): boolean {
    return this.verdict(ip, port) === 'dial';
  }
}

function parseAllowList(list: string[]): Cidr[] {
  return list.map((text) => {
    const r = parseCidr(text);
    if (!r) throw new AddressListError(`--allow: "${text}" is not an address range (like 127.0.0.0/8 or ::1)`);
    return r;
  });
}

/** One CIDR (or address) per line; '#' starts a comment; blank lines are skipped. */
export function readExcludeFile(path: string): Cidr[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new AddressListError(`--exclude: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseExcludeList(text, path);
}

export function parseExcludeList(text: string, name: string): Cidr[] {
  const out: Cidr[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const entry = lines[i].replace(/#.*/, '').trim();
    if (entry === '') continue;
    const r = parseCidr(entry);
    if (!r) {
      const shown = entry.length > 60 ? `${entry.slice(0, 60)}…` : entry;
      throw new AddressListError(`--exclude: ${name} line ${i + 1}: "${shown}" is not an address range (like 192.0.2.0/24 or 2001:db8::/32)`);
    }
    out.push(r);
  }
  return out;
}
