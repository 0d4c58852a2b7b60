// --pull-interval: a sharded crawl on PostgreSQL with --store-ip shares what it learns of the other shards'
// endpoints, and pulls what the other hosts learnt of its own (README "Running on several hosts"). Without
// this an endpoint named only to a host that does not own it (its tracker answer, PEX from a peer it dialled,
// an inbound peer's listen port there) is dialled by nobody. The SQL: src/store/pg/pull-peers.ts.
import type { CollectorContext, PeerAddress } from '../collectors/collector.ts';
import type { Logger } from '../log.ts';
import { DueQueue } from '../queue/due-queue.ts';
import type { Shard } from '../queue/shard.ts';
import type { OtherHostPeer, OtherHostsPeers, SpoolTorrents } from '../store/pg/pull-peers.ts';
import type { ResultWriter } from '../store/result-writer.ts';
import { SOURCE_ORDER } from '../store/sources.ts';
import type { PeerSource } from '../types.ts';

/** Other shards' endpoints remembered as shared (each is stored once per run); past this the set starts again. */
const MAX_SHARED = 1_000_000;
/** While pulls keep failing, at most one line per this long (the run's last line counts them all). */
const FAILURE_LINE_MS = 5 * 60_000;

/**
 * The endpoints of other shards' shares this host learns are stored as discoveries (a peers row with the
 * address, never dialled here), once per run each: pushed to PostgreSQL, their owner pulls them.
 */
export function shareOtherShards(writer: Pick<ResultWriter, 'peerDiscovered'>): (torrentId: number, ip: string, port: number, source: PeerSource, at: number) => void {
  let shared = new Set<string>();
  return (torrentId, ip, port, source, at) => {
    const key = DueQueue.key(torrentId, ip, port);
    if (shared.has(key)) return; // a second upsert would mark the row changed and push it again
    if (shared.size >= MAX_SHARED) shared = new Set(); // bounded memory: a repeat costs one upsert
    shared.add(key);
    writer.peerDiscovered(torrentId, ip, port, source, at);
  };
}

export interface PullCounts {
  pulls: number;
  failures: number;
  /** Rows of other hosts read. */
  read: number;
  /** Of them, endpoints of this shard's share of this run's torrents, with an address. */
  ours: number;
  /** New to the queue (or to the magnet resolver). */
  new: number;
  /** Known already. */
  known: number;
  /** Kept out by the address policy. */
  skipped: number;
  /** Of torrents this run does not crawl: stored in the spool for a later run. */
  kept: number;
}

/** What the crawl hands the pull: where pulled peers go (the collectors' addPeers) and the run's torrents. */
export interface PullSink {
  addPeers: CollectorContext['addPeers'];
  /** The run's torrents: spool id → info hash. */
  infoHashes: ReadonlyMap<number, string>;
  /** Stores an endpoint of a torrent this run does not crawl, for a later run's resume. */
  writer: Pick<ResultWriter, 'peerDiscovered'>;
  /** Set when the crawl stops: no pull hands peers over after it. */
  signal: AbortSignal;
}

/**
 * Pulls every `intervalMs` (the first at once); a pull that fails is counted and logged, never thrown, and
 * the next one reads what it missed (the watermarks moved only past what was handed over).
 */
export class PeerPull {
  readonly counts: PullCounts = { pulls: 0, failures: 0, read: 0, ours: 0, new: 0, known: 0, skipped: 0, kept: 0 };
  private sink: PullSink | null = null;
  private byHash = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private warnedAt = -Infinity;

  constructor(
    private readonly source: Pick<OtherHostsPeers, 'pull'>,
    private readonly torrents: SpoolTorrents,
    private readonly shard: Shard,
    private readonly log: Logger,
    /** Must hold before the first pull (a spool opened while the server was away: the same database). */
    private prepare: (() => Promise<void>) | null = null,
  ) {}

  start(sink: PullSink, intervalMs: number): void {
    this.sink = sink;
    this.byHash = new Map([...sink.infoHashes].map(([id, hash]) => [hash, id]));
    sink.signal.addEventListener('abort', () => this.halt(), { once: true });
    if (sink.signal.aborted) return this.halt();
    void this.pull();
    this.timer = setInterval(() => void this.pull(), intervalMs);
    this.timer.unref();
  }

  /** One pull, unless one is under way. Never rejects. */
  pull(): Promise<void> {
    this.running ??= this.pullNow().finally(() => (this.running = null));
    return this.running;
  }

