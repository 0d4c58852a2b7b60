// Peer exchange (ut_pex, BEP 11): peers tell each other whom they are connected to. A message is a
// bencoded dict; `added` (6 bytes per IPv4 peer) and `added6` (18 bytes per IPv6 peer) name peers,
// `dropped`/`dropped6` those gone (not needed: btda finds out itself). Clients send at most 50
// added peers per message and one message a minute; we read at most MAX_PEX_PEERS per message.
import { decodeDictPrefix } from '../bencode/decode.ts';
import { parseCompactPeers, type CompactPeer } from './compact-peers.ts';

/** More than any client sends in one message (BEP 11 suggests 50); the rest is dropped. */
export const MAX_PEX_PEERS = 200;

/** The peers a ut_pex message adds; null when it is not a bencoded dict. */
export function parsePexMessage(payload: Buffer): CompactPeer[] | null {
  const decoded = decodeDictPrefix(payload, { maxDepth: 2, maxItems: 64 })?.dict;
  if (!decoded) return null;
  const peers: CompactPeer[] = [];
  const v4 = decoded.added;
  const v6 = decoded.added6;
  if (Buffer.isBuffer(v4)) peers.push(...parseCompactPeers(v4.subarray(0, MAX_PEX_PEERS * 6), 6));
  if (Buffer.isBuffer(v6) && peers.length < MAX_PEX_PEERS) {
    peers.push(...parseCompactPeers(v6.subarray(0, (MAX_PEX_PEERS - peers.length) * 18), 18));
  }
  return peers;
}
