// Peer exchange (ut_pex, BEP 11): peers tell each other whom they are connected to. A message is a
// bencoded dict; `added` (6 bytes per IPv4 peer) and `added6` (18 bytes per IPv6 peer) name peers,
// `added.f` / `added6.f` give one flags byte per named peer (PEX_* below), `dropped`/`dropped6` those
// gone (not needed: btda finds out itself). Clients send at most 50 added peers per message and one
// message a minute; we read at most MAX_PEX_PEERS per message.
import { decodeDictPrefix } from '../bencode/decode.ts';
import { parseCompactPeers, type CompactPeer } from './compact-peers.ts';

/** More than any client sends in one message (BEP 11 suggests 50); the rest is dropped. */
export const MAX_PEX_PEERS = 200;

/** BEP 11 flag bits, as the peer that sends the message sees the peer it names. */
export const PEX_PREFERS_ENCRYPTION = 0x01;
/** A seed, or a peer that only uploads (wants nothing). */
export const PEX_SEED = 0x02;
export const PEX_UTP = 0x04;
export const PEX_HOLEPUNCH = 0x08;
/** The sender reached it by an outgoing connection: it accepts connections. */
export const PEX_REACHABLE = 0x10;

/** The peers a ut_pex message adds (with their flags when the message gives them); null when it is not a bencoded dict. */
export function parsePexMessage(payload: Buffer): CompactPeer[] | null {
  const decoded = decodeDictPrefix(payload, { maxDepth: 2, maxItems: 64 })?.dict;
  if (!decoded) return null;
  const peers: CompactPeer[] = [];
  const v4 = decoded.added;
  const v6 = decoded.added6;
  if (Buffer.isBuffer(v4)) {
    peers.push(...parseCompactPeers(v4.subarray(0, MAX_PEX_PEERS * 6), 6, flagsFor(v4, 6, decoded['added.f'])));
  }
  if (Buffer.isBuffer(v6) && peers.length < MAX_PEX_PEERS) {
    const room = (MAX_PEX_PEERS - peers.length) * 18;
    peers.push(...parseCompactPeers(v6.subarray(0, room), 18, flagsFor(v6, 18, decoded['added6.f'])));
  }
  return peers;
}

/**
 * The flags string of a list of compact peers, when it has exactly one byte per whole entry. Any other
 * length cannot be matched to the peers, so it is ignored (the peers keep no flags), never fatal.
 */
function flagsFor(list: Buffer, entrySize: 6 | 18, flags: unknown): Uint8Array | undefined {
  if (!Buffer.isBuffer(flags)) return undefined;
  return flags.length === Math.floor(list.length / entrySize) ? flags : undefined;
}
