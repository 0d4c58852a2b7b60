// Announces every torrent to every one of its trackers (all tiers, not only the first URL as the
// 2015 tool did) and scrapes them, each tracker on its own loop so a slow or dead tracker only
// delays itself. `event=started` goes with the first successful announce only, `stopped` at
// shutdown; a tracker's `min interval` (else `interval`) is never undercut; failures back off.
import { randomBytes } from 'node:crypto';
import type { Collector, CollectorContext } from '../collector.ts';
import type { Torrent } from '../../types.ts';
import { HttpTrackerClient } from './http-tracker.ts';
import { UdpTrackerClient } from './udp-tracker.ts';
import type { AnnounceReply, AnnounceRequest, TrackerClient } from './tracker-client.ts';

export interface TrackerCollectorOptions {
  torrents: Torrent[];
  peerId: Buffer;
  /** Our listen port, announced to trackers. */
  port: number;
  numwant: number;
  /** Seconds between announces (and scrapes) per tracker, unless the tracker asks for longer. */
  intervalS: number;
  /** Budget of one HTTP request, redirects included (default 30 s). */
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
  /** Requests in flight to one tracker at once (default 4). */
  concurrencyPerTracker?: number;
  /** HTTP replies above this are aborted (default 2 MiB). */
  maxReplyBytes?: number;
  /** The announce `key` (default random). */
  key?: number;
}

/** `left` for a torrent whose size is not known yet (magnet without metadata): one block. */
const UNKNOWN_SIZE_LEFT = 16 * 1024;

/** One torrent as announced to one tracker. */
interface Announced {
  torrent: Torrent;
  infoHash: Buffer;
  left: number;
  /** A `started` announce succeeded: later announces carry no event; `stopped` is due at shutdown. */
  started: boolean;
  nextAnnounceAt: number;
  failures: number;
  trackerId?: string;
}

interface TrackerState {
  url: string;
  client: TrackerClient;
  torrents: Announced[];
  nextScrapeAt: number;
  scrapeFailures: number;
  /** For logging state changes only, not every failure. */
  failing: boolean;
  loggedIntervalS?: number;
  loggedWarning?: string;
}

export class TrackerCollector implements Collector {
  readonly name = 'tracker';
  private readonly opts: Required<Omit<TrackerCollectorOptions, 'key'>> & { key: number };
  private ctx: CollectorContext | null = null;
  private trackers: TrackerState[] = [];
  private loops: Promise<void>[] = [];
  private readonly sleepers = new Set<() => void>();
  private readonly running = new AbortController();
  private stopping = false;

  constructor(options: TrackerCollectorOptions) {
    if (!(options.intervalS > 0)) throw new RangeError('intervalS must be positive');
    if (options.peerId.length !== 20) throw new RangeError('peerId must be 20 bytes');
    this.opts = {
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
  }

  async start(ctx: CollectorContext): Promise<void> {
    if (this.ctx) return;
    this.ctx = ctx;
    this.trackers = this.buildTrackers(ctx);
    ctx.log.info(`trackers: ${this.trackers.length} to announce to for ${this.opts.torrents.length} torrents`);
    this.loops = this.trackers.map((t) =>
      this.runTracker(t).catch((err) => ctx.log.error(`tracker loop ${t.url} ended: ${(err as Error).stack ?? err}`)),
    );
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
      for (const t of this.trackers) t.client.close();
    }
  }

  private buildTrackers(ctx: CollectorContext): TrackerState[] {
    const byUrl = new Map<string, TrackerState>();
    const skipped = new Set<string>();
    const now = ctx.now();
    for (const torrent of this.opts.torrents) {
      if (!/^[0-9a-fA-F]{40}$/.test(torrent.infoHash)) {
        ctx.log.warn(`torrent ${torrent.id}: info hash "${torrent.infoHash}" is not 40 hex digits; not announced`);
        continue;
      }
      for (const url of new Set(torrent.trackers.map((u) => u.trim()))) {
        let state = byUrl.get(url);
        if (!state) {
          const client = this.clientFor(url, ctx);
          if (!client) {
            if (!skipped.has(url)) ctx.log.info(`skipping tracker ${url}: only http, https and udp trackers are supported`);
            skipped.add(url);
            continue;
          }
          state = { url, client, torrents: [], nextScrapeAt: now, scrapeFailures: 0, failing: false };
          byUrl.set(url, state);
        }
        // We never download. We say so honestly except for `left`: the full size (so trackers treat
        // us as a leecher and hand out seeds, which a seeder would not get); uploaded = downloaded = 0.
        const size = torrent.totalSize ?? (torrent.pieces !== null && torrent.pieceSize !== null ? torrent.pieces * torrent.pieceSize : null);
        state.torrents.push({
          torrent,
          infoHash: Buffer.from(torrent.infoHash, 'hex'),
          left: size !== null && size > 0 ? size : UNKNOWN_SIZE_LEFT,
          started: false,
          nextAnnounceAt: now,
          failures: 0,
        });
      }
    }
    return [...byUrl.values()];
  }

