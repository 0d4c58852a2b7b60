// One tracker over one address family: its torrents, announced in due order with a few requests in
// flight, and scraped in batches on a loop of its own, so that announces never starve scrapes. A
// tracker that does not answer (timeout, refused, DNS) backs off AS A WHOLE: its due torrents wait,
// and after the wait one request probes it. A dead UDP tracker thus costs its timeout once per back-off
// step, not once per torrent per round; a reply about one torrent (`failure reason`) backs off only it.
import type { CollectorContext } from '../collector.ts';
import type { Torrent } from '../../types.ts';
import { DueHeap } from './due-heap.ts';
import { endpointLabel } from './host-resolver.ts';
import type { AnnounceReply, AnnounceRequest, Family, TrackerClient } from './tracker-client.ts';

/** Settings the endpoint reads (the collector's, resolved). */
export interface EndpointSettings {
  peerId: Buffer;
  port: number;
  numwant: number;
  key: number;
  intervalS: number;
  maxBackoffS: number;
  maxTrackerIntervalS: number;
  concurrencyPerTracker: number;
  /** False: btda accepts no connections, so each announce is withdrawn at once (`stopped`). */
  passive: boolean;
}

export interface WakeHandle {
  wake?: () => void;
}

/** What the collector lends its endpoints. */
export interface EndpointRuntime {
  ctx: CollectorContext;
  settings: EndpointSettings;
  /** Aborted at shutdown. */
  signal: AbortSignal;
  stopping(): boolean;
  /** Sleeps `ms` or until `handle.wake()` (or shutdown) is called. */
  sleep(ms: number, handle: WakeHandle): Promise<void>;
}

/** One torrent as announced to this endpoint. */
export interface Announced {
  torrent: Torrent;
  infoHash: Buffer;
  left: number;
  /** The tracker lists us for this torrent (an announce succeeded and no `stopped` did since). */
  listed: boolean;
  nextAnnounceAt: number;
  /** Failures of this torrent alone in a row (replies refusing it). */
  failures: number;
  trackerId?: string;
}

/** Interval, 2×, 4×, ... after failures in a row, capped (but never below the interval). */
export function backoffMs(failures: number, intervalS: number, maxBackoffS: number): number {
  const s = intervalS * 2 ** Math.min(Math.max(failures, 1) - 1, 30);
  return Math.min(s, Math.max(maxBackoffS, intervalS)) * 1000;
}

export class TrackerEndpoint {
  /** `requests.url` and `scrapes.tracker` of this endpoint: the URL and `#ipv4` / `#ipv6`. */
  readonly label: string;
  /** Tracker-wide failures in a row; while `now < downUntil` nothing is sent. */
  private failures = 0;
  private downUntil = 0;
  private readonly due = new DueHeap<Announced>();
  private nextScrapeAt: number;
  private scrapeFailures = 0;
  /** Where the next scrape round starts: a round cut short by a failure resumes there. */
  private scrapeCursor = 0;
  private loggedIntervalS?: number;
  private loggedWarning?: string;
  /** A refused torrent was logged as a warning since the last success (the rest go to debug). */
  private warnedRefusal = false;

  constructor(
    readonly url: string,
    readonly family: Family,
    readonly client: TrackerClient,
    readonly torrents: Announced[],
    private readonly rt: EndpointRuntime,
  ) {
    this.label = endpointLabel(url, family);
    for (const a of torrents) this.due.push(a);
    this.nextScrapeAt = rt.ctx.now();
  }

  run(): Promise<unknown> {
    return Promise.all([this.runAnnounces(), this.runScrapes()]);
  }

  /** The request our `stopped` sends (shutdown, or withdrawing when not passive). */
  request(a: Announced, event: AnnounceRequest['event'], numwant = this.rt.settings.numwant): AnnounceRequest {
    const { peerId, port, key } = this.rt.settings;
    return { infoHash: a.infoHash, peerId, port, uploaded: 0, downloaded: 0, left: a.left, numwant, key, event, trackerId: a.trackerId };
  }

