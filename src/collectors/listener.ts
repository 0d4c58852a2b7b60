// The inbound TCP listener (`--passive`): peers that found us (through our tracker and DHT announces) connect
// here. It only guards the door — connection limits and an idle timeout — and hands each socket to `handle`,
// which the pipeline supplies (read the handshake, evaluate the peer).
import net from 'node:net';
import type { Collector, CollectorContext } from './collector.ts';
import { unmapIPv4 } from '../wire/ip.ts';

export interface InboundListenerOptions {
  port: number;
  /** Default '::' (IPv6 and, on dual-stack hosts, IPv4 too). */
  host?: string;
  /** Inbound connections open at once at most. */
  maxConnections: number;
  /** Inbound connections open at once from one IP address at most. */
  maxPerIp: number;
  /**
   * A socket with no traffic in either direction for this long is destroyed. Uses socket.setTimeout: a handler
   * calling socket.setTimeout(ms) changes this duration for its socket (Node keeps one idle timer per socket).
   */
  idleTimeoutMs: number;
  /** Hard limit on one connection whatever it sends (guards against a peer trickling bytes). Default: none. */
  maxConnectionMs?: number;
  /** Seconds between the `requests` rows of the listener. Default 300. */
  logIntervalS?: number;
  /**
   * Owns the socket until its promise settles; the listener then destroys the socket unless the handler
   * ended it. Errors it throws are counted, never propagated.
   */
  handle: (socket: net.Socket) => Promise<void>;
}

export interface InboundListenerStats {
  accepted: number;
  rejectedTotalLimit: number;
  rejectedPerIp: number;
  open: number;
  /** Handler failures (a thrown error or a rejected promise). */
  errors: number;
  /** Socket errors (resets and the like); usually outcomes the handler sees too. */
  socketErrors: number;
  /** Sockets destroyed by the idle timeout or by maxConnectionMs. */
  timedOut: number;
}

/** '::ffff:1.2.3.4' and '1.2.3.4' are one peer for the per-IP limit. */
function peerIp(socket: net.Socket): string {
  return unmapIPv4(socket.remoteAddress ?? '?');
}

export class InboundListener implements Collector {
  readonly name = 'incoming';
  private server: net.Server | null = null;
  private ctx: CollectorContext | null = null;
  private logTimer: NodeJS.Timeout | null = null;
  private readonly sockets = new Set<net.Socket>();
  private readonly perIp = new Map<string, number>();
  private readonly counters: Omit<InboundListenerStats, 'open'> = {
    accepted: 0,
    rejectedTotalLimit: 0,
    rejectedPerIp: 0,
    errors: 0,
    socketErrors: 0,
    timedOut: 0,
  };
  /** Counters at the last `requests` row, to log what happened since. */
  private lastLogged = { at: 0, accepted: 0, rejected: 0 };
  private stopping = false;

  constructor(private readonly opts: InboundListenerOptions) {}

  stats(): InboundListenerStats {
    return { ...this.counters, open: this.sockets.size };
  }

  /** The TCP port listened on (useful with port 0). */
  get boundPort(): number | null {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? addr.port : null;
  }

