// Hostile tracker replies: the HTTP reply parsers fed random bytes and random dictionaries, and the UDP
// client talking to a loopback "tracker" that answers with random bytes. The outcome is always a value
// ({ ok } or { error }) with sane contents, never an exception, never a hang.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import http from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import fc from 'fast-check';
import { HttpTrackerClient, parseAnnounceReply, parseScrapeReply } from '../../src/collectors/tracker/http-tracker.ts';
import { UdpTrackerClient } from '../../src/collectors/tracker/udp-tracker.ts';
import type { AnnounceReply, AnnounceRequest, Outcome, ScrapeReply } from '../../src/collectors/tracker/tracker-client.ts';

const s = (text: string) => Buffer.from(text, 'latin1');
const u32 = (...values: number[]) => Buffer.concat(values.map((v) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; }));

function checkAnnounce(r: Outcome<AnnounceReply>): void {
  if (!r.ok) {
    assert.equal(typeof r.error, 'string');
    assert.ok(r.error.length < 2000, 'error text stays short');
    return;
  }
  for (const p of r.value.peers) {
    assert.ok(isIP(p.ip) !== 0, `bad ip ${p.ip}`);
    assert.ok(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535, `bad port ${p.port}`);
  }
  for (const n of [r.value.interval, r.value.minInterval, r.value.complete, r.value.incomplete, r.value.downloaded]) {
    assert.ok(n === undefined || (Number.isSafeInteger(n) && n >= 0), `bad count ${n}`);
  }
}

function checkScrape(r: Outcome<ScrapeReply>): void {
  if (!r.ok) {
    assert.equal(typeof r.error, 'string');
    return;
  }
  for (const [hash, counts] of r.value.files) {
    assert.match(hash, /^[0-9a-f]{40}$/);
    for (const n of [counts.complete, counts.incomplete, counts.downloaded]) assert.ok(n === null || (Number.isSafeInteger(n) && n >= 0));
  }
}

// 1 s: far above a linear parse on a loaded machine, far below what a quadratic one would take on these inputs
function timed<T>(f: () => T, maxMs = 1000): T {
  const start = performance.now();
  const r = f();
  const ms = performance.now() - start;
  assert.ok(ms < maxMs, `took ${ms.toFixed(0)} ms`);
  return r;
}

/** A bencoder for test values: dicts are {entries} so any key (binary, __proto__) stays data. */
function enc(v: unknown): Buffer {
  if (typeof v === 'number') return s(`i${v}e`);
  if (Buffer.isBuffer(v)) return Buffer.concat([s(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([s('l'), ...v.map(enc), s('e')]);
  const { entries } = v as { entries: Array<[Buffer | string, unknown]> };
  return Buffer.concat([s('d'), ...entries.flatMap(([k, x]) => [enc(Buffer.isBuffer(k) ? k : Buffer.from(k)), enc(x)]), s('e')]);
}

const { value: anyValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.oneof(fc.integer(), fc.constantFrom(-1, 0, 65535, 65536, 2 ** 53 - 1, -(2 ** 53 - 1))),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(fc.tuple(fc.string({ maxLength: 6 }), tie('value')), { maxLength: 3 }).map((entries) => ({ entries })),
  ),
}));
const ipText = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ maxLength: 20 }), fc.constantFrom('::ffff:1.2.3.4', 'localhost', '999.1.1.1', '1.2.3.4\u0000'));
const dictPeer = fc
  .tuple(fc.option(ipText), fc.option(fc.oneof(fc.integer({ min: -10, max: 70_000 }), anyValue)), fc.option(fc.uint8Array({ maxLength: 20 })))
  .map(([ip, port, id]) => ({
    entries: [
      ...(ip !== null ? [['ip', Buffer.from(ip)]] : []),
      ...(port !== null ? [['port', port]] : []),
      ...(id !== null ? [['peer id', Buffer.from(id)]] : []),
    ] as Array<[string, unknown]>,
  }));
