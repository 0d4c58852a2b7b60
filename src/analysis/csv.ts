// CSV as RFC 4180 says: comma separated, CRLF-free fields unquoted, anything with a comma, quote, CR or LF
// (or leading/trailing space) quoted with doubled quotes. null/undefined is an empty field.

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') s = String(value);
  else if (value instanceof Uint8Array) s = Buffer.from(value).toString('hex');
  else s = JSON.stringify(value);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One CSV line, ending in \n. */
export function csvLine(values: readonly unknown[]): string {
  return values.map(csvField).join(',') + '\n';
}
