// Runs inside a private network namespace whose /etc/hosts names `dual-stack.test` with 127.0.0.1
// and ::1 (see ../tracker-families.test.ts). One UDP and one HTTP tracker are each served by an IPv4
// and an IPv6 instance on the same port, each answering with peers of its own family, as separate
// instances and UDP trackers do. btda must announce to and scrape both, and queue every peer once.
// Prints one JSON line for the parent to check.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import bencode from 'bencode';
import { TrackerCollector } from '../../../src/collectors/tracker/tracker-collector.ts';
import { DueQueue } from '../../../src/queue/due-queue.ts';
import { startFastUdpTracker, type FastUdpTracker } from '../../helpers/fast-udp-tracker.ts';
import { fakeTorrent, recordingContext, waitFor } from '../../helpers/tracker-server.ts';

const HOST = 'dual-stack.test';
const peer4 = (ip: number[], port: number) => Buffer.from([...ip, port >> 8, port & 255]);
const peer6 = (hex: string, port: number) => Buffer.concat([Buffer.from(hex, 'hex'), Buffer.from([port >> 8, port & 255])]);
const MAPPED_10_0_0_1 = '00000000000000000000ffff0a000001';

/** The same free port on 127.0.0.1 and ::1 (a few tries: the IPv6 side may find it taken). */
async function udpPair(): Promise<[FastUdpTracker, FastUdpTracker]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const v4 = await startFastUdpTracker({ host: '127.0.0.1', peers: Buffer.concat([peer4([10, 0, 0, 1], 6881), peer4([10, 0, 0, 2], 6882)]) });
    try {
      // the IPv6 instance also lists 10.0.0.1:6881, IPv4-mapped: one peer, one queue entry
      const v6 = await startFastUdpTracker({ host: '::1', port: v4.port, peers: Buffer.concat([peer6('20010db8000000000000000000000001', 6881), peer6(MAPPED_10_0_0_1, 6881)]) });
      return [v4, v6];
    } catch {
      await v4.close();
    }
  }
  throw new Error('no common UDP port on 127.0.0.1 and ::1');
}

async function httpInstance(host: string, port: number, reply: Record<string, unknown>, seen: string[]): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    if (req.url?.startsWith('/scrape')) return void res.end(Buffer.from(bencode.encode({ files: {} })));
    res.end(Buffer.from(bencode.encode({ interval: 1800, ...reply })));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  return server;
}

async function httpPair(seen4: string[], seen6: string[]): Promise<http.Server[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const v4 = await httpInstance('127.0.0.1', 0, { peers: Buffer.concat([peer4([10, 0, 0, 3], 7000), peer4([10, 0, 0, 1], 6881)]) }, seen4);
    try {
      const port = (v4.address() as AddressInfo).port;
      const v6 = await httpInstance('::1', port, { peers: Buffer.alloc(0), peers6: peer6('20010db8000000000000000000000003', 7000) }, seen6);
      return [v4, v6];
    } catch {
      v4.close();
    }
  }
  throw new Error('no common TCP port on 127.0.0.1 and ::1');
}

const [udp4, udp6] = await udpPair();
const seen4: string[] = [];
const seen6: string[] = [];
const [http4, http6] = await httpPair(seen4, seen6);
const udpUrl = `udp://${HOST}:${udp4.port}/announce`;
const httpUrl = `http://${HOST}:${(http4.address() as AddressInfo).port}/announce`;

const queue = new DueQueue({ revisitDelayMs: 60_000, revisitComplete: false, maxFailures: 3, retryDelayMs: 1000 });
const ctx = recordingContext();
ctx.addPeers = (torrentId, peers, source) => {
  let fresh = 0;
  for (const p of peers) if (queue.add(torrentId, p.ip, p.port, source, Date.now()) === 'new') fresh++;
  return { new: fresh, duplicates: peers.length - fresh, skipped: 0 };
};
const collector = new TrackerCollector({
  // a name nobody resolves (no DNS server in this namespace): one row for the tracker, none per torrent
  torrents: [fakeTorrent(1, [udpUrl, httpUrl, 'udp://unresolvable.test:6969/announce'])],
  peerId: Buffer.from('-BT0001-abcdefghijkl'),
  port: 6884,
  passive: true,
  numwant: 50,
  intervalS: 60,
  timeoutMs: 2000,
  udpRetransmitBaseMs: 500,
});
try {
  await collector.start(ctx);
  await waitFor(() => ctx.requests.length >= 5 && ctx.scrapes.length >= 2, 8000, 'four announces, a DNS failure and two UDP scrapes');
} finally {
  await collector.stop();
}
const queued: string[] = [];
for (const [ip, port] of [['10.0.0.1', 6881], ['10.0.0.2', 6882], ['10.0.0.3', 7000], ['2001:db8::1', 6881], ['2001:db8::3', 7000]] as const) {
  if (queue.get(1, ip, port)) queued.push(`${ip}|${port}`);
}
console.log(
  JSON.stringify({
    udpUrl,
    httpUrl,
    requests: ctx.requests.map((r) => ({ torrentId: r.torrentId, url: r.url, error: r.error, received: r.received, new: r.new, duplicates: r.duplicates })),
    scrapes: ctx.scrapes.map((s) => s.tracker),
    udp: { v4: udp4.counts, v6: udp6.counts },
    http: { v4: seen4, v6: seen6 },
    known: queue.known,
    queued,
  }),
);
await Promise.all([udp4.close(), udp6.close()]);
http4.close();
http6.close();
