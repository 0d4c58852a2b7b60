/** Milliseconds since the epoch → the ISO-8601 UTC text stored in every time column. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Like isoTime, passing null through. */
export function isoTimeOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
