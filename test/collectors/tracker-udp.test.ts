// UDP tracker client (BEP 15) and TrackerCollector over UDP, against the real bittorrent-tracker
// server (IPv4 and IPv6) and a scriptable fake tracker for what a well-behaved server never does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { UdpTrackerClient } from '../../src/collectors/tracker/udp-tracker.ts';
import { TrackerCollector } from '../../src/collectors/tracker/tracker-collector.ts';
import type { AnnounceRequest } from '../../src/collectors/tracker/tracker-client.ts';
import { announceUdpPeer, asV4, fakeTorrent, recordingContext, startRealTracker, waitFor } from '../helpers/tracker-server.ts';

const peerId = Buffer.from('-BT0001-abcdefghijkl');

type Kind = 'connect' | 'announce' | 'scrape';
type Behaviour = 'reply' | 'drop' | 'error' | 'wrong-tid' | 'wrong-tid-then-reply' | 'wrong-action-then-reply';

interface FakeUdpTracker {
  url: string;
  packets: { kind: Kind; msg: Buffer }[];
  count(kind: Kind): number;
  close(): void;
}

/** A UDP tracker that answers as `behave` says: the n-th request of each kind, counted from 0. */
async function startFakeUdpTracker(opts: { host: string; peers?: Buffer; interval?: number; behave?: (kind: Kind, n: number) => Behaviour }): Promise<FakeUdpTracker> {
  const socket = dgram.createSocket(opts.host.includes(':') ? 'udp6' : 'udp4');
  const connectionId = Buffer.from('0102030405060708', 'hex');
  const packets: { kind: Kind; msg: Buffer }[] = [];
  const u32 = (...values: number[]) => Buffer.concat(values.map((v) => Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255])));
  socket.on('message', (msg, from) => {
    if (msg.length < 16) return;
    const action = msg.readUInt32BE(8);
    const kind: Kind | undefined = action === 0 && msg.readBigUInt64BE(0) === 0x41727101980n ? 'connect' : action === 1 ? 'announce' : action === 2 ? 'scrape' : undefined;
    if (!kind) return;
    const n = packets.filter((p) => p.kind === kind).length;
    packets.push({ kind, msg });
    const tid = msg.readUInt32BE(12);
    const body =
      kind === 'connect'
        ? connectionId
        : kind === 'announce'
          ? Buffer.concat([u32(opts.interval ?? 1800, 2, 1), opts.peers ?? Buffer.alloc(0)])
          : Buffer.concat(Array.from({ length: (msg.length - 16) / 20 }, () => u32(3, 7, 2)));
    const send = (a: number, t: number, b: Buffer) => socket.send(Buffer.concat([u32(a, t), b]), from.port, from.address);
    const behaviour = opts.behave?.(kind, n) ?? 'reply';
    if (behaviour === 'drop') return;
    if (behaviour === 'error') return send(3, tid, Buffer.from('go away'));
    if (behaviour.startsWith('wrong-tid')) send(action, (tid + 1) >>> 0, body);
    if (behaviour === 'wrong-action-then-reply') send(action === 1 ? 2 : 1, tid, body);
    if (behaviour !== 'wrong-tid') setTimeout(() => send(action, tid, body), 10);
  });
  await new Promise<void>((resolve) => socket.bind(0, opts.host, resolve));
  const port = socket.address().port;
  return {
    url: opts.host.includes(':') ? `udp://[${opts.host}]:${port}/announce?passkey=secret` : `udp://${opts.host}:${port}`,
    packets,
    count: (kind) => packets.filter((p) => p.kind === kind).length,
    close: () => socket.close(),
  };
}

const request = (over: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: Buffer.alloc(20, 7),
  peerId,
  port: 65535,
  uploaded: 0,
  downloaded: 0,
  left: 1000,
  numwant: 50,
  key: 0xdeadbeef,
  ...over,
});

test('UDP: the collector gets exactly the peers the real tracker holds (ports above 32767), and its scrape numbers', async () => {
  const tracker = await startRealTracker();
  const torrent = fakeTorrent(1, [tracker.udpUrl]);
  const hash = Buffer.from(torrent.infoHash, 'hex');
  const ports = [6881, 32768, 51413, 65535];
  for (const port of ports) await announceUdpPeer('127.0.0.1', tracker.udpPort, hash, port);
  await announceUdpPeer('127.0.0.1', tracker.udpPort, hash, 51413, 'completed', 0n);
  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents: [torrent], peerId, port: 6884, numwant: 50, intervalS: 60, udpRetransmitBaseMs: 500 });
  try {
    await collector.start(ctx);
    await waitFor(() => ctx.scrapes.length >= 1, 5000, 'a scrape row');
    // The tracker lists the announcing client (us) too.
    assert.deepEqual(ctx.peers.get(1), new Set([...ports, 6884].map((p) => `127.0.0.1:${p}`)));
    assert.deepEqual(
      ctx.requests.map((r) => [r.kind, r.url, r.received, r.new, r.duplicates, r.error]),
      [['udp', asV4(tracker.udpUrl), 5, 5, 0, null]],
    );
    const own = tracker.swarm(torrent.infoHash);
    const row = ctx.scrapes[0];
    assert.deepEqual([row.seeders, row.leechers, row.downloaded], [own.complete, own.incomplete, own.complete]);
    assert.deepEqual([row.seeders, row.leechers], [1, 4]);
  } finally {
    await collector.stop();
    await tracker.close();
  }
  assert.equal(tracker.swarm(torrent.infoHash).incomplete, 3, 'stopped removed us from the swarm');
});

