// Who is known: one slot number per distinct peer (torrent, address, port), found again in O(1).
//
// Compact for millions of peers of both families: the identity of a slot lives in typed arrays (torrent,
// port, a kind byte, and a 32-bit address word; an IPv6 address adds four words in a side store, 16
// bytes, so it costs about what an IPv4 one does), and slots are found through an open-addressing hash
// table of slot numbers: no string key and no object per peer. An IPv4-mapped address (::ffff:1.2.3.4)
// is the IPv4 peer. Only what fits none of that (text that is no address, a torrent id or port out of
// range) keeps a string key in a Map.
//
// Growth never stalls the event loop: the arrays grow by chunks (chunks.ts), and the hash table doubles
// incrementally (each later add or lookup copies a few entries from the old table, which is still
// searched until all are copied).
import { CHUNK_BITS, CHUNK_MASK, CHUNK_SIZE } from './chunks.ts';
import { formatIPv4, formatIPv6, isMappedIPv4, parseIPv4, parseIPv6 } from './address-words.ts';

const enum Kind {
  V4 = 0,
  V6 = 1,
  /** Identity kept as text in `texts` (not an address in canonical form, or out-of-range numbers). */
  Text = 2,
}

/** Entries of the first hash table; it doubles once more than half full (at 2,049 entries first). */
export const INITIAL_TABLE = 1 << 12;
/** Old-table positions moved to the new table per add or lookup while the table doubles. */
const MIGRATE_STEP = 16;

export class PeerIndex {
  private count = 0;
  private readonly torrentId: Int32Array[] = [];
  /** IPv4: the address. IPv6: its row in `v6` (four words a row). */
  private readonly addr: Uint32Array[] = [];
  private readonly port: Uint16Array[] = [];
  private readonly kind: Uint8Array[] = [];
  /** IPv6 addresses, four big-endian words each, in chunks of CHUNK_SIZE rows. */
  private readonly v6: Uint32Array[] = [];
  private v6Count = 0;
  /** Open addressing, linear probing; entries are slot + 1 (0 = empty). Never shrinks. */
  private table = new Int32Array(INITIAL_TABLE);
  private tableCount = 0;
  /**
   * While the table doubles: the previous table. Its positions below `migrated` have been copied to
   * `table`; nothing is removed from it (that would break its probe chains), it is dropped once copied.
   */
  private oldTable: Int32Array | null = null;
  private migrated = 0;
  private readonly textKeys = new Map<string, number>();
  private readonly texts = new Map<number, { torrentId: number; ip: string; port: number }>();
  /** The parsed key of the last find (kind, IPv4 word or the four IPv6 words, hash): add reuses it. */
  private readonly words = new Uint32Array(4);
  private keyKind: Kind = Kind.Text;
  private keyV4 = 0;

  /** Peers known. Slots are 0 .. size - 1, in the order the peers were added. */
  get size(): number {
    return this.count;
  }
  /** Slots the arrays hold before the next chunk is added. */
  get capacity(): number {
    return this.kind.length * CHUNK_SIZE;
  }
  /** Positions of the current hash table (for tests of its growth). */
  get tableSize(): number {
    return this.table.length;
  }
  /** True while an old table is still being copied into the current one. */
  get doubling(): boolean {
    return this.oldTable !== null;
  }

  /** The text key of a peer (the one key used where no index is at hand). */
  static key(torrentId: number, ip: string, port: number): string {
    return `${torrentId}|${ip}|${port}`;
  }

  /** The slot of a peer, or -1. */
  find(torrentId: number, ip: string, port: number): number {
    this.parseKey(torrentId, ip, port);
    if (this.keyKind === Kind.Text) return this.textKeys.get(PeerIndex.key(torrentId, ip, port)) ?? -1;
    if (this.oldTable) this.migrate();
    const slot = this.table[this.probe(this.table, torrentId, port)] - 1;
    if (slot >= 0 || !this.oldTable) return slot;
    return this.oldTable[this.probe(this.oldTable, torrentId, port)] - 1;
  }

  /** The slot of a peer; a new peer gets the next slot and is returned as -1 - slot. */
  findOrAdd(torrentId: number, ip: string, port: number): number {
    const known = this.find(torrentId, ip, port);
    if (known >= 0) return known;
    if (this.count === this.capacity) this.addChunk();
    const slot = this.count++;
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    this.kind[c][i] = this.keyKind;
    this.torrentId[c][i] = torrentId;
    this.port[c][i] = port;
    if (this.keyKind === Kind.Text) {
      this.texts.set(slot, { torrentId, ip, port });
      this.textKeys.set(PeerIndex.key(torrentId, ip, port), slot);
      return -1 - slot;
    }
    if (this.keyKind === Kind.V4) {
      this.addr[c][i] = this.keyV4;
    } else {
      const row = this.v6Count++;
      if (row >>> CHUNK_BITS === this.v6.length) this.v6.push(new Uint32Array(CHUNK_SIZE * 4));
      this.v6[row >>> CHUNK_BITS].set(this.words, (row & CHUNK_MASK) * 4);
      this.addr[c][i] = row;
    }
    this.table[this.probe(this.table, torrentId, port)] = slot + 1;
    this.tableCount++;
    if (this.tableCount * 2 > this.table.length) this.startDoubling();
    return -1 - slot;
  }

