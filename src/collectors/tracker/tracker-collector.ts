// Announces every torrent to every one of its trackers (all tiers, not only the first URL as the
// 2015 tool did) and scrapes them. Each tracker is asked over each address family its host has
// (BEP 7: one announce per family; a UDP tracker, or separate IPv4 and IPv6 instances, answer with
// peers of the request's family only), each (tracker, family) on loops of its own so that a slow or
// dead one only delays itself. `event=started` goes with the first successful announce, `stopped` at
// shutdown (or at once when not passive); a tracker's `min interval` is never undercut.
import { randomBytes } from 'node:crypto';
import type { Collector, CollectorContext } from '../collector.ts';
import type { Torrent } from '../../types.ts';
import { HttpTrackerClient } from './http-tracker.ts';
import { UdpTrackerClient } from './udp-tracker.ts';
import { familiesOf, HostResolver } from './host-resolver.ts';
import type { Family, TrackerClient } from './tracker-client.ts';
import { backoffMs, TrackerEndpoint, type Announced, type EndpointRuntime, type EndpointSettings, type WakeHandle } from './tracker-endpoint.ts';

export interface TrackerCollectorOptions {
  torrents: Torrent[];
  peerId: Buffer;
  /** Our listen port, announced to trackers. */
  port: number;
  /**
   * True when btda accepts inbound connections on `port` (--passive): it then stays listed in the
   * swarms. False (default): each announce is followed at once by `stopped`, so that no swarm lists
   * an address that never answers.
   */
  passive?: boolean;
  numwant: number;
  /** Seconds between announces (and scrapes) per tracker, unless the tracker asks for longer. */
  intervalS: number;
  /** Budget of one HTTP request, redirects included (default 30 s); also of one DNS look-up. */
  timeoutMs?: number;
  /** First UDP retransmission wait (default 15 s, BEP 15); doubles per attempt. */
  udpRetransmitBaseMs?: number;
  /** UDP sends per request (default 4: at most 15+30+60+120 s). */
  udpMaxAttempts?: number;
  /** Budget of the whole `stopped` round at shutdown (default 3 s). */
  stopTimeoutMs?: number;
  /** Longest wait after repeated failures (default 1 h). */
  maxBackoffS?: number;
  /** A tracker asking for a longer interval than this is announced to this often anyway (default 6 h). */
  maxTrackerIntervalS?: number;
  /** Announces in flight to one tracker (and family) at once (default 4). */
  concurrencyPerTracker?: number;
  /** HTTP replies above this are aborted (default 2 MiB). */
  maxReplyBytes?: number;
  /** The announce `key` (default random); the same over both families, so a tracker can tell it is us. */
  key?: number;
}

type Resolved = Required<Omit<TrackerCollectorOptions, 'key'>> & { key: number };

/** `left` for a torrent whose size is not known yet (magnet without metadata): one block. */
const UNKNOWN_SIZE_LEFT = 16 * 1024;

/** One announce URL and the torrents that list it. */
interface TrackerUrl {
  url: string;
  kind: 'http' | 'udp';
  host: string;
  torrents: Torrent[];
}

export class TrackerCollector implements Collector {
  readonly name = 'tracker';
  private readonly opts: Resolved;
  private readonly settings: EndpointSettings;
  private readonly resolver: HostResolver;
  private ctx: CollectorContext | null = null;
  private endpoints: TrackerEndpoint[] = [];
  private loops: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  private readonly running = new AbortController();
  private stopping = false;