const replyDict = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constantFrom('peers', 'peers6'), fc.oneof(fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)), fc.array(dictPeer, { maxLength: 6 }), anyValue)),
      fc.tuple(fc.constantFrom('interval', 'min interval', 'complete', 'incomplete', 'downloaded'), fc.oneof(fc.integer(), anyValue)),
      fc.tuple(fc.constantFrom('failure reason', 'warning message', 'tracker id'), fc.oneof(fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)), anyValue)),
      fc.tuple(
        fc.constant('files'),
        fc
          .array(
            fc.tuple(
              fc.oneof(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.uint8Array({ maxLength: 45 })).map((a) => Buffer.from(a)),
              fc.oneof(
                fc.tuple(fc.integer(), fc.integer(), fc.integer()).map(([c, i, d]) => ({ entries: [['complete', c], ['incomplete', i], ['downloaded', d]] })),
                anyValue,
              ),
            ),
            { maxLength: 5 },
          )
          .map((entries) => ({ entries })),
      ),
      fc.tuple(fc.constantFrom('flags', '__proto__', 'constructor'), anyValue),
    ),
    { maxLength: 8 },
  )
  .map((entries) => ({ entries }));

test('property: HTTP reply parsers on random bytes and random replies give sane outcomes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1000 }), fc.integer({ min: 100, max: 599 }), (b, status) => {
      const body = Buffer.from(b);
      checkAnnounce(timed(() => parseAnnounceReply(body, status)));
      checkScrape(timed(() => parseScrapeReply(body, status)));
    }),
    { numRuns: 1500 },
  );
  let ok = 0;
  fc.assert(
    fc.property(replyDict, fc.constantFrom(200, 200, 200, 404, 500), fc.uint8Array({ maxLength: 4 }), (dict, status, tail) => {
      const body = Buffer.concat([enc(dict), Buffer.from(tail)]);
      const announce = timed(() => parseAnnounceReply(body, status));
      checkAnnounce(announce);
      checkScrape(timed(() => parseScrapeReply(body, status)));
      if (announce.ok) ok++;
    }),
    { numRuns: 1500 },
  );
  assert.ok(ok > 100, `only ${ok} random replies were well-formed enough to parse`);
  assert.equal(({} as Record<string, unknown>).flags, undefined, 'no prototype pollution');
});

test('HTTP replies built to hurt are errors, quickly', () => {
  const N = 100_000;
  const cases: Array<[Buffer, RegExp]> = [
    [s('l'.repeat(N) + 'e'.repeat(N)), /nested deeper/],
    [s('d5:peers' + 'l'.repeat(N)), /nested deeper/],
    [s('d5:peers4294967295:abce'), /past the end/],
    [s('d5:peersl-3:ee'), /unexpected byte 0x2d/],
    [s('d8:intervali-99999999999999999999ee'), /integer too large/],
    [s(`d5:filesd${'20:aaaaaaaaaaaaaaaaaaaad8:completei1ee'.repeat(60_000)}ee`), /more than 100000 values/],
    [s('d5:peers' + '9'.repeat(N)), /past the end/],
  ];
  for (const [body, re] of cases) {
    for (const r of [timed(() => parseAnnounceReply(body)), timed(() => parseScrapeReply(body))]) {
      assert.equal(r.ok, false);
      assert.match((r as { error: string }).error, re);
    }
  }
  // Negative and absurd numbers in a well-formed reply are dropped, not passed on.
  const r = parseAnnounceReply(s('d8:intervali-5e8:completei9007199254740991e5:peersld2:ip7:1.2.3.44:porti-1eed2:ip7:1.2.3.44:porti70000eeee'));
  assert.ok(r.ok);
  assert.equal(r.value.interval, undefined);
  assert.equal(r.value.complete, 2 ** 53 - 1);
  assert.deepEqual(r.value.peers, []);
});

