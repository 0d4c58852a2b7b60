// A metadata fetch's view of a peer (wire/seen-state.ts) read once the torrent's piece count is known: its
// state messages are replayed, at the times they arrived, by the rules a contact reads them with
// (peer-messages.ts, contact-progress.ts), into an ordinary ContactResult. The fetch was a connection to
// the peer like a contact; what it saw is an observation with its real times.
import type { ContactResult } from '../types.ts';
import type { PeerSeen } from '../wire/seen-state.ts';
import { ContactProgress } from './contact-progress.ts';
import { failedResult } from './contact-result.ts';
import type { ContactTorrent } from './contact.ts';
import { readPeerMessage } from './peer-messages.ts';

/** The contact result of what a fetch saw; null for a fetch that never read the peer's handshake. */
export function resultFromSeen(seen: PeerSeen, torrent: ContactTorrent, openingGraceMs: number): ContactResult | null {
  if (!seen.peerId) return null;
  const r = failedResult(torrent.torrentId, seen.ip, seen.port, 'first', seen.startedAt);
  r.peerId = seen.peerId;
  r.encrypted = seen.encrypted;
  r.endedAt = seen.endedAt;
  const progress = new ContactProgress(torrent.pieces, torrent.thresholdPieces, openingGraceMs);
  let bad = false;
  let last = seen.startedAt;
  for (const m of seen.messages) {
    r.messages++;
    if (m.at - last > r.longestWaitMs) r.longestWaitMs = m.at - last;
    last = m.at;
    // a bitfield of the wrong length for the real piece count, a have out of range: as in a contact
    if (!readPeerMessage(m.id, m.payload, progress, r, false, m.at)) {
      bad = true;
      break;
    }
  }
  r.reason = bad ? 'bad-message' : progress.hasState ? 'success' : 'no-state';
  r.openingPieces = progress.openingPieces;
  r.openedAt = progress.openedAt;
  r.endPieces = progress.endPieces;
  r.crossedAt = progress.crossedAt;
  r.crossedPieces = progress.crossedPieces;
  return r;
}
