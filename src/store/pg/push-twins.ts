// A dual-stack client across shards (issue 15; README "What is joined across shards"). The identity rules
// join the IPv4 and IPv6 sessions of one peer id inside one host's spool, but with --shard the two
// addresses may belong to two hosts, and each host may record a crossing. The push counts such a client
// once: after a round is committed, its counted crossings (confirmed or across a restart) are compared with
// the crossings other hosts already counted in PostgreSQL, same torrent and peer id over the other address
// family, the two sessions overlapping in time. A crossing whose twin is already counted there is set apart
// as suspect, reason `dual-stack` (never in the headline, never dropped), in PostgreSQL and in the spool, so
// later pushes keep it. The check runs under one transaction-scoped advisory lock, so two hosts pushing
// twins at once see each other: whichever checks second sets its own crossing apart.
import type pg from 'pg';
import { advisoryKey } from './advisory-lock.ts';
import { BLOCK_IDS } from './spool.ts';

/** The suspect reason of a crossing that another host counted through the client's other address family. */
export const DUAL_STACK_REASON = 'dual-stack';

const LOCK = advisoryKey('', 'dual-stack twins');

/** A counted crossing of the round, as the check needs it (torrent id: PostgreSQL's). */
export interface CountedCrossing {
  id: number;
  torrentId: number;
  peerId: string;
  ipv6: boolean;
  firstSeen: string;
  lastSeen: string;
}

/**
 * Sets apart (in PostgreSQL, one short transaction) the crossings of `rows` whose twin over the other family
 * another spool block already counted; returns their ids, for the spool to record the same.
 */
export async function setApartCountedTwins(client: pg.ClientBase, rows: CountedCrossing[], block: number, timeoutMs: number): Promise<number[]> {
  if (rows.length === 0) return [];
  const query = (text: string, values: unknown[] = []) => client.query({ text, values, query_timeout: timeoutMs } as pg.QueryConfig);
  await query('BEGIN');
  try {
    await query('SELECT pg_advisory_xact_lock($1)', [LOCK]);
    // the index on (torrent_id, peer_id, ...) finds the candidates; a host's ids are its block's
    const found = await query(`SELECT b.id FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::boolean[], $5::text[], $6::text[])
        AS b(id, torrent_id, peer_id, ipv6, first_seen, last_seen)
      WHERE EXISTS (SELECT 1 FROM peers p WHERE p.torrent_id = b.torrent_id AND p.peer_id = b.peer_id
        AND floor(p.id / $7::bigint) <> $8 AND p.crossing_class IN ('confirmed', 'restart')
        AND (position(':' in p.address) > 0) <> b.ipv6 AND p.first_seen <= b.last_seen AND p.last_seen >= b.first_seen)`,
      [rows.map((r) => r.id), rows.map((r) => r.torrentId), rows.map((r) => r.peerId), rows.map((r) => r.ipv6), rows.map((r) => r.firstSeen),
        rows.map((r) => r.lastSeen), BLOCK_IDS, block]);
    const ids = found.rows.map((r) => r.id as number);
    if (ids.length > 0) {
      await query(`UPDATE peers SET crossing_class = 'suspect', suspect_reason = $2 WHERE id = ANY($1::bigint[])`, [ids, DUAL_STACK_REASON]);
    }
    await query('COMMIT');
    return ids;
  } catch (err) {
    await query('ROLLBACK').catch(() => {});
    throw err;
  }
}
