// Thesis tables 5.4 and 5.6: the torrents, their confirmed downloads (and the crossings beside the headline),
// their peers, and the trackers' scrape numbers. One text for both dialects.
import { evaluated, filterParams, inSet, inWindow, type Filter } from './filters.ts';
import type { Reader } from './reader.ts';

export interface TorrentRow {
  id: number;
  info_hash: string;
  name: string | null;
  set_label: string | null;
  pieces: number | null;
  piece_size: number | null;
  total_size: number | null;
  threshold_pieces: number | null;
}

export interface CountRow {
  k: unknown;
  n: number;
}

export function torrentRows(r: Reader, f: Filter): Promise<TorrentRow[]> {
  return r.all<TorrentRow>(
    `SELECT id, info_hash, name, set_label, pieces, piece_size, total_size, threshold_pieces FROM torrents
     WHERE ${f.set === null ? '1 = 1' : 'set_label = @set'} ORDER BY id`,
    filterParams(f),
  );
}

/** Confirmed downloads per torrent, crossed in the window. */
export function confirmedPerTorrent(r: Reader, f: Filter): Promise<CountRow[]> {
  return r.all<CountRow>(
    `SELECT torrent_id k, count(*) n FROM confirmed_downloads WHERE ${inWindow('crossed_at', f)} AND ${inSet('torrent_id', f)} GROUP BY torrent_id`,
    filterParams(f),
  );
}

/** Crossings of one class (restart, suspect) per torrent, in the window. */
export async function crossingsPerTorrent(r: Reader, f: Filter, crossingClass: string): Promise<CountRow[]> {
  if (!(await r.hasColumn('peers', 'crossing_class'))) return []; // a database of an older btda
  return r.all<CountRow>(
    `SELECT torrent_id k, count(*) n FROM peers WHERE crossing_class = @cls AND ${inWindow('crossed_at', f)} AND ${inSet('torrent_id', f)}
     GROUP BY torrent_id`,
    { ...filterParams(f), cls: crossingClass },
  );
}

/** Sessions that reported their completion themselves (complete_ago), in the window. */
export async function reportedByPeerPerTorrent(r: Reader, f: Filter): Promise<CountRow[]> {
  if (!(await r.hasColumn('peers', 'reported_complete_at'))) return [];
  return r.all<CountRow>(
    `SELECT torrent_id k, count(*) n FROM peers
     WHERE reported_complete_at IS NOT NULL AND ${inWindow('reported_complete_at', f)} AND ${inSet('torrent_id', f)} GROUP BY torrent_id`,
    filterParams(f),
  );
}

/** Per torrent: peers discovered in the window, and peers evaluated in it. */
export function peerCountsPerTorrent(r: Reader, f: Filter): Promise<{ torrent_id: number; discovered: number; evaluated: number }[]> {
  return r.all(
    `SELECT p.torrent_id, count(*) FILTER (WHERE ${inWindow('p.discovered_at', f)}) discovered, count(*) FILTER (WHERE ${evaluated(f)}) evaluated
     FROM peers p WHERE ${inSet('p.torrent_id', f)} GROUP BY p.torrent_id`,
    filterParams(f),
  );
}

export interface ScrapeRow {
  torrent_id: number;
  tracker: string;
  at: string;
  seeders: number | null;
  leechers: number | null;
  downloaded: number | null;
}

/** Every scrape in the window, grouped by torrent and tracker, in time order. */
export function scrapeRows(r: Reader, f: Filter): Promise<ScrapeRow[]> {
  return r.all<ScrapeRow>(
    `SELECT torrent_id, tracker, at, seeders, leechers, downloaded FROM scrapes
     WHERE ${inWindow('at', f)} AND ${inSet('torrent_id', f)} ORDER BY torrent_id, tracker, at, id`,
    filterParams(f),
  );
}
