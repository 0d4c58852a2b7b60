// Wires the stages into one crawl: collectors → queue → evaluator → store, from one Config.
// Stops on the abort signal (SIGINT/SIGTERM in the CLI) or after config.duration, and always
// flushes what was measured before it returns.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname, loadavg } from 'node:os';
import type { Socket } from 'node:net';
import { bytesPerSecond, thresholdPieces, type Config } from '../config.ts';
import { AddressPolicy } from '../collectors/address-policy.ts';
import type { Collector, CollectorContext, PeerAddress } from '../collectors/collector.ts';
import { evaluateIncoming, type ContactTorrent } from '../evaluator/contact.ts';
import { ContactStop } from '../evaluator/contact-stop.ts';
import { Scheduler } from '../evaluator/scheduler.ts';
import { visitPeer } from '../evaluator/visit.ts';
import type { WatchStats } from '../evaluator/watch-pool.ts';
import type { Logger } from '../log.ts';
import { DueQueue, SOURCE_BITS, type QueuedPeer } from '../queue/due-queue.ts';
import { Shard } from '../queue/shard.ts';
import type { Database } from '../store/database.ts';
import { Geolocator } from '../store/geolocation.ts';
import { ResultWriter, type TorrentFacts } from '../store/result-writer.ts';
import { redactArgs } from '../store/pg/push.ts';
import { importTorrents } from '../torrents/import-torrents.ts';
import type { ContactResult, PeerSource, Torrent } from '../types.ts';
import { VERSION } from '../version.ts';
import { obfuscatedInfoHash } from '../wire/mse.ts';
import { PEX_PREFERS_ENCRYPTION, PEX_SEED } from '../wire/pex.ts';
import { buildCollectors } from './collectors.ts';
import { magnetResolverFor } from './magnets.ts';
import { isOwnAddress } from './own-address.ts';
import { openCrawlStore } from './pg-crawl.ts';
import { shareOtherShards } from './pull-peers.ts';
import { resumeKnownPeers } from './resume-peers.ts';
import { contactOptionsFor, queuePolicyFor, watchPoolFor } from './stage-options.ts';
import { unmapIPv4 } from '../wire/ip.ts';

export interface CrawlOptions {
  log: Logger;
  /** Aborting ends the crawl cleanly. */
  signal?: AbortSignal;
  /** The command line, stored in `runs.args`. */
  args?: string[];
  /** Called every second with live counters (progress display). */
  onProgress?: (p: CrawlProgress) => void;
}

export interface CrawlProgress {
  runId: number;
  elapsedMs: number;
  queued: number;
  inFlight: number;
  known: number;
  contacts: number;
  successes: number;
  failures: number;
  incoming: number;
  confirmed: number;
  /** Addresses the address policy kept from the queue (special-purpose, excluded, port 0, malformed). */
  skipped: number;
  /** The watch (src/evaluator/watch-pool.ts): connections open, peers watched, crossings read live, ... */
  watch?: WatchStats;
}

export interface CrawlSummary extends CrawlProgress {
  exitReason: string;
}

/** Our peer id: Azureus style, "-BD" + major and minor version as two digits each + "-" + 12 random bytes ("-BD0001-" for 0.1.x). */
export function makePeerId(): Buffer {
  const [major, minor] = VERSION.split('.').map((n) => Number(n) % 100);
  const prefix = `-BD${String(major).padStart(2, '0')}${String(minor).padStart(2, '0')}-`;
  return Buffer.concat([Buffer.from(prefix), randomBytes(12)]);
}

