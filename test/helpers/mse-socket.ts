// MSE/PE for the scripted test peers: runs the encrypted handshake on a raw socket (as responder or
// initiator, with btda's own src/wire/mse.ts), then makes the socket encrypt what is written and
// decrypt what arrives, so a script runs unchanged on top.
import type net from 'node:net';
import { MseInitiator, MseResponder, obfuscatedInfoHash, type MseResult, type MseStep } from '../../src/wire/mse.ts';

/** The other side's encrypted handshake, answered. Resolves with the first plaintext bytes (to replay as 'data'). */
export function mseRespond(socket: net.Socket, infoHash: Buffer): Promise<Negotiated> {
  const known = obfuscatedInfoHash(infoHash);
  const responder = new MseResponder((h) => (h.equals(known) ? infoHash : undefined));
  let first = true;
  return negotiate(socket, (c) => {
    // like a client set to require encryption: a plaintext handshake is closed at once
    if (first && c[0] === 19 && c.subarray(1, 20).toString('latin1') === 'BitTorrent protocol') {
      socket.end();
      return { status: 'bad', reason: 'plaintext refused' };
    }
    first = false;
    return responder.feed(c);
  });
}

/** Opens with the encrypted handshake (an empty initial payload: the script sends its handshake after). */
export function mseInitiate(socket: net.Socket, infoHash: Buffer): Promise<Negotiated> {
  const initiator = new MseInitiator(infoHash, Buffer.alloc(0));
  socket.write(initiator.hello());
  return negotiate(socket, (c) => initiator.feed(c));
}

/** The socket encrypts and decrypts from now on; `replay()` hands the first plaintext bytes (already decrypted) to the listeners. */
export interface Negotiated {
  replay: () => void;
}

function negotiate(socket: net.Socket, feed: (c: Buffer) => MseStep): Promise<Negotiated> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const step = feed(chunk);
      if (step.status === 'bad') {
        socket.removeListener('data', onData);
        if (!socket.writableEnded) socket.destroy();
        return reject(new Error(`MSE: ${step.reason}`));
      }
      if (step.write) socket.write(step.write);
      if (step.status === 'done') {
        socket.removeListener('data', onData);
        resolve({ replay: install(socket, step.result) });
      }
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('MSE: closed during the handshake')));
  });
}

function install(socket: net.Socket, r: MseResult): () => void {
  const { encrypt, decrypt } = r;
  let replaying = false;
  const replay = () => {
    if (r.payload.length === 0) return;
    replaying = true;
    socket.emit('data', r.payload);
    replaying = false;
  };
  if (!encrypt || !decrypt) return replay;
  socket.prependListener('data', (chunk: Buffer) => void (replaying || decrypt.apply(chunk)));
  const write = socket.write.bind(socket) as (b: Uint8Array) => boolean;
  const end = socket.end.bind(socket) as (b?: Uint8Array) => net.Socket;
  (socket as { write: unknown }).write = (b: Uint8Array) => write(encrypt.apply(Buffer.from(b)));
  (socket as { end: unknown }).end = (b?: Uint8Array) => end(b && b.length ? encrypt.apply(Buffer.from(b)) : undefined);
  return replay;
}
