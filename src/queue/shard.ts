// --shard K/N: N hosts share the work without dialling the same endpoint twice (README "Running on several
// hosts"). The key is a hash of (torrent info hash, peer address as canonical text, port): a pure function
// of what every collector names, so each host decides alone, with no coordination, whether an address is
// its own. By torrent alone one huge swarm could not be split; by address alone, one host would own a
// busy address's sessions in every torrent. Every host still learns every address (trackers, DHT) and drops
// the others' before its queue.
import { parseIPv4, parseIPv6, unmapIPv4 } from '../wire/ip.ts';

export class ShardError extends Error {}

export class Shard {
  private constructor(
    /** 1-based: this host is shard `index` of `count`. */
    readonly index: number,
    readonly count: number,
  ) {}

  /** '' (no sharding) or 'K/N' with 1 <= K <= N. */
  static parse(text: string): Shard | null {
    if (text === '') return null;
    const m = /^(\d{1,6})\/(\d{1,6})$/.exec(text.trim());
    const k = m ? Number(m[1]) : NaN;
    const n = m ? Number(m[2]) : NaN;
    if (!(k >= 1 && n >= 1 && k <= n)) throw new ShardError(`--shard: expected K/N with 1 <= K <= N, e.g. 1/4 (got ${JSON.stringify(text)})`);
    return new Shard(k, n);
  }

  get label(): string {
    return `${this.index}/${this.count}`;
  }

  /** Whether this host dials the endpoint. `infoHash` is hex (any case), `ip` any textual form of the address. */
  owns(infoHash: string, ip: string, port: number): boolean {
    return shardOf(infoHash, ip, port, this.count) === this.index;
  }
}

/** The shard (1..count) of an endpoint of a torrent: the same on every host, whatever form the address came in. */
export function shardOf(infoHash: string, ip: string, port: number, count: number): number {
  return (endpointHash(`${infoHash.toLowerCase()} ${canonicalText(ip)} ${port}`) % count) + 1;
}

/** '::FFFF:1.2.3.4' → '1.2.3.4'; '2001:DB8::1' → '2001:db8:0:0:0:0:0:1': one text per address. */
function canonicalText(ip: string): string {
  const v4 = unmapIPv4(ip);
  if (parseIPv4(v4) >= 0) return v4;
  const groups = parseIPv6(v4);
  return groups ? Array.from(groups, (g) => g.toString(16)).join(':') : v4.toLowerCase();
}

/** FNV-1a over the text, then murmur3's finaliser so the low bits (what `% count` keeps) are well mixed. */
function endpointHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
