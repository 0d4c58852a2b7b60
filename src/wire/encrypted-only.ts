// The receiving side of a peer that speaks only MSE/PE, as a client set to "require encryption" is:
// a plaintext handshake is closed at once, an encrypted one is answered (mse.ts MseResponder). Used by
// the simulated peers of `btda demo` and of the benchmark swarm, which play such clients.
import type net from 'node:net';
import { PROTOCOL_NAME } from './handshake.ts';
import { MseResponder, type MseResult } from './mse.ts';

export interface EncryptedOnlyHandlers {
  /**
   * The encrypted handshake is done: from now on `socket.write` encrypts and 'data' arrives decrypted.
   * `payload`: the first plaintext bytes (the other side's initial payload and what followed it).
   */
  onReady(payload: Buffer): void;
  /** 'plaintext': a plaintext handshake, refused; else the responder's reason. The socket is to be closed. */
  onRefused(why: string): void;
}

export function serveEncryptedOnly(socket: net.Socket, lookup: (obfuscated: Buffer) => Buffer | undefined, handlers: EncryptedOnlyHandlers): void {
  const responder = new MseResponder(lookup);
  let first = true;
  const onMse = (chunk: Buffer) => {
    if (first && chunk[0] === PROTOCOL_NAME.length && chunk.subarray(1, 1 + PROTOCOL_NAME.length).equals(PROTOCOL_NAME)) {
      socket.removeListener('data', onMse);
      return handlers.onRefused('plaintext');
    }
    first = false;
    const step = responder.feed(chunk);
    if (step.status === 'bad') {
      socket.removeListener('data', onMse);
      return handlers.onRefused(step.reason);
    }
    if (step.write) socket.write(step.write);
    if (step.status === 'more') return;
    socket.removeListener('data', onMse);
    installCiphers(socket, step.result);
    handlers.onReady(step.result.payload);
  };
  socket.on('data', onMse);
}

/** After an MSE/PE handshake that chose RC4: `socket.write` encrypts, and 'data' arrives decrypted to every listener. */
export function installCiphers(socket: net.Socket, { encrypt, decrypt }: Pick<MseResult, 'encrypt' | 'decrypt'>): void {
  if (!encrypt || !decrypt) return; // plaintext was selected
  const write = socket.write.bind(socket) as (b: Uint8Array) => boolean;
  (socket as { write: unknown }).write = (b: Uint8Array) => write(encrypt.apply(Buffer.from(b)));
  // before any listener the caller adds: they all see plaintext
  socket.prependListener('data', (c: Buffer) => void decrypt.apply(c));
}
