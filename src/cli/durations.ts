// One duration syntax for every time setting, on the command line and in config files alike:
// `500ms`, `6s`, `5m`, `1h30m`, `2d`. A plain number keeps the setting's own unit (seconds, or
// milliseconds for --flush-interval), so configs and scripts written before the units still work.

export type PlainUnit = 's' | 'ms';

/** How --help and the README explain the syntax. */
export const DURATION_SYNTAX = 'a number with a unit (500ms, 6s, 5m, 1h30m, 1d); a plain number is seconds (--flush-interval: milliseconds)';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** The duration in seconds, or undefined when `text` is not a duration. `plain` is the unit of a bare number. */
export function parseDuration(text: string, plain: PlainUnit = 's'): number | undefined {
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return plain === 'ms' ? Number(t) / 1000 : Number(t);
  let total = 0;
  let consumed = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    if (m.index !== consumed) return undefined; // something else between the parts
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    consumed += m[0].length;
  }
  return consumed === t.length && consumed > 0 ? total : undefined;
}

/** Seconds as the shortest readable duration: 0.5 → "500ms", 300 → "5m", 5400 → "1h30m". */
export function formatDuration(seconds: number): string {
  if (seconds === 0) return '0';
  if (seconds < 1 || !Number.isInteger(seconds)) return `${Math.round(seconds * 1000)}ms`;
  let rest = seconds;
  let out = '';
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
