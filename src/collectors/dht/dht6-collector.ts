// Peers and scrapes from the IPv6 mainline DHT (BEP 32), through btda's own node (./node.ts): one
// get_peers lookup and, with `scrape`, one BEP 33 scrape per torrent every `intervalS`, staggered.
// It runs beside the IPv4 DhtCollector (bittorrent-dht); peers go to the queue as source 'dht' like
// theirs, `requests` rows carry url 'dht6', scrapes are stored as tracker 'dht6'. Linked to the IPv4
// collector (./family-bridge.ts), it answers `want: n4` from the IPv4 table, hands it the IPv4 nodes our
// replies name, and, with no IPv6 node to start from, asks IPv4 nodes for `nodes6`.
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIPv6 } from 'node:net';
import type { Torrent } from '../../types.ts';
import type { Collector, CollectorContext, PeerAddress } from '../collector.ts';
import { loadDhtState, parseHostPort, saveDhtState } from '../dht-state.ts';
import { estimateScrape } from './bloom.ts';
import { unmapIPv4 } from '../../wire/ip.ts';
import type { PeerInfo } from './compact.ts';
import { OfferBudget, type FamilyPeer } from './family-bridge.ts';
import type { Address } from './krpc-socket.ts';
import { DhtNode } from './node.ts';
import { K } from './routing-table.ts';

export interface Dht6CollectorOptions {
  torrents: Torrent[];
  port: number;
  /** Concrete IPv6 bind address; default '::' (all interfaces, IPv6 only). */
  host?: string;
  /** 'host:port' or '[v6]:port'; names are resolved to IPv6 addresses (AAAA) at start. */
  bootstrap: string[];
  intervalS: number;
  /** Node id and IPv6 routing table, loaded at start and written at stop. */
  statePath?: string;
  announcePort?: number;
  /** Also run a BEP 33 scrape per torrent and round. */
  scrape: boolean;
  lookupTimeoutMs?: number;
  /** The address policy for nodes we would send to; default: any. */
  mayContact?: (ip: string, port: number) => boolean;
}

const DEFAULT_LOOKUP_TIMEOUT_MS = 30_000;
/** Asking the IPv4 DHT for IPv6 nodes at most this often (ms): with no IPv6 route at all it finds nothing. */
const ASK_OTHER_FAMILY_MS = 60_000;
/** Nodes handed over before our socket is up (the IPv4 node starts first), kept to ping once it is. */
const EARLY_NODES_LIMIT = 64;

export class Dht6Collector implements Collector {
  readonly name = 'dht6';
  private node: DhtNode | null = null;
  private ctx: CollectorContext | null = null;
  private stopped = false;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly aborts = new Set<() => void>();
  lookupsDone = 0;
  scrapesDone = 0;
  /** The IPv4 collector, when both run (./family-bridge.ts). */
  otherFamily: FamilyPeer | null = null;
  /** IPv6 nodes handed to us (IPv4 replies' `nodes6`, peers' PORT messages): each pinged at most once a minute. */
  readonly offers = new OfferBudget(128);
  private early: Address[] = [];
  private readonly pings = new Set<Promise<boolean>>();
  private lastAskAt = -Infinity;
  /** What this (IPv6) side gives the IPv4 collector; every address passes the policy first. */
  readonly familyPeer: FamilyPeer = {
    closestNodes: (target) => (this.node ? this.node.table.closest(target, K * 2).filter((n) => this.allowed(n.host, n.port)).slice(0, K) : []),
    offerNode: (n) => this.addNode(n.host, n.port),
  };

  constructor(private readonly opts: Dht6CollectorOptions) {}

