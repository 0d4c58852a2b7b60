// A minimal BEP 15 tracker on loopback that keeps up with hundreds of thousands of torrents (the real
// bittorrent-tracker server is too slow for that): it answers connect, announce (with the peers it is
// given, 6 or 18 bytes each by the socket's family) and scrape (3 seeders, 7 downloaded, 2 leechers per
// hash), counts what it got, and can play dead.
import dgram from 'node:dgram';

export interface FastUdpTracker {
  url: string;
  port: number;
  counts: { connect: number; announce: number; scrape: number };
  /** Info hashes per scrape packet, in arrival order. */
  scrapeSizes: number[];
  /** Announce events (0 none, 1 completed, 2 started, 3 stopped) and ports, in arrival order. */
  announces: { event: number; port: number; hash: string }[];
  /** While true every packet is dropped. */
  dead: boolean;
  close(): Promise<void>;
}

export async function startFastUdpTracker(opts: { host: string; port?: number; peers?: Buffer; interval?: number; dead?: boolean }): Promise<FastUdpTracker> {
  const v6 = opts.host.includes(':');
  const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  const connectionId = Buffer.from('0807060504030201', 'hex');
  const t: FastUdpTracker = {
    url: '',
    port: 0,
    counts: { connect: 0, announce: 0, scrape: 0 },
    scrapeSizes: [],
    announces: [],
    dead: opts.dead ?? false,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
  socket.on('message', (msg, from) => {
    if (t.dead || msg.length < 16) return;
    const action = msg.readUInt32BE(8);
    const tid = msg.readUInt32BE(12);
    let reply: Buffer;
    if (action === 0 && msg.readBigUInt64BE(0) === 0x41727101980n) {
      t.counts.connect++;
      reply = Buffer.alloc(16);
      connectionId.copy(reply, 8);
    } else if (action === 1 && msg.length >= 98) {
      t.counts.announce++;
      t.announces.push({ event: msg.readUInt32BE(80), port: msg.readUInt16BE(96), hash: msg.subarray(16, 36).toString('hex') });
      const peers = opts.peers ?? Buffer.alloc(0);
      reply = Buffer.alloc(20 + peers.length);
      reply.writeUInt32BE(opts.interval ?? 1800, 8);
      reply.writeUInt32BE(2, 12);
      reply.writeUInt32BE(1, 16);
      peers.copy(reply, 20);
    } else if (action === 2) {
      const n = Math.floor((msg.length - 16) / 20);
      t.counts.scrape++;
      t.scrapeSizes.push(n);
      reply = Buffer.alloc(8 + 12 * n);
      for (let k = 0; k < n; k++) {
        reply.writeUInt32BE(3, 8 + 12 * k);
        reply.writeUInt32BE(7, 12 + 12 * k);
        reply.writeUInt32BE(2, 16 + 12 * k);
      }
    } else {
      return;
    }
    reply.writeUInt32BE(action, 0);
    reply.writeUInt32BE(tid, 4);
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject); // a port taken: the caller may try another
    socket.bind(opts.port ?? 0, opts.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  t.port = socket.address().port;
  t.url = v6 ? `udp://[${opts.host}]:${t.port}/announce` : `udp://${opts.host}:${t.port}/announce`;
  return t;
}
