// btda's contact pipeline as src/cli/crawl.ts wires it (DueQueue → Scheduler → visitPeer → record →
// ResultWriter, the watch offered every outgoing contact, the same calls in the same order), without the collectors, so a benchmark can hand
// it a known list of peers and time it until the last result is in the database.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressPolicy } from '../../src/collectors/address-policy.ts';
import { defaultConfig, thresholdPieces, type Config } from '../../src/config.ts';
import type { ContactTorrent } from '../../src/evaluator/contact.ts';
import { visitPeer } from '../../src/evaluator/visit.ts';
import { makePeerId } from '../../src/cli/crawl.ts';
import { contactOptionsFor, queuePolicyFor, watchPoolFor } from '../../src/cli/stage-options.ts';
import { Scheduler } from '../../src/evaluator/scheduler.ts';
import { DueQueue, type QueuedPeer } from '../../src/queue/due-queue.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import type { ContactResult, PeerSource } from '../../src/types.ts';
import type { SwarmTorrent } from './swarm-simulator.ts';

export interface PipelineOptions {
  torrents: SwarmTorrent[];
  active: number;
  config?: Partial<Config>;
  /** Database file; default a fresh temporary one, removed by close(). */
  dbPath?: string;
  /** Sees every result after it was recorded. */
  onResult?: (r: ContactResult) => void;
  /** Diagnostic: results are not handed to the ResultWriter (shows what the writer costs). */
  skipWriter?: boolean;
}

export interface PeerToAdd {
  torrentIndex: number;
  ip: string;
  port: number;
}

export interface Pipeline {
  db: Database;
  queue: DueQueue;
  scheduler: Scheduler;
  writer: ResultWriter;
  torrentIds: number[];
  counters: { contacts: number; successes: number; failures: number; confirmed: number; reasons: Map<string, number> };
  /** Adds peers the way crawl.ts's addPeers does (queue + a discovered row each). */
  addPeers(peers: PeerToAdd[], source?: PeerSource): number;
  start(): void;
  /** Resolves once `n` contacts have ended (or rejects after `limitMs`). */
  contactsReached(n: number, limitMs: number): Promise<void>;
  /** Stops the scheduler, writes everything, closes the database. Returns the ms the final flush took. */
  stop(): Promise<{ flushMs: number; flushed: boolean }>;
  close(): void;
}

export async function createPipeline(opts: PipelineOptions): Promise<Pipeline> {
  // the swarm is on 127.77.0.0/16: loopback, dialled only because it is allowed (as tests and the demo do)
  const config: Config = { ...defaultConfig, allow: ['127.0.0.0/8'], ...opts.config, active: opts.active };
  const policy = AddressPolicy.fromConfig(config);
  const dir = opts.dbPath ? null : mkdtempSync(join(tmpdir(), 'btda-bench-'));
  const dbPath = opts.dbPath ?? join(dir!, 'bench.sqlite');
  const db = Database.open(dbPath);
  const runId = db.startRun({ version: 'bench', args: '[]', host: 'bench', threshold: config.threshold, startedAt: Date.now() });
  const torrentIds: number[] = [];
  for (const t of opts.torrents) {
    const added = db.addTorrent(
      { infoHash: t.infoHash, infoHashV2: null, name: `bench-${t.infoHash.slice(0, 8)}`, pieces: t.pieces, pieceSize: 262_144, totalSize: t.pieces * 262_144, trackers: [] },
      'bench', 'bench', Date.now(),
    );
    torrentIds.push(added!.id);
  }
  db.setThreshold(config.threshold);
  const torrents = db.torrents();
  const byId = new Map(torrents.map((t) => [t.id, t]));
  const contactTorrents = new Map<number, ContactTorrent>();
  for (const t of torrents) {
    contactTorrents.set(t.id, {
      torrentId: t.id,
      infoHash: Buffer.from(t.infoHash, 'hex'),
      pieces: t.pieces!,
      thresholdPieces: thresholdPieces(t.pieces!, config.threshold),
    });
  }

  const writer = new ResultWriter(db, {
    runId,
    hasher: new AddressHasher(randomBytes(32)),
    geo: await Geolocator.open(''),
    storeIp: config.storeIp,
    flushIntervalMs: config.flushIntervalMs,
    onError: (err) => console.error(`bench: write failed: ${err.message}`),
  });
  const queue = new DueQueue(queuePolicyFor(config));
  const contactOptions = contactOptionsFor(config, makePeerId());
  // the watch as crawl.ts wires it: every outgoing contact is offered to it (config.watch, unset: 2 x active)
  const watchPool = watchPoolFor(config, contactOptions, (segment) => record(segment, null));
  const counters = { contacts: 0, successes: 0, failures: 0, confirmed: 0, reasons: new Map<string, number>() };
  let waiter: { n: number; resolve: () => void } | null = null;

  // crawl.ts's record(), plus a per-reason tally for the report
  const record = (result: ContactResult, source: PeerSource | null): void => {
    const torrent = byId.get(result.torrentId);
    if (!opts.skipWriter) writer.contact(result, source, {
      pieceSize: torrent?.pieceSize ?? null,
      thresholdPieces: contactTorrents.get(result.torrentId)?.thresholdPieces ?? null,
    });
    if (result.event === 'watch') return; // a watch segment is stored, not counted as a contact (as in crawl.ts)
    counters.contacts++;
    if (result.reason === 'success') counters.successes++;
    else counters.failures++;
    if (result.crossedAt !== null) counters.confirmed++;
    counters.reasons.set(result.reason, (counters.reasons.get(result.reason) ?? 0) + 1);
    opts.onResult?.(result);
    if (waiter && counters.contacts >= waiter.n) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
  };

  // the crawl's visit of a peer, as crawl.ts runs it
  const scheduler = new Scheduler(queue, {
    active: config.active,
    contact: (peer: QueuedPeer) => visitPeer(peer, contactTorrents.get(peer.torrentId)!, contactOptions, queue, record, config.encryption),
  });

  return {
    db,
    queue,
    scheduler,
    writer,
    torrentIds,
    counters,
    addPeers(peers, source = 'file') {
      let fresh = 0;
      const now = Date.now();
      for (const p of peers) {
        if (!policy.mayDial(p.ip, p.port)) continue;
        const torrentId = torrentIds[p.torrentIndex];
        if (queue.add(torrentId, p.ip, p.port, source, now) === 'new') {
          fresh++;
          writer.peerDiscovered(torrentId, p.ip, p.port, source, now);
        }
      }
      return fresh;
    },
    start: () => scheduler.start(),
    contactsReached(n, limitMs) {
      if (counters.contacts >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`only ${counters.contacts} of ${n} contacts after ${limitMs} ms`));
        }, limitMs);
        waiter = {
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
    async stop() {
      await scheduler.stop();
      watchPool.stopAll(); // each watch stores what it read and closes, before the final flush
      const t0 = performance.now();
      const flushed = writer.close();
      return { flushMs: performance.now() - t0, flushed };
    },
    close() {
      db.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
