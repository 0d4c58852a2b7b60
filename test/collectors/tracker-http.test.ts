// HTTP tracker client and TrackerCollector over HTTP, against the real bittorrent-tracker server
// and raw loopback servers that misbehave on purpose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import bencode from 'bencode';
import { decode } from '../../src/bencode/decode.ts';
import {
  buildAnnounceUrl,
  escapeBytes,
  parseAnnounceReply,
  parseScrapeReply,
  scrapeUrlFor,
} from '../../src/collectors/tracker/http-tracker.ts';
import { TrackerCollector } from '../../src/collectors/tracker/tracker-collector.ts';
import {
  announceHttpPeer,
  asV4,
  fakeTorrent,
  queryOf,
  recordingContext,
  startRawHttpServer,
  startRealTracker,
  waitFor,
} from '../helpers/tracker-server.ts';

const peerId = Buffer.from('-BT0001-abcdefghijkl');
const encode = (value: unknown) => Buffer.from(bencode.encode(value));
const compact = (ip: number[], port: number) => Buffer.from([...ip, port >> 8, port & 0xff]);

test('scrape URL per BEP 48', () => {
  assert.equal(scrapeUrlFor('http://t.example/announce'), 'http://t.example/scrape');
  assert.equal(scrapeUrlFor('http://t.example/x/announce.php?passkey=a/b'), 'http://t.example/x/scrape.php?passkey=a/b');
  assert.equal(scrapeUrlFor('https://t.example:8443/announce?k=1'), 'https://t.example:8443/scrape?k=1');
  assert.equal(scrapeUrlFor('http://t.example/a'), null);
  assert.equal(scrapeUrlFor('http://t.example/announce/'), null);
  assert.equal(scrapeUrlFor('http://announce.example'), null);
  assert.equal(scrapeUrlFor('http://t.example/x%064announce'), null);
});

test('announce URL: raw bytes escaped, passkey query kept, event only when given', () => {
  assert.equal(escapeBytes(Buffer.from([0x00, 0x41, 0x7e, 0xff, 0x2f])), '%00A~%FF%2F');
  const req = { infoHash: Buffer.alloc(20, 0xab), peerId, port: 6884, uploaded: 0, downloaded: 0, left: 100, numwant: 50, key: 0x1234 };
  const url = buildAnnounceUrl('http://t.example/announce?passkey=xyz', req);
  assert.match(url, /^http:\/\/t\.example\/announce\?passkey=xyz&info_hash=(%AB){20}&peer_id=-BT0001-abcdefghijkl&port=6884&/);
  assert.match(url, /&compact=1&numwant=50&key=00001234$/);
  assert.match(buildAnnounceUrl('http://t.example/announce', { ...req, event: 'started', trackerId: 'id 1' }), /\?info_hash=.*&event=started&trackerid=id%201$/);
});

test('announce replies: compact, dictionary and IPv6 peers; ports above 32767', () => {
  const reply = encode({
    interval: 1800,
    'min interval': 900,
    complete: 3,
    incomplete: 4,
    'tracker id': 'abc',
    'warning message': 'be nice',
    peers: Buffer.concat([compact([10, 0, 0, 1], 6881), compact([10, 0, 0, 2], 65535), compact([1, 2, 3, 4], 0), Buffer.from([9, 9])]),
    peers6: Buffer.concat([Buffer.from('20010db8000000000000000000000001', 'hex'), Buffer.from([0xc8, 0x00])]),
  });
  const r = parseAnnounceReply(reply);
  assert.ok(r.ok);
  assert.deepEqual(r.value.peers, [
    { ip: '10.0.0.1', port: 6881 },
    { ip: '10.0.0.2', port: 65535 },
    { ip: '2001:db8::1', port: 51200 },
  ]);
  assert.equal(r.value.interval, 1800);
  assert.equal(r.value.minInterval, 900);
  assert.equal(r.value.complete, 3);
  assert.equal(r.value.incomplete, 4);
  assert.equal(r.value.trackerId, 'abc');
  assert.equal(r.value.warning, 'be nice');

  const dictPeers = parseAnnounceReply(
    encode({
      interval: 60,
      peers: [{ ip: '10.1.1.1', port: 40000, 'peer id': 'x' }, { ip: 'host.example', port: 1 }, { ip: '2001:DB8:0:0::2', port: 7 }, { ip: '::FFFF:10.1.1.2', port: 8 }, { ip: '::ffff:a01:103', port: 9 }, 'junk'],
    }),
  );
  assert.ok(dictPeers.ok);
  // An IPv4-mapped address is the IPv4 peer it names: one queue entry, not two.
  assert.deepEqual(dictPeers.value.peers, [
    { ip: '10.1.1.1', port: 40000 },
    { ip: '2001:db8::2', port: 7 },
    { ip: '10.1.1.2', port: 8 },
    { ip: '10.1.1.3', port: 9 },
  ]);
});

