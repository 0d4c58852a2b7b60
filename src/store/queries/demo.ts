// The demo's result (src/cli/demo/report.ts): the demo torrent's sessions, confirmed downloads, crossings and
// the tracker's latest scrape, read back from the demo's database.
import type { Database } from '../database.ts';
import type { Reader } from './reader.ts';

export interface DemoPeerRow {
  ip: string | null;
  port: number;
  client: string | null;
  first_pieces: number | null;
  last_pieces: number | null;
  crossed_at: string | null;
  visits: number;
  encrypted: number;
  sources: string;
  crossing_class: string | null;
  suspect_reason: string | null;
}

export interface DemoRows {
  torrent: { id: number; pieces: number };
  /** Newest session first: a new peer id at an address:port is a new session (README "Who a peer is"). */
  peers: DemoPeerRow[];
  confirmed: { ip: string; port: number }[];
  latestDownloaded: number | null;
  crossingClasses: { k: string; n: number }[];
  sessionsReached: number;
}

export async function demoRows(r: Reader, infoHash: string, trackerLabel: string): Promise<DemoRows> {
  const torrent = (await r.one<{ id: number; pieces: number }>('SELECT id, pieces FROM torrents WHERE info_hash = @infoHash', { infoHash }))!;
  const t = { torrent: torrent.id };
  const peers = await r.all<DemoPeerRow>(
    `SELECT ip, port, client, first_pieces, last_pieces, crossed_at, visits, encrypted, sources, crossing_class, suspect_reason
     FROM peers WHERE torrent_id = @torrent ORDER BY latest DESC, id DESC`, t);
  const confirmed = await r.all<{ ip: string; port: number }>(
    'SELECT p.ip, p.port FROM confirmed_downloads c JOIN peers p ON p.id = c.peer_row WHERE c.torrent_id = @torrent', t);
  const scrape = await r.one<{ downloaded: number | null }>(
    'SELECT downloaded FROM scrapes WHERE torrent_id = @torrent AND tracker = @tracker ORDER BY at DESC, id DESC LIMIT 1', { ...t, tracker: trackerLabel });
  const crossingClasses = await r.all<{ k: string; n: number }>(
    'SELECT crossing_class k, count(*) n FROM crossings WHERE torrent_id = @torrent GROUP BY crossing_class', t);
  const sessions = await r.one<{ n: number }>('SELECT count(*) n FROM peers WHERE torrent_id = @torrent AND visits > 0', t);
  return { torrent, peers, confirmed, latestDownloaded: scrape?.downloaded ?? null, crossingClasses, sessionsReached: sessions!.n };
}

/** Confirmed downloads of a torrent so far: the demo's live status line, read while its (SQLite) crawl writes. */
export function confirmedCountNow(db: Database, infoHash: string): number {
  return (db.sqlite.prepare('SELECT count(*) AS n FROM confirmed_downloads WHERE info_hash = ?').get(infoHash) as { n: number }).n;
}
