// UDP tracker client (BEP 15, URL data from BEP 41). Every wait is bounded: each request is at most
// `maxAttempts` sends with waits of base·2^n (BEP 15 says 15·2^n s up to n = 8, i.e. an hour; we stop
// far earlier and let the collector's own back-off take over). Replies are matched on a random
// transaction id and the expected action; anything else that arrives is ignored, so a stray or
// spoofed packet cannot complete a request.
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import {
  parseCompactPeers,
  type AnnounceReply,
  type AnnounceRequest,
  type Family,
  type Outcome,
  type RequestOptions,
  type ScrapeCounts,
  type ScrapeReply,
  type TrackerClient,
} from './tracker-client.ts';
import { bareHost, HostResolver } from './host-resolver.ts';
import { unmapIPv4 } from '../../wire/ip.ts';

export interface UdpTrackerOptions {
  /** First wait for a reply, ms (BEP 15: 15 s); doubles with each retransmission. */
  retransmitBaseMs?: number;
  /** Sends per request, the connect included (4 → 15+30+60+120 s = 225 s at most). */
  maxAttempts?: number;
  now?: () => number;
  randomU32?: () => number;
  /** Talk to the tracker over this family only (BEP 7: one announce per family); default: the first address DNS gives. */
  family?: Family;
  /** Shared cache of addresses per host and family (used with `family`). */
  resolver?: HostResolver;
}

const PROTOCOL_ID = 0x41727101980n;
const ACTION_CONNECT = 0;
const ACTION_ANNOUNCE = 1;
const ACTION_SCRAPE = 2;
const ACTION_ERROR = 3;
const EVENT_IDS = { completed: 1, started: 2, stopped: 3 } as const;
/** BEP 15: a connection id may be used until one minute after it was received. */
const CONNECTION_ID_LIFE_MS = 60_000;
/** 74 hashes keep a scrape packet (16 + 20·74 bytes) and its reply within common MTUs. */
export const UDP_SCRAPE_BATCH = 74;

interface Target {
  address: string;
  family: 4 | 6;
  port: number;
}

interface Pending {
  action: number;
  target: Target;
  resolve(outcome: Outcome<Buffer>): void;
}

/** A reply that says "error" ends the request; a timeout leads to a retransmission. */
type Exchange = Outcome<Buffer> & { timedOut?: boolean };

export class UdpTrackerClient implements TrackerClient {
  readonly kind = 'udp' as const;
  readonly canScrape = true;
  readonly maxScrapeBatch = UDP_SCRAPE_BATCH;
  private readonly host: string;
  private readonly port: number;
  private readonly urlData: Buffer;
  private readonly baseMs: number;
  private readonly maxAttempts: number;
  private readonly now: () => number;
  private readonly randomU32: () => number;
  private readonly family: Family | undefined;
  private readonly resolver: HostResolver;
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly pending = new Map<number, Pending>();
  private connection: { id: Buffer; address: string; expiresAt: number } | null = null;
  private connecting: Promise<Exchange> | null = null;
  private closed = false;

  constructor(
    readonly url: string,
    opts: UdpTrackerOptions = {},
  ) {
    const parsed = new URL(url); // the caller checked that it parses
    this.host = bareHost(parsed.hostname);
    this.port = Number(parsed.port);
    const pathAndQuery = parsed.pathname + parsed.search;
    this.urlData = pathAndQuery === '' || pathAndQuery === '/' ? Buffer.alloc(0) : Buffer.from(pathAndQuery, 'latin1');
    this.baseMs = opts.retransmitBaseMs ?? 15_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.now = opts.now ?? Date.now;
    this.randomU32 = opts.randomU32 ?? (() => randomBytes(4).readUInt32BE(0));
    this.family = opts.family;
    this.resolver = opts.resolver ?? new HostResolver();
  }

  async announce(req: AnnounceRequest, ro: RequestOptions = {}): Promise<Outcome<AnnounceReply>> {
    const sentTo: { family: 4 | 6 } = { family: 4 };
    const reply = await this.transact(ACTION_ANNOUNCE, ro, (connectionId, tid, target) => {
      sentTo.family = target.family;
      return this.announcePacket(connectionId, tid, req);
    });
    return reply.ok ? parseUdpAnnounceReply(reply.value, sentTo.family) : reply;
  }

  async scrape(infoHashes: Buffer[], ro: RequestOptions = {}): Promise<Outcome<ScrapeReply>> {
    const files = new Map<string, ScrapeCounts>();
    for (let i = 0; i < infoHashes.length; i += UDP_SCRAPE_BATCH) {
      const batch = infoHashes.slice(i, i + UDP_SCRAPE_BATCH);
      const reply = await this.transact(ACTION_SCRAPE, ro, (connectionId, tid) =>
        Buffer.concat([header(connectionId, ACTION_SCRAPE, tid), ...batch]),
      );
      if (!reply.ok) return reply;
      parseUdpScrapeReply(reply.value, batch, files);
    }
    return { ok: true, value: { files } };
  }