  private async runAnnounces(): Promise<void> {
    const { ctx, settings } = this.rt;
    const inFlight = new Set<Promise<void>>();
    const handle: WakeHandle = {};
    while (!this.rt.stopping()) {
      const now = ctx.now();
      // After a failure, one request at a time probes the tracker.
      const limit = this.failures > 0 ? 1 : settings.concurrencyPerTracker;
      const head = this.due.peek();
      if (inFlight.size < limit && head !== undefined && head.nextAnnounceAt <= now && this.downUntil <= now) {
        const a = this.due.pop()!;
        const done: Promise<void> = this.announce(a)
          .catch((err) => ctx.log.error(`tracker ${this.label}: ${(err as Error).stack ?? err}`))
          .finally(() => {
            inFlight.delete(done);
            this.due.push(a);
            handle.wake?.();
          });
        inFlight.add(done);
        continue;
      }
      // Wait for a free slot (an answer wakes us) or for the next due torrent.
      const wait = inFlight.size >= limit || head === undefined ? Infinity : Math.max(head.nextAnnounceAt, this.downUntil) - now;
      await this.rt.sleep(wait, handle);
    }
    await Promise.allSettled(inFlight);
  }

  private async announce(a: Announced): Promise<void> {
    const { ctx, settings } = this.rt;
    const startedAt = ctx.now();
    const reply = await this.client.announce(this.request(a, a.listed ? undefined : 'started'), { signal: this.rt.signal });
    if (this.rt.stopping()) return; // cut short by shutdown: not a tracker outcome
    const now = ctx.now();
    const base = { torrentId: a.torrent.id, kind: this.client.kind, url: this.label, startedAt, durationMs: Math.max(0, now - startedAt) };
    if (!reply.ok) {
      ctx.logRequest({ ...base, received: 0, new: 0, duplicates: 0, skipped: 0, error: reply.error });
      if (reply.unreachable) {
        // The torrent keeps its due time: it goes first when the tracker answers again.
        this.trackerFailed(now, reply.error);
      } else {
        a.failures++;
        a.nextAnnounceAt = now + backoffMs(a.failures, settings.intervalS, settings.maxBackoffS);
        const line = `tracker ${this.label}, torrent ${a.torrent.id}: ${reply.error}`;
        if (this.warnedRefusal) ctx.log.debug(line);
        else ctx.log.warn(line);
        this.warnedRefusal = true;
      }
      return;
    }
    const r = reply.value;
    a.listed = true;
    a.failures = 0;
    if (r.trackerId !== undefined) a.trackerId = r.trackerId;
    a.nextAnnounceAt = now + this.intervalFor(r) * 1000;
    const counts = r.peers.length > 0 ? ctx.addPeers(a.torrent.id, r.peers, this.client.kind) : { new: 0, duplicates: 0, skipped: 0 };
    ctx.logRequest({ ...base, received: r.peers.length, new: counts.new, duplicates: counts.duplicates, skipped: counts.skipped, error: null });
    this.trackerAnswered();
    this.warnedRefusal = false;
    if (r.warning !== undefined && r.warning !== this.loggedWarning) ctx.log.warn(`tracker ${this.label} warns: ${r.warning}`);
    this.loggedWarning = r.warning ?? this.loggedWarning;
    // A tracker we cannot scrape still tells seeders and leechers in its announce reply.
    if (!this.client.canScrape && (r.complete !== undefined || r.incomplete !== undefined)) {
      ctx.logScrape({ torrentId: a.torrent.id, tracker: this.label, at: now, seeders: r.complete ?? null, leechers: r.incomplete ?? null, downloaded: r.downloaded ?? null });
    }
    if (!settings.passive) await this.withdraw(a);
  }

  /**
   * Not listening, btda must not stay in the swarm: a listed address that never answers would cost
   * every other client a dial, and count us in the seeders/leechers we measure. `stopped` right
   * after the reply takes us out again (port 0 is no way out: see the README, "What btda announces").
   */
  private async withdraw(a: Announced): Promise<void> {
    const reply = await this.client.announce(this.request(a, 'stopped', 0), { signal: this.rt.signal });
    if (reply.ok) a.listed = false;
    else if (!this.rt.stopping()) this.rt.ctx.log.debug(`tracker ${this.label}: stopped for torrent ${a.torrent.id}: ${reply.error}`);
  }

