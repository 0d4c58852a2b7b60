// What we send in every contact, built once and reused: our handshake depends only on the torrent, our
// peer id and the DHT bit; our extension handshake only on our listen port and PEX. The hot path of a
// contact never builds them again.
import { buildExtensionHandshake } from '../wire/extension-handshake.ts';
import { buildHandshake } from '../wire/handshake.ts';

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

/** Our extension handshake by listen port and PEX (buildExtensionHandshake depends on nothing else). */
const extensionHandshakes = new Map<string, Buffer>();

export function extensionHandshakeFor(listenPort: number | undefined, pex: boolean): Buffer {
  const key = `${listenPort}:${pex}`;
  let bytes = extensionHandshakes.get(key);
  if (!bytes) {
    bytes = buildExtensionHandshake({ listenPort, pex });
    if (extensionHandshakes.size < 16) extensionHandshakes.set(key, bytes);
  }
  return bytes;
}
