// One visit of a queued peer: contact it, hand the result on, and give the peer back to the queue
// (due again after the revisit delay, a retry delay, or retired) — or, when the watch took the connection
// over, once the watch ends. The crawl's Scheduler runs one
// visit per free slot; the benchmarks run the same function.
import type { DueQueue, QueuedPeer } from '../queue/due-queue.ts';
import type { EncryptionPolicy } from '../config.ts';
import type { ContactReason, ContactResult, PeerSource } from '../types.ts';
import { contactPeer, type ContactOptions, type ContactTorrent } from './contact.ts';

/** Stores and counts a result (what counts as a download is decided by the writer, from the store's state). */
export type RecordResult = (result: ContactResult, source: PeerSource | null) => void;

export async function visitPeer(
  peer: QueuedPeer, torrent: ContactTorrent, opts: ContactOptions, queue: DueQueue, record: RecordResult, encryption: EncryptionPolicy = 'off',
): Promise<void> {
  const event = peer.attempts > 1 ? 'later' : 'first';
  // open the way that worked last time, so a visit costs one connection, not two
  const policy = encryption === 'off' || peer.encrypted === null ? encryption : peer.encrypted ? 'prefer' : 'fallback';
  const result = await contactWithPolicy(torrent, peer.ip, peer.port, event, opts, policy);
  record(result, peer.firstSource);
  const threshold = torrent.thresholdPieces;
  if (result.reason === 'success') peer.encrypted = result.encrypted;
  // a watched peer (watch.ts) stays out of the queue until its watch ends: one connection per peer
  const watched = opts.watch?.whenDone(result);
  if (watched) {
    void watched.then((end) => {
      queue.finish(peer, true, end.pieces !== null && end.pieces >= threshold, Date.now());
      // the watch ends outside the scheduler's own contact callback: wake it, or an idle pool never revisits the peer
      queue.onWake?.();
    });
    return;
  }
  // upload_only (BEP 21): a seed, or a partial seed that wants nothing more: never a download to confirm
  const complete = result.uploadOnly || (result.endPieces !== null && result.endPieces >= threshold);
  queue.finish(peer, result.reason === 'success', complete, Date.now());
}

/** How a peer refuses a handshake it will not speak: a client that requires encryption closes a plaintext one at once. */
const REFUSED_PLAINTEXT = new Set<ContactReason>(['closed-early', 'reset']);
/** A client without MSE/PE closes on the encrypted handshake's random bytes, or answers something else. */
const REFUSED_ENCRYPTED = new Set<ContactReason>(['closed-early', 'reset', 'unknown-protocol']);

/**
 * One contact under the encryption policy: 'fallback' tries encrypted when the plaintext handshake was
 * closed at once, 'prefer' tries plaintext when the encrypted one was. Only the last attempt is recorded
 * (its `encrypted` flag tells which one it was).
 */
export async function contactWithPolicy(
  torrent: ContactTorrent, ip: string, port: number, event: 'first' | 'later', opts: ContactOptions, encryption: EncryptionPolicy,
): Promise<ContactResult> {
  const encryptFirst = encryption === 'prefer';
  const result = await contactPeer(torrent, ip, port, event, opts, encryptFirst);
  const refused = (encryptFirst ? REFUSED_ENCRYPTED : REFUSED_PLAINTEXT).has(result.reason);
  const retry = encryption !== 'off' && refused && !opts.stop?.isStopped;
  return retry ? contactPeer(torrent, ip, port, event, opts, !encryptFirst) : result;
}
