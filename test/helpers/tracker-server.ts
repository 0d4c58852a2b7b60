// Loopback trackers for the tracker collector tests: the real `bittorrent-tracker` server, a raw
// HTTP server that records queries and answers what a test wants, a scriptable fake UDP tracker,
// fake peers that announce themselves, and a CollectorContext that records every call.
import http from 'node:http';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
// @ts-ignore -- bittorrent-tracker ships no type declarations; the little used here is typed below.
import Server from 'bittorrent-tracker/server';
import type { CollectorContext, PeerAddress } from '../../src/collectors/collector.ts';
import type { Logger } from '../../src/log.ts';
import type { PeerSource, RequestLog, ScrapeLog, Torrent } from '../../src/types.ts';

interface TrackerServer {
  http: http.Server;
  udp4: dgram.Socket;
  udp6: dgram.Socket;
  torrents: Record<string, { complete: number; incomplete: number } | undefined>;
  listen(port: number, hosts: { http: string; udp: string; udp6: string }): void;
  once(event: 'listening', cb: () => void): void;
  on(event: string, cb: (err: Error) => void): void;
  close(cb: () => void): void;
}

export interface RealTracker {
  httpPort: number;
  httpUrl: string;
  udpPort: number;
  udpUrl: string;
  udp6Port: number;
  udp6Url: string;
  /** The tracker's own numbers for a swarm (what scrape should report). */
  swarm(infoHashHex: string): { complete: number; incomplete: number };
  close(): Promise<void>;
}

/** The real bittorrent-tracker server: HTTP and UDP on 127.0.0.1, UDP on ::1. */
export async function startRealTracker(intervalS = 600): Promise<RealTracker> {
  // trustProxy: fake peers announce over HTTP with X-Forwarded-For to appear at any address.
  const server = new Server({ http: true, udp: true, ws: false, stats: false, trustProxy: true, interval: intervalS * 1000 }) as TrackerServer;
  server.on('warning', () => {});
  await new Promise<void>((resolve, reject) => {
    server.on('error', reject);
    server.once('listening', resolve);
    server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', udp6: '::1' });
  });
  const httpPort = (server.http.address() as AddressInfo).port;
  const udpPort = server.udp4.address().port;
  const udp6Port = server.udp6.address().port;
  return {
    httpPort,
    httpUrl: `http://127.0.0.1:${httpPort}/announce`,
    udpPort,
    udpUrl: `udp://127.0.0.1:${udpPort}`,
    udp6Port,
    udp6Url: `udp://[::1]:${udp6Port}/announce`,
    swarm: (hex) => {
      const s = server.torrents[hex];
      return { complete: s?.complete ?? 0, incomplete: s?.incomplete ?? 0 };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function escapeAll(bytes: Buffer): string {
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

export interface FakePeer {
  ip: string;
  port: number;
  peerId?: Buffer;
}

/** A peer announcing itself over HTTP; the tracker takes `ip` from X-Forwarded-For. */
export async function announceHttpPeer(httpPort: number, infoHash: Buffer, peer: FakePeer, event = 'started', left = 1000): Promise<void> {
  const peerId = peer.peerId ?? randomBytes(20);
  const path = `/announce?info_hash=${escapeAll(infoHash)}&peer_id=${escapeAll(peerId)}&port=${peer.port}&left=${left}&compact=1&event=${event}`;
  await new Promise<void>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: httpPort, path, headers: { 'x-forwarded-for': peer.ip } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
  });
}

const UDP_EVENTS: Record<string, number> = { none: 0, completed: 1, started: 2, stopped: 3 };

/** A peer announcing itself over UDP from `host` (the tracker records the sender's address). */
export async function announceUdpPeer(host: string, udpPort: number, infoHash: Buffer, peerPort: number, event = 'started', left = 1000n): Promise<void> {
  const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
  const ask = (packet: Buffer) =>
    new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake peer: no reply')), 2000);
      socket.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      socket.send(packet, udpPort, host);
    });
  try {
    const connect = Buffer.alloc(16);
    connect.writeBigUInt64BE(0x41727101980n, 0);
    connect.writeUInt32BE(0, 8);
    connect.writeUInt32BE(1, 12);
    const connId = (await ask(connect)).subarray(8, 16);
    const a = Buffer.alloc(98);
    connId.copy(a, 0);
    a.writeUInt32BE(1, 8);
    a.writeUInt32BE(2, 12);
    infoHash.copy(a, 16);
    randomBytes(20).copy(a, 36);
    a.writeBigUInt64BE(left, 64);
    a.writeUInt32BE(UDP_EVENTS[event], 80);
    a.writeUInt16BE(peerPort, 96);
    await ask(a);
  } finally {
    socket.close();
  }
}

export interface RawHttpServer {
  port: number;
  url(path?: string): string;
  /** Request URLs (path and query) in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

/** A bare HTTP server: `handle` writes whatever reply the test needs (or none at all). */
export async function startRawHttpServer(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<RawHttpServer> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.url ?? '');
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: (path = '/announce') => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Query parameters of a request URL, values left percent-encoded. */
export function queryOf(url: string): Map<string, string[]> {
  const params = new Map<string, string[]>();
  for (const pair of (url.split('?')[1] ?? '').split('&')) {
    if (!pair) continue;
    const [k, v = ''] = pair.split('=');
    params.set(k, [...(params.get(k) ?? []), v]);
  }
  return params;
}

export interface RecordingContext extends CollectorContext {
  requests: RequestLog[];
  scrapes: ScrapeLog[];
  /** Every address added, per torrent, de-duplicated. */
  peers: Map<number, Set<string>>;
  messages: string[];
}

/** A CollectorContext that records everything; addPeers de-duplicates per torrent. */
export function recordingContext(): RecordingContext {
  const messages: string[] = [];
  const log: Logger = {
    debug: (m) => messages.push(`debug ${m}`),
    info: (m) => messages.push(`info ${m}`),
    warn: (m) => messages.push(`warn ${m}`),
    error: (m) => messages.push(`error ${m}`),
  };
  const ctx: RecordingContext = {
    requests: [],
    scrapes: [],
    peers: new Map(),
    messages,
    log,
    now: () => Date.now(),
    addPeers(torrentId: number, peers: PeerAddress[], _source: PeerSource) {
      const known = ctx.peers.get(torrentId) ?? new Set<string>();
      ctx.peers.set(torrentId, known);
      let added = 0;
      for (const p of peers) {
        const key = `${p.ip}:${p.port}`;
        if (!known.has(key)) added++;
        known.add(key);
      }
      return { new: added, duplicates: peers.length - added, skipped: 0 };
    },
    logRequest: (entry) => ctx.requests.push(entry),
    logScrape: (entry) => ctx.scrapes.push(entry),
  };
  return ctx;
}

/** How requests and scrapes name a tracker endpoint: the URL and its address family. */
export function asV4(url: string): string {
  return `${url}#ipv4`;
}
export function asV6(url: string): string {
  return `${url}#ipv6`;
}

export function fakeTorrent(id: number, trackers: string[], infoHash = randomBytes(20)): Torrent {
  return {
    id,
    infoHash: infoHash.toString('hex'),
    infoHashV2: null,
    name: `t${id}`,
    setLabel: null,
    pieces: 10,
    pieceSize: 16384,
    totalSize: 163840,
    trackers,
    source: 'test',
  };
}

/** Polls `check` every 20 ms until it is true; fails after `timeoutMs`. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
