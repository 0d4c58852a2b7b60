// Peers from the mainline DHT (BEP 5): our own bittorrent-dht node runs get_peers lookups for every torrent
// every `intervalS`, staggered so the lookups of many torrents do not start in one burst.
import DHT, { type DhtOptions } from 'bittorrent-dht';
import type { Socket } from 'node:dgram';
import { isIPv4 } from 'node:net';
import type { Torrent } from '../types.ts';
import type { Collector, CollectorContext, PeerAddress } from './collector.ts';
import { createGuardedDhtSocket, type GuardStats } from './dht-guard.ts';
import { bridgeV4, v4FamilyPeer, type FamilyPeer } from './dht/family-bridge.ts';
import { announceV4, listenDht, saveV4State } from './dht/v4-listen.ts';
import { scrapeAndStore } from './dht/v4-scrape.ts';
import { loadDhtState, parseBootstrap, type SavedDhtNode } from './dht-state.ts';
import { unmapIPv4 } from '../wire/ip.ts';

export interface DhtCollectorOptions {
  torrents: Torrent[];
  /** UDP port of our node (0 = any free port). */
  port: number;
  /** Bind address (IPv4; bittorrent-dht has no IPv6). Default: all interfaces. */
  host?: string;
  /** 'host:port' entries. An empty list means: only the saved routing table (never the public routers). */
  bootstrap: string[];
  /** Seconds between two lookups of one torrent. */
  intervalS: number;
  /** Routing table file: loaded at start, written at stop. */
  statePath?: string;
  /** When set, announce this (TCP listener) port for every torrent after each completed lookup. */
  announcePort?: number;
  /** Longest time one lookup may take; the peers found until then still count. Default 30 s. */
  lookupTimeoutMs?: number;
  /** Longest wait for the bootstrap before the first lookups start anyway. Default 10 s. */
  bootstrapWaitMs?: number;
  /** After each lookup, a BEP 33 scrape (stored as scrapes of tracker 'dht'). */
  scrape?: boolean;
  /** The address policy for DHT nodes we would send to (src/collectors/address-policy.ts); default: any. */
  mayContact?: (ip: string, port: number) => boolean;
}

export interface DhtStats {
  /** Nodes in our routing table now. */
  nodes: number;
  lookupsDone: number;
  lookupsRunning: number;
  /** Peer addresses received, deduplicated within each lookup. */
  peersReceived: number;
  /** Nodes offered through addNode() (PORT messages of peers; IPv4 nodes the IPv6 DHT's replies named). */
  nodesOffered: number;
  /** Incoming UDP packets dropped before the DHT code saw them (too large, not bencode, not KRPC). */
  packetsDropped: number;
  /** Times the routing table was re-pinged because no node answered a lookup. */
  tableRefreshes: number;
}

/** One get_peers lookup in flight. */
interface ActiveLookup {
  torrent: Torrent;
  startedAt: number;
  seen: Set<string>;
  unflushed: PeerAddress[];
  flushScheduled: boolean;
  received: number;
  new: number;
  duplicates: number;
  skipped: number;
  timer: NodeJS.Timeout;
  abort: () => void;
}

const DEFAULT_LOOKUP_TIMEOUT_MS = 30_000;
const DEFAULT_BOOTSTRAP_WAIT_MS = 10_000;
/** addNode() pings a node; remember recent ones so peers repeating their PORT message cost nothing. */
const RECENT_NODES_LIMIT = 10_000;
/** A table refresh at most this often (ms). */
const TABLE_REFRESH_MS = 60_000;
/** Wait between the refresh and the retried lookup: the pings answer within one round trip. */
const RETRY_DELAY_MS = 1500;

export class DhtCollector implements Collector {
  readonly name = 'dht';
  private dht: DHT | null = null;
  private ctx: CollectorContext | null = null;
  private stopped = false;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private startTimer: NodeJS.Timeout | null = null;
  /** Keyed by info hash (hex): the 'peer' event of bittorrent-dht is shared by all lookups. */
  private readonly active = new Map<string, ActiveLookup>();
  private readonly recentNodes = new Set<string>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private lastRefreshAt = 0;
  private tableRefreshes = 0;
  private lookupsDone = 0;
  private peersReceived = 0;
  private nodesOffered = 0;
  private guard: GuardStats | null = null;
  /** Until the first lookups may start (bootstrap done or waited for long enough). */
  private ready: Promise<void> = Promise.resolve();
  /** The IPv6 collector, when both run: nodes and `want` answers go both ways (./dht/family-bridge.ts). */
  otherFamily: FamilyPeer | null = null;
  /** What this (IPv4) side gives the IPv6 collector; every address passes the policy first. */
  readonly familyPeer: FamilyPeer = v4FamilyPeer({
    dht: () => (this.stopped ? null : this.dht),
    ready: () => this.ready,
    mayContact: (host, port) => !this.opts.mayContact || this.opts.mayContact(host, port),
    addNode: (host, port) => this.addNode(host, port),
  });

