// btda's own DHT node for one address family (BEP 5; BEP 32 for IPv6: `nodes6`, `want`, 18-byte peers;
// BEP 33 on both sides: it asks for and answers `scrape=1` with Bloom filters of seeds and downloaders).
// Why our own: bittorrent-dht (and k-rpc under it) is IPv4-only in its socket, node and peer encodings,
// and answers no scrape; see the README's DHT section.
import { randomBytes } from 'node:crypto';
import type { BDict } from '../../bencode/decode.ts';
import { encodeNodes, ipBytes, type Family, type NodeInfo, type PeerInfo } from './compact.ts';
import { KrpcSocket, type Address } from './krpc-socket.ts';
import { runLookup, type LookupResult, type Responder } from './lookup.ts';
import { PeerStore } from './peer-store.ts';
import { K, RoutingTable } from './routing-table.ts';

export interface DhtNodeOptions {
  family: Family;
  /** Concrete bind address (tests: '127.0.0.1' or '::1'). */
  host: string;
  port: number;
  nodeId?: Buffer;
  bootstrap: Address[];
  /** Milliseconds before one query counts as unanswered (default 2000). */
  queryTimeoutMs?: number;
  /** Nodes of the other family that answers name (BEP 32 `want`), e.g. for the other family's node. */
  onOtherFamilyNode?: (node: NodeInfo) => void;
  /** Our nodes of the other family, to answer a `want` that asks for them. */
  closestOtherFamily?: (target: Buffer) => NodeInfo[];
  /** The address policy: nodes it refuses are never sent to (a hostile node may name LAN addresses). */
  mayContact?: (host: string, port: number) => boolean;
  /** BEP 43: our queries carry `ro=1`, so nodes do not put us in their tables (short-lived test peers). */
  readOnly?: boolean;
}

export interface LookupHandle {
  done: Promise<LookupResult>;
  abort: () => void;
}

export class DhtNode {
  readonly id: Buffer;
  readonly table: RoutingTable;
  readonly family: Family;
  private readonly socket: KrpcSocket;
  private readonly store = new PeerStore();
  private closed = false;
  queriesAnswered = 0;

  constructor(private readonly opts: DhtNodeOptions) {
    this.family = opts.family;
    this.id = opts.nodeId && opts.nodeId.length === 20 ? opts.nodeId : randomBytes(20);
    this.table = new RoutingTable(this.id);
    this.socket = new KrpcSocket(opts.family, (q, a, t, from) => this.onQuery(q, a, t, from), opts.queryTimeoutMs, opts.mayContact);
  }

  async listen(): Promise<void> {
    await this.socket.bind(this.opts.port, this.opts.host);
  }

  get port(): number {
    return this.socket.port;
  }

  get stats() {
    return { nodes: this.table.count(), queriesAnswered: this.queriesAnswered, ...this.socket.stats };
  }

  /** Fills the table: a `find_node` of our own id through the table and, always, the bootstrap nodes. */
  async bootstrap(timeoutMs = 10_000): Promise<number> {
    const { done } = this.lookupRaw('find_node', this.id, { forceBootstrap: true, timeoutMs });
    return (await done).nodesAnswered;
  }

  /** A `get_peers` lookup: peers as they come through `onPeers`, the closest answering nodes at the end. */
  lookup(infoHash: Buffer, onPeers: (peers: PeerInfo[]) => void, timeoutMs: number): LookupHandle {
    return this.lookupRaw('get_peers', infoHash, { timeoutMs, onValues: (p) => onPeers(p) });
  }

  /** A BEP 33 scrape: `get_peers` with `scrape=1`; the closest answering nodes carry their filters. */
  scrape(infoHash: Buffer, timeoutMs: number): LookupHandle {
    return this.lookupRaw('get_peers', infoHash, { timeoutMs, scrape: true });
  }

  /** `announce_peer` to the nodes of a finished lookup that gave a token; resolves with how many accepted. */
  async announce(infoHash: Buffer, port: number, nodes: Responder[], seed = false): Promise<number> {
    const a: Record<string, unknown> = { id: this.id, info_hash: infoHash, port, implied_port: port ? 0 : 1 };
    if (this.opts.readOnly) a.ro = 1;
    if (seed) a.seed = 1;
    const outcomes = await Promise.all(
      nodes.filter((n) => n.token).map((n) => this.socket.query(n, 'announce_peer', { ...a, token: n.token })),
    );
    return outcomes.filter((o) => o.ok).length;
  }