  constructor(options: TrackerCollectorOptions) {
    if (!(options.intervalS > 0)) throw new RangeError('intervalS must be positive');
    if (options.peerId.length !== 20) throw new RangeError('peerId must be 20 bytes');
    this.opts = {
      passive: false,
      timeoutMs: 30_000,
      udpRetransmitBaseMs: 15_000,
      udpMaxAttempts: 4,
      stopTimeoutMs: 3_000,
      maxBackoffS: 3600,
      maxTrackerIntervalS: 6 * 3600,
      concurrencyPerTracker: 4,
      maxReplyBytes: 2 * 1024 * 1024,
      ...options,
      key: options.key ?? randomBytes(4).readUInt32BE(0),
    };
    const o = this.opts;
    this.settings = {
      peerId: o.peerId,
      port: o.port,
      numwant: o.numwant,
      key: o.key,
      intervalS: o.intervalS,
      maxBackoffS: o.maxBackoffS,
      maxTrackerIntervalS: o.maxTrackerIntervalS,
      concurrencyPerTracker: o.concurrencyPerTracker,
      passive: o.passive,
    };
    this.resolver = new HostResolver();
  }

  async start(ctx: CollectorContext): Promise<void> {
    if (this.ctx) return;
    this.ctx = ctx;
    const urls = this.groupByUrl(ctx);
    ctx.log.info(`trackers: ${urls.length} to announce to for ${this.opts.torrents.length} torrents`);
    this.loops = urls.map((u) => this.runUrl(u).catch((err) => ctx.log.error(`tracker loop ${u.url} ended: ${(err as Error).stack ?? err}`)));
  }

  async stop(): Promise<void> {
    if (this.stopping || !this.ctx) return;
    this.stopping = true;
    const ctx = this.ctx;
    try {
      this.running.abort();
      for (const wake of this.sleepers) wake();
      await Promise.allSettled(this.loops);
      await this.announceStopped(ctx);
    } catch (err) {
      ctx.log.warn(`tracker collector stop: ${(err as Error).message}`);
    } finally {
      for (const e of this.endpoints) e.client.close();
    }
  }

  private groupByUrl(ctx: CollectorContext): TrackerUrl[] {
    const byUrl = new Map<string, TrackerUrl>();
    const skipped = new Set<string>();
    for (const torrent of this.opts.torrents) {
      if (!/^[0-9a-fA-F]{40}$/.test(torrent.infoHash)) {
        ctx.log.warn(`torrent ${torrent.id}: info hash "${torrent.infoHash}" is not 40 hex digits; not announced`);
        continue;
      }
      for (const url of new Set(torrent.trackers.map((u) => u.trim()))) {
        let group = byUrl.get(url);
        if (!group) {
          if (skipped.has(url)) continue;
          const parsed = parseTrackerUrl(url);
          if (!parsed) {
            ctx.log.info(`skipping tracker ${url}: only http, https and udp trackers are supported`);
            skipped.add(url);
            continue;
          }
          group = { url, ...parsed, torrents: [] };
          byUrl.set(url, group);
        }
        group.torrents.push(torrent);
      }
    }
    return [...byUrl.values()];
  }

  /** Finds the families of the tracker's host (retrying with back-off), then runs one endpoint per family. */
  private async runUrl(u: TrackerUrl): Promise<void> {
    const ctx = this.ctx!;
    let families: Family[] | null = null;
    for (let failures = 1; !this.stopping; failures++) {
      const startedAt = ctx.now();
      const found = await untilAborted(familiesOf(u.host, this.opts.timeoutMs), this.running.signal);
      if (found === null) return; // shutdown does not wait for a slow resolver
      if (found.ok) {
        families = found.value;
        break;
      }
      if (this.stopping) return;
      // One row for the tracker, not one per torrent: nothing was sent for any of them.
      ctx.logRequest({ torrentId: null, kind: u.kind, url: u.url, startedAt, durationMs: ctx.now() - startedAt, received: 0, new: 0, duplicates: 0, skipped: 0, error: found.error });
      const waitMs = backoffMs(failures, this.opts.intervalS, this.opts.maxBackoffS);
      if (failures === 1) ctx.log.warn(`tracker ${u.url}: ${found.error}; retrying in ${waitMs / 1000} s`);
      await this.sleep(waitMs, {});
    }
    if (!families || this.stopping) return;
    const now = ctx.now();
    const endpoints = families.map((family) => {
      const announced = u.torrents.map((t) => this.announced(t, now));
      const e = new TrackerEndpoint(u.url, family, this.clientFor(u, family), announced, this.runtime());
      this.endpoints.push(e);
      return e;
    });
    await Promise.all(endpoints.map((e) => e.run()));
  }

