// Address text <-> fixed-width numbers for the peer index: an IPv4 address is one unsigned 32-bit
// number, an IPv6 address four (big-endian words). Parsing allocates nothing on the common paths,
// because every peer a collector reports goes through it.
/**
 * A dotted-quad IPv4 address in canonical form ("1.2.3.4": four decimal parts 0..255, no leading
 * zeros, nothing else) as an unsigned 32-bit number, else -1. Only canonical text is packed, so the
 * text given back for a slot is always the text that was added.
 */
export function parseIPv4(ip: string): number {
  return parseIPv4At(ip, 0);
}

function parseIPv4At(ip: string, start: number): number {
  const n = ip.length;
  if (n - start < 7 || n - start > 15) return -1;
  let value = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = start; i <= n; i++) {
    const c = i < n ? ip.charCodeAt(i) : 46; // a final '.' closes the last part
    if (c === 46) {
      if (digits === 0 || parts === 4) return -1;
      value = value * 256 + part;
      parts++;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1; // leading zero
      part = part * 10 + (c - 48);
      if (part > 255) return -1;
      digits++;
    } else {
      return -1;
    }
  }
  return parts === 4 ? value : -1;
}

/** The eight 16-bit groups while parsing (one scratch array: the parser is not re-entrant, and needs not be). */
const groups = new Uint16Array(8);

/**
 * IPv6 text (any valid form: "::" once, 1-4 hex digits a group in either case, a dotted-quad tail) into
 * four big-endian words in `out`; false for anything else (a zone "%eth0" included: it is not a peer
 * address others can share). Several texts give the same words, so the words, not the text, are the peer.
 */
export function parseIPv6(ip: string, out: Uint32Array): boolean {
  const n = ip.length;
  if (n < 2 || n > 45) return false;
  let g = 0;
  let gap = -1; // the group index where "::" stands
  let i = 0;
  if (ip.charCodeAt(0) === 58) {
    if (ip.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
  }
  while (i < n) {
    let value = 0;
    let digits = 0;
    let j = i;
    for (; j < n; j++) {
      const h = hexValue(ip.charCodeAt(j));
      if (h < 0) break;
      if (++digits > 4) return false;
      value = value * 16 + h;
    }
    if (j < n && ip.charCodeAt(j) === 46) {
      // a dotted-quad tail: the last two groups
      if (g > 6) return false;
      const v4 = parseIPv4At(ip, i);
      if (v4 < 0) return false;
      groups[g++] = v4 >>> 16;
      groups[g++] = v4 & 0xffff;
      break;
    }
    if (digits === 0 || g === 8) return false;
    groups[g++] = value;
    if (j === n) break;
    if (ip.charCodeAt(j) !== 58) return false;
    j++;
    if (j < n && ip.charCodeAt(j) === 58) {
      if (gap >= 0) return false;
      gap = g;
      j++;
    } else if (j === n) {
      return false; // a single trailing ':'
    }
    i = j;
  }
  if (gap < 0) {
    if (g !== 8) return false;
  } else {
    if (g > 7) return false;
    const tail = g - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[g - 1 - k];
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  out[0] = ((groups[0] << 16) | groups[1]) >>> 0;
  out[1] = ((groups[2] << 16) | groups[3]) >>> 0;
  out[2] = ((groups[4] << 16) | groups[5]) >>> 0;
  out[3] = ((groups[6] << 16) | groups[7]) >>> 0;
  return true;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Four words of an IPv4-mapped address (::ffff:a.b.c.d): the same peer as the IPv4 address. */
export function isMappedIPv4(w0: number, w1: number, w2: number): boolean {
  return w0 === 0 && w1 === 0 && w2 === 0xffff;
}

export function formatIPv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/**
 * RFC 5952 text of four words (the form the compact peer lists give, so a peer keeps one spelling):
 * lower-case hex, the longest run of two or more zero groups (the first on a tie) as "::". Built
 * without arrays, because every visit of an IPv6 peer asks for it.
 */
export function formatIPv6(w0: number, w1: number, w2: number, w3: number): string {
  const g = groupsOut;
  g[0] = w0 >>> 16;
  g[1] = w0 & 0xffff;
  g[2] = w1 >>> 16;
  g[3] = w1 & 0xffff;
  g[4] = w2 >>> 16;
  g[5] = w2 & 0xffff;
  g[6] = w3 >>> 16;
  g[7] = w3 & 0xffff;
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; k++) {
    if (g[k] !== 0) continue;
    let end = k + 1;
    while (end < 8 && g[end] === 0) end++;
    if (end - k > bestLen) {
      bestStart = k;
      bestLen = end - k;
    }
    k = end;
  }
  if (bestStart < 0) {
    return `${hex(g[0])}:${hex(g[1])}:${hex(g[2])}:${hex(g[3])}:${hex(g[4])}:${hex(g[5])}:${hex(g[6])}:${hex(g[7])}`;
  }
  let text = '';
  for (let k = 0; k < bestStart; k++) text += k === 0 ? hex(g[k]) : `:${hex(g[k])}`;
  text += '::';
  for (let k = bestStart + bestLen; k < 8; k++) text += k === bestStart + bestLen ? hex(g[k]) : `:${hex(g[k])}`;
  return text;
}

/** The groups while formatting (a scratch array, as for parsing). */
const groupsOut = new Uint16Array(8);

/** Hex text of every 16-bit group, made on first use (about 2 MB): Number#toString(16) per group was most of the cost. */
let hexTable: string[] | null = null;

function hex(n: number): string {
  if (hexTable === null) hexTable = Array.from({ length: 0x10000 }, (_, i) => i.toString(16));
  return hexTable[n];
}