test('UDP over IPv6: announce and scrape reach the real tracker on ::1', async () => {
  const tracker = await startRealTracker();
  const torrent = fakeTorrent(2, [tracker.udp6Url]);
  const hash = Buffer.from(torrent.infoHash, 'hex');
  await announceUdpPeer('::1', tracker.udp6Port, hash, 40000);
  await announceUdpPeer('::1', tracker.udp6Port, hash, 50000);
  await announceUdpPeer('::1', tracker.udp6Port, hash, 50000, 'completed', 0n);
  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents: [torrent], peerId, port: 6884, numwant: 50, intervalS: 60, udpRetransmitBaseMs: 500 });
  try {
    await collector.start(ctx);
    await waitFor(() => ctx.scrapes.length >= 1, 5000, 'a scrape row');
    assert.equal(ctx.requests[0].error, null);
    // bittorrent-tracker never puts IPv6 peers into UDP replies (it sends only its IPv4 list), so
    // there is nothing to receive here; 18-byte IPv6 peers are tested with the fake tracker below.
    assert.equal(ctx.requests[0].received, 0);
    const own = tracker.swarm(torrent.infoHash);
    assert.deepEqual([ctx.scrapes[0].seeders, ctx.scrapes[0].leechers, ctx.scrapes[0].downloaded], [own.complete, own.incomplete, own.complete]);
    assert.deepEqual([own.complete, own.incomplete], [1, 2]);
  } finally {
    await collector.stop();
    await tracker.close();
  }
});

test('IPv6 replies carry 18-byte peers; the connection id is reused; the request is what BEP 15 and 41 say', async () => {
  const peers = Buffer.concat([
    Buffer.from('20010db8000000000000000000000001ffff', 'hex'),
    Buffer.from('00000000000000000000ffff0a000001', 'hex'),
    Buffer.from([0x9c, 0x40]),
  ]);
  const fake = await startFakeUdpTracker({ host: '::1', peers });
  const client = new UdpTrackerClient(fake.url, { retransmitBaseMs: 500 });
  try {
    const first = await client.announce(request({ event: 'started' }));
    assert.ok(first.ok, JSON.stringify(first));
    assert.deepEqual(first.value.peers, [
      { ip: '2001:db8::1', port: 65535 },
      { ip: '10.0.0.1', port: 40000 },
    ]);
    assert.deepEqual([first.value.interval, first.value.incomplete, first.value.complete], [1800, 2, 1]);
    assert.ok((await client.announce(request())).ok);
    assert.equal(fake.count('connect'), 1);
    const [a1, a2] = fake.packets.filter((p) => p.kind === 'announce').map((p) => p.msg);
    assert.equal(a1.subarray(0, 8).toString('hex'), '0102030405060708');
    assert.equal(a1.readUInt32BE(80), 2); // started
    assert.equal(a2.readUInt32BE(80), 0); // none
    assert.equal(a1.readUInt16BE(96), 65535);
    assert.equal(a1.readUInt32BE(88), 0xdeadbeef);
    assert.equal(a1.readInt32BE(92), 50);
    assert.equal(a1.readBigUInt64BE(64), 1000n);
    const urlData = '/announce?passkey=secret';
    assert.deepEqual(a1.subarray(98), Buffer.concat([Buffer.from([2, urlData.length]), Buffer.from(urlData)]));
  } finally {
    client.close();
    fake.close();
  }
});

test('replies with a wrong transaction id or action are ignored', async () => {
  const fake = await startFakeUdpTracker({
    host: '127.0.0.1',
    peers: Buffer.from([10, 0, 0, 5, 0xff, 0xfe]),
    behave: (kind, n) => (kind === 'connect' ? 'wrong-tid-then-reply' : n === 0 ? 'wrong-action-then-reply' : n === 1 ? 'wrong-tid-then-reply' : 'wrong-tid'),
  });
  const client = new UdpTrackerClient(fake.url, { retransmitBaseMs: 300, maxAttempts: 2 });
  try {
    const a = await client.announce(request());
    assert.ok(a.ok);
    assert.deepEqual(a.value.peers, [{ ip: '10.0.0.5', port: 65534 }]);
    assert.ok((await client.announce(request())).ok);
    assert.equal(fake.count('announce'), 2, 'answered at the first try: no retransmission');
    const never = await client.announce(request());
    assert.equal(never.ok, false);
    assert.match((never as { error: string }).error, /no reply from 127\.0\.0\.1:\d+ after 2 attempts \(900 ms\)/);
    assert.equal(fake.count('announce'), 4);
  } finally {
    client.close();
    fake.close();
  }
});

