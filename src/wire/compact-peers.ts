// The compact peer format of trackers (BEP 23, BEP 7), the DHT and PEX (BEP 11): 4 or 16 address bytes
// and a 2-byte port per peer.

export interface CompactPeer {
  ip: string;
  port: number;
  /** PEX only (BEP 11 `added.f`): what the peer that named it says of it (PEX_* bits, see pex.ts). */
  flags?: number;
}

/**
 * Reads compact peers: 6 bytes (IPv4 + port) or 18 bytes (IPv6 + port) each. Ports are unsigned
 * 16-bit big-endian (the 2015 tool read them signed and lost every port above 32767). Entries with
 * port 0 are dropped; a trailing partial entry is ignored. `flags`: one byte per entry, in order (PEX).
 */
export function parseCompactPeers(data: Uint8Array, entrySize: 6 | 18, flags?: Uint8Array): CompactPeer[] {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const peers: CompactPeer[] = [];
  for (let off = 0; off + entrySize <= buf.length; off += entrySize) {
    const port = buf.readUInt16BE(off + entrySize - 2);
    if (port === 0) continue;
    const ip = entrySize === 6 ? formatIpv4(buf, off) : formatIpv6(buf.subarray(off, off + 16));
    peers.push(flags ? { ip, port, flags: flags[off / entrySize] } : { ip, port });
  }
  return peers;
}

function formatIpv4(buf: Buffer, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

/** RFC 5952 text of a 16-byte address; IPv4-mapped addresses become plain dotted IPv4. */
export function formatIpv6(b: Buffer): string {
  const isMapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (isMapped) return formatIpv4(b, 12);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // The longest run of two or more zero groups becomes "::" (the first one on a tie).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
