// A peer's `sources`: the collectors that named it, as a comma list in one fixed order, so that
// `GROUP BY sources` never splits "http,udp" from "udp,http".
import type { PeerSource } from '../types.ts';

export const SOURCE_ORDER: readonly PeerSource[] = ['http', 'udp', 'dht', 'pex', 'incoming', 'file'];

/** The canonical list of `existing` plus `added` (either may be ''). */
export function mergeSources(existing: string, added: string): string {
  if (added === '' || existing === added) return existing;
  const have = new Set([...existing.split(','), ...added.split(',')]);
  return SOURCE_ORDER.filter((s) => have.has(s)).join(',');
}

/** The same merge in SQL, for upserts: `old` and `added` are SQL expressions of comma lists. */
export function mergeSourcesSql(old: string, added: string): string {
  const has = (s: string) => `instr(',' || ${old} || ',' || ${added} || ',', ',${s},') > 0`;
  const parts = SOURCE_ORDER.map((s) => `CASE WHEN ${has(s)} THEN '${s},' ELSE '' END`);
  return `rtrim(${parts.join(' || ')}, ',')`;
}
