// A scheduled run resumes the peers earlier runs measured (README "Scheduled runs"): every latest session
// whose address the database holds (--store-ip) joins the queue, as its last contact left it. The load runs
// in slices beside the crawl (the scheduler takes the first peers while the rest still load), so a database
// of a million known peers delays the first contact by milliseconds, not by the whole load.
import type { AddressPolicy } from '../collectors/address-policy.ts';
import type { DueQueue } from '../queue/due-queue.ts';
import type { Shard } from '../queue/shard.ts';
import type { Logger } from '../log.ts';
import type { Database } from '../store/database.ts';
import { KnownPeerPages } from '../store/known-peers.ts';
import type { TorrentFacts } from '../store/result-writer.ts';
import type { PeerSource } from '../types.ts';
import { SOURCE_BITS } from '../queue/due-queue.ts';
import { isOwnAddress } from './own-address.ts';

/** Ids per page: a page is read in a few milliseconds. */
const PAGE_IDS = 4096;
/**
 * How long the load holds the event loop before it lets contacts, timers and the writer run: as long as they
 * took since the last slice (the load gets about half of the main thread while contacts run, all of it
 * when idle), within these bounds (the longest stall stays far below the 100 ms the README allows).
 */
const SLICE_MIN_MS = 10;
const SLICE_MAX_MS = 40;

export interface ResumeInputs {
  db: Database;
  queue: DueQueue;
  /** The torrents this run dials, by id (read as the load goes: a magnet resolved meanwhile joins). */
  torrents: ReadonlyMap<number, TorrentFacts>;
  /** What this run may dial, as for a collector's addresses (crawl.ts addPeers): the address policy, never our
   *  own listener (`ownPort`), only its --shard share (by the torrents' info hashes). */
  policy: AddressPolicy;
  ownPort: number;
  shard: Shard | null;
  infoHashes: ReadonlyMap<number, string>;
  /** A peer seen less than this long ago waits until then (--revisit-delay), as within one run. */
  revisitDelayMs: number;
  /** Set when the crawl stops: the load stops at the next slice. */
  signal: AbortSignal;
  /** Told how many were resumed, or in one line why the load stopped (the crawl goes on with what it has). */
  log: Logger;
  now?: () => number;
}

export interface ResumeCounts {
  /** Sessions read from the database. */
  read: number;
  /** Joined the queue. */
  queued: number;
  /** Not dialled by this run: another torrent set, the address policy, another shard, or known already. */
  skipped: number;
  /** Milliseconds from the start of the load to its end. */
  ms: number;
  /** Why the load stopped before the end (a database error), or null. */
  error: string | null;
}

/** Loads the known peers into the queue in slices; resolves when all are read or the signal is set. */
export function resumeKnownPeers(inputs: ResumeInputs): Promise<ResumeCounts> {
  const { queue, torrents, policy, ownPort, shard, infoHashes, revisitDelayMs, signal } = inputs;
  const admit = (torrentId: number, ip: string, port: number): boolean => policy.mayDial(ip, port) &&
    !(port === ownPort && isOwnAddress(ip)) && (shard === null || shard.owns(infoHashes.get(torrentId) ?? '', ip, port));
  const now = inputs.now ?? Date.now;
  const startedAt = now();
  const { log } = inputs;
  const counts: ResumeCounts = { read: 0, queued: 0, skipped: 0, ms: 0, error: null };
  const sourcesOf = new SourceBits();
  let afterId = 0;

  let pages: KnownPeerPages;
  let lastEnd = performance.now();
  const slice = (): boolean => {
    pages ??= new KnownPeerPages(inputs.db);
    const start = performance.now();
    const sliceEnd = start + Math.min(SLICE_MAX_MS, Math.max(SLICE_MIN_MS, start - lastEnd));
    while (afterId < pages.lastId) {
      const rows = pages.next(afterId, PAGE_IDS);
      afterId = pages.advance(afterId, PAGE_IDS);
      const at = now();
      for (const [, torrentId, ip, port, sources, encrypted, visits, lastPieces, lastSeen, listenPort] of rows) {
        counts.read++;
        const facts = torrents.get(torrentId);
        // a session known only from its inbound contact, with no listen port, was at an ephemeral port: not dialable
        const dialable = sources !== 'incoming' || listenPort === port;
        if (facts === undefined || !dialable || !admit(torrentId, ip, port)) {
          counts.skipped++;
          continue;
        }
        const source = sourcesOf.get(sources);
        const seen = lastSeen === null ? NaN : Date.parse(lastSeen);
        const dueAt = seen + revisitDelayMs > at ? seen + revisitDelayMs : at;
        const seed = lastPieces !== null && facts.thresholdPieces !== null && lastPieces >= facts.thresholdPieces;
        const how = visits === 0 ? null : encrypted === 1;
        if (queue.addKnown(torrentId, ip, port, source.bits, source.first, dueAt, seed, how)) counts.queued++;
        else counts.skipped++;
      }
      if (performance.now() >= sliceEnd) {
        lastEnd = performance.now();
        return false;
      }
    }
    return true;
  };

  return new Promise((resolve) => {
    const step = () => {
      let done: boolean;
      try {
        done = signal.aborted || slice();
      } catch (err) {
        counts.error = (err as Error).message;
        done = true;
      }
      if (!done) {
        setImmediate(step);
        return;
      }
      counts.ms = now() - startedAt;
      if (counts.error !== null) log.warn(`cannot resume the known peers after ${counts.read} of them: ${counts.error}`);
      else if (counts.read > 0) log.info(`resumed ${counts.queued} known peers of ${counts.read} in the database (${(counts.ms / 1000).toFixed(1)} s)`);
      resolve(counts);
    };
    step();
  });
}

/** Source bits of a `sources` comma list, parsed once per distinct list (there are few). */
class SourceBits {
  private readonly cache = new Map<string, { bits: number; first: PeerSource }>();

  get(list: string): { bits: number; first: PeerSource } {
    let hit = this.cache.get(list);
    if (hit === undefined) {
      let bits = 0;
      let first: PeerSource | undefined;
      for (const name of list.split(',')) {
        const bit = SOURCE_BITS[name as PeerSource];
        if (bit === undefined) continue;
        bits |= bit;
        first ??= name as PeerSource;
      }
      // an empty list (a row of an older btda): counted as a file source, like an unknown one in the queue
      hit = { bits: bits || SOURCE_BITS.file, first: first ?? 'file' };
      this.cache.set(list, hit);
    }
    return hit;
  }
}