test('error replies end the request; a silent tracker is retried with doubling waits, then given up', async () => {
  const failing = await startFakeUdpTracker({ host: '127.0.0.1', behave: (kind, n) => (kind === 'announce' && n === 0 ? 'error' : 'reply') });
  const silent = await startFakeUdpTracker({ host: '127.0.0.1', behave: () => 'drop' });
  const c1 = new UdpTrackerClient(failing.url, { retransmitBaseMs: 300 });
  const c2 = new UdpTrackerClient(silent.url, { retransmitBaseMs: 50, maxAttempts: 3 });
  try {
    assert.deepEqual(await c1.announce(request()), { ok: false, error: 'tracker error: go away' });
    assert.ok((await c1.announce(request())).ok);
    assert.equal(failing.count('connect'), 2, 'a fresh connection id after an error');
    const began = Date.now();
    const r = await c2.announce(request());
    const took = Date.now() - began;
    assert.equal(r.ok, false);
    assert.equal(silent.count('connect'), 3);
    assert.ok(took >= 340 && took < 1500, `took ${took} ms`);
  } finally {
    c1.close();
    c2.close();
    failing.close();
    silent.close();
  }
});

test('connection ids expire after a minute; scrape is batched at 74 hashes', async () => {
  const fake = await startFakeUdpTracker({ host: '127.0.0.1' });
  let now = 1_000_000;
  const client = new UdpTrackerClient(fake.url, { retransmitBaseMs: 500, now: () => now });
  try {
    assert.ok((await client.announce(request())).ok);
    now += 59_000;
    assert.ok((await client.announce(request())).ok);
    assert.equal(fake.count('connect'), 1);
    now += 2_000;
    assert.ok((await client.announce(request())).ok);
    assert.equal(fake.count('connect'), 2);
    const hashes = Array.from({ length: 100 }, () => randomBytes(20));
    const s = await client.scrape(hashes);
    assert.ok(s.ok);
    const sizes = fake.packets.filter((p) => p.kind === 'scrape').map((p) => (p.msg.length - 16) / 20);
    assert.deepEqual(sizes, [74, 26]);
    assert.equal(s.value.files.size, 100);
    assert.deepEqual(s.value.files.get(hashes[99].toString('hex')), { complete: 3, downloaded: 7, incomplete: 2 });
  } finally {
    client.close();
    fake.close();
  }
});

test('collector over UDP: started once, then no event, stopped at shutdown; a silent tracker is a counted error', async () => {
  const good = await startFakeUdpTracker({ host: '127.0.0.1', interval: 1, peers: Buffer.from([10, 0, 0, 7, 0x80, 0x00]) });
  const silent = await startFakeUdpTracker({ host: '127.0.0.1', behave: () => 'drop' });
  const ctx = recordingContext();
  const torrent = fakeTorrent(9, [good.url, silent.url]);
  const collector = new TrackerCollector({ passive: true, torrents: [torrent], peerId, port: 6884, numwant: 20, intervalS: 0.2, udpRetransmitBaseMs: 50, udpMaxAttempts: 2, stopTimeoutMs: 500 });
  try {
    await collector.start(ctx);
    const logged = (url: string) => ctx.requests.filter((r) => r.url === asV4(url)).length;
    await waitFor(() => logged(good.url) >= 2 && logged(silent.url) >= 1, 5000, 'two announces');
  } finally {
    await collector.stop();
    good.close();
    silent.close();
  }
  const events = good.packets.filter((p) => p.kind === 'announce').map((p) => p.msg.readUInt32BE(80));
  assert.deepEqual(events, [2, 0, 3]);
  const goodRequests = ctx.requests.filter((r) => r.url === asV4(good.url));
  assert.ok(goodRequests[1].startedAt - goodRequests[0].startedAt >= 990, 'the tracker interval of 1 s is honoured');
  assert.deepEqual(ctx.peers.get(9), new Set(['10.0.0.7:32768']));
  assert.match(ctx.requests.find((r) => r.url === asV4(silent.url))!.error!, /no reply .* after 2 attempts/);
  assert.equal(ctx.scrapes.filter((s) => s.tracker === asV4(good.url))[0].downloaded, 7);
  // No `stopped` to the tracker that never answered.
  assert.equal(silent.count('announce'), 0);
});
