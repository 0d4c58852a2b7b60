// MSE/PE for the scripted test peers, with btda's own src/wire code: as a server, the encrypted-only peer
// of src/wire/encrypted-only.ts; as a client, btda's initiator. Afterwards the socket encrypts what is
// written and decrypts what arrives, so a script runs unchanged on top.
import type net from 'node:net';
import { installCiphers, serveEncryptedOnly } from '../../src/wire/encrypted-only.ts';
import { MseInitiator, obfuscatedInfoHash } from '../../src/wire/mse.ts';

/** Answers the other side's encrypted handshake (a plaintext one is closed at once). Resolves with the first plaintext bytes. */
export function mseRespond(socket: net.Socket, infoHash: Buffer): Promise<Buffer> {
  const known = obfuscatedInfoHash(infoHash);
  return new Promise((resolve, reject) => {
    serveEncryptedOnly(socket, (h) => (h.equals(known) ? infoHash : undefined), {
      onReady: resolve,
      onRefused: (why) => {
        // like a client set to require encryption: a plaintext handshake gets a FIN at once
        if (why === 'plaintext') socket.end();
        else socket.destroy();
        reject(new Error(`MSE: ${why}`));
      },
    });
    socket.once('close', () => reject(new Error('MSE: closed during the handshake')));
  });
}

/** Opens with the encrypted handshake (an empty initial payload: the script sends its handshake after). */
export function mseInitiate(socket: net.Socket, infoHash: Buffer): Promise<Buffer> {
  const initiator = new MseInitiator(infoHash, Buffer.alloc(0));
  socket.write(initiator.hello());
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const step = initiator.feed(chunk);
      if (step.status === 'bad') {
        socket.removeListener('data', onData);
        socket.destroy();
        return reject(new Error(`MSE: ${step.reason}`));
      }
      if (step.write) socket.write(step.write);
      if (step.status === 'more') return;
      socket.removeListener('data', onData);
      installCiphers(socket, step.result);
      resolve(step.result.payload);
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('MSE: closed during the handshake')));
  });
}