test('bad replies become error strings, quickly', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('<html><body>Not here</body></html>'), /not a bencoded reply.*<html>/],
    [encode(['a', 'list']), /not a dictionary but a list/],
    [encode(42), /not a dictionary but an integer/],
    [Buffer.alloc(0), /empty input/],
    [encode({ 'failure reason': 'unregistered torrent' }), /^failure reason: unregistered torrent$/],
    [Buffer.from('d8:intervali1800e'), /unterminated dictionary|unexpected end/],
    // The `bencode` package loops for ever on this one.
    [Buffer.from('l-3:e'), /bad bencode: unexpected byte 0x2d/],
    [Buffer.from('d5:peers99999:abce'), /past the end/],
  ];
  for (const [body, expected] of cases) {
    const r = parseAnnounceReply(body);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, expected);
  }
  const notFound = parseAnnounceReply(Buffer.from('Not Found'), 404);
  assert.deepEqual(notFound, { ok: false, error: 'HTTP 404' });
  assert.throws(() => decode(Buffer.from('l'.repeat(100_000))), /nested deeper/);
});

test('scrape replies keyed by raw info hash', () => {
  const h1 = Buffer.alloc(20, 0xff);
  const h2 = Buffer.from('abcdefghijklmnopqrst');
  const body = encode({
    files: new Map([
      [h1, { complete: 5, incomplete: 2, downloaded: 40 }],
      [h2, { complete: 1 }],
    ]),
    flags: { min_request_interval: 900 },
  });
  const r = parseScrapeReply(body);
  assert.ok(r.ok);
  assert.deepEqual(r.value.files.get(h1.toString('hex')), { complete: 5, incomplete: 2, downloaded: 40 });
  assert.deepEqual(r.value.files.get(h2.toString('hex')), { complete: 1, incomplete: null, downloaded: null });
  assert.equal(r.value.minRequestInterval, 900);
});

test('HTTP: the collector gets exactly the peers the real tracker holds, and its scrape numbers', async () => {
  const tracker = await startRealTracker();
  const torrentA = fakeTorrent(1, [tracker.httpUrl]);
  const torrentB = fakeTorrent(2, [tracker.httpUrl]);
  const hashA = Buffer.from(torrentA.infoHash, 'hex');
  const fakes = [
    { ip: '10.0.0.1', port: 6881 },
    { ip: '10.0.0.2', port: 51413 },
    { ip: '192.168.1.7', port: 65535 },
    { ip: '2001:db8::1', port: 40000 },
  ];
  for (const p of fakes) await announceHttpPeer(tracker.httpPort, hashA, p);
  await announceHttpPeer(tracker.httpPort, hashA, fakes[1], 'completed', 0);
  await announceHttpPeer(tracker.httpPort, Buffer.from(torrentB.infoHash, 'hex'), { ip: '10.9.9.9', port: 1234 });

  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents: [torrentA, torrentB], peerId, port: 6884, numwant: 50, intervalS: 60, timeoutMs: 2000 });
  try {
    await collector.start(ctx);
    await waitFor(() => ctx.scrapes.length >= 2, 5000, 'scrape rows');
    // The tracker lists every peer of the swarm, the announcing client (us, 127.0.0.1:6884) included.
    const expected = new Set([...fakes.map((p) => `${p.ip}:${p.port}`), '127.0.0.1:6884']);
    assert.deepEqual(ctx.peers.get(1), expected);
    assert.deepEqual(ctx.peers.get(2), new Set(['10.9.9.9:1234', '127.0.0.1:6884']));
    const req = ctx.requests.find((r) => r.torrentId === 1)!;
    assert.equal(req.kind, 'http');
    assert.equal(req.url, asV4(tracker.httpUrl));
    assert.equal(req.error, null);
    assert.equal(req.received, 5);
    assert.equal(req.new, 5);
    for (const t of [torrentA, torrentB]) {
      const row = ctx.scrapes.find((s) => s.torrentId === t.id)!;
      const own = tracker.swarm(t.infoHash);
      // bittorrent-tracker reports downloaded = complete (its documented lower bound).
      assert.deepEqual(
        { seeders: row.seeders, leechers: row.leechers, downloaded: row.downloaded, tracker: row.tracker },
        { seeders: own.complete, leechers: own.incomplete, downloaded: own.complete, tracker: asV4(tracker.httpUrl) },
      );
    }
    const rowA = ctx.scrapes.find((s) => s.torrentId === 1)!;
    assert.deepEqual([rowA.seeders, rowA.leechers, rowA.downloaded], [1, 4, 1]); // 3 fakes + us leeching
  } finally {
    await collector.stop();
    await tracker.close();
  }
  // After `stopped` the tracker forgot us.
  assert.equal(tracker.swarm(torrentA.infoHash).incomplete, 3);
});

