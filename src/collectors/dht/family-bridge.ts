// The two DHT families help each other (BEP 32 `want`): the IPv4 node (bittorrent-dht) and the IPv6 node
// (./node.ts) each answer a `want` for the other family from the other's routing table, and each hands the
// other the nodes of its family that replies name. Nodes handed over are pinged, never trusted, after the
// address policy and within a budget (a hostile reply may name thousands of addresses).
//
// The IPv4 side goes through k-rpc, bittorrent-dht's KRPC layer (`dht._rpc`, k-rpc v5 under bittorrent-dht
// v11): bittorrent-dht ignores `want` and never reads `nodes6`, so the instance's `response` (answers) and
// `socket.query` (our queries and their replies) are wrapped. No file of the package is changed.
import type DHT from 'bittorrent-dht';
import { isIPv4, isIPv6 } from 'node:net';
import { decodeNodes, encodeNodes, type NodeInfo } from './compact.ts';
import { K } from './routing-table.ts';

/** What one family's collector offers the other. */
export interface FamilyPeer {
  /** Up to K nodes of this family's table closest to `target`, each one the address policy allows. */
  closestNodes(target: Buffer): NodeInfo[];
  /** A node of this family named by the other family's DHT: pinged (within a budget), kept if it answers. */
  offerNode(node: { host: string; port: number }): void;
  /** Asks this family's nodes for nodes of the other family (`want`); resolves with how many answered. */
  askOtherFamily?(target: Buffer): Promise<number>;
}

interface Linkable {
  otherFamily: FamilyPeer | null;
  readonly familyPeer: FamilyPeer;
}

/** Ties the IPv4 and IPv6 collectors together, before they start. */
export function linkFamilies(v4: Linkable, v6: Linkable): void {
  v4.otherFamily = v6.familyPeer;
  v6.otherFamily = v4.familyPeer;
}

/**
 * At most `perWindow` offers per `windowMs`, each address once per window: the ping cost of the nodes the
 * other family names stays bounded whatever the replies say.
 */
export class OfferBudget {
  private windowStart = 0;
  private readonly seen = new Set<string>();
  accepted = 0;
  overBudget = 0;

  constructor(
    private readonly perWindow = 64,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  take(host: string, port: number): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.seen.clear();
    }
    const key = `${host}:${port}`;
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.perWindow) {
      this.overBudget++;
      return false;
    }
    this.seen.add(key);
    this.accepted++;
    return true;
  }
}

/** The part of k-rpc (bittorrent-dht's `_rpc`) used here. */
interface KRpc {
  id: Buffer;
  nodes: { closest(target: Buffer, n?: number): Array<{ id: Buffer; host: string; port: number }> };
  response(node: unknown, query: KQuery, response: Record<string, unknown>, nodes?: unknown, cb?: unknown): void;
  queryAll(nodes: unknown[], message: KQuery, visit: null, cb: (err: Error | null, n: number) => void): void;
  socket: { query(peer: unknown, query: KQuery, cb?: KQueryCallback): unknown };
}
interface KQuery {
  q: string | Buffer;
  a?: Record<string, unknown>;
}
type KQueryCallback = (err: Error | null, message?: { r?: Record<string, unknown> }, ...rest: unknown[]) => void;

function rpcOf(dht: DHT): KRpc | null {
  const rpc = (dht as unknown as { _rpc?: KRpc })._rpc;
  const ok = rpc && typeof rpc.response === 'function' && typeof rpc.socket?.query === 'function' && typeof rpc.queryAll === 'function';
  return ok ? rpc : null;
}

/** The families a query's `want` names ('n4', 'n6'); empty without `want`. */
export function wantedFamilies(want: unknown): string[] {
  return Array.isArray(want) ? want.filter((w) => Buffer.isBuffer(w) || typeof w === 'string').map((w) => w.toString('latin1')) : [];
}

export interface V4BridgeHooks {
  /** IPv6 nodes to answer `want: n6` with. */
  closest6(target: Buffer): NodeInfo[];
  /** An IPv6 node named in a reply's `nodes6`. */
  onNode6(node: NodeInfo): void;
}

