// Privacy by default: a stored peer address is its network (IPv4 /24, IPv6 /48) plus a keyed hash
// that tells hosts of one network apart. The key lives in its own file, not in the database, so a
// shared database alone does not reveal addresses (with the key, a /24 has only 256 candidates).
import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isIPv4, isIPv6 } from 'node:net';
import { unmapIPv4 } from '../wire/ip.ts';

/** "81.2.69.142" → "81.2.69.0/24"; "2001:db8:1:2::5" → "2001:db8:1::/48". */
export function anonymizeAddress(ip: string): string {
  const v4 = ipv4Of(ip);
  if (v4) {
    const parts = v4.split('.');
    return `${parts[0]}.${parts[1]}.${parts[2]}.0/24`;
  }
  if (isIPv6(ip)) {
    const groups = expandIPv6(ip);
    return `${groups.slice(0, 3).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/48`;
  }
  return 'invalid';
}

/** IPv4-mapped IPv6 addresses ("::ffff:1.2.3.4", seen on dual-stack sockets) count as IPv4. */
export function ipv4Of(ip: string): string | null {
  const v4 = unmapIPv4(ip);
  return isIPv4(v4) ? v4 : null;
}

/** The canonical text of an address, so one host has one key however it was written. */
export function canonicalIp(ip: string): string {
  const v4 = ipv4Of(ip);
  if (v4) return v4;
  return isIPv6(ip) ? expandIPv6(ip).join(':') : ip;
}

function expandIPv6(ip: string): string[] {
  let [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  // an embedded IPv4 tail takes two groups
  const last = (tail === undefined ? h : t).at(-1);
  if (last && last.includes('.')) {
    const b = last.split('.').map(Number);
    const groups = [((b[0] << 8) | b[1]).toString(16), ((b[2] << 8) | b[3]).toString(16)];
    (tail === undefined ? h : t).splice(-1, 1, ...groups);
  }
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.toLowerCase().padStart(4, '0'));
}

/** Keyed hashes of addresses: 16 hex characters (64 bits) of HMAC-SHA256. */
export class AddressHasher {
  readonly key: Buffer;
  constructor(key: Buffer) {
    this.key = key;
  }

  /** Loads the key from `path`, creating a random one (mode 600) the first time. */
  static fromKeyFile(path: string): AddressHasher {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, randomBytes(32).toString('hex') + '\n', { mode: 0o600 });
      try {
        chmodSync(path, 0o600);
      } catch {
        // not fatal on file systems without modes
      }
    }
    const hex = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{32,}$/i.test(hex)) throw new Error(`address key file ${path} is not a hex key`);
    return new AddressHasher(Buffer.from(hex, 'hex'));
  }

  hash(ip: string): string {
    return createHmac('sha256', this.key).update(canonicalIp(ip)).digest('hex').slice(0, 16);
  }
}