test('event=started only on the first announce, none later, stopped at shutdown; min interval honoured', async () => {
  const server = await startRawHttpServer((req, res) => {
    if (req.url?.startsWith('/scrape')) {
      res.end(encode({ files: {} }));
      return;
    }
    res.end(encode({ interval: 5, 'min interval': 1, 'tracker id': 'T1', peers: compact([10, 0, 0, 1], 40000) }));
  });
  const ctx = recordingContext();
  const torrent = fakeTorrent(7, [server.url('/announce?passkey=p')]);
  const collector = new TrackerCollector({ passive: true, torrents: [torrent], peerId, port: 6884, numwant: 10, intervalS: 0.2, timeoutMs: 1000 });
  const announces = () => server.requests.filter((u) => u.startsWith('/announce'));
  try {
    await collector.start(ctx);
    await waitFor(() => announces().length >= 3, 5000, 'three announces');
  } finally {
    await collector.stop();
    await server.close();
  }
  const events = announces().map((u) => queryOf(u).get('event')?.[0]);
  assert.equal(events[0], 'started');
  assert.deepEqual(events.slice(1, -1), events.slice(1, -1).map(() => undefined));
  assert.equal(events.at(-1), 'stopped');
  const regular = ctx.requests.map((r) => r.startedAt);
  for (let i = 1; i < regular.length; i++) assert.ok(regular[i] - regular[i - 1] >= 990, `announces ${regular[i] - regular[i - 1]} ms apart`);
  assert.ok(ctx.messages.some((m) => /min interval 1 s overrides the configured 0.2 s/.test(m)));
  assert.equal(queryOf(announces()[1]).get('trackerid')?.[0], 'T1');
  assert.equal(queryOf(announces()[0]).get('passkey')?.[0], 'p');
  assert.equal(queryOf(announces()[0]).get('left')?.[0], '163840');
  assert.equal(queryOf(announces()[0]).get('uploaded')?.[0], '0');
  // Scrape of the raw server was requested with the passkey too.
  assert.ok(server.requests.some((u) => u.startsWith('/scrape?passkey=p&info_hash=')));
});

