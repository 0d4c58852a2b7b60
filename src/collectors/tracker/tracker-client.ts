// What the HTTP and UDP tracker clients have in common: the request they send, the reply they
// return, and the compact peer format both use. Failures are values (`{ error }`), never throws:
// a tracker that is down or talks nonsense is an outcome to count, not a bug.
import type { PeerAddress } from '../collector.ts';

export type AnnounceEvent = 'started' | 'completed' | 'stopped';

export interface AnnounceRequest {
  infoHash: Buffer; // 20 bytes
  peerId: Buffer; // 20 bytes
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  numwant: number;
  /** Random per run; lets a tracker recognise us when our address changes. */
  key: number;
  /** Omitted on regular (periodic) announces. */
  event?: AnnounceEvent;
  /** The `tracker id` a previous reply of this tracker gave (HTTP only). */
  trackerId?: string;
}

export type Family = 4 | 6;

export interface AnnounceReply {
  peers: PeerAddress[];
  /** Seconds. */
  interval?: number;
  /** Seconds. */
  minInterval?: number;
  complete?: number;
  incomplete?: number;
  /** Some HTTP trackers include the completed count in the announce reply. */
  downloaded?: number;
  trackerId?: string;
  warning?: string;
}

export interface ScrapeCounts {
  complete: number | null;
  incomplete: number | null;
  downloaded: number | null;
}

export interface ScrapeReply {
  /** Keyed by info hash, lower-case hex; hashes the tracker did not report are missing. */
  files: Map<string, ScrapeCounts>;
  /** BEP 48 `flags.min_request_interval`, seconds. */
  minRequestInterval?: number;
}

/**
 * `unreachable` marks failures of the tracker as a whole (no reply, timeout, refused, DNS), as opposed to
 * a reply about one torrent: the collector backs off the whole tracker on those, not one torrent.
 */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string; unreachable?: boolean };

export interface RequestOptions {
  /** Aborts the request (shutdown); the outcome is then an error. */
  signal?: AbortSignal;
  /** Overrides the client's default time budget (used for the short `stopped` announce). */
  timeoutMs?: number;
}

export interface TrackerClient {
  readonly url: string;
  readonly kind: 'http' | 'udp';
  /** False when the tracker has no scrape (an HTTP announce URL not ending in "announce..."). */
  readonly canScrape: boolean;
  /** Info hashes one scrape request may carry. */
  readonly maxScrapeBatch: number;
  announce(req: AnnounceRequest, opts?: RequestOptions): Promise<Outcome<AnnounceReply>>;
  scrape(infoHashes: Buffer[], opts?: RequestOptions): Promise<Outcome<ScrapeReply>>;
  close(): void;
}

// The compact peer format is shared with PEX (src/wire/pex.ts): it lives in wire/.
export { formatIpv6, parseCompactPeers } from '../../wire/compact-peers.ts';
