// Peers from a file (`--peers-file`), e.g. addresses gathered by another tool. One peer per line:
//
//   ip:port                 1.2.3.4:6881, or [2001:db8::1]:6881 for IPv6
//   infohash ip:port        40 hex characters select the torrent
//   # comment               blank lines and lines starting with '#' are ignored
//
// A bare `ip:port` line belongs to the only torrent when exactly one is loaded; with several torrents it goes to
// every torrent (a peer list without hashes says nothing about which swarm, so each is tried). Lines naming an
// info hash that is not loaded are counted and reported once; malformed lines likewise (count and first line
// number), never one warning per line.
import { open } from 'node:fs/promises';
import { isIPv4, isIPv6 } from 'node:net';
import type { Torrent } from '../types.ts';
import type { Collector, CollectorContext, PeerAddress } from './collector.ts';
import { unmapIPv4 } from '../wire/ip.ts';

export interface PeersFileOptions {
  path: string;
  torrents: Torrent[];
  /** Peers handed to the queue per call (default 10,000). */
  chunkSize?: number;
}

/** What the last read of the file found (`lastResult`, for tests and the summary). */
export interface PeersFileResult {
  lines: number;
  peers: number;
  badLines: number;
  firstBadLine: number | null;
  unknownHashLines: number;
  firstUnknownHash: string | null;
  durationMs: number;
}

export type ParsedPeerLine =
  | { kind: 'skip' }
  | { kind: 'bad' }
  | { kind: 'peer'; infoHash: string | null; ip: string; port: number };

const HASH_RE = /^[0-9a-fA-F]{40}$/;
const PORT_RE = /^\d{1,5}$/;

/** Parses 'ip:port' or '[ipv6]:port'; null when malformed. '::ffff:a.b.c.d' becomes the IPv4 address. */
export function parsePeerAddress(text: string): PeerAddress | null {
  const colon = text.lastIndexOf(':');
  if (colon <= 0) return null;
  const portText = text.slice(colon + 1);
  if (!PORT_RE.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  let ip = text.slice(0, colon);
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) return null;
    ip = ip.slice(1, -1).toLowerCase();
    if (!isIPv6(ip)) return null;
    return { ip: unmapIPv4(ip), port };
  }
  return isIPv4(ip) ? { ip, port } : null;
}

/** One line of a peers file. */
export function parsePeerLine(line: string): ParsedPeerLine {
  const s = line.trim();
  if (s === '' || s.startsWith('#')) return { kind: 'skip' };
  const parts = s.split(/\s+/);
  if (parts.length > 2) return { kind: 'bad' };
  const hash = parts.length === 2 ? parts[0] : null;
  if (hash !== null && !HASH_RE.test(hash)) return { kind: 'bad' };
  const addr = parsePeerAddress(parts[parts.length - 1]);
  if (!addr) return { kind: 'bad' };
  return { kind: 'peer', infoHash: hash?.toLowerCase() ?? null, ip: addr.ip, port: addr.port };
}

/** Per torrent: peers waiting to be queued and what the queue said about those already handed over. */
interface TorrentTally {
  torrent: Torrent;
  pending: PeerAddress[];
  received: number;
  new: number;
  duplicates: number;
  skipped: number;
}

export class PeersFileCollector implements Collector {
  readonly name = 'file';
  private stopped = false;
  lastResult: PeersFileResult | null = null;

  constructor(private readonly opts: PeersFileOptions) {}

