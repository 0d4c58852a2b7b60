import type { ContactResult } from '../../src/types.ts';

/** A successful contact result with sensible defaults, for store and pipeline tests. */
export function contactResult(over: Partial<ContactResult>): ContactResult {
  const startedAt = over.startedAt ?? Date.parse('2026-01-01T00:00:00Z');
  return {
    torrentId: 1,
    ip: '81.2.69.142',
    port: 6881,
    event: 'first',
    reason: 'success',
    startedAt,
    endedAt: startedAt + 2000,
    openingPieces: 0,
    openedAt: startedAt + 100,
    endPieces: 0,
    crossedAt: null,
    crossedPieces: null,
    uploadOnly: false,
    completeAgo: null,
    peerId: Buffer.from('-TR3000-abcdefghijkl'),
    clientVersion: null,
    listenPort: null,
    longestWaitMs: 100,
    messages: 1,
    dhtPort: null,
    encrypted: false,
    pexPeers: null,
    ...over,
  };
}