  close(): void {
    this.closed = true;
    for (const p of [...this.pending.values()]) p.resolve({ ok: false, error: 'closed' });
    this.pending.clear();
    for (const socket of this.sockets.values()) {
      try {
        socket.close();
      } catch {
        // already closed
      }
    }
    this.sockets.clear();
  }

  /** One request: (connect if needed +) send, retransmitting with doubling waits; bounded overall. */
  private async transact(
    action: number,
    ro: RequestOptions,
    build: (connectionId: Buffer, tid: number, target: Target) => Buffer,
  ): Promise<Outcome<Buffer>> {
    const deadline = ro.timeoutMs !== undefined ? Date.now() + ro.timeoutMs : Infinity;
    const target = await this.resolve(Math.min(this.baseMs, ro.timeoutMs ?? Infinity));
    if (!target.ok) return target;
    let waitedMs = 0;
    for (let n = 0; n < this.maxAttempts; n++) {
      const waitMs = Math.min(this.baseMs * 2 ** n, deadline - Date.now());
      if (this.closed || ro.signal?.aborted) return { ok: false, error: this.closed ? 'closed' : 'aborted' };
      if (waitMs <= 0) break;
      waitedMs += waitMs;
      const connectionId = await this.connectionId(target.value, waitMs, ro.signal);
      if (!connectionId.ok) {
        if (connectionId.timedOut) continue;
        return connectionId;
      }
      const tid = this.newTransactionId();
      const reply = await this.exchange(target.value, action, tid, build(connectionId.value, tid, target.value), waitMs, ro.signal);
      if (reply.ok) return reply;
      // A tracker error may mean our connection id is no longer valid: get a fresh one next time.
      if (!reply.timedOut) this.connection = null;
      if (!reply.timedOut) return reply;
    }
    return { ok: false, error: `no reply from ${this.host}:${this.port} after ${this.maxAttempts} attempts (${waitedMs} ms)`, unreachable: true };
  }

  private async connectionId(target: Target, waitMs: number, signal?: AbortSignal): Promise<Exchange> {
    const c = this.connection;
    if (c && c.address === target.address && this.now() < c.expiresAt) return { ok: true, value: c.id };
    // Concurrent requests share one connect exchange.
    if (!this.connecting) {
      const tid = this.newTransactionId();
      const packet = Buffer.alloc(16);
      packet.writeBigUInt64BE(PROTOCOL_ID, 0);
      packet.writeUInt32BE(ACTION_CONNECT, 8);
      packet.writeUInt32BE(tid, 12);
      this.connecting = this.exchange(target, ACTION_CONNECT, tid, packet, waitMs, signal).then((reply): Exchange => {
        this.connecting = null;
        if (!reply.ok) return reply;
        if (reply.value.length < 16) return { ok: false, error: 'connect reply too short' };
        const id = Buffer.from(reply.value.subarray(8, 16));
        this.connection = { id, address: target.address, expiresAt: this.now() + CONNECTION_ID_LIFE_MS };
        return { ok: true, value: id };
      });
    }
    return this.connecting;
  }

  /** Sends one packet and waits for the reply with this transaction id and action (or an error). */
  private exchange(target: Target, action: number, tid: number, packet: Buffer, waitMs: number, signal?: AbortSignal): Promise<Exchange> {
    return new Promise((resolve) => {
      if (this.closed) return resolve({ ok: false, error: 'closed' });
      const onAbort = () => done({ ok: false, error: 'aborted' });
      const timer = setTimeout(() => done({ ok: false, error: 'timeout', timedOut: true }), waitMs);
      const done = (outcome: Exchange) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(tid);
        resolve(outcome);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(tid, { action, target, resolve: done });
      this.socketFor(target.family).send(packet, target.port, target.address, (err) => {
        if (err) done({ ok: false, error: err.message, unreachable: true });
      });
    });
  }

  private onMessage(msg: Buffer, from: dgram.RemoteInfo): void {
    const head = readUdpHeader(msg);
    if (!head) return;
    const pending = this.pending.get(head.transactionId);
    // Unknown transaction id, another sender, or an unexpected action: not our reply.
    if (!pending || from.port !== pending.target.port || !sameAddress(from.address, pending.target.address)) return;
    if (head.action === ACTION_ERROR) {
      pending.resolve({ ok: false, error: `tracker error: ${udpErrorText(msg)}` });
    } else if (head.action === pending.action) {
      pending.resolve({ ok: true, value: msg });
    }
  }

  private socketFor(family: 4 | 6): dgram.Socket {
    let socket = this.sockets.get(family);
    if (!socket) {
      socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
      socket.on('message', (msg, from) => this.onMessage(msg, from));
      socket.on('error', () => {
        // Send errors arrive through the send callback; nothing else here needs handling.
      });
      socket.unref(); // a tracker socket must not keep the process alive on its own
      this.sockets.set(family, socket);
    }
    return socket;
  }