  constructor(private readonly opts: DhtCollectorOptions) {}

  async start(ctx: CollectorContext): Promise<void> {
    this.ctx = ctx;
    const log = ctx.log;
    const state = this.opts.statePath ? await loadDhtState(this.opts.statePath, (m) => log.warn(m)) : null;
    const saved = state?.nodes ?? [];
    const { nodes: bootstrap, skipped } = parseBootstrap(this.opts.bootstrap);
    if (skipped.length) log.warn(`DHT: bootstrap entries skipped (not IPv4 host:port): ${skipped.join(', ')}`);

    // Every packet passes our strict decoder before k-rpc-socket's (see dht-guard.ts). bittorrent-dht
    // hands its options on to k-rpc and k-rpc-socket, which takes `socket` (not in DhtOptions' types).
    const { socket, stats: guard } = createGuardedDhtSocket((reason, from) => {
      if (guard.droppedBy[reason] === 1) log.debug(`DHT: dropped a packet from ${from.address}:${from.port} (${reason}); further drops are only counted`);
    }, this.opts.mayContact);
    this.guard = guard;
    // Always an array: an absent option would make bittorrent-dht fall back to the public routers.
    const dhtOptions: DhtOptions & { socket: Socket } = { bootstrap, socket };
    if (state?.nodeId) dhtOptions.nodeId = state.nodeId; // BEP 5: a node keeps its id across restarts
    const dht = new DHT(dhtOptions);
    this.dht = dht;
    // Installed before the bootstrap (next tick), so its replies' nodes6 already reach the IPv6 side.
    if (this.otherFamily && !bridgeV4(dht, { closest6: (t) => this.otherFamily?.closestNodes(t) ?? [], onNode6: (n) => this.otherFamily?.offerNode(n) })) {
      log.warn("DHT: bittorrent-dht's k-rpc is not shaped as expected; the IPv4 and IPv6 DHTs share no nodes");
    }
    dht.on('error', (err) => log.warn(`DHT: ${err.message}`));
    dht.on('warning', (err) => log.debug(`DHT warning: ${err.message}`));
    dht.on('peer', (peer, infoHash) => this.onPeer(peer.host, peer.port, infoHash));
    // The saved nodes are pinged while the constructor's bootstrap (next tick, through the bootstrap
    // nodes since the table is still empty) runs: a stale table costs one ping per node, never the run.
    for (const node of saved) this.pingSavedNode(node);
    try {
      await listenDht(dht, this.opts.port, this.opts.host);
    } catch (err) {
      this.dht = null;
      throw err;
    }
    if (saved.length) log.info(`DHT: loaded ${saved.length} nodes from ${this.opts.statePath}`);
    this.ready = this.waitReady(dht, saved.length > 0);
    void this.ready.then(() => {
      if (this.stopped) return;
      const n = dht.nodes.count();
      if (n === 0) log.warn('DHT: no nodes after bootstrap (no network?); each lookup retries the bootstrap nodes');
      else log.info(`DHT: ${n} nodes in the routing table`);
      this.scheduleLookups();
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.startTimer) clearTimeout(this.startTimer);
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const t of this.retryTimers) clearTimeout(t);
    this.retryTimers.clear();
    for (const lookup of [...this.active.values()]) this.finish(lookup, 'stopped');
    const dht = this.dht;
    if (!dht) return;
    if (this.opts.statePath) {
      const saved = await saveV4State(dht, this.opts.statePath).catch((err: Error) => {
        this.ctx?.log.warn(`DHT: cannot save the routing table to ${this.opts.statePath}: ${err.message}`);
        return 0;
      });
      if (saved) this.ctx?.log.info(`DHT: saved ${saved} nodes to ${this.opts.statePath}`);
    }
    // Bounded: a close that never calls back must not hang the shutdown.
    await new Promise<void>((resolve) => {
      const guard = setTimeout(resolve, 2000);
      dht.destroy(() => {
        clearTimeout(guard);
        resolve();
      });
    });
  }

