// BEP 33 scrape over the IPv4 DHT, through bittorrent-dht's own KRPC layer: k-rpc's `closest()` runs an
// iterative lookup with any query we give it, so the IPv4 node needs no second socket for scrapes.
import type DHT from 'bittorrent-dht';
import type { Torrent } from '../../types.ts';
import type { CollectorContext } from '../collector.ts';
import { estimateScrape, type ScrapeEstimate } from './bloom.ts';
import { compareDistance, K } from './routing-table.ts';

/** The part of k-rpc (bittorrent-dht's `_rpc`) used here. */
interface KRpc {
  id: Buffer;
  closest(
    target: Buffer,
    message: { q: string; a: Record<string, unknown> },
    visit: (reply: { r?: Record<string, unknown> }, from: { address?: string; host?: string; port: number }) => boolean | void,
    done: (err: Error | null, n: number) => void,
  ): void;
}

export function scrapeV4(dht: DHT, infoHash: Buffer, timeoutMs: number): Promise<ScrapeEstimate | null> {
  const rpc = (dht as unknown as { _rpc?: KRpc })._rpc;
  if (!rpc || typeof rpc.closest !== 'function') return Promise.resolve(null);
  const replies: Array<{ id: Buffer; BFsd: Buffer; BFpe: Buffer }> = [];
  return new Promise((resolve) => {
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      replies.sort((a, b) => compareDistance(infoHash, a.id, b.id));
      resolve(estimateScrape(replies, K));
    };
    // The lookup keeps going until the closest nodes were asked; past the timeout we use what came.
    const timer = setTimeout(finish, timeoutMs);
    rpc.closest(
      infoHash,
      { q: 'get_peers', a: { id: rpc.id, info_hash: infoHash, scrape: 1 } },
      (reply) => {
        const r = reply.r;
        if (settled || !r) return true;
        const { id, BFsd, BFpe } = r as { id?: unknown; BFsd?: unknown; BFpe?: unknown };
        if (Buffer.isBuffer(id) && id.length === 20 && Buffer.isBuffer(BFsd) && Buffer.isBuffer(BFpe)) replies.push({ id, BFsd, BFpe });
        return true;
      },
      () => finish(),
    );
  });
}

/** One scrape stored as tracker 'dht'; no estimate (no node near the info hash speaks BEP 33) stores nothing. */
export function scrapeAndStore(dht: DHT, torrent: Torrent, timeoutMs: number, ctx: CollectorContext, stopped: () => boolean): void {
  void scrapeV4(dht, Buffer.from(torrent.infoHash, 'hex'), timeoutMs).then((estimate) => {
    if (!estimate || stopped()) return;
    try {
      ctx.logScrape({ torrentId: torrent.id, tracker: 'dht', at: ctx.now(), seeders: estimate.seeders, leechers: estimate.leechers, downloaded: null });
    } catch (err) {
      ctx.log.error(`DHT: logging a scrape failed: ${(err as Error).message}`);
    }
  });
}