// ---- UDP ----------------------------------------------------------------------------------------

interface Script {
  /** Replaces the connect reply's tail (after action and transaction id). */
  connectTail?: Buffer;
  /** Packets sent before the real reply: junk of all kinds, which the client must ignore. */
  junk: Buffer[];
  /** Action of the reply (the request's own, or 3 = error). */
  errorReply: boolean;
  tail: Buffer;
}

async function startScriptedUdpTracker(): Promise<{ port: number; script: { current: Script }; close(): void }> {
  const socket = dgram.createSocket('udp4');
  const script: { current: Script } = { current: { junk: [], errorReply: false, tail: Buffer.alloc(0) } };
  socket.on('message', (msg, from) => {
    if (msg.length < 16) return;
    const action = msg.readUInt32BE(8);
    const tid = msg.readUInt32BE(12);
    const sc = script.current;
    const reply = (b: Buffer) => socket.send(b, from.port, from.address);
    for (const j of sc.junk) reply(j);
    for (const j of [u32(action, (tid + 1) >>> 0), u32(action === 1 ? 2 : 1, tid), u32(action)]) reply(Buffer.concat([j, sc.tail])); // wrong tid, wrong action, too short
    if (action === 0) reply(Buffer.concat([u32(0, tid), sc.connectTail ?? Buffer.from('0102030405060708', 'hex')]));
    else reply(Buffer.concat([u32(sc.errorReply ? 3 : action, tid), sc.tail]));
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, script, close: () => socket.close() };
}

const announceRequest: AnnounceRequest = {
  infoHash: Buffer.alloc(20, 7),
  peerId: Buffer.from('-BT0001-abcdefghijkl'),
  port: 6884,
  uploaded: 0,
  downloaded: 0,
  left: 1000,
  numwant: 50,
  key: 1,
};

test('property: a UDP tracker answering random bytes gives sane outcomes, in bounded time', { timeout: 20_000 }, async () => {
  const tracker = await startScriptedUdpTracker();
  const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
  const script = fc.record({
    connectTail: fc.option(bytes(20), { nil: undefined }),
    junk: fc.array(bytes(64), { maxLength: 3 }),
    errorReply: fc.boolean(),
    tail: bytes(600),
  });
  try {
    await fc.assert(
      fc.asyncProperty(script, fc.integer({ min: 1, max: 80 }), async (sc, hashes) => {
        tracker.script.current = sc;
        const client = new UdpTrackerClient(`udp://127.0.0.1:${tracker.port}`, { retransmitBaseMs: 1000, maxAttempts: 1 });
        try {
          const start = Date.now();
          checkAnnounce(await client.announce(announceRequest));
          const r = await client.scrape(Array.from({ length: hashes }, (_, i) => Buffer.alloc(20, i)));
          checkScrape(r);
          if (r.ok) assert.ok(r.value.files.size <= hashes);
          assert.ok(Date.now() - start < 2500, 'no waits beyond the one-attempt budget');
        } finally {
          client.close();
        }
      }),
      { numRuns: 150 },
    );
  } finally {
    tracker.close();
  }
});

test('a 100 MB HTTP tracker reply: cut at the reply cap, the rest never read, memory bounded', { timeout: 20_000 }, async () => {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const total = 100 * 1024 * 1024;
  let sent = 0;
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }); // no content-length: the client cannot refuse up front
    const pump = () => {
      while (sent < total && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const rss0 = process.memoryUsage.rss();
  try {
    const client = new HttpTrackerClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`, { timeoutMs: 10_000 });
    const r = await client.announce(announceRequest);
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.error : '', /larger than 2097152 bytes/);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  assert.ok(sent < 20 * 1024 * 1024, `the server got to write ${sent} bytes before the client hung up`);
  const grownMb = (process.memoryUsage.rss() - rss0) / 1048576;
  assert.ok(grownMb < 64, `RSS grew ${grownMb.toFixed(1)} MB`);
});
