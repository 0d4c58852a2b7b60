// What we send in every wire session (contacts, inbound connections, metadata fetches), from one place,
// built once and reused: our handshake depends only on the torrent, our peer id and the DHT bit; what
// follows it only on the peer's Fast and extension bits, our listen port, PEX and whether we want metadata
// (the extension ids are OUR_EXTENSION_IDS, extension-handshake.ts). The hot path never builds them again.
import { buildExtensionHandshake } from './extension-handshake.ts';
import { buildHandshake } from './handshake.ts';
import { HAVE_NONE_MESSAGE as HAVE_NONE } from './message-reader.ts';

/** Our handshake per torrent (by info hash buffer), for the peer id and DHT bit it was built with. */
const handshakes = new WeakMap<Buffer, { infoHash: Buffer; peerId: Buffer; dht: boolean; bytes: Buffer }>();

export function handshakeFor(infoHash: Buffer, peerId: Buffer, dht: boolean): Buffer {
  const cached = handshakes.get(infoHash);
  if (cached && cached.dht === dht && cached.peerId.equals(peerId) && cached.infoHash.equals(infoHash)) return cached.bytes;
  const bytes = buildHandshake(infoHash, peerId, { dht });
  // copies of the inputs: a caller changing its buffers later gets a new handshake, not a stale one
  handshakes.set(infoHash, { infoHash: Buffer.from(infoHash), peerId: Buffer.from(peerId), dht, bytes });
  return bytes;
}

/**
 * What we send once the peer's handshake is read, in one write: have_none when both sides set the Fast
 * bit (first: the piece state message comes right after the handshake), then our extension handshake
 * when the peer speaks BEP 10; null when neither. Sent only after the peer's handshake was read, never
 * together with ours: aria2 drops a peer whose handshake and next message arrive in one read.
 */
export function afterHandshakeFor(
  peerFast: boolean, peerExtensions: boolean, listenPort: number | undefined, pex: boolean, metadata = false,
): Buffer | null {
  if (!peerExtensions) return peerFast ? HAVE_NONE : null;
  if (!peerFast) return extensionHandshakeFor(listenPort, pex, metadata);
  const key = `${listenPort}:${pex}:${metadata}`;
  let bytes = withHaveNone.get(key);
  if (!bytes) {
    bytes = Buffer.concat([HAVE_NONE, extensionHandshakeFor(listenPort, pex, metadata)]);
    if (withHaveNone.size < 16) withHaveNone.set(key, bytes);
  }
  return bytes;
}

const withHaveNone = new Map<string, Buffer>();

/** Our extension handshake by listen port, PEX and ut_metadata (buildExtensionHandshake depends on nothing else). */
const extensionHandshakes = new Map<string, Buffer>();

export function extensionHandshakeFor(listenPort: number | undefined, pex: boolean, metadata = false): Buffer {
  const key = `${listenPort}:${pex}:${metadata}`;
  let bytes = extensionHandshakes.get(key);
  if (!bytes) {
    bytes = buildExtensionHandshake({ listenPort, pex, metadata });
    if (extensionHandshakes.size < 16) extensionHandshakes.set(key, bytes);
  }
  return bytes;
}