test('broken trackers are counted errors; the others still deliver', async () => {
  const huge = Buffer.alloc(3 * 1024 * 1024, 0x61);
  const server = await startRawHttpServer((req, res) => {
    const path = req.url?.split('?')[0] ?? '';
    if (path === '/slow/announce') return; // never answers
    if (path === '/garbage/announce') return void res.end('<html>500 Internal Server Error</html>');
    if (path === '/list/announce') return void res.end(encode(['not', 'a', 'dict']));
    if (path === '/huge/announce') return void res.end(huge);
    if (path === '/huge-chunked/announce') {
      res.write(huge.subarray(0, 1024 * 1024));
      res.write(huge.subarray(0, 1024 * 1024));
      return void res.end(huge.subarray(0, 1024 * 1024));
    }
    if (path === '/ftp/announce') return void res.writeHead(302, { location: 'ftp://127.0.0.1/announce' }).end();
    if (path === '/fail/announce') return void res.end(encode({ 'failure reason': 'torrent not registered' }));
    if (path === '/good/announce') return void res.end(encode({ interval: 60, peers: compact([10, 0, 0, 9], 50000) }));
    res.statusCode = 404;
    res.end('not found');
  });
  const closed = await startRawHttpServer(() => {});
  const closedUrl = closed.url();
  await closed.close();
  const trackers = ['slow', 'garbage', 'list', 'huge', 'huge-chunked', 'ftp', 'fail', 'good'].map((p) => server.url(`/${p}/announce`));
  const torrent = fakeTorrent(3, [closedUrl, ...trackers, 'wss://tracker.example/announce', 'dht://x', 'not a url']);
  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents: [torrent], peerId, port: 6884, numwant: 10, intervalS: 60, timeoutMs: 400 });
  const started = Date.now();
  try {
    await collector.start(ctx);
    await waitFor(() => ctx.requests.length >= 9, 5000, 'one request per tracker');
  } finally {
    await collector.stop();
    await server.close();
  }
  assert.ok(Date.now() - started < 4000);
  const errorOf = (url: string) => ctx.requests.find((r) => r.url === asV4(url))?.error;
  assert.match(errorOf(closedUrl)!, /ECONNREFUSED/);
  assert.match(errorOf(trackers[0])!, /timeout after 400 ms/);
  assert.match(errorOf(trackers[1])!, /not a bencoded reply/);
  assert.match(errorOf(trackers[2])!, /not a dictionary/);
  assert.match(errorOf(trackers[3])!, /larger than 2097152 bytes/);
  assert.match(errorOf(trackers[4])!, /larger than 2097152 bytes/);
  assert.match(errorOf(trackers[5])!, /redirect to unsupported scheme ftp:/);
  assert.equal(errorOf(trackers[6]), 'failure reason: torrent not registered');
  assert.equal(errorOf(trackers[7]), null);
  assert.deepEqual(ctx.peers.get(3), new Set(['10.0.0.9:50000']));
  for (const bad of ['wss://tracker.example/announce', 'dht://x', 'not a url']) {
    assert.equal(ctx.messages.filter((m) => m.includes(`skipping tracker ${bad}`)).length, 1);
  }
  // Only the tracker that answered got a `stopped`.
  assert.equal(server.requests.filter((u) => u.includes('event=stopped')).length, 1);
});

test('torrents sharing a tracker are scraped in one request', async () => {
  const torrents = [fakeTorrent(11, []), fakeTorrent(12, []), fakeTorrent(13, [])];
  const server = await startRawHttpServer((req, res) => {
    if (!req.url?.startsWith('/scrape')) return void res.end(encode({ interval: 60, peers: '' }));
    const files = new Map(torrents.slice(0, 2).map((t, i) => [Buffer.from(t.infoHash, 'hex'), { complete: i, incomplete: 10 + i, downloaded: 20 + i }]));
    res.end(encode({ files }));
  });
  for (const t of torrents) t.trackers.push(server.url());
  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents, peerId, port: 1, numwant: 5, intervalS: 60, timeoutMs: 1000 });
  try {
    await collector.start(ctx);
    await waitFor(() => server.requests.some((u) => u.startsWith('/scrape')) && ctx.scrapes.length >= 2, 5000, 'a scrape');
  } finally {
    await collector.stop();
    await server.close();
  }
  const scrapes = server.requests.filter((u) => u.startsWith('/scrape'));
  assert.equal(scrapes.length, 1);
  assert.equal(queryOf(scrapes[0]).get('info_hash')?.length, 3);
  // The tracker did not report the third torrent: no row rather than a made-up one.
  assert.deepEqual(
    ctx.scrapes.map((r) => [r.torrentId, r.seeders, r.leechers, r.downloaded]).sort(),
    [
      [11, 0, 10, 20],
      [12, 1, 11, 21],
    ],
  );
  assert.equal(ctx.requests.length, 3);
  assert.ok(ctx.requests.every((r) => r.error === null && r.received === 0));
});