  async start(ctx: CollectorContext): Promise<void> {
    this.ctx = ctx;
    const state = this.opts.statePath ? await loadDhtState(this.opts.statePath, (m) => ctx.log.warn(m)) : null;
    const bootstrap = await resolveBootstrap6(this.opts.bootstrap, (m) => ctx.log.warn(m));
    const node = new DhtNode({
      family: 6,
      host: this.opts.host ?? '::',
      port: this.opts.port,
      nodeId: state?.nodeId ? Buffer.from(state.nodeId, 'hex') : undefined,
      bootstrap,
      mayContact: this.opts.mayContact,
      ...(this.otherFamily && {
        onOtherFamilyNode: (n) => this.otherFamily?.offerNode(n),
        closestOtherFamily: (t) => this.otherFamily?.closestNodes(t) ?? [],
      }),
    });
    try {
      await node.listen();
    } catch (err) {
      // A host without IPv6 runs the IPv4 DHT only: a warning, not a failed crawl.
      ctx.log.warn(`DHT (IPv6): cannot listen on UDP [${this.opts.host ?? '::'}]:${this.opts.port}: ${(err as Error).message}; IPv6 DHT off`);
      await node.close();
      return;
    }
    this.node = node;
    for (const n of this.early.splice(0)) this.ping(n);
    // Saved nodes are pinged, not trusted (they may have restarted with new ids), while the bootstrap runs.
    const pings = (state?.nodes6 ?? []).map((n) => node.ping(n));
    void Promise.all([node.bootstrap(10_000), ...pings]).then(async () => {
      if (this.stopped) return;
      if (node.table.count() < K) await this.fillFromOtherFamily(node);
      if (this.stopped) return;
      ctx.log.info(`DHT (IPv6): ${node.table.count()} nodes in the routing table`);
      this.schedule();
    });
  }

  get boundPort(): number | null {
    return this.node ? this.node.port : null;
  }

  get nodeCount(): number {
    return this.node?.table.count() ?? 0;
  }

  /** Our IPv6 node id (hex), kept across runs in the state file. */
  get nodeId(): string | null {
    return this.node ? this.node.id.toString('hex') : null;
  }

  /** An IPv6 DHT node learned elsewhere (a peer's PORT message, an IPv4 node's `nodes6`): pinged, kept if it answers. */
  addNode(host: string, port: number): void {
    if (this.stopped || !isIPv6(host) || unmapIPv4(host) !== host || !Number.isInteger(port) || port <= 0 || port > 65535) return;
    if (!this.allowed(host, port) || !this.offers.take(host, port)) return;
    if (this.node) this.ping({ host, port });
    else if (this.early.length < EARLY_NODES_LIMIT) this.early.push({ host, port });
  }

  private allowed(host: string, port: number): boolean {
    return !this.opts.mayContact || this.opts.mayContact(host, port);
  }

  private ping(to: Address): void {
    const p = this.node!.ping(to).catch(() => false);
    this.pings.add(p);
    void p.finally(() => this.pings.delete(p));
  }

