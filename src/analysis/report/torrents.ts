// Thesis tables 5.4 and 5.6: the torrents measured (size, pieces, swarm at start and end) and, per torrent
// and per set, confirmed downloads against the downloads the trackers report.
import type { Reader } from '../../store/queries/reader.ts';
import {
  confirmedPerTorrent, crossingsPerTorrent, peerCountsPerTorrent, reportedByPeerPerTorrent, scrapeRows, torrentRows,
} from '../../store/queries/torrents.ts';
import { byText, countMap, type Params } from './shared.ts';
import { maxOf, ratio, sum, sumOrNull } from './stats.ts';
import type { SetReport, TorrentReport, TrackerNumbers } from './types.ts';

/**
 * The reported-downloads rule, for one tracker and torrent: highest − first `downloaded` in the window.
 * Summing every increase would let a tracker that answers from backends with slightly different counters
 * (1000, 990, 1000, 990, ...) inflate the count without bound; highest − first stays at 0 there, and a
 * counter reset can only lower it. It undercounts only what a reset hides, which errs on the side of fewer.
 */
export class ReportedDownloads {
  first: number | null = null;
  highest: number | null = null;
  latest: number | null = null;

  add(downloaded: number): void {
    if (this.first === null) this.first = downloaded;
    if (this.highest === null || downloaded > this.highest) this.highest = downloaded;
    this.latest = downloaded;
  }

  get growth(): number | null {
    return this.first === null ? null : this.highest! - this.first;
  }
}

export async function buildTorrents(r: Reader, p: Params): Promise<TorrentReport[]> {
  const rows = await torrentRows(r, p);
  const confirmedBy = countMap(await confirmedPerTorrent(r, p));
  // beside the headline, never in it (README "What counts"); databases of an older btda have neither
  const restartsBy = countMap(await crossingsPerTorrent(r, p, 'restart'));
  const suspectBy = countMap(await crossingsPerTorrent(r, p, 'suspect'));
  const reportedByPeerBy = countMap(await reportedByPeerPerTorrent(r, p));
  const peerCounts = new Map<number, { discovered: number; evaluated: number }>();
  for (const x of await peerCountsPerTorrent(r, p)) peerCounts.set(x.torrent_id, { discovered: x.discovered ?? 0, evaluated: x.evaluated ?? 0 });
  const { trackersBy, seenAt } = await readTrackers(r, p);

  return rows.map((t) => {
    const all = trackersBy.get(t.id) ?? [];
    // the DHT's BEP 33 estimates are shown beside the trackers' numbers, never mixed into them
    const trackers = all.filter((x) => !DHT_SCRAPES.has(x.tracker));
    const dht = all.filter((x) => DHT_SCRAPES.has(x.tracker) && (x.latestSeeders !== null || x.latestLeechers !== null))
      .sort((a, b) => (b.latestSeeders ?? 0) + (b.latestLeechers ?? 0) - ((a.latestSeeders ?? 0) + (a.latestLeechers ?? 0)))[0];
    let best: TrackerNumbers | null = null;
    for (const tr of trackers) {
      if (tr.growth === null) continue;
      if (!best || tr.growth > best.growth! || (tr.growth === best.growth && (tr.latestDownloaded ?? 0) > (best.latestDownloaded ?? 0))) best = tr;
    }
    // table 5.4 shows one tracker's swarm: the best one if it reported seeders, else the one scraped most
    let swarm: TrackerNumbers | null = best && best.firstSeeders !== null ? best : null;
    if (!swarm) for (const tr of trackers) if (tr.firstSeeders !== null && (!swarm || tr.scrapes > swarm.scrapes)) swarm = tr;
    const confirmed = confirmedBy.get(t.id) ?? 0;
    const reported = best?.growth ?? null;
    return {
      id: t.id,
      infoHash: t.info_hash,
      name: t.name,
      set: t.set_label,
      pieces: t.pieces,
      pieceSize: t.piece_size,
      totalSize: t.total_size,
      thresholdPieces: t.threshold_pieces,
      confirmed,
      restarts: restartsBy.get(t.id) ?? 0,
      suspect: suspectBy.get(t.id) ?? 0,
      reportedByPeer: reportedByPeerBy.get(t.id) ?? 0,
      reportedDownloaded: reported,
      bestTracker: best?.tracker ?? null,
      reportedLatest: best?.latestDownloaded ?? null,
      ratio: ratio(confirmed, reported),
      uniquePeers: peerCounts.get(t.id)?.evaluated ?? 0,
      peersDiscovered: peerCounts.get(t.id)?.discovered ?? 0,
      seeders: maxOf(trackers.map((x) => x.maxSeeders)),
      leechers: maxOf(trackers.map((x) => x.maxLeechers)),
      swarmTracker: swarm?.tracker ?? null,
      seedersStart: swarm?.firstSeeders ?? null,
      leechersStart: swarm?.firstLeechers ?? null,
      seedersEnd: swarm?.latestSeeders ?? null,
      leechersEnd: swarm?.latestLeechers ?? null,
      dhtSeeders: dht?.latestSeeders ?? null,
      dhtDownloaders: dht?.latestLeechers ?? null,
      dhtAt: dht ? seenAt.get(dht)! : null,
      trackers: all,
    };
  });
}