  private clientFor(url: string, ctx: CollectorContext): TrackerClient | null {
    let protocol: string;
    try {
      protocol = new URL(url).protocol;
    } catch {
      return null;
    }
    if (protocol === 'http:' || protocol === 'https:') {
      return new HttpTrackerClient(url, { timeoutMs: this.opts.timeoutMs, maxReplyBytes: this.opts.maxReplyBytes });
    }
    if (protocol === 'udp:') {
      return new UdpTrackerClient(url, {
        retransmitBaseMs: this.opts.udpRetransmitBaseMs,
        maxAttempts: this.opts.udpMaxAttempts,
        now: () => ctx.now(),
      });
    }
    return null;
  }

  private async runTracker(t: TrackerState): Promise<void> {
    const ctx = this.ctx!;
    while (!this.stopping) {
      const now = ctx.now();
      const due = t.torrents.filter((a) => a.nextAnnounceAt <= now);
      await runLimited(due, this.opts.concurrencyPerTracker, (a) => this.announce(t, a));
      if (this.stopping) break;
      if (t.client.canScrape && t.nextScrapeAt <= ctx.now()) await this.scrape(t);
      let next = Math.min(...t.torrents.map((a) => a.nextAnnounceAt));
      if (t.client.canScrape) next = Math.min(next, t.nextScrapeAt);
      await this.sleep(next - ctx.now());
    }
  }

  private announceRequest(a: Announced, event: AnnounceRequest['event']): AnnounceRequest {
    const { peerId, port, numwant, key } = this.opts;
    return { infoHash: a.infoHash, peerId, port, uploaded: 0, downloaded: 0, left: a.left, numwant, key, event, trackerId: a.trackerId };
  }

  private async announce(t: TrackerState, a: Announced): Promise<void> {
    const ctx = this.ctx!;
    const startedAt = ctx.now();
    const reply = await t.client.announce(this.announceRequest(a, a.started ? undefined : 'started'), { signal: this.running.signal });
    if (this.stopping) return; // cut short by shutdown: not a tracker outcome
    const durationMs = Math.max(0, ctx.now() - startedAt);
    const base = { torrentId: a.torrent.id, kind: t.client.kind, url: t.url, startedAt, durationMs };
    if (!reply.ok) {
      a.failures++;
      a.nextAnnounceAt = ctx.now() + this.backoffMs(a.failures);
      ctx.logRequest({ ...base, received: 0, new: 0, duplicates: 0, skipped: 0, error: reply.error });
      this.noteFailure(t, reply.error);
      return;
    }
    const r = reply.value;
    a.started = true;
    a.failures = 0;
    if (r.trackerId !== undefined) a.trackerId = r.trackerId;
    a.nextAnnounceAt = ctx.now() + this.intervalFor(t, r) * 1000;
    const counts = r.peers.length > 0 ? ctx.addPeers(a.torrent.id, r.peers, t.client.kind) : { new: 0, duplicates: 0, skipped: 0 };
    ctx.logRequest({ ...base, received: r.peers.length, new: counts.new, duplicates: counts.duplicates, skipped: counts.skipped, error: null });
    if (t.failing) ctx.log.info(`tracker ${t.url} answers again`);
    t.failing = false;
    if (r.warning !== undefined && r.warning !== t.loggedWarning) ctx.log.warn(`tracker ${t.url} warns: ${r.warning}`);
    t.loggedWarning = r.warning ?? t.loggedWarning;
    // A tracker we cannot scrape still tells seeders and leechers in its announce reply.
    if (!t.client.canScrape && (r.complete !== undefined || r.incomplete !== undefined)) {
      ctx.logScrape({
        torrentId: a.torrent.id,
        tracker: t.url,
        at: ctx.now(),
        seeders: r.complete ?? null,
        leechers: r.incomplete ?? null,
        downloaded: r.downloaded ?? null,
      });
    }
  }

