// The crawl's magnet links: a torrent without metadata has its peers collected (not dialled) until one of
// them hands over the info dictionary (torrents/magnet-resolver.ts). Then the torrent is completed in the
// database and measured, its peers join the queue, and what the metadata fetches saw of the peers they
// reached (bitfield, have_all, haves, with their times) is recorded as ordinary contact results.
import type { Config } from '../config.ts';
import type { ContactTorrent } from '../evaluator/contact.ts';
import { resultFromSeen } from '../evaluator/seen-result.ts';
import type { Logger } from '../log.ts';
import type { DueQueue } from '../queue/due-queue.ts';
import type { Database } from '../store/database.ts';
import { MagnetResolver } from '../torrents/magnet-resolver.ts';
import type { ContactResult, PeerSource, Torrent } from '../types.ts';

export interface MagnetWiring {
  config: Config;
  log: Logger;
  peerId: Buffer;
  db: Database;
  queue: DueQueue;
  /** Makes a resolved torrent one the crawl measures (contacts, inbound lookups, the writer's facts). */
  register: (t: Torrent & { pieces: number }) => ContactTorrent;
  /** Stores and counts a contact result, as the crawl does for every contact. */
  record: (result: ContactResult, source: PeerSource | null) => unknown;
}

export function magnetResolverFor(w: MagnetWiring): MagnetResolver {
  const { config } = w;
  return new MagnetResolver({
    peerId: w.peerId,
    connectTimeoutMs: config.connectTimeout * 1000,
    fetchTimeoutMs: Math.max(10_000, config.timeout * 5000),
    retryMs: 60_000,
    encryption: config.encryption,
    log: w.log,
    onResolved: (magnet, parsed, peers, seen) => {
      w.db.completeTorrent(magnet.id, parsed, config.threshold);
      const resolved = { ...magnet, ...parsed, trackers: magnet.trackers, pieces: parsed.pieces! };
      const torrent = w.register(resolved);
      const sources = new Map(peers.map((p) => [`${p.ip}|${p.port}`, p.source]));
      // what the fetches read, first: these connections came before the queue's contacts
      for (const s of seen) {
        const result = resultFromSeen(s, torrent, config.openingGrace * 1000);
        if (result) w.record(result, sources.get(`${s.ip}|${s.port}`) ?? null);
      }
      const now = Date.now();
      for (const p of peers) w.queue.add(magnet.id, p.ip, p.port, p.source, now);
    },
  });
}
