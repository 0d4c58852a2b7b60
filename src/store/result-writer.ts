// The one writer of measurements. Results are buffered in memory and written at most every
// `flushIntervalMs` (so a crash loses at most that much), with plain prepared statements bound by
// position (named parameters cost a property lookup per column per row): this is the hot path, drizzle
// is used for the schema and the cold queries only.
//
// The timed flush never blocks the event loop for long: it writes for at most SLICE_MS per
// transaction and continues on the next turn of the loop (setImmediate) until the buffer is empty, and
// a large buffer (a tracker or peers file reporting many peers at once) starts it before the interval
// is up. `flush()` and `close()` still write everything at once.
import type Sqlite from 'better-sqlite3';
import { bytesPerSecond, defaultConfig } from '../config.ts';
import type { ContactResult, PeerSource, RequestLog, ScrapeLog } from '../types.ts';
import type { Database } from './database.ts';
import type { Geolocator } from './geolocation.ts';
import type { AddressHasher } from './peer-identity.ts';
import { PeerDescriber } from './peer-description.ts';
import { FirstAttempts } from './first-attempts.ts';
import { SessionWriter, type CrossingCounts, type TorrentFacts } from './session-writer.ts';
import { mergeSourcesSql } from './sources.ts';
import { isoTime } from './time.ts';
import { DiscoveryBuffer, dropFirst, IsoClock, RowBuffer } from './write-buffers.ts';

export { IsoClock };

export type { TorrentFacts, CrossingCounts };

/** Longest one timed-flush transaction runs before yielding to the event loop. */
const SLICE_MS = 16;
/** Buffered rows that start a timed flush before the interval is up (bounds memory and slice count). */
const EARLY_FLUSH_ROWS = 1024;

export interface StatisticsRow {
  at: number;
  queue: number;
  inFlight: number;
  evaluations: number;
  successes: number;
  incoming: number;
  peersKnown: number;
  rssMb: number;
  loadAverage: number | null;
  /** The watch (src/evaluator/watch-pool.ts): connections open now, and since the run started: peers watched,
   *  crossings read while watched, watched peers that left before crossing, candidates that found the budget
   *  full, seconds the budget was full. */
  watching?: number;
  watched?: number;
  watchCrossed?: number;
  watchLeft?: number;
  watchFull?: number;
  watchFullS?: number;
}

export interface ResultWriterOptions {
  runId: number;
  hasher: AddressHasher;
  geo: Geolocator;
  /** Keep raw IP addresses (--store-ip). */
  storeIp: boolean;
  /** Most milliseconds a result waits in memory (0 = the caller flushes). */
  flushIntervalMs: number;
  /** When the run started (ms; default: now): a dual-stack twin must have been seen since. */
  runStartedAt?: number;
  /** Bytes per second above which a crossing is suspect (--suspect-rate; default that of the config). */
  maxRate?: number;
  /** Called when a flush fails (disk full, read-only file); the rows stay buffered. */
  onError?: (err: Error) => void;
}

interface ContactRow {
  result: ContactResult;
  source: PeerSource | null;
  torrent: TorrentFacts;
}

export class ResultWriter {
  private readonly discoveries = new DiscoveryBuffer();
  private readonly contacts = new RowBuffer<ContactRow>();
  private requests: RequestLog[] = [];
  private scrapes: ScrapeLog[] = [];
  private stats: StatisticsRow[] = [];
  private outcomes = new Map<string, number>();
  /** Longest wait for one message per successful contact, whole seconds → contacts (thesis fig. 5.1). */
  private waits = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The next slice of a timed flush, when one is under way. */
  private slice: NodeJS.Immediate | undefined;
  private readonly stmt: ReturnType<typeof prepare>;
  private readonly writeTransaction: (deadline: number) => Written;
  private readonly iso = new IsoClock();
  private readonly describe: PeerDescriber;
  private readonly sessions: SessionWriter;
  private readonly firstAttempts: FirstAttempts;
  /** Rows written since the writer was created. */
  written = 0;