  /** No more pulls; resolves when the one under way has ended. */
  async stop(): Promise<void> {
    this.halt();
    await this.running;
  }

  private halt(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sink = null;
  }

  /** The run's last line about the pulls. */
  summary(): string {
    const c = this.counts;
    const kept = c.kept > 0 ? `, ${c.kept} of torrents this run does not crawl kept for a later run` : '';
    return `pulled ${c.ours + c.kept} endpoints of shard ${this.shard.label} that other hosts learnt (${c.new} new, ${c.known} known, ` +
      `${c.skipped} skipped${kept}; ${c.read} rows read) in ${c.pulls} pulls${c.failures > 0 ? `; ${c.failures} pulls failed` : ''}`;
  }

  private async pullNow(): Promise<void> {
    try {
      if (this.prepare) {
        await this.prepare();
        this.prepare = null;
      }
      const before = { ...this.counts };
      await this.source.pull((rows) => this.queue(rows));
      this.counts.pulls++;
      const c = this.counts;
      if (c.read > before.read) this.log.debug(`pull: ${c.read - before.read} rows of other hosts, ${c.ours - before.ours} of shard ${this.shard.label}, ${c.new - before.new} new`);
    } catch (err) {
      if (this.sink === null) return; // the crawl stopped during the pull: not a failure
      this.counts.failures++;
      if (Date.now() - this.warnedAt < FAILURE_LINE_MS) return;
      this.warnedAt = Date.now();
      const why = ((err as Error).message || String(err)).replace(/\s+/g, ' ').trim();
      this.log.warn(`cannot pull the other hosts' peers: ${why} (failed pulls: ${this.counts.failures}; the next pull retries)`);
    }
  }

  /**
   * Hands the rows of this shard's share to addPeers, per torrent and source (as a collector hands a request's).
   * An endpoint of a torrent this run does not crawl (another --set, or imported by another host since the
   * start) is stored as a discovery in the spool instead: the watermark moves past it, a later run resumes it.
   */
  private async queue(rows: OtherHostPeer[]): Promise<void> {
    if (this.sink === null) throw new Error('the crawl stopped'); // the watermarks stay: the next run reads these rows
    const ours = rows.filter((r) => r.ip !== null && this.shard.owns(r.infoHash, r.ip, r.port) &&
      // a session known only from its inbound contact, with no listen port, was at an ephemeral port (as resume-peers.ts)
      (r.sources !== 'incoming' || r.listenPort === r.port));
    if (ours.some((r) => !this.byHash.has(r.infoHash) && this.torrents.idOf(r.infoHash) === undefined)) await this.torrents.refresh();
    const sink = this.sink;
    if (sink === null) throw new Error('the crawl stopped');
    this.counts.read += rows.length;
    const groups = new Map<string, { torrentId: number; source: PeerSource; peers: PeerAddress[] }>();
    const now = Date.now();
    for (const r of ours) {
      const source = queueSource(r.sources);
      const torrentId = this.byHash.get(r.infoHash);
      if (torrentId === undefined) {
        const other = this.torrents.idOf(r.infoHash);
        if (other !== undefined) sink.writer.peerDiscovered(other, r.ip!, r.port, source, now);
        this.counts.kept++;
        continue;
      }
      const key = `${torrentId}\t${source}`;
      let g = groups.get(key);
      if (g === undefined) groups.set(key, (g = { torrentId, source, peers: [] }));
      g.peers.push({ ip: r.ip!, port: r.port });
      this.counts.ours++;
    }
    for (const g of groups.values()) {
      const added = sink.addPeers(g.torrentId, g.peers, g.source);
      this.counts.new += added.new;
      this.counts.known += added.duplicates;
      this.counts.skipped += added.skipped;
    }
  }
}

/**
 * The source a pulled peer is queued (and, when new, stored) with: the first of the sources the other host
 * recorded, so `sources` still says how the address was learnt. Not `incoming`: that source's counts belong
 * to this host's listener (its `requests` rows); an address only an inbound peer at the other host advertised
 * is queued as `pex` (named by a peer, not by a tracker); an empty list as `file`, as the resume does.
 */
export function queueSource(sources: string): PeerSource {
  const listed = sources.split(',');
  const first = SOURCE_ORDER.find((s) => s !== 'incoming' && listed.includes(s));
  if (first) return first;
  return listed.includes('incoming') ? 'pex' : 'file';
}
