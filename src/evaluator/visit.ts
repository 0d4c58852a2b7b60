// One visit of a queued peer: contact it, hand the result on, and give the peer back to the queue
// (due again after the revisit delay, a retry delay, or retired). The crawl's Scheduler runs one
// visit per free slot; the benchmarks run the same function.
import type { DueQueue, QueuedPeer } from '../queue/due-queue.ts';
import type { ContactResult, PeerSource } from '../types.ts';
import { contactPeer, type ContactOptions, type ContactTorrent } from './contact.ts';

/** Stores and counts a result; returns whether it confirmed a download. `seenBelowBefore`: an earlier visit of this run saw the peer below the threshold. */
export type RecordResult = (result: ContactResult, source: PeerSource | null, seenBelowBefore: boolean) => boolean;

export async function visitPeer(peer: QueuedPeer, torrent: ContactTorrent, opts: ContactOptions, queue: DueQueue, record: RecordResult): Promise<void> {
  const event = peer.attempts > 1 ? 'later' : 'first';
  const result = await contactPeer(torrent, peer.ip, peer.port, event, opts);
  const confirmed = record(result, peer.firstSource, peer.seenBelow);
  const threshold = torrent.thresholdPieces;
  if (result.reason === 'success') {
    // one byte per queued peer lets the live counter see crossings between visits; once confirmed, never again
    peer.seenBelow = !confirmed && (peer.seenBelow || (result.openingPieces ?? threshold) < threshold);
  }
  const complete = result.endPieces !== null && result.endPieces >= threshold;
  queue.finish(peer, result.reason === 'success', complete, Date.now());
}