  private async resolve(timeoutMs: number): Promise<Outcome<Target>> {
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) {
      return { ok: false, error: 'UDP tracker URL without a valid port' };
    }
    if (this.family !== undefined) {
      const address = await this.resolver.resolve(this.host, this.family, timeoutMs);
      return address.ok ? { ok: true, value: { address: address.value, family: this.family, port: this.port } } : address;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)));
    try {
      const found = await Promise.race([lookup(this.host), timeout]);
      if (found === null) return { ok: false, error: `DNS lookup of ${this.host} timed out`, unreachable: true };
      return { ok: true, value: { address: found.address, family: found.family === 6 ? 6 : 4, port: this.port } };
    } catch (err) {
      return { ok: false, error: `DNS lookup of ${this.host} failed: ${(err as Error).message}`, unreachable: true };
    } finally {
      clearTimeout(timer);
    }
  }

  private newTransactionId(): number {
    let tid = this.randomU32() >>> 0;
    while (this.pending.has(tid)) tid = (tid + 1) >>> 0;
    return tid;
  }

  private announcePacket(connectionId: Buffer, tid: number, req: AnnounceRequest): Buffer {
    const p = Buffer.alloc(98);
    header(connectionId, ACTION_ANNOUNCE, tid).copy(p, 0);
    req.infoHash.copy(p, 16);
    req.peerId.copy(p, 36);
    p.writeBigUInt64BE(u64(req.downloaded), 56);
    p.writeBigUInt64BE(u64(req.left), 64);
    p.writeBigUInt64BE(u64(req.uploaded), 72);
    p.writeUInt32BE(req.event ? EVENT_IDS[req.event] : 0, 80);
    p.writeUInt32BE(0, 84); // IP: 0 = the address the packet came from
    p.writeUInt32BE(req.key >>> 0, 88);
    p.writeInt32BE(Math.max(-1, Math.min(Math.trunc(req.numwant), 0x7fffffff)), 92);
    p.writeUInt16BE(req.port & 0xffff, 96);
    return this.urlData.length === 0 ? p : Buffer.concat([p, urlDataOptions(this.urlData)]);
  }
}

/** Action and transaction id of a packet from the tracker; null when it is too short to have them. */
export function readUdpHeader(msg: Buffer): { action: number; transactionId: number } | null {
  if (msg.length < 8) return null;
  return { action: msg.readUInt32BE(0), transactionId: msg.readUInt32BE(4) };
}

/** The message of an error packet (action 3): at most 300 bytes of it, as UTF-8. */
export function udpErrorText(msg: Buffer): string {
  return msg.subarray(8, 308).toString('utf8') || '(no message)';
}

/** An announce reply (action 1). Over IPv6 the tracker lists IPv6 peers, 18 bytes each (BEP 15). */
export function parseUdpAnnounceReply(msg: Buffer, family: 4 | 6): Outcome<AnnounceReply> {
  if (msg.length < 20) return { ok: false, error: `announce reply too short (${msg.length} bytes)` };
  return {
    ok: true,
    value: {
      interval: msg.readUInt32BE(8),
      incomplete: msg.readUInt32BE(12),
      complete: msg.readUInt32BE(16),
      peers: parseCompactPeers(msg.subarray(20), family === 6 ? 18 : 6),
    },
  };
}

/** A scrape reply (action 2): 12 bytes per hash asked, in order; hashes the tracker left out stay absent. */
export function parseUdpScrapeReply(msg: Buffer, hashes: Buffer[], into: Map<string, ScrapeCounts>): void {
  hashes.forEach((hash, k) => {
    const off = 8 + 12 * k;
    if (off + 12 > msg.length) return;
    into.set(hash.toString('hex'), {
      complete: msg.readUInt32BE(off),
      downloaded: msg.readUInt32BE(off + 4),
      incomplete: msg.readUInt32BE(off + 8),
    });
  });
}

function header(connectionId: Buffer, action: number, tid: number): Buffer {
  const h = Buffer.alloc(16);
  connectionId.copy(h, 0);
  h.writeUInt32BE(action, 8);
  h.writeUInt32BE(tid, 12);
  return h;
}

/** BEP 41: the announce URL's path and query (trackers use it for passkeys), 255 bytes per option. */
function urlDataOptions(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < data.length; i += 255) {
    const chunk = data.subarray(i, i + 255);
    parts.push(Buffer.from([0x2, chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** Byte counts as u64, whatever number the caller had (a negative or fractional one is a bug, not a crash). */
function u64(n: number): bigint {
  return BigInt(Math.max(0, Math.min(Math.trunc(n), Number.MAX_SAFE_INTEGER)));
}

function sameAddress(a: string, b: string): boolean {
  const strip = (s: string) => unmapIPv4(s.replace(/%.*$/, '')).toLowerCase();
  return strip(a) === strip(b);
}
