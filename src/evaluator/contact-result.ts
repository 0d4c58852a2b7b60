// The parts of a ContactResult that do not need a socket: the empty result a contact starts from,
// and the reason a socket error stands for at each phase of the contact.
import type { ContactEvent, ContactReason, ContactResult } from '../types.ts';
import { socketFailureOf } from '../wire/socket-errors.ts';

/** How far a contact got: TCP connect, the peer's handshake, its messages. */
export type ContactPhase = 'connecting' | 'handshake' | 'messages' | 'done';

/** The reason a socket error gives, by how far the contact got. */
export function reasonForSocketError(code: string | undefined, phase: ContactPhase, hasState: boolean): ContactReason {
  if (hasState) return 'success';
  const failure = socketFailureOf(code);
  // once the handshake is done, a reset or a stall means the peer had nothing to tell
  if (phase === 'messages' && (failure === 'reset' || failure === 'timeout')) return 'no-state';
  return failure;
}

/** A result with nothing learnt yet (reason 'error' until the contact says otherwise). */
export function failedResult(torrentId: number, ip: string, port: number, event: ContactEvent, at = Date.now()): ContactResult {
  return {
    torrentId,
    ip,
    port,
    event,
    reason: 'error',
    startedAt: at,
    endedAt: at,
    openingPieces: null,
    openedAt: null,
    endPieces: null,
    crossedAt: null,
    crossedPieces: null,
    uploadOnly: false,
    completeAgo: null,
    peerId: null,
    clientVersion: null,
    listenPort: null,
    longestWaitMs: 0,
    messages: 0,
    dhtPort: null,
    encrypted: false,
    pexPeers: null,
  };
}