/**
 * Teaches bittorrent-dht's instance BEP 32's `want` for IPv6: answers to a query whose `want` holds 'n6'
 * carry `nodes6`; our own find_node and get_peers queries ask `want: [n4, n6]` and the `nodes6` of the
 * replies go to `onNode6`. False when k-rpc is not shaped as expected (then nothing is changed).
 */
export function bridgeV4(dht: DHT, hooks: V4BridgeHooks): boolean {
  const rpc = rpcOf(dht);
  if (!rpc) return false;
  const response = rpc.response.bind(rpc);
  rpc.response = (node, query, r, nodes, cb) => {
    const a = query?.a;
    const target = a && (Buffer.isBuffer(a.target) ? a.target : Buffer.isBuffer(a.info_hash) ? a.info_hash : null);
    if (target && target.length === 20 && wantedFamilies(a.want).includes('n6')) {
      const six = hooks.closest6(target).filter((n) => isIPv6(n.host));
      if (six.length) r.nodes6 = encodeNodes(six.slice(0, K), 6);
    }
    response(node, query, r, nodes, cb);
  };
  const query = rpc.socket.query.bind(rpc.socket);
  // A host name is resolved and queried again through socket.query: its callback is wrapped once only.
  const wrappedOnce = new WeakSet<KQueryCallback>();
  rpc.socket.query = (peer, message, cb) => {
    if (cb && wrappedOnce.has(cb)) return query(peer, message, cb);
    const q = message?.q?.toString();
    if (message?.a && (q === 'find_node' || q === 'get_peers') && message.a.want === undefined) message.a.want = ['n4', 'n6'];
    const wrapped: KQueryCallback = (err, reply, ...rest) => {
      const nodes6 = reply?.r?.nodes6;
      if (!err && Buffer.isBuffer(nodes6)) {
        for (const n of decodeNodes(nodes6, 6)) {
          try {
            hooks.onNode6(n);
          } catch {
            // a failing consumer must not break k-rpc's callback chain
          }
        }
      }
      cb?.(err, reply, ...rest);
    };
    wrappedOnce.add(wrapped);
    return query(peer, message, wrapped);
  };
  return true;
}

/** IPv4 nodes of bittorrent-dht's table closest to `target`. */
export function closestV4(dht: DHT, target: Buffer, n = K): NodeInfo[] {
  const rpc = rpcOf(dht);
  if (!rpc || dht.destroyed) return [];
  return rpc.nodes
    .closest(target, n * 2)
    .filter((x) => isIPv4(x.host) && Buffer.isBuffer(x.id) && x.id.length === 20)
    .map((x) => ({ id: x.id, host: x.host, port: x.port }));
}

/**
 * One `find_node` with `want: [n6]` to up to `max` nodes of the IPv4 table closest to `target` (k-rpc's
 * `query` sends any query): the `nodes6` of the replies reach `onNode6` through bridgeV4's wrap.
 */
export function askV4ForNodes6(dht: DHT, target: Buffer, max = 16): Promise<number> {
  const rpc = rpcOf(dht);
  if (!rpc || dht.destroyed) return Promise.resolve(0);
  const nodes = rpc.nodes.closest(target, max);
  if (!nodes.length) return Promise.resolve(0);
  return new Promise((resolve) => {
    rpc.queryAll(nodes, { q: 'find_node', a: { id: rpc.id, target, want: ['n6'] } }, null, (_err, n) => resolve(n));
  });
}

/** The IPv4 collector's side of the link: bittorrent-dht's table, the address policy, and its addNode (a ping). */
export function v4FamilyPeer(io: {
  dht: () => DHT | null;
  ready: () => Promise<void>;
  mayContact: (host: string, port: number) => boolean;
  addNode: (host: string, port: number) => void;
}): FamilyPeer & { offers: OfferBudget } {
  const offers = new OfferBudget();
  return {
    offers,
    closestNodes(target) {
      const dht = io.dht();
      return dht ? closestV4(dht, target).filter((n) => io.mayContact(n.host, n.port)).slice(0, K) : [];
    },
    offerNode(n) {
      if (isIPv4(n.host) && io.mayContact(n.host, n.port) && offers.take(n.host, n.port)) io.addNode(n.host, n.port);
    },
    async askOtherFamily(target) {
      await io.ready();
      const dht = io.dht();
      return dht ? askV4ForNodes6(dht, target) : 0;
    },
  };
}
