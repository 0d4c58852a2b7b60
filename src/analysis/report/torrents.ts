// Thesis tables 5.4 and 5.6: the torrents measured (size, pieces, swarm at start and end) and, per torrent
// and per set, confirmed downloads against the downloads the trackers report.
import type { Database } from '../../store/database.ts';
import { countMap, EVALUATED, inSet, inWindow, queryAll, type Params } from './sql.ts';
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

export function buildTorrents(db: Database, p: Params): TorrentReport[] {
  const rows = queryAll<{ id: number; info_hash: string; name: string | null; set_label: string | null; pieces: number | null;
    piece_size: number | null; total_size: number | null; threshold_pieces: number | null }>(db, p,
    `SELECT id, info_hash, name, set_label, pieces, piece_size, total_size, threshold_pieces FROM torrents
     WHERE (@set IS NULL OR set_label = @set) ORDER BY id`,
  );
  const confirmedBy = countMap(queryAll(db, p,
    `SELECT torrent_id k, count(*) n FROM confirmed_downloads WHERE ${inWindow('crossed_at')} AND ${inSet('torrent_id')} GROUP BY torrent_id`,
  ));
  // beside the headline, never in it (README "What counts"); databases of an older btda have neither
  const byClass = (cls: string) => db.hasColumn('peers', 'crossing_class') ? countMap(queryAll(db, p,
    `SELECT torrent_id k, count(*) n FROM peers WHERE crossing_class = '${cls}' AND ${inWindow('crossed_at')} AND ${inSet('torrent_id')} GROUP BY torrent_id`,
  )) : new Map<unknown, number>();
  const restartsBy = byClass('restart');
  const suspectBy = byClass('suspect');
  const reportedByPeerBy = db.hasColumn('peers', 'reported_complete_at') ? countMap(queryAll(db, p,
    `SELECT torrent_id k, count(*) n FROM peers WHERE reported_complete_at IS NOT NULL AND ${inWindow('reported_complete_at')} AND ${inSet('torrent_id')} GROUP BY torrent_id`,
  )) : new Map<unknown, number>();
  const peerCounts = new Map<number, { discovered: number; evaluated: number }>();
  for (const r of queryAll<{ torrent_id: number; discovered: number; evaluated: number }>(db, p,
    `SELECT p.torrent_id, sum(${inWindow('p.discovered_at')}) discovered, sum(${EVALUATED}) evaluated
     FROM peers p WHERE ${inSet('p.torrent_id')} GROUP BY p.torrent_id`,
  )) peerCounts.set(r.torrent_id, { discovered: r.discovered ?? 0, evaluated: r.evaluated ?? 0 });
  const trackersBy = readTrackers(db, p);

  return rows.map((t) => {
    const trackers = trackersBy.get(t.id) ?? [];
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
      trackers,
    };
  });
}

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

/** Per torrent, per tracker: the scrape numbers in the window. */
function readTrackers(db: Database, p: Params): Map<number, TrackerNumbers[]> {
  const out = new Map<number, TrackerNumbers[]>();
  const stmt = db.sqlite.prepare(
    `SELECT torrent_id, tracker, at, seeders, leechers, downloaded FROM scrapes
     WHERE ${inWindow('at')} AND ${inSet('torrent_id')} ORDER BY torrent_id, tracker, at, id`,
  );
  let cur: TrackerNumbers | null = null;
  let counter = new ReportedDownloads();
  let curTorrent = -1;
  for (const r of stmt.iterate(p) as Iterable<{ torrent_id: number; tracker: string; at: string; seeders: number | null; leechers: number | null; downloaded: number | null }>) {
    if (!cur || curTorrent !== r.torrent_id || cur.tracker !== r.tracker) {
      cur = {
        tracker: r.tracker, scrapes: 0, firstDownloaded: null, latestDownloaded: null, maxDownloaded: null, latestAt: null, growth: null,
        maxSeeders: null, maxLeechers: null, firstSeeders: null, firstLeechers: null, latestSeeders: null, latestLeechers: null,
      };
      counter = new ReportedDownloads();
      curTorrent = r.torrent_id;
      const list = out.get(r.torrent_id) ?? [];
      list.push(cur);
      out.set(r.torrent_id, list);
    }
    cur.scrapes++;
    if (r.seeders !== null) {
      cur.maxSeeders = Math.max(cur.maxSeeders ?? 0, r.seeders);
      if (cur.firstSeeders === null) cur.firstSeeders = r.seeders;
      cur.latestSeeders = r.seeders;
    }
    if (r.leechers !== null) {
      cur.maxLeechers = Math.max(cur.maxLeechers ?? 0, r.leechers);
      if (cur.firstLeechers === null) cur.firstLeechers = r.leechers;
      cur.latestLeechers = r.leechers;
    }
    if (r.downloaded !== null) {
      counter.add(r.downloaded);
      cur.firstDownloaded = counter.first;
      cur.maxDownloaded = counter.highest;
      cur.latestDownloaded = counter.latest;
      cur.growth = counter.growth;
      cur.latestAt = r.at;
    }
  }
  return out;
}
