// The metadata fetch speaks MSE/PE (one WireSession, as contacts): a peer that requires encryption closes a
// plaintext handshake at once, and fetchMetadataFromAny tries it again encrypted under 'fallback' (or opens
// encrypted under 'prefer'). What the peer showed of its pieces during the fetch comes back as `seen`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fetchMetadata } from '../../src/torrents/fetch-metadata.ts';
import { fetchMetadataFromAny } from '../../src/torrents/fetch-from-any.ts';
import { resultFromSeen } from '../../src/evaluator/seen-result.ts';
import { findTopLevelValue } from '../../src/bencode/scan.ts';
import { MessageId } from '../../src/wire/message-reader.ts';
import type { PeerSeen } from '../../src/wire/seen-state.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { forbiddenIds, startScriptedPeer, type Step } from '../helpers/scripted-peer.ts';

const ourId = Buffer.from('-BD0001-metadataenc0', 'latin1');
let info: Buffer;
let infoHash: Buffer;

before(async () => {
  const made = await makeTorrent({ name: 'enc.bin', size: 3_000_000, pieceLength: 16_384 });
  const span = findTopLevelValue(made.torrent, 'info')!;
  info = Buffer.from(made.torrent.subarray(span.start, span.end));
  infoHash = createHash('sha1').update(info).digest();
});

const PIECES = Math.ceil(3_000_000 / 16_384); // 184
const options = { peerId: ourId, connectTimeoutMs: 2000, timeoutMs: 5000 };
const serving = (): Step[] => [
  { handshake: true },
  { bitfield: 100 },
  { have: [100, 101] },
  { extHandshake: { m: { ut_metadata: 3 }, metadata_size: info.length, v: 'Encrypted 1.0' } },
  { serveMetadata: { info, localId: 3 } },
];

test('a peer that requires encryption: plaintext is closed, fallback resolves it over MSE/PE and returns what it showed', async () => {
  const peer = await startScriptedPeer({ infoHash, pieces: PIECES, encrypted: true, script: serving() });
  try {
    const plain = await fetchMetadata(infoHash, '127.0.0.1', peer.port, options);
    assert.equal(plain.ok, false);
    assert.equal((plain as { reason: string }).reason, 'closed');
    assert.equal(plain.seen, null, 'no handshake read: nothing seen');

    const off = await fetchMetadataFromAny(infoHash, [{ ip: '127.0.0.1', port: peer.port }], { ...options, encryption: 'off' });
    assert.equal(off.ok, false);

    const seen: PeerSeen[] = [];
    const r = await fetchMetadataFromAny(infoHash, [{ ip: '127.0.0.1', port: peer.port }], {
      ...options, encryption: 'fallback', onSeen: (s) => seen.push(s),
    });
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(r.info.equals(info));
    assert.equal(seen.length, 1);
    const s = seen[0];
    assert.equal(s.encrypted, true);
    assert.ok(s.peerId, 'the peer id of its handshake');
    assert.deepEqual(s.messages.map((m) => m.id), [MessageId.bitfield, MessageId.have, MessageId.have, MessageId.extended]);
    assert.ok(s.startedAt <= s.messages[0].at && s.messages[3].at <= s.endedAt);

    // the encrypted connection carried nothing we must never send
    const conn = peer.connections[peer.connections.length - 1];
    await conn.closed;
    assert.deepEqual(forbiddenIds(conn), []);

    // read once the piece count is known: an ordinary contact result with the fetch's times
    const torrent = { torrentId: 7, infoHash, pieces: PIECES, thresholdPieces: 180 };
    const result = resultFromSeen(s, torrent, 1000)!;
    assert.equal(result.reason, 'success');
    assert.equal(result.openingPieces, 102);
    assert.equal(result.endPieces, 102);
    assert.equal(result.encrypted, true);
    assert.equal(result.clientVersion, 'Encrypted 1.0');
    assert.equal(result.startedAt, s.startedAt);
    assert.equal(result.endedAt, s.endedAt);
    // a wrong piece count: a bitfield of the wrong length is a bad message, as in a contact
    assert.equal(resultFromSeen(s, { ...torrent, pieces: 5000 }, 1000)!.reason, 'bad-message');
  } finally {
    await peer.close();
  }
});

test("'prefer' opens encrypted: one connection to a peer that requires it", async () => {
  const peer = await startScriptedPeer({ infoHash, pieces: PIECES, encrypted: true, script: serving() });
  try {
    const r = await fetchMetadataFromAny(infoHash, [{ ip: '127.0.0.1', port: peer.port }], { ...options, encryption: 'prefer' });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(peer.accepted, 1);
  } finally {
    await peer.close();
  }
});