  constructor(
    private readonly db: Database,
    private readonly opts: ResultWriterOptions,
  ) {
    this.stmt = prepare(db.sqlite);
    this.describe = new PeerDescriber(opts.hasher, opts.geo, opts.storeIp);
    this.firstAttempts = new FirstAttempts(db.sqlite, isoTime(opts.runStartedAt ?? Date.now()), this.iso);
    this.sessions = new SessionWriter(db.sqlite, opts.runId, isoTime(opts.runStartedAt ?? Date.now()), this.describe,
      this.iso, opts.maxRate ?? bytesPerSecond(defaultConfig.suspectRate));
    this.writeTransaction = db.sqlite.transaction((deadline: number) => this.writeBuffered(deadline));
    if (opts.flushIntervalMs > 0) {
      this.timer = setInterval(() => {
        if (this.slice === undefined) this.flushTimed();
      }, opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Crossings recorded so far by this writer, per class: what the live counter shows. */
  get crossings(): Readonly<CrossingCounts> {
    return this.sessions.crossings;
  }

  get pending(): number {
    return this.discoveries.size + this.contacts.size + this.requests.length + this.scrapes.length +
      this.stats.length + this.outcomes.size + this.waits.size;
  }

  peerDiscovered(torrentId: number, ip: string, port: number, source: PeerSource, at: number): void {
    if (this.discoveries.push(torrentId, ip, port, source, at) >= EARLY_FLUSH_ROWS) this.flushSoon();
  }

  /**
   * A finished contact: counted as an outcome; merged into its session when it read a state. A run's first
   * attempt at a peer is counted when it is written: only then is it known whether an earlier run had
   * attempted the address:port already (event `later`, not `first`: thesis table 5.7, first contact ever).
   */
  contact(result: ContactResult, source: PeerSource | null, torrent: TorrentFacts): void {
    const first = result.event === 'first' && result.torrentId >= 0;
    // a watch segment (watch.ts) is part of the contact it continues: no outcome or wait of its own
    if (!first && result.event !== 'watch') countOutcome(this.outcomes, this.waits, result, result.event);
    if (first || (result.reason === 'success' && result.openingPieces !== null && result.torrentId >= 0)) {
      if (this.contacts.push({ result, source, torrent }) >= EARLY_FLUSH_ROWS) this.flushSoon();
    }
  }

  outcome(torrentId: number, event: string, reason: string, count = 1): void {
    const key = `${torrentId}\t${event}\t${reason}`;
    this.outcomes.set(key, (this.outcomes.get(key) ?? 0) + count);
  }

  request(entry: RequestLog): void {
    this.requests.push(entry);
  }

  scrape(entry: ScrapeLog): void {
    this.scrapes.push(entry);
  }

  statistics(row: StatisticsRow): void {
    this.stats.push(row);
  }

  /** Writes everything buffered in one transaction. Returns false (and keeps the rows) on failure. */
  flush(): boolean {
    if (this.pending === 0) return true;
    return this.write(Infinity) !== 'failed';
  }

  /** Final flush; stops the timer. */
  close(): boolean {
    clearInterval(this.timer);
    this.timer = undefined;
    clearImmediate(this.slice);
    this.slice = undefined;
    return this.flush();
  }

  /** Starts a timed flush on the next turn of the event loop unless one is under way. */
  private flushSoon(): void {
    if (this.opts.flushIntervalMs > 0 && this.slice === undefined && this.timer !== undefined) {
      this.slice = setImmediate(this.flushTimed);
    }
  }

  /** One slice of a timed flush: at most SLICE_MS of writing, then the rest on the next turn. */
  private readonly flushTimed = (): void => {
    this.slice = undefined;
    if (this.pending === 0) return;
    if (this.write(performance.now() + SLICE_MS) === 'more' && this.timer !== undefined) {
      this.slice = setImmediate(this.flushTimed);
    }
  };

  /** One transaction; rows leave the buffer only once it has committed. */
  private write(deadline: number): 'done' | 'more' | 'failed' {
    let w: Written;
    try {
      w = this.writeTransaction(deadline);
    } catch (err) {
      this.opts.onError?.(err as Error);
      return 'failed';
    }
    this.discoveries.drop(w.discoveries);
    this.contacts.drop(w.contacts);
    this.requests = dropFirst(this.requests, w.requests);
    this.scrapes = dropFirst(this.scrapes, w.scrapes);
    this.stats = dropFirst(this.stats, w.stats);
    if (w.outcomes) {
      this.outcomes.clear();
      this.waits.clear();
    } else {
      // first contacts counted in this transaction but not yet written as outcome rows
      mergeCounts(this.outcomes, w.outcomeDelta);
      mergeCounts(this.waits, w.waitDelta);
    }
    this.written += w.discoveries + w.contacts + w.requests + w.scrapes + w.stats + w.outcomeRows;
    return this.pending === 0 ? 'done' : 'more';
  }

  /**
   * Writes the buffered rows in order (discoveries before the contacts that follow them) until
   * `deadline` (monotonic ms; checked every few rows) and returns how many of each were written.
   * The buffers are not touched here: the transaction may still fail to commit.
   */
  private writeBuffered(deadline: number): Written {
    const { runId } = this.opts;
    const s = this.stmt;
    const iso = this.iso;
    const w: Written = {
      discoveries: 0, contacts: 0, requests: 0, scrapes: 0, stats: 0, outcomes: false, outcomeRows: 0, outcomeDelta: new Map(), waitDelta: new Map(),
    };
    const timeUp = (n: number) => (n & 31) === 31 && performance.now() >= deadline;

    const d = this.discoveries;
    for (let i = d.head; i < d.ip.length; i++) {
      const a = this.describe.address(d.ip[i]);
      s.discover.run(d.torrentId[i], a.address, a.addressKey, a.ip, d.port[i], d.source[i], iso.format(d.at[i]), a.country, a.continent, a.city);
      w.discoveries++;
      if (timeUp(w.discoveries)) return w;
    }
    const contacts = this.contacts.rows;
    for (let i = this.contacts.head; i < contacts.length; i++) {
      const { result: r, source, torrent } = contacts[i];
      // a run's first attempt: the session writer tells first ever from later (it looks the address:port up
      // anyway); a contact that read no state asks FirstAttempts
      if (r.reason === 'success' && r.openingPieces !== null) {
        const event = this.sessions.write(r, source, torrent);
        if (r.event === 'first') countOutcome(w.outcomeDelta, w.waitDelta, r, event);
      } else if (r.event === 'first') {
        countOutcome(w.outcomeDelta, w.waitDelta, r, this.firstAttempts.classify(r, this.opts.hasher.hash(r.ip)));
      }
      w.contacts++;
      if (timeUp(w.discoveries + w.contacts)) return w;
    }
    for (const q of this.requests) {
      s.request.run(runId, q.torrentId, q.kind, q.url, isoTime(q.startedAt), Math.round(q.durationMs), q.received, q.new, q.duplicates, q.skipped, q.error);
      w.requests++;
    }
    for (const q of this.scrapes) {
      s.scrape.run(runId, q.torrentId, q.tracker, isoTime(q.at), q.seeders, q.leechers, q.downloaded);
      w.scrapes++;
    }
    for (const q of this.stats) {
      s.statistics.run(runId, isoTime(q.at), q.queue, q.inFlight, q.evaluations, q.successes, q.incoming, q.peersKnown, q.rssMb, q.loadAverage,
        q.watching ?? 0, q.watched ?? 0, q.watchCrossed ?? 0, q.watchLeft ?? 0, q.watchFull ?? 0, q.watchFullS ?? 0);
      w.stats++;
    }
    mergeCounts(w.outcomeDelta, this.outcomes);
    mergeCounts(w.waitDelta, this.waits);
    for (const [key, count] of w.outcomeDelta) {
      const [torrentId, event, reason] = key.split('\t');
      s.outcome.run(runId, Number(torrentId), event, reason, count);
      w.outcomeRows++;
    }
    for (const [key, count] of w.waitDelta) {
      const [torrentId, event, waitS] = key.split('\t');
      s.wait.run(runId, Number(torrentId), event, Number(waitS), count);
      w.outcomeRows++;
    }
    w.outcomes = true;
    return w;
  }
}

/** How many rows of each buffer one transaction wrote (all outcomes and waits, or none). */
interface Written {
  discoveries: number;
  contacts: number;
  requests: number;
  scrapes: number;
  stats: number;
  outcomes: boolean;
  outcomeRows: number;
  /** Outcomes and waits of first contacts counted in this transaction (with the pending ones once all are written). */
  outcomeDelta: Map<string, number>;
  waitDelta: Map<string, number>;
}

/** Counts a contact's outcome (and, for a success, its longest wait) under `event`. */
function countOutcome(outcomes: Map<string, number>, waits: Map<string, number>, r: ContactResult, event: string): void {
  const key = `${r.torrentId}\t${event}\t${r.reason}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  if (r.reason === 'success') {
    const wait = `${r.torrentId}\t${event}\t${Math.round(r.longestWaitMs / 1000)}`;
    waits.set(wait, (waits.get(wait) ?? 0) + 1);
  }
}

function mergeCounts(into: Map<string, number>, from: Map<string, number>): void {
  for (const [k, n] of from) into.set(k, (into.get(k) ?? 0) + n);
}

function prepare(db: Sqlite.Database) {
  return {
    // a discovery names an address:port: it joins the newest session there (README "Who a peer is")
    discover: db.prepare(`
      INSERT INTO peers (torrent_id, address, address_key, ip, port, sources, discovered_at, country, continent, city)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (torrent_id, address_key, port) WHERE latest = 1 DO UPDATE SET
        sources = ${mergeSourcesSql('peers.sources', 'excluded.sources')},
        ip = coalesce(excluded.ip, peers.ip)`),
    request: db.prepare(`
      INSERT INTO requests (run_id, torrent_id, kind, url, started_at, duration_ms, received, new, duplicates, skipped, error)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    scrape: db.prepare(`
      INSERT INTO scrapes (run_id, torrent_id, tracker, at, seeders, leechers, downloaded)
      VALUES (?, ?, ?, ?, ?, ?, ?)`),
    statistics: db.prepare(`
      INSERT INTO statistics (run_id, at, queue, in_flight, evaluations, successes, incoming, peers_known, rss_mb, load_average,
        watching, watched, watch_crossed, watch_left, watch_full, watch_full_s)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    wait: db.prepare(`
      INSERT INTO contact_waits (run_id, torrent_id, event, wait_s, count) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run_id, torrent_id, event, wait_s) DO UPDATE SET count = contact_waits.count + excluded.count`),
    outcome: db.prepare(`
      INSERT INTO outcomes (run_id, torrent_id, event, reason, count) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT (run_id, torrent_id, event, reason) DO UPDATE SET count = outcomes.count + excluded.count`),
  };
}