  /**
   * BEP 32 the other way round, for an IPv6 table short of nodes (no saved state, no IPv6 bootstrap node
   * answering): up to 16 IPv4 nodes are asked `find_node` with `want: [n6]`, the IPv6 nodes they name are
   * pinged, then a bootstrap through those fills the table. Bounded: once per ASK_OTHER_FAMILY_MS.
   */
  private async fillFromOtherFamily(node: DhtNode): Promise<void> {
    const ask = this.otherFamily?.askOtherFamily;
    if (!ask || Date.now() - this.lastAskAt < ASK_OTHER_FAMILY_MS) return;
    this.lastAskAt = Date.now();
    const answered = await ask(node.id).catch(() => 0);
    await Promise.all([...this.pings]);
    if (this.stopped) return;
    if (node.table.count()) await node.bootstrap(10_000);
    this.ctx?.log.info(`DHT (IPv6): ${answered} IPv4 nodes asked for IPv6 nodes; ${node.table.count()} in the IPv6 table now`);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const abort of [...this.aborts]) abort();
    const node = this.node;
    if (!node) return;
    const nodes6 = node.table.toArray().map((n) => ({ host: n.host, port: n.port, id: n.id.toString('hex') }));
    if (this.opts.statePath && nodes6.length) {
      try {
        await saveDhtState(this.opts.statePath, { nodeId: node.id.toString('hex'), nodes: [], nodes6 });
      } catch (err) {
        this.ctx?.log.warn(`DHT (IPv6): cannot save ${this.opts.statePath}: ${(err as Error).message}`);
      }
    }
    await node.close();
  }

  private schedule(): void {
    const intervalMs = Math.max(1, this.opts.intervalS) * 1000;
    const n = this.opts.torrents.length;
    this.opts.torrents.forEach((torrent, i) => {
      const run = () => {
        if (this.stopped) return;
        void this.round(torrent).finally(() => {
          if (!this.stopped) this.timers.set(torrent.id, setTimeout(run, intervalMs));
        });
      };
      this.timers.set(torrent.id, setTimeout(run, Math.floor((i * intervalMs) / n)));
    });
  }

  /** One lookup (then an announce, when asked), then one scrape: in turn, so a round never doubles the load. */
  private async round(torrent: Torrent): Promise<void> {
    const node = this.node;
    const ctx = this.ctx;
    if (!node || !ctx) return;
    const hash = Buffer.from(torrent.infoHash, 'hex');
    const timeoutMs = this.opts.lookupTimeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
    const startedAt = ctx.now();
    const seen = new Set<string>();
    let fresh = 0;
    let duplicates = 0;
    let skipped = 0;
    const onPeers = (peers: PeerInfo[]) => {
      const batch: PeerAddress[] = [];
      for (const p of peers) {
        const key = `[${p.host}]:${p.port}`;
        if (seen.has(key)) continue;
        seen.add(key);
        batch.push({ ip: p.host, port: p.port });
      }
      if (!batch.length || this.stopped) return;
      try {
        const r = ctx.addPeers(torrent.id, batch, 'dht');
        fresh += r.new;
        duplicates += r.duplicates;
        skipped += r.skipped;
      } catch (err) {
        ctx.log.error(`DHT (IPv6): queueing peers of torrent ${torrent.id} failed: ${(err as Error).message}`);
      }
    };
    const lookup = node.lookup(hash, onPeers, timeoutMs);
    this.aborts.add(lookup.abort);
    const result = await lookup.done;
    this.aborts.delete(lookup.abort);
    this.lookupsDone++;
    const error = result.nodesAnswered === 0 && seen.size === 0 ? 'no DHT node answered' : null;
    this.log(() =>
      ctx.logRequest({ torrentId: torrent.id, kind: 'dht', url: 'dht6', startedAt, durationMs: Math.max(0, ctx.now() - startedAt), received: seen.size, new: fresh, duplicates, skipped, error }),
    );
    // A table that no longer answers is refilled, through the IPv4 DHT too when the IPv6 bootstrap fails.
    if (error && !this.stopped) void node.bootstrap(10_000).then(() => (node.table.count() < K && !this.stopped ? this.fillFromOtherFamily(node) : undefined));
    if (this.opts.announcePort && result.closest.length && !this.stopped) {
      await node.announce(hash, this.opts.announcePort, result.closest).catch(() => 0);
    }
    if (this.opts.scrape && !this.stopped) await this.scrape(torrent, hash, timeoutMs);
  }

  private async scrape(torrent: Torrent, hash: Buffer, timeoutMs: number): Promise<void> {
    const node = this.node;
    const ctx = this.ctx;
    if (!node || !ctx) return;
    const s = node.scrape(hash, timeoutMs);
    this.aborts.add(s.abort);
    const result = await s.done;
    this.aborts.delete(s.abort);
    this.scrapesDone++;
    const estimate = estimateScrape(result.closest);
    if (!estimate || this.stopped) return; // no node of the swarm's neighbourhood speaks BEP 33
    this.log(() =>
      ctx.logScrape({ torrentId: torrent.id, tracker: 'dht6', at: ctx.now(), seeders: estimate.seeders, leechers: estimate.leechers, downloaded: null }),
    );
  }

  private log(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.ctx?.log.error(`DHT (IPv6): logging failed: ${(err as Error).message}`);
    }
  }
}

/** IPv6 literals as they are; names resolved to one AAAA address each; the rest reported and skipped. */
export async function resolveBootstrap6(entries: string[], warn: (m: string) => void): Promise<Address[]> {
  const out: Address[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      const parsed = parseHostPort(entry);
      if (!parsed) return warn(`DHT (IPv6): bootstrap entry skipped (not host:port): ${entry}`);
      if (isIPv6(parsed.host)) return void out.push(parsed);
      if (/^[\d.]+$/.test(parsed.host)) return; // an IPv4 literal is the IPv4 node's
      try {
        const { address } = await dnsLookup(parsed.host, { family: 6 });
        out.push({ host: address, port: parsed.port });
      } catch {
        warn(`DHT (IPv6): bootstrap host ${parsed.host} has no IPv6 address`);
      }
    }),
  );
  return out;
}
