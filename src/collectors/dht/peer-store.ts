// What our node keeps for others (BEP 5 `announce_peer`, BEP 33 seed flag) and the tokens that guard it.
// Bounded in torrents, peers per torrent and age: the store serves the DHT, it is not a crawl result.
import { createHash, randomBytes } from 'node:crypto';
import { bloomInsert, emptyBloom } from './bloom.ts';

const MAX_TORRENTS = 2000;
const MAX_PEERS_PER_TORRENT = 1000;
/** BEP 5: peers announce again every 15-30 min; older entries are dropped. */
const PEER_TTL_MS = 30 * 60_000;
/** BEP 5: tokens of the last ten minutes are accepted; we rotate the secret every five. */
const SECRET_ROTATE_MS = 5 * 60_000;
/** How many peers one `values` answer lists (a UDP packet stays under ~1.5 KB either family). */
export const MAX_VALUES = 50;

interface StoredPeer {
  /** Compact form (6 or 18 bytes), ready to send. */
  compact: Buffer;
  ip: Buffer;
  seed: boolean;
  at: number;
}

export class PeerStore {
  private readonly torrents = new Map<string, Map<string, StoredPeer>>();
  private secrets: [Buffer, Buffer] = [randomBytes(16), randomBytes(16)];
  private rotatedAt: number;

  constructor(private readonly now: () => number = Date.now) {
    this.rotatedAt = now();
  }

  token(host: string): Buffer {
    this.rotate();
    return this.tokenWith(host, this.secrets[0]);
  }

  validToken(host: string, token: Buffer): boolean {
    this.rotate();
    return this.secrets.some((s) => this.tokenWith(host, s).equals(token));
  }

  add(infoHash: Buffer, ip: Buffer, port: number, seed: boolean): void {
    const key = infoHash.toString('hex');
    let peers = this.torrents.get(key);
    if (!peers) {
      if (this.torrents.size >= MAX_TORRENTS) this.torrents.delete(this.torrents.keys().next().value!);
      peers = new Map();
      this.torrents.set(key, peers);
    }
    const compact = Buffer.alloc(ip.length + 2);
    ip.copy(compact);
    compact.writeUInt16BE(port, ip.length);
    const addr = compact.toString('latin1');
    peers.delete(addr); // re-inserted at the end: the Map's order is the age order
    if (peers.size >= MAX_PEERS_PER_TORRENT) peers.delete(peers.keys().next().value!);
    peers.set(addr, { compact, ip, seed, at: this.now() });
  }

  /** Up to MAX_VALUES peers, the most recent first; `noseed` leaves seeds out (BEP 33). */
  values(infoHash: Buffer, noseed = false): Buffer[] {
    const out: Buffer[] = [];
    const peers = [...this.live(infoHash)].reverse();
    for (const p of peers) {
      if (out.length >= MAX_VALUES) break;
      if (!(noseed && p.seed)) out.push(p.compact);
    }
    return out;
  }

  /** BEP 33: Bloom filters of the seeds' and the downloaders' addresses. */
  scrape(infoHash: Buffer): { BFsd: Buffer; BFpe: Buffer } {
    const BFsd = emptyBloom();
    const BFpe = emptyBloom();
    for (const p of this.live(infoHash)) bloomInsert(p.seed ? BFsd : BFpe, p.ip);
    return { BFsd, BFpe };
  }

  private live(infoHash: Buffer): StoredPeer[] {
    const peers = this.torrents.get(infoHash.toString('hex'));
    if (!peers) return [];
    const oldest = this.now() - PEER_TTL_MS;
    for (const [addr, p] of peers) {
      if (p.at >= oldest) break; // age order: the rest are younger
      peers.delete(addr);
    }
    return [...peers.values()];
  }

  private rotate(): void {
    const now = this.now();
    if (now - this.rotatedAt < SECRET_ROTATE_MS) return;
    this.rotatedAt = now;
    this.secrets = [randomBytes(16), this.secrets[0]];
  }

  private tokenWith(host: string, secret: Buffer): Buffer {
    return createHash('sha1').update(secret).update(host).digest().subarray(0, 8);
  }
}