/** The `tracker` of the DHT's BEP 33 scrapes (src/collectors/dht-collector.ts, dht/dht6-collector.ts). */
export const DHT_SCRAPES = new Set(['dht', 'dht6']);

export function buildSets(torrents: TorrentReport[]): SetReport[] {
  const setMap = new Map<string | null, TorrentReport[]>();
  for (const t of torrents) setMap.set(t.set, [...(setMap.get(t.set) ?? []), t]);
  return [...setMap.entries()]
    .sort(([a], [b]) => (a === null ? 1 : b === null ? -1 : a.localeCompare(b)))
    .map(([set, ts]) => {
      const confirmed = sum(ts.map((t) => t.confirmed));
      const reported = sumOrNull(ts.map((t) => t.reportedDownloaded));
      return {
        set,
        torrents: ts.length,
        confirmed,
        restarts: sum(ts.map((t) => t.restarts)),
        suspect: sum(ts.map((t) => t.suspect)),
        reportedByPeer: sum(ts.map((t) => t.reportedByPeer)),
        reportedDownloaded: reported,
        ratio: ratio(confirmed, reported),
        uniquePeers: sum(ts.map((t) => t.uniquePeers)),
        peersDiscovered: sum(ts.map((t) => t.peersDiscovered)),
        seeders: sumOrNull(ts.map((t) => t.seeders)),
        leechers: sumOrNull(ts.map((t) => t.leechers)),
      };
    });
}

/**
 * Per torrent, per tracker: the scrape numbers in the window (trackers in binary text order), and the time of
 * each tracker's latest seeders or leechers number.
 */
async function readTrackers(r: Reader, p: Params): Promise<{ trackersBy: Map<number, TrackerNumbers[]>; seenAt: Map<TrackerNumbers, string> }> {
  const out = new Map<number, TrackerNumbers[]>();
  const seenAt = new Map<TrackerNumbers, string>();
  let cur: TrackerNumbers | null = null;
  let counter = new ReportedDownloads();
  let curTorrent = -1;
  for (const row of await scrapeRows(r, p)) {
    if (!cur || curTorrent !== row.torrent_id || cur.tracker !== row.tracker) {
      cur = {
        tracker: row.tracker, scrapes: 0, firstDownloaded: null, latestDownloaded: null, maxDownloaded: null, latestAt: null, growth: null,
        maxSeeders: null, maxLeechers: null, firstSeeders: null, firstLeechers: null, latestSeeders: null, latestLeechers: null,
      };
      counter = new ReportedDownloads();
      curTorrent = row.torrent_id;
      const list = out.get(row.torrent_id) ?? [];
      list.push(cur);
      out.set(row.torrent_id, list);
    }
    cur.scrapes++;
    if (row.seeders !== null || row.leechers !== null) seenAt.set(cur, row.at);
    if (row.seeders !== null) {
      cur.maxSeeders = Math.max(cur.maxSeeders ?? 0, row.seeders);
      if (cur.firstSeeders === null) cur.firstSeeders = row.seeders;
      cur.latestSeeders = row.seeders;
    }
    if (row.leechers !== null) {
      cur.maxLeechers = Math.max(cur.maxLeechers ?? 0, row.leechers);
      if (cur.firstLeechers === null) cur.firstLeechers = row.leechers;
      cur.latestLeechers = row.leechers;
    }
    if (row.downloaded !== null) {
      counter.add(row.downloaded);
      cur.firstDownloaded = counter.first;
      cur.maxDownloaded = counter.highest;
      cur.latestDownloaded = counter.latest;
      cur.growth = counter.growth;
      cur.latestAt = row.at;
    }
  }
  for (const list of out.values()) list.sort((a, b) => byText(a.tracker, b.tracker));
  return { trackersBy: out, seenAt };
}