  private trackerFailed(now: number, error: string): void {
    // Requests that were in flight together fail together: one back-off step for them all.
    if (now < this.downUntil) return;
    const { settings, ctx } = this.rt;
    this.failures++;
    const waitMs = backoffMs(this.failures, settings.intervalS, settings.maxBackoffS);
    this.downUntil = now + waitMs;
    if (this.failures === 1) ctx.log.warn(`tracker ${this.label}: ${error}; retrying in ${waitMs / 1000} s`);
    else ctx.log.debug(`tracker ${this.label}: ${error} (${this.failures} in a row; next try in ${waitMs / 1000} s)`);
  }

  private trackerAnswered(): void {
    if (this.failures > 0) this.rt.ctx.log.info(`tracker ${this.label} answers again`);
    this.failures = 0;
    this.downUntil = 0;
  }

  /** Seconds to the next announce: ours, or the tracker's when it asks for longer (logged on change). */
  private intervalFor(r: AnnounceReply): number {
    const { intervalS, maxTrackerIntervalS } = this.rt.settings;
    const asked = r.minInterval ?? r.interval;
    if (asked === undefined || asked <= intervalS) return intervalS;
    const honoured = Math.min(asked, maxTrackerIntervalS);
    if (this.loggedIntervalS !== honoured) {
      const field = r.minInterval !== undefined ? 'min interval' : 'interval';
      this.rt.ctx.log.info(`tracker ${this.label}: ${field} ${asked} s overrides the configured ${intervalS} s; announcing every ${honoured} s`);
      this.loggedIntervalS = honoured;
    }
    return honoured;
  }

  private async runScrapes(): Promise<void> {
    if (!this.client.canScrape) return;
    const handle: WakeHandle = {};
    while (!this.rt.stopping()) {
      const now = this.rt.ctx.now();
      const at = Math.max(this.nextScrapeAt, this.downUntil);
      if (at > now) await this.rt.sleep(at - now, handle);
      else await this.scrapeRound();
    }
  }

  /** Scrapes every torrent once, `maxScrapeBatch` info hashes a request, one request at a time. */
  private async scrapeRound(): Promise<void> {
    const { ctx, settings } = this.rt;
    const batchSize = this.client.maxScrapeBatch;
    let intervalS = settings.intervalS;
    while (this.scrapeCursor < this.torrents.length) {
      if (this.rt.stopping()) return;
      const batch = this.torrents.slice(this.scrapeCursor, this.scrapeCursor + batchSize);
      const reply = await this.client.scrape(
        batch.map((a) => a.infoHash),
        { signal: this.rt.signal },
      );
      if (this.rt.stopping()) return;
      if (!reply.ok) {
        ctx.log.debug(`scrape ${this.label}: ${reply.error}`);
        if (reply.unreachable) this.trackerFailed(ctx.now(), reply.error);
        // Resume at this batch after the wait instead of starting over: the tail is never starved.
        this.scrapeFailures++;
        this.nextScrapeAt = ctx.now() + backoffMs(this.scrapeFailures, settings.intervalS, settings.maxBackoffS);
        return;
      }
      this.scrapeCursor += batch.length;
      const at = ctx.now();
      for (const a of batch) {
        const counts = reply.value.files.get(a.torrent.infoHash.toLowerCase());
        if (!counts) continue; // the tracker does not know this torrent (yet): no row rather than a made-up one
        ctx.logScrape({ torrentId: a.torrent.id, tracker: this.label, at, seeders: counts.complete, leechers: counts.incomplete, downloaded: counts.downloaded });
      }
      const asked = reply.value.minRequestInterval;
      if (asked !== undefined) intervalS = Math.max(intervalS, Math.min(asked, settings.maxTrackerIntervalS));
    }
    this.scrapeCursor = 0;
    this.scrapeFailures = 0;
    this.nextScrapeAt = ctx.now() + intervalS * 1000;
  }
}
