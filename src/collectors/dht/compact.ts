// Compact peer and node formats of BEP 5 (IPv4: 6-byte peers, 26-byte nodes) and BEP 32 (IPv6: 18-byte
// peers, 38-byte nodes). Bytes from the network: malformed entries are skipped, never thrown on.
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

export interface NodeInfo {
  id: Buffer;
  host: string;
  port: number;
}

export interface PeerInfo {
  host: string;
  port: number;
}

const ID_LENGTH = 20;
export const ipLength = (family: Family): number => (family === 4 ? 4 : 16);

/** The 4 or 16 bytes of an address literal, or null when it is not one of `family`. */
export function ipBytes(host: string, family: Family): Buffer | null {
  if (family === 4) {
    if (!isIPv4(host)) return null;
    return Buffer.from(host.split('.').map(Number));
  }
  if (!isIPv6(host)) return null;
  // Expand '::' and a trailing dotted quad, then write the eight 16-bit groups.
  let text = host.split('%')[0];
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = quad[1].split('.').map(Number);
    text = text.slice(0, -quad[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return null;
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g || '0', 16), i * 2));
  return out;
}

/** The address literal of 4 or 16 bytes (IPv6 in Node's compressed form). */
export function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  // IPv4-mapped (::ffff:a.b.c.d) keeps its dotted form, so unmapIPv4() sees the IPv4 address it is.
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) {
    return `::ffff:${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Longest run of zero groups (at least two) becomes '::' (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function encodePeer(host: string, port: number, family: Family): Buffer | null {
  const ip = ipBytes(host, family);
  if (!ip) return null;
  const out = Buffer.alloc(ip.length + 2);
  ip.copy(out);
  out.writeUInt16BE(port, ip.length);
  return out;
}

/** One `values` entry: 6 bytes (IPv4) or 18 bytes (IPv6); anything else, or port 0, is null. */
export function decodePeer(buf: Buffer): PeerInfo | null {
  if (buf.length !== 6 && buf.length !== 18) return null;
  const port = buf.readUInt16BE(buf.length - 2);
  return port ? { host: ipText(buf.subarray(0, buf.length - 2)), port } : null;
}

export function encodeNodes(nodes: NodeInfo[], family: Family): Buffer {
  const parts: Buffer[] = [];
  for (const n of nodes) {
    const peer = encodePeer(n.host, n.port, family);
    if (peer && n.id.length === ID_LENGTH) parts.push(n.id, peer);
  }
  return Buffer.concat(parts);
}

/** `nodes` (26-byte entries) or `nodes6` (38-byte entries); a trailing partial entry is ignored. */
export function decodeNodes(buf: Buffer, family: Family): NodeInfo[] {
  const size = ID_LENGTH + ipLength(family) + 2;
  const out: NodeInfo[] = [];
  for (let i = 0; i + size <= buf.length; i += size) {
    const port = buf.readUInt16BE(i + size - 2);
    if (!port) continue;
    out.push({ id: Buffer.from(buf.subarray(i, i + ID_LENGTH)), host: ipText(buf.subarray(i + ID_LENGTH, i + size - 2)), port });
  }
  return out;
}
