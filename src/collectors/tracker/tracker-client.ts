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

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

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

/**
 * Reads compact peers: 6 bytes (IPv4 + port) or 18 bytes (IPv6 + port) each. Ports are unsigned
 * 16-bit big-endian (the 2015 tool read them signed and lost every port above 32767). Entries with
 * port 0 are dropped; a trailing partial entry is ignored.
 */
export function parseCompactPeers(data: Uint8Array, entrySize: 6 | 18): PeerAddress[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const peers: PeerAddress[] = [];
  for (let off = 0; off + entrySize <= buf.length; off += entrySize) {
    const port = buf.readUInt16BE(off + entrySize - 2);
    if (port === 0) continue;
    const ip = entrySize === 6 ? formatIpv4(buf, off) : formatIpv6(buf.subarray(off, off + 16));
    peers.push({ ip, port });
  }
  return peers;
}

function formatIpv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text of a 16-byte address; IPv4-mapped addresses become plain dotted IPv4. */
export function formatIpv6(b: Buffer): string {
  const isMapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (isMapped) return formatIpv4(b, 12);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // The longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
