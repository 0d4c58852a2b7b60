// A uTP connection (utp-native, the Node binding of libutp) shaped as the PeerSocket that btda's contact
// uses (src/evaluator/contact.ts), so the real contact code runs over uTP unchanged. Trial code only: btda
// does not depend on utp-native (README "uTP: why not (yet)"); it is loaded from the folder that
// scripts/utp/install-utp-native.sh filled ($BTDA_UTP_DIR, default /tmp/btda-utp-native).
//
// All outgoing connections share one UDP socket (as real clients do): one libutp context, one port.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { PeerSocket } from '../../src/evaluator/contact.ts';

/** The parts of utp-native's API the trial uses (it ships no types). */
export interface UtpConnection extends EventEmitter {
  write(data: Buffer): boolean;
  end(data?: Buffer): void;
  destroy(err?: Error): void;
  destroyed: boolean;
  writable: boolean;
  remoteAddress: string;
  remotePort: number;
}
export interface UtpInstance extends EventEmitter {
  bind(port: number, ip: string, onListening?: () => void): void;
  listen(port: number, ip: string, onListening?: () => void): void;
  connect(port: number, ip: string): UtpConnection;
  address(): { address: string; port: number; family: string };
  close(cb?: () => void): void;
  connections: UtpConnection[];
}
export type UtpModule = { (opts?: { allowHalfOpen?: boolean }): UtpInstance; connect(port: number, host: string): UtpConnection };

export const UTP_DIR = process.env.BTDA_UTP_DIR ?? '/tmp/btda-utp-native';

/** utp-native from the trial folder, or an error naming the install script. */
export function loadUtpNative(dir = UTP_DIR): UtpModule {
  try {
    return createRequire(join(dir, 'package.json'))('utp-native') as UtpModule;
  } catch (err) {
    throw new Error(`utp-native not found in ${dir} (run: bash scripts/utp/install-utp-native.sh): ${(err as Error).message}`);
  }
}

/** One bound uTP context (one UDP socket) on a concrete loopback address. */
export async function openUtp(utp: UtpModule, host: string): Promise<UtpInstance> {
  const instance = utp();
  await new Promise<void>((resolve, reject) => {
    instance.once('error', reject);
    instance.bind(0, host, () => resolve());
  });
  // a late error of the UDP socket must not crash the trial: the connections report their own
  instance.on('error', () => {});
  return instance;
}

/** libutp's error names, mapped to the errno codes btda's contact already classifies. */
const UTP_CODES: Record<string, string> = {
  UTP_ECONNREFUSED: 'ECONNREFUSED',
  UTP_ECONNRESET: 'ECONNRESET',
  UTP_ETIMEDOUT: 'ETIMEDOUT',
};

/** A PeerSocket that opens a uTP connection through `instance` when the contact calls connect(). */
export class UtpPeerSocket extends EventEmitter {
  private conn: UtpConnection | null = null;
  private closed = false;

  constructor(private readonly instance: UtpInstance) {
    super();
  }

  get destroyed(): boolean {
    return this.closed || (this.conn?.destroyed ?? false);
  }
  get writable(): boolean {
    return !this.destroyed && (this.conn?.writable ?? false);
  }
  get remoteAddress(): string | undefined {
    return this.conn?.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.conn?.remotePort;
  }

  connect(opts: { host: string; port: number }): this {
    const conn = this.instance.connect(opts.port, opts.host);
    this.conn = conn;
    conn.on('connect', () => this.emit('connect'));
    conn.on('data', (chunk: Buffer) => this.emit('data', chunk));
    conn.on('end', () => this.emit('end'));
    conn.on('error', (err: NodeJS.ErrnoException) => {
      const code = UTP_CODES[String(err.code)] ?? err.code;
      this.emit('error', Object.assign(new Error(err.message), { code }));
    });
    conn.on('close', () => {
      this.closed = true;
      this.emit('close');
    });
    return this;
  }

  write(data: Buffer): boolean {
    return this.conn !== null && !this.conn.destroyed ? this.conn.write(data) : false;
  }

  end(data?: Buffer): this {
    if (this.conn && !this.conn.destroyed) this.conn.end(data);
    return this;
  }

  destroy(): this {
    if (this.conn) this.conn.destroy();
    else if (!this.closed) {
      this.closed = true;
      queueMicrotask(() => this.emit('close'));
    }
    return this;
  }

  /** uTP has no Nagle to switch off: libutp sends what it has at once. */
  setNoDelay(): this {
    return this;
  }
}

/** The factory that ContactOptions.openSocket takes. */
export function utpSocketFactory(instance: UtpInstance): () => PeerSocket {
  return () => new UtpPeerSocket(instance) as unknown as PeerSocket;
}
