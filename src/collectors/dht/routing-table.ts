// A Kademlia routing table: one bucket of at most K nodes per length of the prefix a node id shares with
// ours (160 buckets, no splitting: the same shape a splitting table reaches). Old nodes that answer are
// kept over new ones (Kademlia's rule: long-lived nodes stay); a node that failed FAILS_TO_DROP queries
// in a row is dropped, and a full bucket takes a newcomer in place of a node that has failed at all.
import type { NodeInfo } from './compact.ts';

export const K = 8;
const FAILS_TO_DROP = 3;

export interface TableNode extends NodeInfo {
  lastSeen: number;
  failures: number;
}

/** Number of leading bits `a` and `b` share (160 when equal). */
function sharedPrefix(a: Buffer, b: Buffer): number {
  for (let i = 0; i < 20; i++) {
    const x = a[i] ^ b[i];
    if (x) return i * 8 + Math.clz32(x) - 24;
  }
  return 160;
}

/** Negative when `a` is closer to `target` than `b` (XOR metric). */
export function compareDistance(target: Buffer, a: Buffer, b: Buffer): number {
  for (let i = 0; i < 20; i++) {
    const da = a[i] ^ target[i];
    const db = b[i] ^ target[i];
    if (da !== db) return da - db;
  }
  return 0;
}

export class RoutingTable {
  private readonly buckets: TableNode[][] = Array.from({ length: 161 }, () => []);
  /** 'host:port' → node, so an address that comes back with a new id replaces its old entry. */
  private readonly byAddress = new Map<string, TableNode>();

  constructor(
    readonly ownId: Buffer,
    private readonly now: () => number = Date.now,
  ) {}

  count(): number {
    return this.byAddress.size;
  }

  /** A node answered or queried us: add it or refresh it. An address seen under another id is re-keyed. */
  seen(node: NodeInfo): void {
    if (node.id.length !== 20 || node.id.equals(this.ownId)) return;
    const key = `${node.host}:${node.port}`;
    const old = this.byAddress.get(key);
    if (old && !old.id.equals(node.id)) this.remove(old); // restarted with a new id
    const bucket = this.buckets[sharedPrefix(this.ownId, node.id)];
    const known = bucket.find((n) => n.id.equals(node.id));
    if (known) {
      if (`${known.host}:${known.port}` !== key) return; // same id from another address: keep the first
      known.lastSeen = this.now();
      known.failures = 0;
      return;
    }
    if (bucket.length >= K) {
      const weakest = bucket.reduce((a, b) => (b.failures > a.failures ? b : a));
      if (weakest.failures === 0) return;
      this.remove(weakest);
    }
    const entry: TableNode = { id: node.id, host: node.host, port: node.port, lastSeen: this.now(), failures: 0 };
    bucket.push(entry);
    this.byAddress.set(key, entry);
  }

  /** A query to this address went unanswered. */
  failed(host: string, port: number): void {
    const node = this.byAddress.get(`${host}:${port}`);
    if (node && ++node.failures >= FAILS_TO_DROP) this.remove(node);
  }

  remove(node: TableNode): void {
    const bucket = this.buckets[sharedPrefix(this.ownId, node.id)];
    const i = bucket.indexOf(node);
    if (i >= 0) bucket.splice(i, 1);
    const key = `${node.host}:${node.port}`;
    if (this.byAddress.get(key) === node) this.byAddress.delete(key);
  }

  /** The `n` nodes closest to `target`, failing ones last among equals of distance order. */
  closest(target: Buffer, n = K): TableNode[] {
    return [...this.byAddress.values()].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, n);
  }

  toArray(): TableNode[] {
    return [...this.byAddress.values()];
  }
}
