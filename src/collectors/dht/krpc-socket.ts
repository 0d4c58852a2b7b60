// KRPC over one UDP socket of one address family: queries with transaction ids and timeouts, answers,
// errors. Every packet is read by btda's strict bencode decoder (see src/bencode/decode.ts and
// ../dht-guard.ts for why not the `bencode` package's) and dropped, counted, when it is not KRPC.
import bencode from 'bencode';
import dgram from 'node:dgram';
import { BencodeError, decode, isDict, type BDict } from '../../bencode/decode.ts';
import { MAX_KRPC_PACKET } from '../dht-guard.ts';
import type { Family } from './compact.ts';

const KRPC_LIMITS = { maxDepth: 16, maxItems: 2048 };

export interface Address {
  host: string;
  port: number;
}

/** What a query gets back: the `r` dictionary and who sent it, or an error outcome (never thrown). */
export type QueryOutcome = { ok: true; r: BDict; from: Address } | { ok: false; error: 'timeout' | 'error reply' | 'send failed' | 'closed' };

interface Pending {
  host: string;
  port: number;
  timer: NodeJS.Timeout;
  done: (outcome: QueryOutcome) => void;
}

export interface KrpcSocketStats {
  queriesSent: number;
  timeouts: number;
  packetsDropped: number;
  /** Sends the address policy refused. */
  refusedSends: number;
}

export class KrpcSocket {
  private readonly socket: dgram.Socket;
  private readonly pending = new Map<number, Pending>();
  private nextTid = Math.floor(Math.random() * 0x10000);
  private closed = false;
  readonly stats: KrpcSocketStats = { queriesSent: 0, timeouts: 0, packetsDropped: 0, refusedSends: 0 };

  constructor(
    readonly family: Family,
    private readonly onQuery: (q: string, a: BDict, t: Buffer, from: Address) => void,
    private readonly timeoutMs = 2000,
    /** The address policy (src/collectors/address-policy.ts): nodes it refuses are never sent to. */
    private readonly mayContact?: (host: string, port: number) => boolean,
  ) {
    this.socket = dgram.createSocket(family === 4 ? { type: 'udp4' } : { type: 'udp6', ipv6Only: true });
    this.socket.on('message', (buf, rinfo) => this.onMessage(buf, { host: rinfo.address, port: rinfo.port }));
    this.socket.on('error', () => {}); // send errors are per query outcomes; bind errors reject bind()
  }

  bind(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.socket.once('error', onError);
      this.socket.bind(port, host, () => {
        this.socket.removeListener('error', onError);
        resolve();
      });
    });
  }

  get port(): number {
    return this.socket.address().port;
  }

  /** Sends query `q` and resolves with its outcome; `a.id` is the caller's. */
  query(to: Address, q: string, a: Record<string, unknown>): Promise<QueryOutcome> {
    if (this.closed) return Promise.resolve({ ok: false, error: 'closed' });
    let tid = this.nextTid;
    for (let i = 0; i < 0x10000 && this.pending.has(tid); i++) tid = (tid + 1) & 0xffff;
    this.nextTid = (tid + 1) & 0xffff;
    const t = Buffer.alloc(2);
    t.writeUInt16BE(tid);
    this.stats.queriesSent++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(tid);
        this.stats.timeouts++;
        resolve({ ok: false, error: 'timeout' });
      }, this.timeoutMs);
      this.pending.set(tid, { host: to.host, port: to.port, timer, done: resolve });
      this.send(to, { t, y: 'q', q, a }, () => {
        const p = this.pending.get(tid);
        if (!p) return;
        clearTimeout(p.timer);
        this.pending.delete(tid);
        resolve({ ok: false, error: 'send failed' });
      });
    });
  }

  respond(to: Address, t: Buffer, r: Record<string, unknown>): void {
    this.send(to, { t, y: 'r', r });
  }

  error(to: Address, t: Buffer, code: number, message: string): void {
    this.send(to, { t, y: 'e', e: [code, message] });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.done({ ok: false, error: 'closed' });
    }
    this.pending.clear();
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  private send(to: Address, message: Record<string, unknown>, onFail?: () => void): void {
    if (this.closed) return;
    if (this.mayContact && !this.mayContact(to.host, to.port)) {
      this.stats.refusedSends++;
      onFail?.();
      return;
    }
    const buf = Buffer.from(bencode.encode(message));
    try {
      this.socket.send(buf, to.port, to.host, (err) => {
        if (err) onFail?.();
      });
    } catch {
      onFail?.(); // e.g. a host of the other family
    }
  }

  private onMessage(buf: Buffer, from: Address): void {
    const msg = this.parse(buf);
    if (!msg) {
      this.stats.packetsDropped++;
      return;
    }
    const y = msg.y.toString('latin1');
    if (y === 'q') {
      const q = msg.q;
      const a = msg.a;
      if (Buffer.isBuffer(q) && isDict(a)) this.onQuery(q.toString('latin1'), a, msg.t, from);
      return;
    }
    if (msg.t.length !== 2) return;
    const tid = msg.t.readUInt16BE(0);
    const p = this.pending.get(tid);
    // An answer must come from the address asked: anyone else could guess transaction ids.
    if (!p || p.host !== from.host || p.port !== from.port) return;
    clearTimeout(p.timer);
    this.pending.delete(tid);
    if (y === 'r' && isDict(msg.r)) p.done({ ok: true, r: msg.r, from });
    else p.done({ ok: false, error: 'error reply' });
  }

  private parse(buf: Buffer): (BDict & { y: Buffer; t: Buffer }) | null {
    if (buf.length > MAX_KRPC_PACKET) return null;
    try {
      const v = decode(buf, KRPC_LIMITS);
      return isDict(v) && Buffer.isBuffer(v.y) && Buffer.isBuffer(v.t) ? (v as BDict & { y: Buffer; t: Buffer }) : null;
    } catch (err) {
      if (err instanceof BencodeError) return null;
      throw err;
    }
  }
}