  async start(ctx: CollectorContext): Promise<void> {
    this.ctx = ctx;
    this.stopping = false;
    let host = this.opts.host ?? '::';
    let server: net.Server;
    try {
      server = await this.listenOn(host);
    } catch (err) {
      // The default '::' fails on hosts without IPv6: fall back to IPv4 rather than refuse to run.
      const code = (err as NodeJS.ErrnoException).code;
      if (this.opts.host !== undefined || (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL')) throw err;
      host = '0.0.0.0';
      server = await this.listenOn(host);
    }
    // After listening, a server error (rare: e.g. EMFILE on accept) is logged, never thrown.
    server.on('error', (err) => ctx.log.warn(`inbound listener: ${err.message}`));
    this.server = server;
    this.lastLogged = { at: ctx.now(), accepted: 0, rejected: 0 };
    const intervalMs = Math.max(50, (this.opts.logIntervalS ?? 300) * 1000);
    this.logTimer = setInterval(() => this.logInterval(), intervalMs);
    ctx.log.info(`listening for peers on TCP [${host}]:${this.boundPort}`);
  }

  private listenOn(host: string): Promise<net.Server> {
    const server = net.createServer((socket) => this.accept(socket));
    return new Promise((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const e = new Error(`cannot listen for peers on TCP [${host}]:${this.opts.port}: ${err.code ?? err.message}`);
        reject(Object.assign(e, { code: err.code }));
      });
      server.listen({ port: this.opts.port, host }, () => resolve(server));
    });
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.logTimer) clearInterval(this.logTimer);
    this.logTimer = null;
    const server = this.server;
    this.server = null;
    // Every socket still in the set has yet to emit 'close' (its handler removes it from the set).
    const closing = [...this.sockets].map((socket) => new Promise<void>((resolve) => socket.once('close', () => resolve())));
    for (const socket of this.sockets) socket.destroy();
    const serverClosed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    // Bounded, so a socket that never reports its close cannot hang the shutdown.
    await Promise.race([Promise.all([serverClosed, ...closing]), new Promise((r) => setTimeout(r, 2000).unref())]);
    if (this.ctx && this.counters.accepted + this.rejected() > this.lastLogged.accepted + this.lastLogged.rejected) {
      this.logInterval();
    }
  }

  private rejected(): number {
    return this.counters.rejectedTotalLimit + this.counters.rejectedPerIp;
  }

  private accept(socket: net.Socket): void {
    // An error must always have a listener: an unhandled 'error' event would end the process.
    socket.on('error', () => this.counters.socketErrors++);
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const ip = peerIp(socket);
    if (this.sockets.size >= this.opts.maxConnections) {
      this.counters.rejectedTotalLimit++;
      socket.destroy();
      return;
    }
    const fromIp = this.perIp.get(ip) ?? 0;
    if (fromIp >= this.opts.maxPerIp) {
      this.counters.rejectedPerIp++;
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    this.sockets.add(socket);
    this.perIp.set(ip, fromIp + 1);
    let lifetime: NodeJS.Timeout | null = null;
    socket.once('close', () => {
      this.sockets.delete(socket);
      const left = (this.perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.perIp.set(ip, left);
      else this.perIp.delete(ip);
      if (lifetime) clearTimeout(lifetime);
    });
    socket.setTimeout(this.opts.idleTimeoutMs, () => {
      this.counters.timedOut++;
      socket.destroy();
    });
    if (this.opts.maxConnectionMs) {
      lifetime = setTimeout(() => {
        this.counters.timedOut++;
        socket.destroy();
      }, this.opts.maxConnectionMs);
    }
    void this.runHandler(socket);
  }

  private async runHandler(socket: net.Socket): Promise<void> {
    try {
      await this.opts.handle(socket);
    } catch (err) {
      this.counters.errors++;
      this.ctx?.log.debug(`inbound ${socket.remoteAddress}: handler failed: ${(err as Error).message}`);
    } finally {
      // A handler that ended its side lets the close finish (pending writes flush; the idle timeout still
      // guards a peer that never closes); anything else left open is destroyed now.
      if (!socket.destroyed && !socket.writableEnded) socket.destroy();
    }
  }

  /** One `requests` row per interval: connections accepted since the last row; rejections in `error`. */
  private logInterval(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const now = ctx.now();
    const accepted = this.counters.accepted - this.lastLogged.accepted;
    const rejected = this.rejected() - this.lastLogged.rejected;
    try {
      ctx.logRequest({
        torrentId: null,
        kind: 'incoming',
        url: null,
        startedAt: this.lastLogged.at,
        durationMs: Math.max(0, now - this.lastLogged.at),
        received: accepted,
        // Whether an inbound peer is new is known only once its handshake names the torrent and its extension
        // handshake its port: the crawl's handler fills in new and duplicates (and skipped)
        new: 0,
        duplicates: 0,
        // the crawl fills in how many advertised ports (`p`) the address policy kept from the queue
        skipped: 0,
        error: rejected ? `${rejected} connections rejected (limits)` : null,
      });
    } catch (err) {
      ctx.log.error(`inbound listener: logging failed: ${(err as Error).message}`);
    }
    this.lastLogged = { at: now, accepted: this.counters.accepted, rejected: this.rejected() };
  }
}
