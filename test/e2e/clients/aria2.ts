// An aria2c (Debian 1.36.0) on its own loopback address. `--interface` binds its sockets (peer
// connections, tracker requests) to that address; DHT, LPD and PEX are off. With `rpc` its status is
// read over JSON-RPC (aria2.tellStatus); without it (a client that quits at completion) aria2 exits on
// its own once the download is done and seeding time 0 is over, and the exit code tells the outcome.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { poll, type Managed, type ProcessGroup } from './processes.ts';

export interface Aria2Options {
  name: string;
  host: string;
  listenPort: number;
  /** JSON-RPC port; omit for a client that should exit when its download completes. */
  rpcPort?: number;
  dir: string;
  torrentPath: string;
  /** e.g. "96K"; omit for no limit. */
  downLimit?: string;
  /** Seeding minutes after completion; omitted = seed until stopped. 0 = exit at completion. */
  seedMinutes?: number;
  /** Seed data already in `dir` (hash-checked first). */
  seed?: boolean;
  /** Speak MSE/PE only, RC4 (a plaintext handshake is dropped). */
  requireCrypto?: boolean;
  /** Peer exchange on (ut_pex): it tells its peers about the others. Off by default. */
  pex?: boolean;
}

export interface Aria2Status {
  status: string;
  completedLength: number;
  totalLength: number;
  connections: number;
}

const GID = '0123456789abcdef';

export class Aria2 {
  readonly process: Managed;

  constructor(
    readonly opts: Aria2Options,
    group: ProcessGroup,
  ) {
    mkdirSync(opts.dir, { recursive: true });
    const args = [
      '--no-conf',
      `--dir=${opts.dir}`,
      `--interface=${opts.host}`,
      `--listen-port=${opts.listenPort}`,
      '--enable-dht=false',
      '--enable-dht6=false',
      '--bt-enable-lpd=false',
      `--enable-peer-exchange=${opts.pex === true}`,
      '--disable-ipv6=true',
      '--file-allocation=none',
      '--auto-file-renaming=false',
      '--allow-overwrite=true',
      '--summary-interval=0',
      '--console-log-level=notice',
      `--log=${join(opts.dir, 'aria2.log')}`,
      `--log-level=${process.env.ARIA2_LOG_LEVEL ?? 'info'}`,
      // never outlive the test process, whatever happens to it
      `--stop-with-process=${process.pid}`,
      `--gid=${GID}`,
    ];
    if (opts.downLimit) args.push(`--max-download-limit=${opts.downLimit}`);
    if (opts.seedMinutes !== undefined) args.push(`--seed-time=${opts.seedMinutes}`);
    else args.push('--seed-ratio=0.0');
    if (opts.seed) args.push('--check-integrity=true', '--bt-seed-unverified=false');
    if (opts.requireCrypto) args.push('--bt-require-crypto=true', '--bt-min-crypto-level=arc4');
    if (opts.rpcPort !== undefined) {
      args.push('--enable-rpc=true', `--rpc-listen-port=${opts.rpcPort}`, '--rpc-listen-all=false');
    }
    args.push(opts.torrentPath);
    this.process = group.start(opts.name, 'aria2c', args);
  }

  async rpc(method: string, params: unknown[] = []): Promise<unknown> {
    if (this.opts.rpcPort === undefined) throw new Error(`${this.opts.name}: no RPC`);
    const res = await fetch(`http://127.0.0.1:${this.opts.rpcPort}/jsonrpc`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 'btda', method, params }),
      signal: AbortSignal.timeout(3000),
    });
    const body = (await res.json()) as { result?: unknown; error?: { message: string } };
    if (body.error) throw new Error(`${this.opts.name} ${method}: ${body.error.message}`);
    return body.result;
  }

  async ready(timeoutMs = 15_000): Promise<void> {
    await poll(async () => {
      if (this.process.exitCode !== undefined) throw new Error(`${this.opts.name} exited: ${this.process.tail()}`);
      await this.status();
      return true;
    }, timeoutMs, `${this.opts.name} RPC`);
  }

  async status(): Promise<Aria2Status> {
    const r = (await this.rpc('aria2.tellStatus', [GID, ['status', 'completedLength', 'totalLength', 'connections']])) as Record<string, string>;
    return {
      status: r.status,
      completedLength: Number(r.completedLength),
      totalLength: Number(r.totalLength),
      connections: Number(r.connections),
    };
  }

  async version(): Promise<string> {
    const r = (await this.rpc('aria2.getVersion')) as { version: string };
    return `aria2 ${r.version}`;
  }
}
