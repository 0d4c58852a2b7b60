// HTTP(S) tracker client: announce (BEP 3, compact peers BEP 23, IPv6 `peers6` BEP 7) and scrape
// (BEP 48). Replies are parsed defensively: whatever a tracker sends (HTML, a list, bad bencode,
// a huge body) becomes an error string, never an exception.
import { isIP } from 'node:net';
import { BencodeError, decodePrefix, intField, isDict, textField, type BDict, type BValue } from '../../bencode/decode.ts';
import { boundedGet } from './bounded-get.ts';
import type { PeerAddress } from '../collector.ts';
import { unmapIPv4 } from '../../wire/ip.ts';
import {
  parseCompactPeers,
  type AnnounceReply,
  type AnnounceRequest,
  type Family,
  type Outcome,
  type RequestOptions,
  type ScrapeCounts,
  type ScrapeReply,
  type TrackerClient,
} from './tracker-client.ts';
import type { HostResolver } from './host-resolver.ts';

export interface HttpTrackerOptions {
  timeoutMs: number;
  /** Replies above this size are aborted (a tracker reply with 200 peers is a few KiB). */
  maxReplyBytes?: number;
  maxRedirects?: number;
  userAgent?: string;
  /** Talk to the tracker over this family only (BEP 7: one announce per family). */
  family?: Family;
  /** Shared cache of addresses per host and family (used with `family`). */
  resolver?: HostResolver;
}

export const DEFAULT_MAX_REPLY_BYTES = 2 * 1024 * 1024;
/** Hashes per scrape request: 50 escaped hashes keep the URL near 3 KB, below common server limits. */
const HTTP_SCRAPE_BATCH = 50;

export class HttpTrackerClient implements TrackerClient {
  readonly kind = 'http' as const;
  readonly canScrape: boolean;
  readonly maxScrapeBatch = HTTP_SCRAPE_BATCH;
  private readonly scrapeUrl: string | null;

  constructor(
    readonly url: string,
    private readonly opts: HttpTrackerOptions,
  ) {
    this.scrapeUrl = scrapeUrlFor(url);
    this.canScrape = this.scrapeUrl !== null;
  }

  async announce(req: AnnounceRequest, ro: RequestOptions = {}): Promise<Outcome<AnnounceReply>> {
    const reply = await this.get(buildAnnounceUrl(this.url, req), ro);
    return reply.ok ? parseAnnounceReply(reply.value.body, reply.value.status) : reply;
  }

  async scrape(infoHashes: Buffer[], ro: RequestOptions = {}): Promise<Outcome<ScrapeReply>> {
    if (this.scrapeUrl === null) return { ok: false, error: 'tracker has no scrape URL' };
    const reply = await this.get(buildScrapeUrl(this.scrapeUrl, infoHashes), ro);
    return reply.ok ? parseScrapeReply(reply.value.body, reply.value.status) : reply;
  }

  close(): void {
    // Nothing held between requests (no keep-alive agent).
  }

  private get(url: string, ro: RequestOptions) {
    return boundedGet(url, {
      timeoutMs: ro.timeoutMs ?? this.opts.timeoutMs,
      maxBytes: this.opts.maxReplyBytes ?? DEFAULT_MAX_REPLY_BYTES,
      maxRedirects: this.opts.maxRedirects ?? 3,
      signal: ro.signal,
      userAgent: this.opts.userAgent,
      family: this.opts.family,
      lookup: this.opts.family !== undefined ? this.opts.resolver?.lookupFunction(this.opts.family, this.opts.timeoutMs) : undefined,
    });
  }
}