  async start(ctx: CollectorContext): Promise<void> {
    const { path, torrents } = this.opts;
    const chunkSize = Math.max(1, this.opts.chunkSize ?? 10_000);
    if (!torrents.length) {
      ctx.log.warn(`peers file ${path}: no torrents loaded, file not read`);
      return;
    }
    const startedAt = ctx.now();
    const t0 = performance.now();
    const tallies = torrents.map((torrent): TorrentTally => ({ torrent, pending: [], received: 0, new: 0, duplicates: 0, skipped: 0 }));
    const byHash = new Map(tallies.map((t) => [t.torrent.infoHash.toLowerCase(), t]));
    const result: PeersFileResult = {
      lines: 0,
      peers: 0,
      badLines: 0,
      firstBadLine: null,
      unknownHashLines: 0,
      firstUnknownHash: null,
      durationMs: 0,
    };

    const flush = (t: TorrentTally) => {
      if (!t.pending.length) return;
      const r = ctx.addPeers(t.torrent.id, t.pending, 'file');
      t.new += r.new;
      t.duplicates += r.duplicates;
      t.skipped += r.skipped;
      t.pending = [];
    };
    const add = (t: TorrentTally, peer: PeerAddress) => {
      t.pending.push(peer);
      t.received++;
      if (t.pending.length >= chunkSize) flush(t);
    };

    // Opening first turns a missing or unreadable file into a clear error before anything is queued.
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw new Error(`peers file ${path}: ${describeFsError(err)}`);
    }
    const onLine = (line: string) => {
      result.lines++;
      const parsed = parsePeerLine(line);
      if (parsed.kind === 'skip') return;
      if (parsed.kind === 'bad') {
        result.badLines++;
        result.firstBadLine ??= result.lines;
        return;
      }
      const peer = { ip: parsed.ip, port: parsed.port };
      if (parsed.infoHash === null) {
        for (const t of tallies) add(t, peer);
      } else {
        const t = byHash.get(parsed.infoHash);
        if (!t) {
          result.unknownHashLines++;
          result.firstUnknownHash ??= parsed.infoHash;
          return;
        }
        add(t, peer);
      }
      result.peers++;
    };
    const stream = handle.createReadStream({ encoding: 'utf8', highWaterMark: 1 << 20 }); // closes the handle at the end
    try {
      await forEachLine(stream, onLine, () => this.stopped);
    } catch (err) {
      throw new Error(`peers file ${path}: ${describeFsError(err)}`);
    } finally {
      stream.destroy();
    }
    for (const t of tallies) flush(t);

    result.durationMs = performance.now() - t0;
    this.lastResult = result;
    for (const t of tallies) {
      ctx.logRequest({
        torrentId: t.torrent.id,
        kind: 'file',
        url: path,
        startedAt,
        durationMs: Math.round(result.durationMs),
        received: t.received,
        new: t.new,
        duplicates: t.duplicates,
        skipped: t.skipped,
        error: null,
      });
    }
    if (result.badLines) {
      ctx.log.warn(`peers file ${path}: ${result.badLines} malformed lines ignored (first: line ${result.firstBadLine})`);
    }
    if (result.unknownHashLines) {
      ctx.log.warn(
        `peers file ${path}: ${result.unknownHashLines} lines name info hashes not loaded (first: ${result.firstUnknownHash})`,
      );
    }
    ctx.log.info(`peers file ${path}: ${result.peers} peers from ${result.lines} lines in ${Math.round(result.durationMs)} ms`);
  }

  async stop(): Promise<void> {
    this.stopped = true; // a read still in progress ends at the next line
  }
}

/** Longest line kept; a longer one (a file without newlines, say) counts as one bad line, not as memory. */
const MAX_LINE_CHARS = 4096;

/**
 * Calls `onLine` for each line of a text stream. Splits 1 MB chunks itself rather than using readline's
 * async iterator: one await per chunk instead of one per line, which is 3-4 times faster when promise hooks
 * are active (node:test, AsyncLocalStorage users).
 */
export async function forEachLine(
  stream: AsyncIterable<string | Buffer>,
  onLine: (line: string) => void,
  stopped: () => boolean = () => false,
): Promise<void> {
  let rest = '';
  let overlong = false; // inside a line already reported as too long: skip to its end
  for await (const chunk of stream) {
    const text = rest + chunk.toString();
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      if (overlong) overlong = false;
      else onLine(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    if (rest.length > MAX_LINE_CHARS) {
      if (!overlong) onLine('\u0000 overlong line'); // counted as one malformed line
      overlong = true;
      rest = '';
    }
    if (stopped()) return;
  }
  if (rest && !overlong) onLine(rest);
}

function describeFsError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  if (e.code === 'EISDIR') return 'is a directory, not a file';
  return e.message ?? String(err);
}
