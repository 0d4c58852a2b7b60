// The ceiling: the least a contact can do on this machine with node's sockets. Connect, write the
// 68-byte handshake, read the peer's handshake and its first message (bitfield / have_all), close;
// `active` at once. No timers, no parsing beyond two length fields, no database: whatever btda's
// pipeline costs on top of this is what the ratio in contacts.ts shows.
import net from 'node:net';

export interface Target {
  ip: string;
  port: number;
  /** Our prebuilt 68-byte handshake for the target's torrent. */
  handshake: Buffer;
}

export interface LoopResult {
  contacts: number;
  ok: number;
  errors: number;
  ms: number;
}

/** Contacts every target once, `active` at once. Resolves when all are done or after `limitMs`. */
export function runMinimalLoop(targets: Target[], active: number, limitMs: number): Promise<LoopResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let next = 0;
    let done = 0;
    let ok = 0;
    let errors = 0;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      resolve({ contacts: done, ok, errors, ms: performance.now() - started });
    };
    const limit = setTimeout(finish, limitMs);

    const startOne = () => {
      const t = targets[next++];
      const socket = net.connect({ host: t.ip, port: t.port, noDelay: true });
      let buf: Buffer | null = null;
      let closed = false;
      const end = (success: boolean) => {
        if (closed) return;
        closed = true;
        socket.destroy();
        done++;
        if (success) ok++;
        else errors++;
        if (next < targets.length && !finished) startOne();
        else if (done === targets.length) finish();
      };
      socket.on('connect', () => socket.write(t.handshake));
      socket.on('data', (chunk: Buffer) => {
        buf = buf ? Buffer.concat([buf, chunk]) : chunk;
        // handshake (68) + length prefix (4) + the first message
        if (buf.length >= 72 && buf.length >= 72 + buf.readUInt32BE(68)) end(true);
      });
      socket.on('error', () => end(false));
      socket.on('close', () => end(false));
    };
    for (let i = 0; i < active && next < targets.length; i++) startOne();
    if (targets.length === 0) finish();
  });
}
