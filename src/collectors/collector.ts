// The small interface every peer source implements (trackers, DHT, listener, peers file).
// Collectors know nothing of evaluation: they hand addresses to the queue and log each step.
import type { Logger } from '../log.ts';
import type { PeerSource, RequestLog, ScrapeLog } from '../types.ts';

export interface PeerAddress {
  ip: string;
  port: number;
  /** PEX only: the BEP 11 flags the naming peer gave (seed, prefers encryption...); none from other sources. */
  flags?: number;
}

/** What a collector may do with what it found. Provided by the crawl (src/cli/crawl.ts). */
export interface CollectorContext {
  /**
   * Queue the peers of one request; returns how many were new to this run, how many were known, and how many
   * the address policy kept out (src/collectors/address-policy.ts: special-purpose, excluded, port 0, malformed).
   */
  addPeers(torrentId: number, peers: PeerAddress[], source: PeerSource): { new: number; duplicates: number; skipped: number };
  /** Record one collection step (a `requests` row). */
  logRequest(entry: RequestLog): void;
  /** Record tracker scrape numbers (a `scrapes` row). */
  logScrape(entry: ScrapeLog): void;
  log: Logger;
  /** Milliseconds since the epoch; injectable for tests. */
  now(): number;
}

export interface Collector {
  readonly name: string;
  start(ctx: CollectorContext): Promise<void>;
  /** Stop timers, send what must be sent at shutdown (e.g. `event=stopped`), close sockets. Never throws. */
  stop(): Promise<void>;
}
