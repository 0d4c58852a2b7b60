// IP address text, read once for everything that keys, compares or filters addresses: the unmapping of
// IPv4-mapped IPv6 addresses (dual-stack sockets report '::ffff:1.2.3.4') and strict parsers that the
// address policy runs on every address a collector delivers (millions per run: no regex, no allocation).

/**
 * '::ffff:1.2.3.4' (any case, or its hex form '::ffff:102:304') → '1.2.3.4': an IPv4-mapped IPv6 address
 * is the IPv4 host it maps (RFC 4291 2.5.5.2). Anything else is returned unchanged.
 */
export function unmapIPv4(ip: string): string {
  if (ip.length < 9 || ip.charCodeAt(0) !== 58 /* : */ || !/^::ffff:/i.test(ip)) return ip;
  const rest = ip.slice(7);
  if (parseIPv4(rest) >= 0) return rest;
  const words = parseIPv6(ip);
  return words && isMappedIPv4(words) ? formatIPv4(mappedIPv4(words)) : ip;
}

/** A dotted quad as an unsigned 32-bit number, or -1. Strict: four decimals 0..255, no leading zeros. */
export function parseIPv4(s: string, from = 0, to = s.length): number {
  let value = 0;
  let octets = 0;
  let i = from;
  while (i < to) {
    const start = i;
    let octet = 0;
    while (i < to) {
      const c = s.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - start;
    // '010' would be octal to inet_aton (and so to getaddrinfo): never accepted
    if (digits === 0 || digits > 3 || octet > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return -1;
    value = value * 256 + octet;
    octets++;
    if (i === to) break;
    if (s.charCodeAt(i) !== 46 /* . */ || octets === 4) return -1;
    i++;
    if (i === to) return -1; // trailing dot
  }
  return octets === 4 ? value : -1;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Reused by parseIPv6: the caller reads the 8 groups before the next call. */
const scratch = new Uint16Array(8);

/**
 * An IPv6 address as its 8 16-bit groups, or null. Accepts '::' compression and a dotted IPv4 tail
 * ('::ffff:1.2.3.4', '64:ff9b::10.0.0.1'); rejects zone ids ('fe80::1%eth0'), brackets and anything else.
 * The returned array is shared: copy it to keep it.
 */
export function parseIPv6(s: string): Uint16Array | null {
  const len = s.length;
  if (len < 2 || len > 45) return null;
  const g = scratch;
  let n = 0; // groups written
  let gap = -1; // index in g where '::' stands
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
    if (i === len) {
      g.fill(0);
      return g;
    }
  }
  while (i < len) {
    const start = i;
    let word = 0;
    while (i < len && i - start < 5) {
      const c = s.charCodeAt(i);
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
      if (d < 0) break;
      word = word * 16 + d;
      i++;
    }
    if (i < len && s.charCodeAt(i) === 46) {
      // dotted IPv4 tail: the last 32 bits
      const v4 = parseIPv4(s, start, len);
      if (v4 < 0 || n > 6) return null;
      g[n++] = v4 >>> 16;
      g[n++] = v4 & 0xffff;
      i = len;
      break;
    }
    const digits = i - start;
    if (digits === 0 || digits > 4 || n === 8) return null;
    g[n++] = word;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return null;
    i++;
    if (i < len && s.charCodeAt(i) === 58) {
      if (gap >= 0) return null; // a second '::'
      gap = n;
      i++;
    } else if (i === len) return null; // trailing single ':'
  }
  if (gap < 0) return n === 8 ? g : null;
  if (n > 7) return null; // '::' stands for at least one group
  // move the groups after the gap to the end, zero the middle
  const tail = n - gap;
  for (let k = 0; k < tail; k++) g[7 - k] = g[n - 1 - k];
  for (let k = gap; k < 8 - tail; k++) g[k] = 0;
  return g;
}

/** ::ffff:0:0/96 (RFC 4291 2.5.5.2). */
export function isMappedIPv4(g: Uint16Array): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

/** The IPv4 address of a mapped IPv6 address, as an unsigned 32-bit number. */
export function mappedIPv4(g: Uint16Array): number {
  return g[6] * 65536 + g[7];
}
