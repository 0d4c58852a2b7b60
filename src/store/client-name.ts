// Human-readable client names from peer ids ("-TR3000-..." → "Transmission 3.00").
import peerid from 'bittorrent-peerid';

const cache = new Map<string, string | null>();
/** aria2's peer ids ("A2-1-36-0-" + random bytes) are unknown to bittorrent-peerid. */
const ARIA2 = /^A2-(\d{1,3})-(\d{1,3})-(\d{1,3})-/;

/** Decodes the client from a hex peer id; null when the id says nothing. Cached by its first 8 bytes. */
export function clientName(peerIdHex: string | null): string | null {
  if (!peerIdHex || peerIdHex.length !== 40) return null;
  const aria2 = ARIA2.exec(Buffer.from(peerIdHex.slice(0, 26), 'hex').toString('latin1'));
  if (aria2) return `aria2 ${aria2[1]}.${aria2[2]}.${aria2[3]}`;
  const prefix = peerIdHex.slice(0, 16);
  let name = cache.get(prefix);
  if (name === undefined) {
    try {
      const { client, version } = peerid(Buffer.from(peerIdHex, 'hex'));
      name = client && client !== 'unknown' ? (version ? `${client} ${version}` : client) : null;
    } catch {
      name = null;
    }
    if (cache.size < 10_000) cache.set(prefix, name);
  }
  return name;
}
