// Types shared by the stages of the pipeline. Each stage owns its own details; only what crosses a
// stage boundary lives here.

/** Where a peer address came from (the `kind` of a `requests` row, and the `sources` of a peer). */
export type PeerSource = 'http' | 'udp' | 'dht' | 'incoming' | 'pex' | 'file';

/** A torrent as the pipeline sees it (a row of `torrents`). */
export interface Torrent {
  id: number;
  /** v1 info hash, 40 lower-case hex characters (for v2-only torrents: the truncated v2 hash, as BEP 52 says). */
  infoHash: string;
  infoHashV2: string | null;
  name: string | null;
  setLabel: string | null;
  /** Null until a magnet link's metadata is known. */
  pieces: number | null;
  pieceSize: number | null;
  totalSize: number | null;
  trackers: string[];
  source: string;
}

/** One collection step (announce, lookup, listener interval, peers file), a row of `requests`. */
export interface RequestLog {
  torrentId: number | null;
  kind: PeerSource;
  url: string | null;
  startedAt: number; // ms since epoch
  durationMs: number;
  received: number;
  new: number;
  duplicates: number;
  /** Addresses named that the address policy kept from the queue (special-purpose, excluded, port 0, malformed). */
  skipped: number;
  error: string | null;
}

/** Tracker scrape numbers, a row of `scrapes`. */
export interface ScrapeLog {
  torrentId: number;
  tracker: string;
  at: number; // ms since epoch
  seeders: number | null;
  leechers: number | null;
  downloaded: number | null;
}

/** first: the first contact attempt of a peer in this run; later: any further attempt; incoming: inbound; watch: what a watched connection read (src/evaluator/watch.ts). */
export type ContactEvent = 'first' | 'later' | 'incoming' | 'watch';

/**
 * Why a contact ended. `success` means the peer completed the handshake and we read its state
 * (even if it then went quiet); everything else is a failure, counted in `outcomes`.
 */
export type ContactReason =
  | 'success'
  | 'timeout' // no TCP connection or no handshake within connectTimeout
  | 'refused'
  | 'reset'
  | 'unreachable'
  | 'closed-early' // closed before its handshake was complete
  | 'no-state' // handshake done, but the peer sent no bitfield/have_all/have_none/have before going quiet or closing
  | 'unknown-protocol'
  | 'wrong-info-hash'
  | 'unknown-info-hash' // inbound: a hash we do not measure
  | 'bad-message'
  | 'stopped' // the crawl stopped (--stop-grace ran out) before the peer's state was read
  | 'other-shard' // inbound, --shard: the peer's advertised endpoint belongs to another host, which records it
  | 'error';

/** What one finished contact with a peer tells (outgoing or incoming). */
export interface ContactResult {
  torrentId: number;
  ip: string;
  port: number;
  event: ContactEvent;
  reason: ContactReason;
  startedAt: number; // ms since epoch, when the connect began
  endedAt: number;
  /** Pieces in the state the contact opened with (bitfield/have_all/have_none + haves within the opening grace). */
  openingPieces: number | null;
  /** When the opening state was read. */
  openedAt: number | null;
  /** Pieces at the end of the contact. */
  endPieces: number | null;
  /** When the state first reached the threshold during this contact, if it opened below it. */
  crossedAt: number | null;
  /** Pieces at that moment. */
  crossedPieces: number | null;
  /** The extension handshake said `upload_only` (BEP 21: a seed, or a partial seed that wants nothing more). */
  uploadOnly: boolean;
  /** The extension handshake's `complete_ago` (libtorrent): seconds since the peer last saw a complete copy (its own completion, or a peer finishing in front of it), when it says. */
  completeAgo: number | null;
  peerId: Uint8Array | null;
  /** Extension handshake `v`. */
  clientVersion: string | null;
  /** Extension handshake `p`. */
  listenPort: number | null;
  /** Longest wait for one message during the contact, ms (thesis figure 5.1). */
  longestWaitMs: number;
  messages: number;
  /** A `port` message (BEP 5): the peer's DHT node port. */
  dhtPort: number | null;
  /** The contact spoke MSE/PE (the encrypted handshake) with the peer. */
  encrypted: boolean;
  /** Peers the peer told us about in ut_pex messages (BEP 11), when any; `flags`: their `added.f` byte, when given. */
  pexPeers: { ip: string; port: number; flags?: number }[] | null;
}