  torrentIdOf(slot: number): number {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    return this.kind[c][i] === Kind.Text ? this.texts.get(slot)!.torrentId : this.torrentId[c][i];
  }

  portOf(slot: number): number {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    return this.kind[c][i] === Kind.Text ? this.texts.get(slot)!.port : this.port[c][i];
  }

  /** The address text of a slot: IPv4 dotted, IPv6 in RFC 5952 form, other text as it was added. */
  ipOf(slot: number): string {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    const kind = this.kind[c][i];
    if (kind === Kind.V4) return formatIPv4(this.addr[c][i]);
    if (kind === Kind.Text) return this.texts.get(slot)!.ip;
    const row = this.addr[c][i];
    const w = this.v6[row >>> CHUNK_BITS];
    const o = (row & CHUNK_MASK) * 4;
    return formatIPv6(w[o], w[o + 1], w[o + 2], w[o + 3]);
  }

  /** Sets keyKind (and keyV4 or words) for a peer. */
  private parseKey(torrentId: number, ip: string, port: number): void {
    this.keyKind = Kind.Text;
    if ((torrentId | 0) !== torrentId || (port & 0xffff) !== port) return;
    const v4 = parseIPv4(ip);
    if (v4 >= 0) {
      this.keyKind = Kind.V4;
      this.keyV4 = v4;
      return;
    }
    const w = this.words;
    if (!parseIPv6(ip, w)) return;
    if (isMappedIPv4(w[0], w[1], w[2])) {
      this.keyKind = Kind.V4;
      this.keyV4 = w[3];
    } else {
      this.keyKind = Kind.V6;
    }
  }

  private addChunk(): void {
    this.torrentId.push(new Int32Array(CHUNK_SIZE));
    this.addr.push(new Uint32Array(CHUNK_SIZE));
    this.port.push(new Uint16Array(CHUNK_SIZE));
    this.kind.push(new Uint8Array(CHUNK_SIZE));
  }

  /** The position in `table` holding the parsed key, or the empty position where it would go. */
  private probe(table: Int32Array, torrentId: number, port: number): number {
    const mask = table.length - 1;
    const v6 = this.keyKind === Kind.V6;
    const w = this.words;
    const a = v6 ? mix(w[0], w[1], w[2], w[3]) : this.keyV4;
    const kind = this.keyKind;
    let p = hashPeer(torrentId, a, port) & mask;
    for (;;) {
      const e = table[p];
      if (e === 0) return p;
      const slot = e - 1;
      const c = slot >>> CHUNK_BITS;
      const i = slot & CHUNK_MASK;
      if (this.port[c][i] === port && this.torrentId[c][i] === torrentId && this.kind[c][i] === kind) {
        if (!v6) {
          if (this.addr[c][i] === a) return p;
        } else {
          const row = this.addr[c][i];
          const r = this.v6[row >>> CHUNK_BITS];
          const o = (row & CHUNK_MASK) * 4;
          if (r[o] === w[0] && r[o + 1] === w[1] && r[o + 2] === w[2] && r[o + 3] === w[3]) return p;
        }
      }
      p = (p + 1) & mask;
    }
  }

  /** The hash of a slot's identity, as probe computes it for the same peer. */
  private hashOf(slot: number): number {
    const c = slot >>> CHUNK_BITS;
    const i = slot & CHUNK_MASK;
    let a = this.addr[c][i];
    if (this.kind[c][i] === Kind.V6) {
      const r = this.v6[a >>> CHUNK_BITS];
      const o = (a & CHUNK_MASK) * 4;
      a = mix(r[o], r[o + 1], r[o + 2], r[o + 3]);
    }
    return hashPeer(this.torrentId[c][i], a, this.port[c][i]);
  }

  private startDoubling(): void {
    // A doubling that is still under way finishes first (it is far along: the table only reaches
    // half full again after as many inserts as it held, and each insert moves MIGRATE_STEP entries).
    if (this.oldTable) this.migrate(Infinity);
    this.oldTable = this.table;
    this.table = new Int32Array(this.table.length * 2);
    this.migrated = 0;
  }

  /** Copies up to `positions` positions of the old table into the current one. */
  private migrate(positions = MIGRATE_STEP): void {
    const old = this.oldTable!;
    const end = Math.min(old.length, this.migrated + positions);
    const table = this.table;
    const mask = table.length - 1;
    for (let p = this.migrated; p < end; p++) {
      const e = old[p];
      if (e === 0) continue;
      let q = this.hashOf(e - 1) & mask;
      while (table[q] !== 0) q = (q + 1) & mask;
      table[q] = e;
    }
    this.migrated = end;
    if (end === old.length) this.oldTable = null;
  }
}

/** Folds an IPv6 address into one word for the hash. */
function mix(w0: number, w1: number, w2: number, w3: number): number {
  return (Math.imul(w0, 0x85ebca6b) ^ Math.imul(w1, 0xc2b2ae35) ^ Math.imul(w2, 0x27d4eb2f) ^ w3) >>> 0;
}

function hashPeer(torrentId: number, v4: number, port: number): number {
  let h = Math.imul(v4 ^ (port << 16) ^ port, 0x9e3779b1);
  h ^= Math.imul(torrentId + 0x7f4a7c15, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 13)) >>> 0;
}
