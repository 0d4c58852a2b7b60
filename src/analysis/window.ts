// The time window of a report: --since (inclusive) and --until (exclusive), as the ISO-8601 UTC text the
// store writes, so a window is a plain text comparison in SQL.

/** A bad --since/--until value; the CLI turns it into a usage error (exit 2). */
export class WindowError extends Error {}

export interface Window {
  /** Inclusive lower bound, ISO-8601 UTC, or null for "from the beginning". */
  since: string | null;
  /** Exclusive upper bound, ISO-8601 UTC, or null for "until the end". */
  until: string | null;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * "2026-01-01" → "2026-01-01T00:00:00.000Z"; "2026-01-01T10:30", "2026-01-01 10:30:00" → UTC;
 * "2026-01-01T10:30+02:00" → that offset. A time without an offset is UTC (like every time in the store).
 */
export function parseTime(text: string, flag: string): string {
  const t = text.trim();
  let ms = Number.NaN;
  if (DATE.test(t)) ms = Date.parse(`${t}T00:00:00Z`);
  else {
    const m = DATE_TIME.exec(t);
    if (m) {
      const zone = m[3] ? (m[3].toUpperCase() === 'Z' ? 'Z' : m[3].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z';
      ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
    }
  }
  if (!Number.isFinite(ms)) {
    throw new WindowError(`${flag}: expected an ISO date or time like 2026-01-01 or 2026-01-01T10:00Z (got ${JSON.stringify(text)})`);
  }
  return new Date(ms).toISOString();
}

/** The window of --since/--until (either may be absent). Throws WindowError. */
export function parseWindow(since: unknown, until: unknown): Window {
  const w: Window = {
    since: since === undefined || since === null || since === '' ? null : parseTime(String(since), '--since'),
    until: until === undefined || until === null || until === '' ? null : parseTime(String(until), '--until'),
  };
  if (w.since !== null && w.until !== null && w.since >= w.until) {
    throw new WindowError(`--until must be later than --since (got ${w.since} .. ${w.until})`);
  }
  return w;
}

/** Milliseconds of the overlap of [from, to] with the window (0 when they do not overlap). */
export function overlapMs(from: string, to: string, w: Window): number {
  const a = Math.max(Date.parse(from), w.since === null ? -Infinity : Date.parse(w.since));
  const b = Math.min(Date.parse(to), w.until === null ? Infinity : Date.parse(w.until));
  return b > a ? b - a : 0;
}
