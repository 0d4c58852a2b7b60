// Human-readable client names from peer ids ("-TR3000-..." → "Transmission 3.00").
import peerid from 'bittorrent-peerid';

const cache = new Map<string, string | null>();

/** Decodes the client from a hex peer id; null when the id says nothing. Cached by its first 8 bytes. */
export function clientName(peerIdHex: string | null): string | null {
  if (!peerIdHex || peerIdHex.length !== 40) return null;
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