/** Percent-escapes every byte outside the unreserved set (RFC 3986), as info_hash and peer_id need. */
export function escapeBytes(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) {
    const unreserved =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
    out += unreserved ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Appends our parameters to the announce URL, keeping any query it already has (passkeys). */
export function buildAnnounceUrl(announceUrl: string, req: AnnounceRequest): string {
  const params = [
    `info_hash=${escapeBytes(req.infoHash)}`,
    `peer_id=${escapeBytes(req.peerId)}`,
    `port=${req.port}`,
    `uploaded=${req.uploaded}`,
    `downloaded=${req.downloaded}`,
    `left=${req.left}`,
    'compact=1',
    `numwant=${req.numwant}`,
    `key=${(req.key >>> 0).toString(16).padStart(8, '0')}`,
  ];
  if (req.event) params.push(`event=${req.event}`);
  if (req.trackerId !== undefined) params.push(`trackerid=${escapeBytes(Buffer.from(req.trackerId, 'latin1'))}`);
  return appendQuery(announceUrl, params.join('&'));
}

export function buildScrapeUrl(scrapeUrl: string, infoHashes: Buffer[]): string {
  return appendQuery(scrapeUrl, infoHashes.map((h) => `info_hash=${escapeBytes(h)}`).join('&'));
}

function appendQuery(url: string, query: string): string {
  const base = url.split('#')[0];
  if (!base.includes('?')) return `${base}?${query}`;
  return base.endsWith('?') || base.endsWith('&') ? base + query : `${base}&${query}`;
}

/**
 * BEP 48: if the last path segment starts with "announce", the same URL with "scrape" in its
 * place is the scrape URL (query kept); otherwise the tracker does not support scrape.
 */
export function scrapeUrlFor(announceUrl: string): string | null {
  const [base, ...rest] = announceUrl.split('#')[0].split('?');
  const query = rest.length > 0 ? `?${rest.join('?')}` : '';
  const authorityStart = base.indexOf('://');
  if (authorityStart < 0) return null;
  const pathStart = base.indexOf('/', authorityStart + 3);
  const slash = base.lastIndexOf('/');
  if (pathStart < 0 || slash < pathStart) return null;
  const segment = base.slice(slash + 1);
  if (!segment.startsWith('announce')) return null;
  return `${base.slice(0, slash + 1)}scrape${segment.slice('announce'.length)}${query}`;
}

/** Decodes a reply into a dictionary, or explains why it is not one. */
function replyDict(body: Buffer, status: number): Outcome<BDict> {
  const httpOk = status >= 200 && status < 300;
  let value: BValue;
  try {
    // The first value only: some trackers add a newline after it.
    value = decodePrefix(body).value;
  } catch (err) {
    if (!(err instanceof BencodeError)) throw err;
    if (!httpOk) return { ok: false, error: `HTTP ${status}` };
    return { ok: false, error: `not a bencoded reply (bad bencode: ${err.message}): "${preview(body)}"` };
  }
  if (!isDict(value)) {
    if (!httpOk) return { ok: false, error: `HTTP ${status}` };
    const what = typeof value === 'number' ? 'an integer' : Buffer.isBuffer(value) ? 'a string' : 'a list';
    return { ok: false, error: `reply is not a dictionary but ${what}: "${preview(body)}"` };
  }
  const failure = textField(value, 'failure reason');
  if (failure !== undefined) return { ok: false, error: `failure reason: ${failure}` };
  if (!httpOk) return { ok: false, error: `HTTP ${status}` };
  return { ok: true, value };
}

export function parseAnnounceReply(body: Buffer, status = 200): Outcome<AnnounceReply> {
  const dict = replyDict(body, status);
  if (!dict.ok) return dict;
  const d = dict.value;
  const peers: PeerAddress[] = [];
  const warnings: string[] = [];
  const v4 = d.peers;
  if (Buffer.isBuffer(v4)) peers.push(...parseCompactPeers(v4, 6));
  else if (Array.isArray(v4)) peers.push(...parseDictPeers(v4));
  else if (v4 !== undefined) warnings.push('peers field of an unknown type');
  const v6 = d.peers6;
  if (Buffer.isBuffer(v6)) peers.push(...parseCompactPeers(v6, 18));
  const warning = textField(d, 'warning message');
  if (warning !== undefined) warnings.push(warning);
  const trackerId = d['tracker id'];
  return {
    ok: true,
    value: {
      peers,
      interval: intField(d, 'interval'),
      minInterval: intField(d, 'min interval'),
      complete: intField(d, 'complete'),
      incomplete: intField(d, 'incomplete'),
      downloaded: intField(d, 'downloaded'),
      trackerId: Buffer.isBuffer(trackerId) ? trackerId.toString('latin1') : undefined,
      warning: warnings.length > 0 ? warnings.join('; ') : undefined,
    },
  };
}

/** The original (non-compact) form: a list of {ip, port[, peer id]}; host names are skipped. */
function parseDictPeers(list: BValue[]): PeerAddress[] {
  const peers: PeerAddress[] = [];
  for (const item of list) {
    if (!isDict(item)) continue;
    const ip = textField(item, 'ip', 100);
    const port = intField(item, 'port');
    if (ip === undefined || port === undefined || port < 1 || port > 65535) continue;
    const family = isIP(ip);
    if (family === 4) peers.push({ ip, port });
    else if (family === 6) peers.push({ ip: canonicalIpv6(ip), port });
  }
  return peers;
}

/**
 * The canonical text of an IPv6 address (lower case, compressed, as the URL parser writes it); an
 * IPv4-mapped one becomes the dotted IPv4 it is, so that the queue sees one peer, not two.
 */
function canonicalIpv6(ip: string): string {
  return unmapIPv4(new URL(`http://[${ip}]/`).hostname.slice(1, -1));
}

export function parseScrapeReply(body: Buffer, status = 200): Outcome<ScrapeReply> {
  const dict = replyDict(body, status);
  if (!dict.ok) return dict;
  const filesValue = dict.value.files;
  if (!isDict(filesValue)) return { ok: false, error: 'scrape reply without a files dictionary' };
  const files = new Map<string, ScrapeCounts>();
  for (const [key, counts] of Object.entries(filesValue)) {
    if (!isDict(counts)) continue;
    const hex = scrapeKeyToHex(key);
    if (hex === null) continue;
    files.set(hex, {
      complete: intField(counts, 'complete') ?? null,
      incomplete: intField(counts, 'incomplete') ?? null,
      downloaded: intField(counts, 'downloaded') ?? null,
    });
  }
  const flags = dict.value.flags;
  const minRequestInterval = isDict(flags) ? intField(flags, 'min_request_interval') : undefined;
  return { ok: true, value: { files, minRequestInterval } };
}

/**
 * A `files` key (latin1 string of its bytes) as hex. Keys should be the raw 20-byte hash; a few
 * trackers send 40 hex characters, and some (bittorrent-tracker up to v11 at least) UTF-8-encode
 * the binary hash, turning each byte above 0x7f into two.
 */
function scrapeKeyToHex(key: string): string | null {
  if (key.length === 20) return Buffer.from(key, 'latin1').toString('hex');
  if (/^[0-9a-fA-F]{40}$/.test(key)) return key.toLowerCase();
  const asUtf8 = Buffer.from(key, 'latin1').toString('utf8');
  if (asUtf8.length === 20 && /^[\u0000-\u00ff]*$/.test(asUtf8)) return Buffer.from(asUtf8, 'latin1').toString('hex');
  return null;
}

/** The start of a reply as printable text, for error messages. */
function preview(body: Buffer): string {
  return body
    .subarray(0, 60)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '.');
}