  /** A DHT node learned from a peer's PORT message (BEP 5). Unusable addresses are ignored. */
  addNode(host: string, port: number): void {
    const dht = this.dht;
    if (!dht || this.stopped) return;
    const ip = unmapIPv4(host);
    if (!isIPv4(ip) || !Number.isInteger(port) || port <= 0 || port > 65535) return;
    const key = `${ip}:${port}`;
    if (this.recentNodes.has(key)) return;
    if (this.recentNodes.size >= RECENT_NODES_LIMIT) this.recentNodes.clear();
    this.recentNodes.add(key);
    this.nodesOffered++;
    try {
      dht.addNode({ host: ip, port }); // pings it; added to the table only if it answers
    } catch (err) {
      this.ctx?.log.debug(`DHT addNode ${key}: ${(err as Error).message}`);
    }
  }

  /** Nodes in the routing table now. */
  get nodeCount(): number {
    return this.dht && !this.dht.destroyed ? this.dht.nodes.count() : 0;
  }

  /** Our node id (hex), kept across runs in the state file. */
  get nodeId(): string | null {
    return this.dht ? Buffer.from(this.dht.nodeId).toString('hex') : null;
  }

  /** The UDP port our node listens on (useful with port 0). */
  get boundPort(): number | null {
    return this.dht?.listening ? this.dht.address().port : null;
  }

  stats(): DhtStats {
    return {
      nodes: this.nodeCount,
      lookupsDone: this.lookupsDone,
      lookupsRunning: this.active.size,
      peersReceived: this.peersReceived,
      nodesOffered: this.nodesOffered,
      packetsDropped: this.guard?.dropped ?? 0,
      tableRefreshes: this.tableRefreshes,
    };
  }

  /**
   * A saved node is pinged, never trusted with its saved id: a node restarted since then answers from the
   * same address with a new id, and bittorrent-dht (k-rpc) would keep querying the old id, getting
   * 'Unexpected node id' for every query without ever dropping it or falling back to the bootstrap nodes.
   * The ping puts the node in the table under the id it answers with; a node gone for good never enters.
   */
  private pingSavedNode(node: SavedDhtNode): void {
    try {
      this.dht?.addNode({ host: node.host, port: node.port });
    } catch (err) {
      this.ctx?.log.debug(`DHT: saved node ${node.host}:${node.port} rejected: ${(err as Error).message}`);
    }
  }

  /**
   * Until the bootstrap is done and, when saved nodes are being pinged, until one of them answered (without
   * bootstrap nodes the bootstrap is done at once, on an empty table); never longer than bootstrapWaitMs.
   */
  private waitReady(dht: DHT, pingingSaved: boolean): Promise<void> {
    const deadline = Date.now() + (this.opts.bootstrapWaitMs ?? DEFAULT_BOOTSTRAP_WAIT_MS);
    const settled = () => dht.ready && (!pingingSaved || dht.nodes.count() > 0);
    return new Promise((resolve) => {
      const check = () => {
        this.startTimer = null;
        if (this.stopped || settled() || Date.now() >= deadline) resolve();
        else this.startTimer = setTimeout(check, 50);
      };
      check();
    });
  }

  /** Torrent i first runs at i/n of the interval, then every interval. */
  private scheduleLookups(): void {
    const intervalMs = Math.max(1, this.opts.intervalS) * 1000;
    const n = this.opts.torrents.length;
    this.opts.torrents.forEach((torrent, i) => {
      const run = () => {
        if (this.stopped) return;
        try {
          this.startLookup(torrent);
        } catch (err) {
          this.ctx?.log.error(`DHT lookup of torrent ${torrent.id} failed to start: ${(err as Error).message}`);
        }
        this.timers.set(torrent.id, setTimeout(run, intervalMs));
      };
      this.timers.set(torrent.id, setTimeout(run, Math.floor((i * intervalMs) / n)));
    });
  }

