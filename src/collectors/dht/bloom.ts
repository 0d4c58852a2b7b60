// BEP 33 scrape filters: 256-byte Bloom filters (m = 2048 bits, k = 2) of peer IP addresses. A node answers
// a `get_peers` with `scrape=1` by one filter of its seeds (BFsd) and one of its downloaders (BFpe); the
// filters of several nodes are OR-ed and the number of addresses in the union is estimated from the bits
// still zero. Ports do not count: the BEP hashes the address only.
import { createHash } from 'node:crypto';

export const BLOOM_BYTES = 256;
const M = BLOOM_BYTES * 8;
const K = 2;

/** Sets the two bits of one address (its 4 or 16 bytes), as the BEP's pseudocode does. */
export function bloomInsert(filter: Buffer, ip: Buffer): void {
  const hash = createHash('sha1').update(ip).digest();
  const index1 = (hash[0] | (hash[1] << 8)) % M;
  const index2 = (hash[2] | (hash[3] << 8)) % M;
  filter[index1 >> 3] |= 1 << (index1 & 7);
  filter[index2 >> 3] |= 1 << (index2 & 7);
}

export function emptyBloom(): Buffer {
  return Buffer.alloc(BLOOM_BYTES);
}

/** `into |= other`; filters of another size are ignored (returns false). */
export function bloomUnion(into: Buffer, other: Buffer): boolean {
  if (other.length !== BLOOM_BYTES) return false;
  for (let i = 0; i < BLOOM_BYTES; i++) into[i] |= other[i];
  return true;
}

/** The BEP's estimate: ln(c/m) / (k · ln(1 − 1/m)), c = zero bits (at least 1: a full filter saturates). */
export function bloomEstimate(filter: Buffer): number {
  let ones = 0;
  for (const byte of filter) {
    let b = byte;
    while (b) {
      ones += b & 1;
      b >>= 1;
    }
  }
  if (ones === 0) return 0;
  const zeros = Math.max(1, M - ones);
  return Math.log(zeros / M) / (K * Math.log(1 - 1 / M));
}

export interface ScrapeEstimate {
  seeders: number;
  leechers: number;
  /** Nodes whose filters were OR-ed. */
  nodes: number;
}

/**
 * OR-s the filters of the first `maxNodes` replies that carry both (pass them closest first: BEP 33 counts
 * on the nodes closest to the info hash, where the announces land) and estimates each union; null when
 * no node answered the scrape. Rounded: a count is what the report shows.
 */
export function estimateScrape(replies: Array<{ BFsd?: Buffer; BFpe?: Buffer }>, maxNodes = 8): ScrapeEstimate | null {
  const seeds = emptyBloom();
  const peers = emptyBloom();
  let nodes = 0;
  for (const r of replies) {
    if (nodes >= maxNodes) break;
    if (!r.BFsd || !r.BFpe || r.BFsd.length !== BLOOM_BYTES || r.BFpe.length !== BLOOM_BYTES) continue;
    bloomUnion(seeds, r.BFsd);
    bloomUnion(peers, r.BFpe);
    nodes++;
  }
  if (!nodes) return null;
  return { seeders: Math.round(bloomEstimate(seeds)), leechers: Math.round(bloomEstimate(peers)), nodes };
}
