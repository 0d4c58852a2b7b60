// Magnet links without metadata: their peers are only collected until one of them hands over the info
// dictionary (BEP 9). The resolver keeps a bounded list of each such torrent's latest peers and asks a
// few of them at a time, retrying while the torrent is still unresolved.
import type { PeerAddress } from '../collectors/collector.ts';
import type { EncryptionPolicy } from '../config.ts';
import type { PeerSeen } from '../wire/seen-state.ts';
import type { Logger } from '../log.ts';
import type { PeerSource, Torrent } from '../types.ts';
import { fetchMetadataFromAny } from './fetch-from-any.ts';
import { torrentFileFromInfo } from './fetch-metadata.ts';
import { parseTorrentFile, type ParsedTorrent } from './parse-torrent.ts';

export interface CollectedPeer extends PeerAddress {
  source: PeerSource;
}

export interface MagnetResolverOptions {
  peerId: Buffer;
  connectTimeoutMs: number;
  /** Budget of one fetch from one peer. */
  fetchTimeoutMs: number;
  /** ms between attempts for one torrent. */
  retryMs: number;
  /** Peers remembered per unresolved torrent (the newest are kept). */
  maxPeers?: number;
  /** As for contacts: a peer that requires encryption gives its metadata over MSE/PE (default 'off'). */
  encryption?: EncryptionPolicy;
  log: Logger;
  /**
   * The metadata was verified: the torrent can now be evaluated, with the peers collected so far, and what the
   * fetches saw of the peers whose handshake they read (state messages with their times: an observation each).
   */
  onResolved: (torrent: Torrent, parsed: ParsedTorrent, peers: CollectedPeer[], seen: PeerSeen[]) => void;
}

/** Fetches' views kept per unresolved torrent (the first ones: each is one observation of one connection). */
const MAX_SEEN_PER_TORRENT = 64;

interface Pending {
  torrent: Torrent;
  peers: Map<string, CollectedPeer>;
  seen: PeerSeen[];
  fetching: boolean;
  lastTry: number;
}

export class MagnetResolver {
  private readonly pending = new Map<number, Pending>();
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly maxPeers: number;

  constructor(private readonly opts: MagnetResolverOptions) {
    this.maxPeers = opts.maxPeers ?? 1000;
  }

  add(torrent: Torrent): void {
    this.pending.set(torrent.id, { torrent, peers: new Map(), seen: [], fetching: false, lastTry: 0 });
  }

  has(torrentId: number): boolean {
    return this.pending.has(torrentId);
  }

  /** Remembers collected peers of an unresolved torrent; returns how many were new to it. */
  addPeers(torrentId: number, peers: PeerAddress[], source: PeerSource): number {
    const p = this.pending.get(torrentId);
    if (!p) return 0;
    let fresh = 0;
    for (const { ip, port } of peers) {
      const key = `${ip}|${port}`;
      if (p.peers.has(key)) continue;
      fresh++;
      p.peers.set(key, { ip, port, source });
      if (p.peers.size > this.maxPeers) p.peers.delete(p.peers.keys().next().value!);
    }
    if (fresh > 0) this.tryTorrent(p);
    return fresh;
  }

  start(): void {
    this.timer = setInterval(() => {
      for (const p of this.pending.values()) this.tryTorrent(p);
    }, Math.max(1000, this.opts.retryMs / 4));
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.abort.abort();
  }

  private tryTorrent(p: Pending): void {
    const now = Date.now();
    if (p.fetching || p.peers.size === 0 || this.abort.signal.aborted || now - p.lastTry < this.opts.retryMs) return;
    p.fetching = true;
    p.lastTry = now;
    const candidates = [...p.peers.values()].reverse(); // newest first: most likely still online
    void fetchMetadataFromAny(Buffer.from(p.torrent.infoHash, 'hex'), candidates, {
      peerId: this.opts.peerId,
      connectTimeoutMs: this.opts.connectTimeoutMs,
      timeoutMs: this.opts.fetchTimeoutMs,
      signal: this.abort.signal,
      encryption: this.opts.encryption,
      onSeen: (seen) => {
        if (p.seen.length < MAX_SEEN_PER_TORRENT) p.seen.push(seen);
      },
    }).then((result) => {
      p.fetching = false;
      if (!this.pending.has(p.torrent.id) || this.abort.signal.aborted) return;
      if (!result.ok) {
        this.opts.log.debug(`metadata of ${p.torrent.infoHash}: ${result.reason} from ${candidates.length} peers`);
        return;
      }
      let parsed: ParsedTorrent;
      try {
        parsed = parseTorrentFile(torrentFileFromInfo(result.info));
      } catch (err) {
        this.opts.log.warn(`metadata of ${p.torrent.infoHash} verified but unusable: ${(err as Error).message}`);
        return;
      }
      this.pending.delete(p.torrent.id);
      this.opts.log.info(`metadata of ${p.torrent.infoHash} (${parsed.name}): ${parsed.pieces} pieces`);
      this.opts.onResolved(p.torrent, parsed, [...p.peers.values()], p.seen);
    });
  }
}