  /** Pings an address; it enters the table under the id it answers with. */
  async ping(to: Address): Promise<boolean> {
    const o = await this.socket.query(to, 'ping', { id: this.id });
    if (!o.ok || !Buffer.isBuffer(o.r.id) || o.r.id.length !== 20) return false;
    this.table.seen({ id: o.r.id, host: to.host, port: to.port });
    return true;
  }

  close(): Promise<void> {
    this.closed = true;
    return this.socket.close();
  }

  private lookupRaw(
    q: 'get_peers' | 'find_node',
    target: Buffer,
    extra: { timeoutMs: number; scrape?: boolean; forceBootstrap?: boolean; onValues?: (p: PeerInfo[], from: Address) => void },
  ): LookupHandle {
    const setup = {
      socket: this.socket,
      table: this.table,
      ownId: this.id,
      family: this.family,
      bootstrap: this.opts.bootstrap,
      onOtherFamilyNode: this.opts.onOtherFamilyNode,
      readOnly: this.opts.readOnly,
    };
    return runLookup(setup, { q, target, ...extra });
  }

  // ---- the answering side ----

  private onQuery(q: string, a: BDict, t: Buffer, from: Address): void {
    if (this.closed) return;
    const id = a.id;
    if (!Buffer.isBuffer(id) || id.length !== 20) return this.socket.error(from, t, 203, 'missing id');
    // BEP 43: a read-only node asks but does not answer; it must not enter our table.
    if (a.ro !== 1) this.table.seen({ id, host: from.host, port: from.port });
    this.queriesAnswered++;
    switch (q) {
      case 'ping':
        return this.socket.respond(from, t, { id: this.id });
      case 'find_node': {
        const target = a.target;
        if (!isHash(target)) return this.socket.error(from, t, 203, 'find_node needs a 20-byte target');
        return this.socket.respond(from, t, { id: this.id, ...this.nodesFor(target, a.want) });
      }
      case 'get_peers':
        return this.onGetPeers(a, t, from);
      case 'announce_peer':
        return this.onAnnouncePeer(a, t, from);
      default:
        return this.socket.error(from, t, 204, 'Method Unknown');
    }
  }

  private onGetPeers(a: BDict, t: Buffer, from: Address): void {
    const infoHash = a.info_hash;
    if (!isHash(infoHash)) return this.socket.error(from, t, 203, 'get_peers needs a 20-byte info_hash');
    const r: Record<string, unknown> = { id: this.id, token: this.store.token(from.host), ...this.nodesFor(infoHash, a.want) };
    // BEP 33: a scrape is answered with the two filters instead of the peers.
    if (a.scrape === 1) Object.assign(r, this.store.scrape(infoHash));
    else {
      const values = this.store.values(infoHash, a.noseed === 1);
      if (values.length) r.values = values;
    }
    this.socket.respond(from, t, r);
  }

  private onAnnouncePeer(a: BDict, t: Buffer, from: Address): void {
    const infoHash = a.info_hash;
    const token = a.token;
    if (!isHash(infoHash) || !Buffer.isBuffer(token)) return this.socket.error(from, t, 203, 'announce_peer needs info_hash and token');
    if (!this.store.validToken(from.host, token)) return this.socket.error(from, t, 203, 'bad token');
    const port = a.implied_port === 1 ? from.port : a.port;
    const ip = ipBytes(from.host, this.family);
    if (typeof port !== 'number' || port <= 0 || port > 65535 || !ip) return this.socket.error(from, t, 203, 'bad port');
    this.store.add(infoHash, ip, port, a.seed === 1);
    this.socket.respond(from, t, { id: this.id });
  }

  /** BEP 32: `nodes` and/or `nodes6` as `want` asks; without `want`, the family the query came in on. */
  private nodesFor(target: Buffer, want: unknown): Record<string, Buffer> {
    const asked = Array.isArray(want) ? want.filter(Buffer.isBuffer).map((w) => w.toString('latin1')) : [];
    const families: Family[] = asked.length ? ([4, 6] as Family[]).filter((f) => asked.includes(`n${f}`)) : [this.family];
    const out: Record<string, Buffer> = {};
    for (const f of families) {
      const nodes = f === this.family ? this.table.closest(target, K) : (this.opts.closestOtherFamily?.(target) ?? []);
      if (nodes.length || f === this.family) out[f === 4 ? 'nodes' : 'nodes6'] = encodeNodes(nodes.slice(0, K), f);
    }
    return out;
  }
}

function isHash(v: unknown): v is Buffer {
  return Buffer.isBuffer(v) && v.length === 20;
}