  private announced(torrent: Torrent, now: number): Announced {
    // We never download. We say so honestly except for `left`: the full size (so trackers treat
    // us as a leecher and hand out seeds, which a seeder would not get); uploaded = downloaded = 0.
    const size = torrent.totalSize ?? (torrent.pieces !== null && torrent.pieceSize !== null ? torrent.pieces * torrent.pieceSize : null);
    return {
      torrent,
      infoHash: Buffer.from(torrent.infoHash, 'hex'),
      left: size !== null && size > 0 ? size : UNKNOWN_SIZE_LEFT,
      listed: false,
      nextAnnounceAt: now,
      failures: 0,
    };
  }

  private clientFor(u: TrackerUrl, family: Family): TrackerClient {
    if (u.kind === 'http') {
      return new HttpTrackerClient(u.url, { timeoutMs: this.opts.timeoutMs, maxReplyBytes: this.opts.maxReplyBytes, family, resolver: this.resolver });
    }
    return new UdpTrackerClient(u.url, {
      retransmitBaseMs: this.opts.udpRetransmitBaseMs,
      maxAttempts: this.opts.udpMaxAttempts,
      now: () => this.ctx!.now(),
      family,
      resolver: this.resolver,
    });
  }

  private runtime(): EndpointRuntime {
    return {
      ctx: this.ctx!,
      settings: this.settings,
      signal: this.running.signal,
      stopping: () => this.stopping,
      sleep: (ms, handle) => this.sleep(ms, handle),
    };
  }

  /** `event=stopped` to every tracker that lists us, all in one short, bounded round. */
  private async announceStopped(ctx: CollectorContext): Promise<void> {
    const targets: { e: TrackerEndpoint; a: Announced }[] = [];
    for (const e of this.endpoints) for (const a of e.torrents) if (a.listed) targets.push({ e, a });
    if (targets.length === 0) return;
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), this.opts.stopTimeoutMs);
    let answered = 0;
    try {
      await runLimited(targets, 32, async ({ e, a }) => {
        if (budget.signal.aborted) return;
        const reply = await e.client.announce(e.request(a, 'stopped', 0), { signal: budget.signal, timeoutMs: this.opts.stopTimeoutMs });
        if (reply.ok) answered++;
      });
    } finally {
      clearTimeout(timer);
    }
    ctx.log.info(`trackers: sent stopped for ${targets.length} announces, ${answered} answered`);
  }

  /** Sleeps until `ms` passed, `handle.wake()` is called, or stop() wakes every sleeper. */
  private sleep(ms: number, handle: WakeHandle): Promise<void> {
    if (this.stopping) return Promise.resolve();
    // At least 10 ms so a clock that stands still cannot spin a loop; setTimeout's limit caps it.
    const delay = Math.min(Math.max(ms, 10), 2 ** 31 - 1);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        if (handle.wake === wake) handle.wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, delay);
      this.sleepers.add(wake);
      handle.wake = wake;
    });
  }
}

/** Scheme and host of a tracker URL we can speak to; null for anything else (wss:, dht:, not a URL). */
function parseTrackerUrl(url: string): { kind: 'http' | 'udp'; host: string } | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return { kind: 'http', host: parsed.hostname };
  if (parsed.protocol === 'udp:') return { kind: 'udp', host: parsed.hostname };
  return null;
}

/** `work`'s result, or null as soon as `signal` aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return Promise.resolve(null);
  return new Promise((resolve) => {
    const onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}

/** Runs `fn` over `items` with at most `limit` at once; `fn` must not throw. */
async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
