// The demo's embedded tracker: the `bittorrent-tracker` server (a runtime dependency), HTTP and UDP on
// 127.0.0.1 only — UDP on ::1 too when the host has IPv6 loopback, never on a wildcard address.
import dgram from 'node:dgram';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import Server from 'bittorrent-tracker/server';

interface TrackerServerInternals {
  http: http.Server;
  udp4: dgram.Socket;
  udp6: dgram.Socket | null;
  torrents: Record<string, { complete: number; incomplete: number } | undefined>;
  listen(port: number, hosts: { http: string; udp: string; udp6?: string }): void;
  on(event: 'error' | 'warning', cb: (err: Error) => void): void;
  close(cb: () => void): void;
}

export interface DemoTracker {
  httpUrl: string;
  udpUrl: string;
  /** The tracker's own numbers for a swarm (bittorrent-tracker's scrape `downloaded` is `complete`). */
  swarm(infoHashHex: string): { complete: number; incomplete: number };
  close(): Promise<void>;
}

/** True when a UDP socket can bind ::1 (hosts without IPv6 cannot). */
async function hasIpv6Loopback(): Promise<boolean> {
  const socket = dgram.createSocket('udp6');
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('error', () => resolve(false));
    socket.bind(0, '::1', () => resolve(true));
  });
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return ok;
}

/** Starts the tracker; `intervalS` is the announce interval it asks of clients. */
export async function startDemoTracker(intervalS: number): Promise<DemoTracker> {
  const server = new Server({ http: true, udp: true, ws: false, stats: false, trustProxy: false, interval: intervalS * 1000 }) as TrackerServerInternals;
  const ipv6 = await hasIpv6Loopback();
  if (!ipv6 && server.udp6) {
    // never bound: the server would otherwise bind it to the wildcard address
    server.udp6.close();
    server.udp6 = null;
  }
  server.on('warning', () => {}); // a malformed announce is the client's problem, not the demo's
  const failed = new Promise<never>((_, reject) => server.on('error', reject));
  const listening = (emitter: http.Server | dgram.Socket) => new Promise<void>((resolve) => emitter.once('listening', () => resolve()));
  const ready = Promise.all([listening(server.http), listening(server.udp4), ...(server.udp6 ? [listening(server.udp6)] : [])]);
  server.listen(0, { http: '127.0.0.1', udp: '127.0.0.1', ...(ipv6 ? { udp6: '::1' } : {}) });
  await Promise.race([ready, failed]);
  const httpPort = (server.http.address() as AddressInfo).port;
  const udpPort = server.udp4.address().port;
  return {
    httpUrl: `http://127.0.0.1:${httpPort}/announce`,
    udpUrl: `udp://127.0.0.1:${udpPort}`,
    swarm: (hex) => {
      const s = server.torrents[hex];
      return { complete: s?.complete ?? 0, incomplete: s?.incomplete ?? 0 };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.http.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
