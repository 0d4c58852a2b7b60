// A collector context for collector tests: records the peers, requests and scrapes a collector hands over,
// and counts new peers and duplicates the way the crawl's queue does.
import type { CollectorContext, PeerAddress } from '../../src/collectors/collector.ts';
import { silentLogger } from '../../src/log.ts';
import type { PeerSource, RequestLog, ScrapeLog } from '../../src/types.ts';

export interface PeerFound {
  torrentId: number;
  ip: string;
  port: number;
  source: PeerSource;
}

export function recordingContext() {
  const found: PeerFound[] = [];
  const requests: RequestLog[] = [];
  const scrapes: ScrapeLog[] = [];
  const known = new Set<string>();
  const ctx: CollectorContext = {
    addPeers(torrentId: number, peers: PeerAddress[], source: PeerSource) {
      let fresh = 0;
      for (const p of peers) {
        found.push({ torrentId, ip: p.ip, port: p.port, source });
        const key = `${torrentId} ${p.ip}:${p.port}`;
        if (!known.has(key)) fresh++;
        known.add(key);
      }
      return { new: fresh, duplicates: peers.length - fresh, skipped: 0 };
    },
    logRequest: (r) => requests.push(r),
    logScrape: (s) => scrapes.push(s),
    log: silentLogger,
    now: () => Date.now(),
  };
  return { ctx, found, requests, scrapes };
}