export async function runCrawl(config: Config, opts: CrawlOptions): Promise<CrawlSummary> {
  const { log } = opts;
  const startedAt = Date.now();
  // a bad --exclude file refuses to start before anything is locked or opened
  const policy = AddressPolicy.fromConfig(config);
  const shard = Shard.parse(config.shard);
  // everything that can refuse to start (GeoIP file, database, lock, key file) before the run row exists
  const geo = await Geolocator.open(config.geoipDb);
  const store = await openCrawlStore(config, log);
  const { db, hasher } = store;
  const runId = db.startRun({
    version: VERSION,
    args: redactArgs(JSON.stringify(opts.args ?? [])),
    host: hostname(),
    threshold: config.threshold,
    suspectRate: config.suspectRate,
    shard: shard?.label ?? null,
    startedAt,
  });
  let exitReason = 'completed';
  let fatal: Error | undefined;
  const stopController = new AbortController();
  const stopWith = (reason: string) => {
    if (!stopController.signal.aborted) {
      exitReason = reason;
      stopController.abort();
    }
  };

  importInputs(db, config, log);
  db.setThreshold(config.threshold);
  await store.started(runId); // a PostgreSQL crawl starts its first push (beside the contacts), then every --push-interval
  // `run --set A` measures set A only (and labels what it imports A)
  const torrents = db.torrents(config.setLabel);
  const contactTorrents = new Map<number, ContactTorrent>();
  const byHash = new Map<string, ContactTorrent>();
  /** HASH('req2', info hash) as hex → torrent: how an encrypted inbound handshake names its torrent. */
  const byObfuscatedHash = new Map<string, ContactTorrent>();
  /** What the writer needs per torrent, built once, not per contact. */
  const torrentFacts = new Map<number, TorrentFacts>();
  const registerContactTorrent = (t: Torrent & { pieces: number }): ContactTorrent => {
    const ct = {
      torrentId: t.id,
      infoHash: Buffer.from(t.infoHash, 'hex'),
      pieces: t.pieces,
      thresholdPieces: thresholdPieces(t.pieces, config.threshold),
    };
    contactTorrents.set(t.id, ct);
    byHash.set(t.infoHash, ct);
    byObfuscatedHash.set(obfuscatedInfoHash(ct.infoHash).toString('hex'), ct);
    torrentFacts.set(t.id, { pieceSize: t.pieceSize, thresholdPieces: ct.thresholdPieces });
    return ct;
  };
  for (const t of torrents) if (t.pieces !== null) registerContactTorrent({ ...t, pieces: t.pieces });
  log.info(`run ${runId}: ${torrents.length} torrents${config.setLabel ? ` of set ${config.setLabel}` : ''}, database ${store.label}`);
  // a new user's first `btda` in an empty folder: say why nothing happens rather than crawl nothing in silence
  if (torrents.length === 0) {
    log.warn(`no torrents to measure${config.setLabel ? ` in set ${config.setLabel}` : ''}: import some with btda add FILE|FOLDER|MAGNET, ` +
      `or put .torrent files in ${config.inputPath}/ and magnet links in ${config.magnetFile}`);
  }

  const writer = new ResultWriter(db, {
    runId,
    hasher,
    geo,
    storeIp: config.storeIp,
    flushIntervalMs: config.flushIntervalMs,
    runStartedAt: startedAt,
    maxRate: bytesPerSecond(config.suspectRate),
    onError: (err) => {
      fatal = new Error(`cannot write to ${store.label}: ${err.message}`);
      log.error(fatal.message);
      stopWith(`error: ${err.message}`);
    },
  });

  const queue = new DueQueue(queuePolicyFor(config));
  const counters = { contacts: 0, successes: 0, failures: 0, incoming: 0, skipped: 0 };
  const peerId = makePeerId();
  const contactStop = new ContactStop();
  const contactOptions = contactOptionsFor(config, peerId, contactStop);
  // what a watched connection reads is stored like a contact (event 'watch'), not counted as one
  const watchPool = watchPoolFor(config, contactOptions, (segment) => record(segment, null));

  let collectors: Collector[] = [];
  const onDhtNode = (host: string, port: number) => {
    if (!policy.mayDial(host, port)) return; // a PORT message is an address our DHT node would send to
    for (const c of collectors) (c as { addNode?: (h: string, p: number) => void }).addNode?.(host, port);
  };

  /** Stores a finished contact and counts it (the live `confirmed` is the writer's recorded crossings). */
  const record = (result: ContactResult, source: PeerSource | null): void => {
    const facts = torrentFacts.get(result.torrentId) ?? UNKNOWN_TORRENT;
    writer.contact(result, source, facts);
    if (result.event !== 'watch') {
      counters.contacts++;
      if (result.reason === 'success') counters.successes++;
      else counters.failures++;
    }
    if (result.dhtPort) onDhtNode(result.ip, result.dhtPort);
    if (result.pexPeers && result.torrentId >= 0) addPexPeers(result);
    if (config.debug) {
      log.debug(`contact ${result.event} ${result.ip}:${result.port} torrent ${result.torrentId}: ${result.reason}` +
        (result.endPieces !== null ? `, ${result.openingPieces} → ${result.endPieces} pieces` : ''));
    }
  };

  const scheduler = new Scheduler(queue, {
    active: config.active,
    contact: (peer: QueuedPeer) => visitPeer(peer, contactTorrents.get(peer.torrentId)!, contactOptions, queue, record, config.encryption),
  });

  // Peers of magnets whose metadata is unknown are stored and handed to the resolver, but not dialled.
  const undialled = new Set<string>();
  const resolver = magnetResolverFor({ config, log, peerId, db, queue, register: registerContactTorrent, record });
  for (const t of torrents) if (t.pieces === null) resolver.add(t);
  const infoHashes = new Map(torrents.map((t) => [t.id, t.infoHash]));
  /** Inbound peers' advertised addresses since the listener's last `requests` row: new, known, skipped by the policy. */
  const incomingCounts = { new: 0, duplicates: 0, skipped: 0 };
  const share = store.pull ? shareOtherShards(writer) : null; // --pull-interval: their owners pull them
  const ctx: CollectorContext = {
    // Every address any source names passes the address policy here, before the queue or the magnet resolver.
    addPeers: (torrentId: number, peers: PeerAddress[], source: PeerSource) => {
      let fresh = 0;
      let skipped = 0;
      const now = Date.now();
      const dial = contactTorrents.has(torrentId);
      const infoHash = shard ? infoHashes.get(torrentId) ?? '' : '';
      for (const named of peers) {
        if (!policy.mayDial(named.ip, named.port)) {
          skipped++;
          continue;
        }
        const p = { ip: unmapIPv4(named.ip), port: named.port }; // one key per host, however it was written
        // trackers list the announcing peer too: never queue our own listener
        if (p.port === config.port && isOwnAddress(p.ip)) continue;
        // --shard: another host dials it (counted with the duplicates: named, but not new work here)
        if (shard && !shard.owns(infoHash, p.ip, p.port)) {
          share?.(torrentId, p.ip, p.port, source, now);
          continue;
        }
        let isNew: boolean;
        let newSource = false;
        if (dial) {
          const before = queue.knownSources(torrentId, p.ip, p.port); // 0: not known yet
          newSource = before !== 0 && (before & SOURCE_BITS[source]) === 0;
          isNew = queue.add(torrentId, p.ip, p.port, source, now, named.flags) === 'new';
        } else {
          const key = DueQueue.key(torrentId, p.ip, p.port);
          isNew = !undialled.has(key);
          undialled.add(key);
          resolver.addPeers(torrentId, [p], source);
        }
        if (isNew) fresh++;
        // a new peer, or a known one reported by another source: the store keeps all sources
        if (isNew || newSource) writer.peerDiscovered(torrentId, p.ip, p.port, source, now);
      }
      counters.skipped += skipped;
      const duplicates = peers.length - fresh - skipped;
      if (source === 'incoming') {
        incomingCounts.new += fresh;
        incomingCounts.duplicates += duplicates;
        incomingCounts.skipped += skipped;
      }
      return { new: fresh, duplicates, skipped };
    },
    logRequest: (entry) => {
      // the listener's interval row also counts what the inbound peers' advertised ports were (handleIncoming):
      // new to the queue, known already, or skipped by the address policy
      if (entry.kind === 'incoming') {
        entry = { ...entry, new: entry.new + incomingCounts.new, duplicates: entry.duplicates + incomingCounts.duplicates,
          skipped: entry.skipped + incomingCounts.skipped };
        incomingCounts.new = incomingCounts.duplicates = incomingCounts.skipped = 0;
      }
      writer.request(entry);
    },
    logScrape: (entry) => writer.scrape(entry),
    log,
    now: Date.now,
  };

  /** Peers a peer told us about (ut_pex) join the queue like any collector's, logged as one request. */
  const addPexPeers = (result: ContactResult) => {
    const peers = result.pexPeers!;
    const { new: fresh, duplicates, skipped } = ctx.addPeers(result.torrentId, peers, 'pex');
    writer.request({
      torrentId: result.torrentId, kind: 'pex', url: null, startedAt: result.startedAt, durationMs: result.endedAt - result.startedAt,
      received: peers.length, new: fresh, duplicates, skipped, error: null,
    });
  };

  /**
   * --shard: an inbound peer is recorded only by the host that owns its advertised endpoint (address and
   * listen port, else port 0), which dials it too; recorded by every host it happens to dial, one client
   * would be a session per host in a shared database, and could count as a download on each.
   */
  const otherShards = (r: ContactResult) => shard !== null && r.reason === 'success' && r.torrentId >= 0 &&
    !shard.owns(infoHashes.get(r.torrentId) ?? '', r.ip, r.listenPort ?? 0);

  const handleIncoming = async (socket: Socket) => {
    counters.incoming++;
    const result = await evaluateIncoming(socket, (hash) => byHash.get(hash), contactOptions,
      config.encryption === 'off' ? undefined : (hash) => byObfuscatedHash.get(hash));
    record(otherShards(result) ? { ...result, reason: 'other-shard' } : result, 'incoming');
    if (result.torrentId >= 0 && result.listenPort) {
      // what it showed of itself, as PEX flags: a peer that dialled encrypted is opened encrypted, a seed waits behind leechers
      const seed = result.uploadOnly || (result.endPieces ?? -1) >= (torrentFacts.get(result.torrentId)?.thresholdPieces ?? Infinity);
      const flags = (seed ? PEX_SEED : 0) | (result.encrypted ? PEX_PREFERS_ENCRYPTION : 0);
      ctx.addPeers(result.torrentId, [{ ip: result.ip, port: result.listenPort, flags }], 'incoming');
    }
  };

  collectors = buildCollectors(config, { torrents, peerId, handleIncoming, log, policy });
  store.pull?.start({ addPeers: ctx.addPeers, infoHashes, writer, signal: stopController.signal }); // other hosts' finds of our shard
  const statisticsRow = () => {
    const w = watchPool.stats();
    writer.statistics({
      at: Date.now(),
      queue: queue.queued,
      inFlight: scheduler.active,
      evaluations: counters.contacts,
      successes: counters.successes,
      incoming: counters.incoming,
      peersKnown: queue.known,
      rssMb: process.memoryUsage.rss() / 1048576,
      loadAverage: loadavg()[0],
      watching: w.watching,
      watched: w.watched,
      watchCrossed: w.crossed,
      watchLeft: w.left,
      watchFull: w.fullOffers,
      watchFullS: Math.round(w.fullMs / 1000),
    });
  };
  const statsTimer = setInterval(statisticsRow, config.statsInterval * 1000);
  statsTimer.unref();

  const progress = (): CrawlProgress => ({
    runId,
    elapsedMs: Date.now() - startedAt,
    queued: queue.queued,
    inFlight: scheduler.active,
    known: queue.known,
    ...counters,
    // the one definition: crossings the writer has recorded (written within --flush-interval)
    confirmed: writer.crossings.confirmed,
    watch: watchPool.stats(),
  });
  // A referenced timer: it also keeps the process alive while the crawl waits for its end (with nothing
  // else scheduled, Node would exit with an unsettled await).
  const progressTimer = setInterval(() => opts.onProgress?.(progress()), 1000);

  const onAbort = () => stopWith(opts.signal?.reason instanceof Error ? 'aborted' : String(opts.signal?.reason ?? 'aborted'));
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const durationTimer = config.duration > 0 ? setTimeout(() => stopWith('completed'), config.duration * 1000) : undefined;

  try {
    if (config.active > 0) scheduler.start();
    resolver.start();
    // the peers earlier runs measured, loaded beside the first contacts (cli/resume-peers.ts)
    void resumeKnownPeers({ db, queue, torrents: torrentFacts, policy, ownPort: config.port, shard, infoHashes, revisitDelayMs: config.revisitDelay * 1000,
      signal: stopController.signal, log });
    for (const c of collectors) {
      try {
        await c.start(ctx);
      } catch (err) {
        if (c.name === 'incoming') throw err; // the user asked for the listener: a taken port is fatal
        log.warn(`${c.name}: ${(err as Error).message}`);
      }
    }
    if (!stopController.signal.aborted) {
      await new Promise<void>((resolve) => stopController.signal.addEventListener('abort', () => resolve(), { once: true }));
    }
  } catch (err) {
    fatal = err as Error;
    exitReason = `error: ${fatal.message}`;
  } finally {
    stopWith(exitReason); // (after an error) ends what waits on the stop signal, the resume's load too
    clearTimeout(durationTimer);
    clearInterval(statsTimer);
    clearInterval(progressTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    resolver.stop();
    const drained = scheduler.stop(); // no new outgoing contacts from here on
    watchPool.stopAll(); // each watch stores what it read and closes
    // The contacts in flight, outgoing and inbound, get --stop-grace, then are cut short (what they read
    // is kept; the rest count as `stopped`) before the listener closes its sockets.
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([contactStop.whenIdle(), new Promise((resolve) => (graceTimer = setTimeout(resolve, config.stopGrace * 1000)))]);
    clearTimeout(graceTimer);
    contactStop.cutShortAll();
    await Promise.allSettled(collectors.map((c) => c.stop()));
    await drained;
    watchPool.stopAll(); // contacts that ended during the grace were not handed over; nothing is left open
    statisticsRow(); // the run's last row: its watch counters are the run's totals
    const flushed = writer.close();
    try {
      db.endRun(runId, flushed ? exitReason : `${exitReason}; results not written`, Date.now());
    } catch (err) {
      log.error(`cannot record the end of run ${runId}: ${(err as Error).message}`);
    }
    await store.finish(); // a PostgreSQL crawl pushes what is left
  }
  if (fatal) throw fatal;
  return { ...progress(), exitReason };
}

/** Facts of a torrent we do not evaluate (an inbound peer asked for an unknown hash). */
const UNKNOWN_TORRENT: TorrentFacts = Object.freeze({ pieceSize: null, thresholdPieces: null });

function importInputs(db: Database, config: Config, log: Logger): void {
  const inputs = [config.inputPath, config.magnetFile].filter((p) => p && existsSync(p));
  if (inputs.length === 0) return;
  const report = importTorrents(db, inputs, config.setLabel ?? null);
  if (report.added.length > 0) log.info(`imported ${report.added.length} torrents from ${inputs.join(', ')}`);
  for (const e of report.errors) log.warn(`cannot import ${e.source}: ${e.message}`);
}

export type { Torrent };