  /** Seconds to the next announce: ours, or the tracker's when it asks for longer (logged on change). */
  private intervalFor(t: TrackerState, r: AnnounceReply): number {
    const asked = r.minInterval ?? r.interval;
    if (asked === undefined || asked <= this.opts.intervalS) return this.opts.intervalS;
    const honoured = Math.min(asked, this.opts.maxTrackerIntervalS);
    if (t.loggedIntervalS !== honoured) {
      const field = r.minInterval !== undefined ? 'min interval' : 'interval';
      this.ctx!.log.info(`tracker ${t.url}: ${field} ${asked} s overrides the configured ${this.opts.intervalS} s; announcing every ${honoured} s`);
      t.loggedIntervalS = honoured;
    }
    return honoured;
  }

  private async scrape(t: TrackerState): Promise<void> {
    const ctx = this.ctx!;
    let failed = false;
    let intervalS = this.opts.intervalS;
    for (let i = 0; i < t.torrents.length && !this.stopping; i += t.client.maxScrapeBatch) {
      const batch = t.torrents.slice(i, i + t.client.maxScrapeBatch);
      const reply = await t.client.scrape(
        batch.map((a) => a.infoHash),
        { signal: this.running.signal },
      );
      if (this.stopping) return;
      if (!reply.ok) {
        failed = true;
        ctx.log.debug(`scrape ${t.url}: ${reply.error}`);
        continue;
      }
      const at = ctx.now();
      for (const a of batch) {
        const counts = reply.value.files.get(a.torrent.infoHash.toLowerCase());
        if (!counts) {
          ctx.log.debug(`scrape ${t.url}: no numbers for torrent ${a.torrent.id}`);
          continue; // the tracker does not know this torrent (yet)
        }
        ctx.logScrape({ torrentId: a.torrent.id, tracker: t.url, at, seeders: counts.complete, leechers: counts.incomplete, downloaded: counts.downloaded });
      }
      const asked = reply.value.minRequestInterval;
      if (asked !== undefined) intervalS = Math.max(intervalS, Math.min(asked, this.opts.maxTrackerIntervalS));
    }
    t.scrapeFailures = failed ? t.scrapeFailures + 1 : 0;
    t.nextScrapeAt = ctx.now() + (failed ? this.backoffMs(t.scrapeFailures) : intervalS * 1000);
  }

  /** Interval, 2×, 4×, ... after failures in a row, capped (but never below the interval). */
  private backoffMs(failures: number): number {
    const s = this.opts.intervalS * 2 ** Math.min(failures - 1, 30);
    return Math.min(s, Math.max(this.opts.maxBackoffS, this.opts.intervalS)) * 1000;
  }

  private noteFailure(t: TrackerState, error: string): void {
    const log = this.ctx!.log;
    if (!t.failing) log.warn(`tracker ${t.url}: ${error}`);
    else log.debug(`tracker ${t.url}: ${error}`);
    t.failing = true;
  }

  /** `event=stopped` to every tracker that knows us, all in one short, bounded round. */
  private async announceStopped(ctx: CollectorContext): Promise<void> {
    const targets = this.trackers.flatMap((t) => t.torrents.filter((a) => a.started).map((a) => ({ t, a })));
    if (targets.length === 0) return;
    const budget = new AbortController();
    const timer = setTimeout(() => budget.abort(), this.opts.stopTimeoutMs);
    let answered = 0;
    try {
      await runLimited(targets, 32, async ({ t, a }) => {
        const reply = await t.client.announce(this.announceRequest(a, 'stopped'), {
          signal: budget.signal,
          timeoutMs: this.opts.stopTimeoutMs,
        });
        if (reply.ok) answered++;
      });
    } finally {
      clearTimeout(timer);
    }
    ctx.log.info(`trackers: sent stopped for ${targets.length} announces, ${answered} answered`);
  }

  /** Sleeps until `ms` passed or stop() wakes it. */
  private sleep(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    // At least 10 ms so a clock that stands still cannot spin this loop; setTimeout's limit caps it.
    const delay = Math.min(Math.max(ms, 10), 2 ** 31 - 1);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, delay);
      this.sleepers.add(wake);
    });
  }
}

/** Runs `fn` over `items` with at most `limit` at once; `fn` must not throw. */
async function runLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