  private startLookup(torrent: Torrent, isRetry = false): void {
    const dht = this.dht;
    const ctx = this.ctx;
    if (!dht || !ctx || dht.destroyed) return;
    const hash = torrent.infoHash.toLowerCase();
    if (this.active.has(hash)) {
      ctx.log.debug(`DHT: lookup of torrent ${torrent.id} still running, round skipped`);
      return;
    }
    const timeoutMs = this.opts.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
    const lookup: ActiveLookup = {
      torrent,
      startedAt: ctx.now(),
      seen: new Set(),
      unflushed: [],
      flushScheduled: false,
      received: 0,
      new: 0,
      duplicates: 0,
      skipped: 0,
      timer: setTimeout(() => this.finish(lookup, `timed out after ${timeoutMs} ms`), timeoutMs),
      abort: () => {},
    };
    this.active.set(hash, lookup);
    lookup.abort = dht.lookup(hash, (err, nodesAnswered) => {
      if (this.active.get(hash) !== lookup) return; // timed out or stopped already
      const error = err ? err.message : nodesAnswered === 0 && lookup.received === 0 ? 'no DHT node answered' : null;
      this.finish(lookup, error);
      // Nobody answered although the table has nodes: they are gone or restarted with new ids. Refresh the
      // table through the bootstrap nodes and look again once, so this round is not lost.
      if (nodesAnswered === 0 && !isRetry && this.refreshTable(dht)) this.retryLater(torrent);
      if (!error && this.opts.announcePort) announceV4(dht, hash, this.opts.announcePort, ctx.log);
      if (!error && this.opts.scrape) scrapeAndStore(dht, torrent, timeoutMs, ctx, () => this.stopped);
    });
  }

  /**
   * Every node of the table is removed and pinged again (it comes back under the id it answers with, so a
   * restarted node is no longer queried under its old id, which k-rpc never drops), and the bootstrap nodes
   * are pinged. At most once per TABLE_REFRESH_MS: with no network at all this must not become a storm.
   */
  private refreshTable(dht: DHT): boolean {
    const now = Date.now();
    if (dht.destroyed || now - this.lastRefreshAt < TABLE_REFRESH_MS) return false;
    this.lastRefreshAt = now;
    this.tableRefreshes++;
    const known = dht.nodes.toArray();
    for (const node of known) {
      dht.removeNode(node.id);
      this.pingSavedNode({ host: node.host, port: node.port });
    }
    for (const node of parseBootstrap(this.opts.bootstrap).nodes) this.pingSavedNode(node);
    this.ctx?.log.info(`DHT: no node answered a lookup; re-pinging ${known.length} nodes and the bootstrap nodes`);
    return true;
  }

  private retryLater(torrent: Torrent): void {
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (!this.stopped) this.startLookup(torrent, true);
    }, RETRY_DELAY_MS);
    this.retryTimers.add(timer);
  }

  private onPeer(host: string, port: number, infoHash: Buffer): void {
    const lookup = this.active.get(infoHash.toString('hex'));
    if (!lookup || !Number.isInteger(port) || port <= 0 || port > 65535) return;
    const key = `${host}:${port}`;
    if (lookup.seen.has(key)) return;
    lookup.seen.add(key);
    lookup.received++;
    this.peersReceived++;
    lookup.unflushed.push({ ip: host, port });
    // One reply emits all its values synchronously: flushing after them hands the queue one batch per reply.
    if (!lookup.flushScheduled) {
      lookup.flushScheduled = true;
      setImmediate(() => this.flush(lookup));
    }
  }

  private flush(lookup: ActiveLookup): void {
    lookup.flushScheduled = false;
    if (!lookup.unflushed.length || !this.ctx) return;
    const batch = lookup.unflushed;
    lookup.unflushed = [];
    try {
      const r = this.ctx.addPeers(lookup.torrent.id, batch, 'dht');
      lookup.new += r.new;
      lookup.duplicates += r.duplicates;
      lookup.skipped += r.skipped;
    } catch (err) {
      this.ctx.log.error(`DHT: queueing peers of torrent ${lookup.torrent.id} failed: ${(err as Error).message}`);
    }
  }

  private finish(lookup: ActiveLookup, error: string | null): void {
    const hash = lookup.torrent.infoHash.toLowerCase();
    if (this.active.get(hash) !== lookup) return;
    this.active.delete(hash);
    clearTimeout(lookup.timer);
    lookup.abort();
    this.flush(lookup);
    this.lookupsDone++;
    const ctx = this.ctx;
    if (!ctx) return;
    try {
      ctx.logRequest({
        torrentId: lookup.torrent.id,
        kind: 'dht',
        url: 'dht',
        startedAt: lookup.startedAt,
        durationMs: Math.max(0, ctx.now() - lookup.startedAt),
        received: lookup.received,
        new: lookup.new,
        duplicates: lookup.duplicates,
        skipped: lookup.skipped,
        error,
      });
    } catch (err) {
      ctx.log.error(`DHT: logging a lookup failed: ${(err as Error).message}`);
    }
  }
}
