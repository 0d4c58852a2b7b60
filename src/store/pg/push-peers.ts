// The peers rows of a push (push.ts): upserted by id, the spool's ids being PostgreSQL's, with the check that
// keeps one `latest` session per endpoint when two hosts wrote sessions at the same (torrent, address key, port).
import type pg from 'pg';
import { idPlan, sendColumns } from './append-writer.ts';
import * as schema from './schema.ts';

// `latest` only ever goes down: a session another host's newer one demoted stays demoted when ours is sent again
export const PEERS = (() => {
  const plan = idPlan(schema.peers, 'upsert');
  return { ...plan, text: plan.text.replace('"latest" = excluded."latest"', '"latest" = least(peers.latest, excluded.latest)') };
})();

/**
 * Upserts peers rows (columns in PEERS' order) by id. First one session at an endpoint stays `latest`
 * (identity.ts): a contacted one before one that is only a discovery, then the newest. Another host's older
 * latest session at the same (torrent, address key, port) is demoted, and a row of ours that is older than another host's latest one there is sent as not latest. Older: first
 * seen (else discovered) earlier, then the smaller id. Rows with ids up to `pushedBefore` were settled when
 * they first arrived, and again when first contacted (`recheck`: a discovery become a session takes its
 * endpoint back from another host's discovery). Returns the rows demoted.
 */
export async function upsertPeers(client: pg.ClientBase, cols: unknown[][], rows: number, pushedBefore: number, timeoutMs: number, recheck: ReadonlySet<number> = new Set()): Promise<number> {
  const at = (name: string) => cols[PEERS.columns.findIndex((c) => c.name === name)];
  const [id, torrent, key, port, latest, firstSeen, discovered] = ['id', 'torrent_id', 'address_key', 'port', 'latest', 'first_seen', 'discovered_at'].map(at);
  const query = (text: string, values: unknown[]) => client.query({ text, values, query_timeout: timeoutMs } as pg.QueryConfig);
  const mine: number[] = [];
  for (let i = 0; i < rows; i++) if (latest[i] === 1 && ((id[i] as number) > pushedBefore || recheck.has(id[i] as number))) mine.push(i);
  // rows PostgreSQL has that win their endpoint now (a first contact): `latest` may have been taken from them
  const promote: number[] = [];
  let demoted = 0;
  if (mine.length > 0) {
    // one read of the latest sessions at our new rows' endpoints (almost always none), decided here; an
    // UPDATE only when another host's session must step down
    const pick = (col: unknown[]) => mine.map((i) => col[i]);
    const since = mine.map((i) => (firstSeen[i] ?? discovered[i]) as string);
    const found = await query(`SELECT b.i, p.id, coalesce(p.first_seen, p.discovered_at) AS since, p.first_seen IS NOT NULL AS contacted
      FROM unnest($1::integer[], $2::bigint[], $3::text[], $4::integer[]) AS b(i, torrent_id, address_key, port)
      JOIN peers p ON p.latest = 1 AND p.torrent_id = b.torrent_id AND p.address_key = b.address_key AND p.port = b.port`,
      [mine.map((_, k) => k), pick(torrent), pick(key), pick(port)]);
    if (found.rows.length > 0) {
      const ours = new Set(id as number[]);
      const demote: number[] = [];
      for (const r of found.rows as { i: number; id: number; since: string; contacted: boolean }[]) {
        if (ours.has(r.id)) continue; // our own row, sent again
        const k = r.i;
        const contacted = firstSeen[mine[k]] !== null;
        // a session that was contacted outranks a mere discovery (another host storing the endpoint for its
        // owner to pull), then the newer one wins
        const older = r.contacted !== contacted ? contacted : r.since < since[k] || (r.since === since[k] && r.id < (id[mine[k]] as number));
        if (older) {
          demote.push(r.id);
          if ((id[mine[k]] as number) <= pushedBefore) promote.push(id[mine[k]] as number);
        } else latest[mine[k]] = 0;
      }
      if (demote.length > 0) demoted = (await query('UPDATE peers SET latest = 0 WHERE id = ANY($1::bigint[]) AND latest = 1', [demote])).rowCount ?? 0;
    }
  }
  await sendColumns(client, PEERS, cols, rows, timeoutMs);
  if (promote.length > 0) await query('UPDATE peers SET latest = 1 WHERE id = ANY($1::bigint[]) AND latest = 0', [promote]);
  return demoted;
}
