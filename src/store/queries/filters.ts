// The conditions every report query shares: the window (--since inclusive, --until exclusive), the set, and
// "evaluated". Times are ISO-8601 UTC text in both dialects, so a window is a plain text comparison. The
// conditions are built from which bounds are present (never `@since IS NULL OR ...`): PostgreSQL cannot infer
// the type of a parameter that is only compared with NULL, and the planner gets a plain range.

export interface Filter {
  since: string | null;
  until: string | null;
  set: string | null;
}

/** The parameters the conditions below refer to. */
export function filterParams(f: Filter): Record<string, unknown> {
  return { since: f.since, until: f.until, set: f.set };
}

/** True when `col` lies in the window. */
export function inWindow(col: string, f: Filter): string {
  const parts: string[] = [];
  if (f.since !== null) parts.push(`${col} >= @since`);
  if (f.until !== null) parts.push(`${col} < @until`);
  return parts.length === 0 ? '1 = 1' : `(${parts.join(' AND ')})`;
}

/** True when torrent `col` belongs to the --set. */
export function inSet(col: string, f: Filter): string {
  return f.set === null ? '1 = 1' : `${col} IN (SELECT id FROM torrents WHERE set_label = @set)`;
}

/** Evaluated peers (alias p) whose first..last visit overlaps the window. */
export function evaluated(f: Filter): string {
  const parts = ['p.visits > 0'];
  if (f.until !== null) parts.push('coalesce(p.first_seen, p.discovered_at) < @until');
  if (f.since !== null) parts.push('coalesce(p.last_seen, p.discovered_at) >= @since');
  return `(${parts.join(' AND ')})`;
}

/** 1 or 0 for a condition, in both dialects (PostgreSQL cannot sum a boolean). */
export function flag(condition: string): string {
  return `CASE WHEN ${condition} THEN 1 ELSE 0 END`;
}

/**
 * A discovery that stands for its endpoint: not a row that was never contacted and that a session of another
 * host at the same endpoint superseded (`latest = 0`). On PostgreSQL with several hosts, every host that learns
 * an endpoint of another's share stores it for the owner to pull (README "Pulling what other hosts learnt");
 * counted once.
 */
export const STANDS_FOR_ENDPOINT = 'NOT (p.latest = 0 AND p.first_seen IS NULL)';