test('a tracker without scrape: seeders and leechers come from its announce reply', async () => {
  const server = await startRawHttpServer((_req, res) => res.end(encode({ interval: 60, complete: 4, incomplete: 9, downloaded: 17, peers: '' })));
  const url = server.url('/tracker.php');
  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents: [fakeTorrent(14, [url])], peerId, port: 1, numwant: 5, intervalS: 60, timeoutMs: 1000 });
  try {
    await collector.start(ctx);
    await waitFor(() => ctx.scrapes.length >= 1, 5000, 'a row');
  } finally {
    await collector.stop();
    await server.close();
  }
  assert.deepEqual([ctx.scrapes[0].tracker, ctx.scrapes[0].seeders, ctx.scrapes[0].leechers, ctx.scrapes[0].downloaded], [asV4(url), 4, 9, 17]);
  assert.ok(server.requests.every((u) => u.startsWith('/tracker.php?')));
});

test('redirects are followed up to three times', async () => {
  const server = await startRawHttpServer((req, res) => {
    const m = /^\/r(\d+)\//.exec(req.url ?? '');
    if (m && Number(m[1]) > 0) return void res.writeHead(307, { location: `/r${Number(m[1]) - 1}/announce?${req.url!.split('?')[1]}` }).end();
    res.end(encode({ interval: 60, peers: compact([10, 0, 0, 3], 3000) }));
  });
  const ok = server.url('/r3/announce');
  const tooMany = server.url('/r4/announce');
  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents: [fakeTorrent(4, [ok, tooMany])], peerId, port: 1, numwant: 5, intervalS: 60, timeoutMs: 1000 });
  try {
    await collector.start(ctx);
    await waitFor(() => ctx.requests.length >= 2, 5000, 'two requests');
  } finally {
    await collector.stop();
    await server.close();
  }
  assert.equal(ctx.requests.find((r) => r.url === asV4(ok))?.error, null);
  assert.equal(ctx.requests.find((r) => r.url === asV4(tooMany))?.error, 'more than 3 redirects');
  assert.ok(server.requests.some((u) => u.startsWith('/r0/announce?info_hash=')));
});

test('failures back off exponentially', async () => {
  const server = await startRawHttpServer((_req, res) => res.end('garbage'));
  const ctx = recordingContext();
  const collector = new TrackerCollector({ passive: true, torrents: [fakeTorrent(5, [server.url()])], peerId, port: 1, numwant: 5, intervalS: 0.2, timeoutMs: 500 });
  try {
    await collector.start(ctx);
    await waitFor(() => ctx.requests.length >= 4, 5000, 'four attempts');
  } finally {
    await collector.stop();
    await server.close();
  }
  const gaps = ctx.requests.slice(1, 4).map((r, i) => r.startedAt - ctx.requests[i].startedAt);
  // 0.2 s, 0.4 s, 0.8 s
  assert.ok(gaps[0] >= 190 && gaps[1] >= 390 && gaps[2] >= 790, `gaps ${gaps}`);
  // Announces that never succeeded keep asking with event=started.
  const announces = server.requests.filter((u) => u.startsWith('/announce'));
  assert.ok(announces.length >= 4 && announces.every((u) => u.includes('event=started')));
  assert.equal(ctx.messages.filter((m) => m.startsWith('warn tracker')).length, 1);
});

test('torrents without trackers and stop before start are fine', async () => {
  const collector = new TrackerCollector({ passive: true, torrents: [fakeTorrent(6, [])], peerId, port: 1, numwant: 5, intervalS: 60 });
  await collector.stop();
  const ctx = recordingContext();
  await collector.start(ctx);
  await collector.stop();
  assert.equal(ctx.requests.length, 0);
  assert.throws(() => new TrackerCollector({ passive: true, torrents: [], peerId, port: 1, numwant: 5, intervalS: 0 }), RangeError);
});
