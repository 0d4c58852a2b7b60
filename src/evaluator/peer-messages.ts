// What a peer's messages teach, apart from sockets and timers: the state messages move a ContactProgress,
// the extension handshake, PORT and ut_pex fill the ContactResult. Shared by a contact (contact.ts) and a
// watched connection (watch.ts), so both read a peer by the same rules. And how a connection we opened
// is closed: our PORT message first when we run a DHT node.
import type { ContactResult } from '../types.ts';
import type { ContactProgress } from './contact-progress.ts';
import { MessageId } from '../wire/message-reader.ts';
import { EXTENDED_HANDSHAKE_ID, OUR_EXTENSION_IDS, parseDontHave, parseExtensionHandshake } from '../wire/extension-handshake.ts';
import { parsePexMessage } from '../wire/pex.ts';
import { buildPortMessage, parsePortPayload } from '../wire/port.ts';
import type { Rc4 } from '../wire/rc4.ts';
import type { PeerSocket } from './socket-owner.ts';

/** Peers kept from PEX messages per contact (a client sends at most 50 per minute). */
const MAX_PEX_PEERS_PER_CONTACT = 500;

/** How long a socket may take to flush our PORT message after `end()` before it is destroyed. */
const PORT_LINGER_MS = 2000;

/** Applies one message to the progress and the result; false when it is malformed (the connection ends as bad-message). */
export function readPeerMessage(id: number, payload: Buffer, progress: ContactProgress, r: ContactResult, pex: boolean, at: number): boolean {
  switch (id) {
    case MessageId.bitfield:
      return progress.bitfield(payload, at);
    case MessageId.have:
      return payload.length === 4 && progress.have(payload.readUInt32BE(0), at);
    case MessageId.haveAll:
      progress.haveAll(at);
      return true;
    case MessageId.haveNone:
      progress.haveNone(at);
      return true;
    case MessageId.port:
      r.dhtPort = parsePortPayload(payload) ?? r.dhtPort;
      return true;
    case MessageId.extended:
      return readExtended(payload, progress, r, pex, at);
    default: // keep-alive, choke, allowed_fast, ...: nothing to learn
      return true;
  }
}

function readExtended(payload: Buffer, progress: ContactProgress, r: ContactResult, pex: boolean, at: number): boolean {
  if (payload.length === 0) return true;
  const extId = payload[0];
  if (extId === EXTENDED_HANDSHAKE_ID) {
    const hs = parseExtensionHandshake(payload.subarray(1));
    if (!hs) return false;
    // A later extension handshake updates what it names.
    r.clientVersion = hs.clientVersion ?? r.clientVersion;
    r.listenPort = hs.listenPort ?? r.listenPort;
    r.uploadOnly = hs.uploadOnly;
    r.completeAgo = hs.completeAgo ?? r.completeAgo;
    return true;
  }
  if (extId === OUR_EXTENSION_IDS.ut_pex) {
    // other peers of the swarm: a bonus, never a reason to end the contact (a bad message is ignored)
    const peers = pex ? parsePexMessage(payload.subarray(1)) : null;
    if (peers && peers.length > 0) {
      r.pexPeers ??= [];
      for (const p of peers) if (r.pexPeers.length < MAX_PEX_PEERS_PER_CONTACT) r.pexPeers.push(p);
    }
    return true;
  }
  if (extId === OUR_EXTENSION_IDS.lt_donthave) {
    const index = parseDontHave(payload.subarray(1));
    return index !== null && progress.dontHave(index, at);
  }
  return true; // an extension we did not announce: ignore
}

/** Closes a connection; after a completed handshake our PORT message goes first when we run a DHT node. */
export function closePeerSocket(socket: PeerSocket, dhtPort: number | undefined, handshakeDone: boolean, encrypt: Rc4 | null): void {
  try {
    if (dhtPort !== undefined && handshakeDone && !socket.destroyed && socket.writable) {
      // end() flushes the PORT message before the FIN; destroy() now could drop it.
      const port = buildPortMessage(dhtPort);
      socket.end(encrypt ? encrypt.apply(port) : port);
      const linger = setTimeout(() => socket.destroy(), PORT_LINGER_MS);
      linger.unref();
      socket.once('close', () => clearTimeout(linger));
    } else {
      socket.destroy();
    }
  } catch {
    socket.destroy();
  }
}
