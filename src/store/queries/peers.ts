// The peer tables (clients, countries, networks, speeds): per-client counts, and one row per peer that was
// discovered, evaluated or confirmed in the window, for the single pass that tallies countries and networks.
import { evaluated, filterParams, flag, inSet, inWindow, STANDS_FOR_ENDPOINT, type Filter } from './filters.ts';
import type { Reader } from './reader.ts';
import type { CountRow } from './torrents.ts';

const evaluatedWhere = (f: Filter) => `${evaluated(f)} AND ${inSet('p.torrent_id', f)}`;

export async function peersEvaluated(r: Reader, f: Filter): Promise<number> {
  return (await r.one<{ n: number }>(`SELECT count(*) n FROM peers p WHERE ${evaluatedWhere(f)}`, filterParams(f)))!.n;
}

/** Confirmed downloads per client name ('unknown' without one), crossed in the window. */
export function confirmedPerClient(r: Reader, f: Filter): Promise<CountRow[]> {
  return r.all<CountRow>(
    `SELECT coalesce(client, 'unknown') k, count(*) n FROM confirmed_downloads
     WHERE ${inWindow('crossed_at', f)} AND ${inSet('torrent_id', f)} GROUP BY coalesce(client, 'unknown')`,
    filterParams(f),
  );
}

/**
 * Evaluated peers per client name, every client (a few hundred at most): the caller sorts and cuts to the
 * top, so that ties are broken by the same (binary) text order whatever the server's collation.
 */
export async function evaluatedPerClient(r: Reader, f: Filter): Promise<{ client: string; n: number; encrypted: number }[]> {
  const encrypted = (await r.hasColumn('peers', 'encrypted')) ? 'sum(p.encrypted)' : '0';
  return r.all(
    `SELECT coalesce(p.client, 'unknown') client, count(*) n, ${encrypted} encrypted FROM peers p WHERE ${evaluatedWhere(f)}
     GROUP BY coalesce(p.client, 'unknown')`,
    filterParams(f),
  );
}

export interface PeerTallyRow {
  id: number;
  address: string;
  ip: string | null;
  country: string | null;
  asn: number | null;
  as_org: string | null;
  max_speed: number | null;
  /** 1 or 0 */
  seed: number;
  discovered: number;
  evaluated: number;
  confirmed: number;
}

/** Whether the store has each peer's network (peers.asn / peers.as_org): then it wins over a lookup now. */
export async function hasStoredNetworks(r: Reader): Promise<boolean> {
  return (await r.hasColumn('peers', 'asn')) && (await r.hasColumn('peers', 'as_org'));
}

/** The peers discovered, evaluated or confirmed in the window, in batches (memory stays flat). */
export async function eachPeerToTally(r: Reader, f: Filter, storedAsn: boolean, onRow: (row: PeerTallyRow) => void): Promise<void> {
  const sql = `SELECT * FROM (SELECT p.id, p.address, p.ip, p.country, ${storedAsn ? 'p.asn, p.as_org' : 'NULL asn, NULL as_org'}, p.max_speed,
       ${flag('t.pieces IS NOT NULL AND p.last_pieces >= t.pieces')} seed,
       ${flag(`${inWindow('p.discovered_at', f)} AND ${STANDS_FOR_ENDPOINT}`)} discovered, ${flag(evaluated(f))} evaluated,
       ${flag(`p.id IN (SELECT peer_row FROM confirmed_downloads WHERE ${inWindow('crossed_at', f)} AND ${inSet('torrent_id', f)})`)} confirmed
     FROM peers p JOIN torrents t ON t.id = p.torrent_id WHERE ${inSet('p.torrent_id', f)}) x
     WHERE discovered = 1 OR evaluated = 1 OR confirmed = 1 ORDER BY id`;
  await r.batches(sql, filterParams(f), (columns, rows) => {
    for (const row of rows) {
      const o: Record<string, unknown> = {};
      for (let i = 0; i < columns.length; i++) o[columns[i]] = row[i];
      onRow(o as unknown as PeerTallyRow);
    }
  });
}
