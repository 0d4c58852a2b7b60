import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ContactStop } from '../../src/evaluator/contact-stop.ts';
import { contactPeer, reasonForSocketError, type ContactOptions, type ContactTorrent } from '../../src/evaluator/contact.ts';
import { buildHandshake, buildReserved } from '../../src/wire/handshake.ts';
import { encodeMessage, MessageId } from '../../src/wire/message-reader.ts';
import { OUR_EXTENSION_IDS } from '../../src/wire/extension-handshake.ts';
import bencode from 'bencode';
import { forbiddenIds, startScriptedPeer, type ScriptedConnection, type ScriptedPeerOptions, type Step } from '../helpers/scripted-peer.ts';
import type { ContactResult } from '../../src/types.ts';

const infoHash = Buffer.alloc(20, 0x11);
const ourId = Buffer.from('-BD0001-000000000000', 'latin1');
const torrent: ContactTorrent = { torrentId: 7, infoHash, pieces: 64, thresholdPieces: 63 };

function options(o: Partial<ContactOptions> = {}): ContactOptions {
  return { peerId: ourId, timeoutMs: 300, connectTimeoutMs: 1000, contactLimitMs: 5000, maxMessages: 256, openingGraceMs: 100, ...o };
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/** Run one contact against a scripted peer; the peer side always checks we sent nothing forbidden. */
async function run(
  peerOpts: Omit<ScriptedPeerOptions, 'infoHash'> & { infoHash?: Buffer },
  o: Partial<ContactOptions> = {},
  t: ContactTorrent = torrent,
): Promise<{ r: ContactResult; conn: ScriptedConnection; ms: number }> {
  const peer = await startScriptedPeer({ infoHash, ...peerOpts });
  try {
    const start = Date.now();
    const r = await contactPeer(t, '127.0.0.1', peer.port, 'first', options(o));
    const ms = Date.now() - start;
    const conn = await peer.connection(0);
    await conn.closed; // our side closes: everything we sent has arrived
    assert.deepEqual(forbiddenIds(conn), [], 'we sent only handshake/extended/port/keep-alive');
    assert.equal(r.torrentId, t.torrentId);
    assert.equal(r.event, 'first');
    assert.equal(r.ip, '127.0.0.1');
    return { r, conn, ms };
  } finally {
    await peer.close();
  }
}

test('bitfield then haves: within the grace in the opening state, after it only at the end', async () => {
  const { r, conn } = await run(
    { script: [{ handshake: true }, { bitfield: 10 }, { have: [20, 21] }, { wait: 350 }, { have: 22 }] },
    { openingGraceMs: 150, timeoutMs: 600 },
  );
  assert.equal(r.reason, 'success');
  assert.equal(r.openingPieces, 12);
  assert.equal(r.endPieces, 13);
  assert.equal(r.messages, 4);
  assert.equal(r.crossedAt, null);
  assert.ok(r.openedAt !== null && r.openedAt >= r.startedAt);
  assert.ok(r.longestWaitMs >= 300 && r.longestWaitMs < 600, `longest wait ${r.longestWaitMs}`);
  assert.ok(r.endedAt - r.startedAt >= 900, 'ended after quiet time');
  assert.match(Buffer.from(r.peerId!).toString('latin1'), /^-SP0001-[a-z]{12}$/);
  const received = conn.parsed();
  assert.deepEqual(received.handshake?.infoHash, infoHash);
  assert.deepEqual(received.handshake?.peerId, ourId);
  assert.equal(received.handshake?.dht, false);
  assert.deepEqual(received.ids, [MessageId.haveNone, MessageId.extended], 'have_none (both set Fast: BEP 6), then our extension handshake (the peer set 0x10)');
});

test('a seed (have_all) ends the contact at once', async () => {
  const { r, ms } = await run({ script: [{ handshake: true }, { haveAll: true }] }, { timeoutMs: 5000 });
  assert.equal(r.reason, 'success');
  assert.equal(r.openingPieces, 64);
  assert.equal(r.endPieces, 64);
  assert.equal(r.crossedAt, null);
  assert.ok(ms < 1000, `took ${ms} ms`);
});

test('a complete bitfield ends the contact at once', async () => {
  const { r, ms } = await run({ script: [{ handshake: true }, { bitfield: 64 }, { have: 1 }] }, { timeoutMs: 5000 });
  assert.equal(r.reason, 'success');
  assert.equal(r.endPieces, 64);
  assert.equal(r.messages, 1);
  assert.ok(ms < 1000);
});

test('have_none: success with zero pieces after the quiet time', async () => {
  const { r } = await run({ script: [{ handshake: true }, { haveNone: true }] }, { timeoutMs: 200 });
  assert.equal(r.reason, 'success');
  assert.equal(r.openingPieces, 0);
  assert.equal(r.endPieces, 0);
});

test('several bitfields: the latest wins', async () => {
  const { r } = await run(
    { script: [{ handshake: true }, { bitfield: 10 }, { bitfield: 30 }, { wait: 200 }, { bitfield: 20 }] },
    { openingGraceMs: 50 },
  );
  assert.equal(r.openingPieces, 30);
  assert.equal(r.endPieces, 20);
});

test('crossing the threshold inside one contact sets crossedAt', async () => {
  const { r } = await run({
    script: [{ handshake: true }, { bitfield: 60 }, { wait: 200 }, { have: [60, 61] }, { wait: 50 }, { have: 62 }],
  });
  assert.equal(r.reason, 'success');
  assert.equal(r.openingPieces, 60);
  assert.equal(r.endPieces, 63);
  assert.ok(r.crossedAt !== null && r.openedAt !== null);
  assert.ok(r.crossedAt - r.openedAt >= 200, `crossed ${r.crossedAt - r.openedAt} ms after opening`);
});

test('wrong info hash', async () => {
  const { r, conn } = await run({ script: [{ handshake: { infoHash: Buffer.alloc(20, 0x22) } }, { haveAll: true }] });
  assert.equal(r.reason, 'wrong-info-hash');
  assert.equal(r.openingPieces, null);
  assert.deepEqual(conn.parsed().ids, []);
});

test('closed right after the handshake: no-state', async () => {
  const { r } = await run({ script: [{ handshake: true }, { close: true }] });
  assert.equal(r.reason, 'no-state');
  assert.equal(r.endPieces, null);
});

test('closed before the handshake: closed-early; reset: reset', async () => {
  assert.equal((await run({ script: [{ close: true }] })).r.reason, 'closed-early');
  assert.equal((await run({ script: [{ raw: Buffer.from([19]) }, { wait: 20 }, { reset: true }] })).r.reason, 'reset');
});

test('closed after the state: success', async () => {
  const { r, ms } = await run({ script: [{ handshake: true }, { bitfield: 5 }, { close: true }] }, { timeoutMs: 5000 });
  assert.equal(r.reason, 'success');
  assert.equal(r.endPieces, 5);
  assert.ok(ms < 1000);
});

test('garbage instead of a handshake: unknown-protocol', async () => {
  const { r } = await run({ script: [{ raw: Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n') }] });
  assert.equal(r.reason, 'unknown-protocol');
});

test('a refused port', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const r = await contactPeer(torrent, '127.0.0.1', port, 'later', options());
  assert.equal(r.reason, 'refused');
  assert.equal(r.event, 'later');
});

test('a silent peer: timeout before the handshake, no-state after it', async () => {
  const before = await run({ script: [] }, { connectTimeoutMs: 200 });
  assert.equal(before.r.reason, 'timeout');
  assert.ok(before.ms >= 190 && before.ms < 1000);
  const after = await run({ script: [{ handshake: true }] }, { timeoutMs: 200 });
  assert.equal(after.r.reason, 'no-state');
  assert.ok(after.ms >= 190 && after.ms < 1000);
});

test('maxMessages ends the contact', async () => {
  const haves = Array.from({ length: 20 }, (_, i) => i + 1);
  const { r, ms } = await run({ script: [{ handshake: true }, { bitfield: 1 }, { have: haves }] }, { maxMessages: 5, timeoutMs: 5000 });
  assert.equal(r.reason, 'success');
  assert.equal(r.messages, 5);
  assert.equal(r.endPieces, 5);
  assert.ok(ms < 1000);
});

test('contactLimit ends a chatty peer', async () => {
  const chatter = Array.from({ length: 40 }, () => [{ keepAlive: true as const }, { wait: 25 }]).flat();
  const { r, ms } = await run({ script: [{ handshake: true }, { bitfield: 3 }, ...chatter] }, { contactLimitMs: 400, timeoutMs: 300 });
  assert.equal(r.reason, 'success');
  assert.ok(ms >= 390 && ms < 900, `took ${ms} ms`);
  assert.ok(r.messages > 5);
});

test('with a DHT port: DHT bit in our handshake and a PORT message before closing; the peer PORT is recorded', async () => {
  const { r, conn } = await run(
    { script: [{ handshake: true }, { port: 7000 }, { haveNone: true }] },
    { dhtPort: 6881, timeoutMs: 150 },
  );
  assert.equal(r.reason, 'success');
  assert.equal(r.dhtPort, 7000);
  const received = conn.parsed();
  assert.equal(received.handshake?.dht, true);
  assert.deepEqual(received.ids, [MessageId.haveNone, MessageId.extended, MessageId.port]);
  assert.deepEqual(received.messages[2], { type: 'port', port: 6881 });
});

test('no PORT after a failed handshake', async () => {
  const { conn } = await run({ script: [{ handshake: { infoHash: Buffer.alloc(20, 9) } }] }, { dhtPort: 6881 });
  assert.deepEqual(conn.parsed().ids, []);
});

test('the extension handshake is recorded; none is sent to a peer without BEP 10', async () => {
  const { r } = await run({
    script: [
      { handshake: true },
      { extHandshake: { v: 'Transmission 3.00', p: 51413, metadata_size: 1234, m: { ut_metadata: 3, ut_pex: 1, lt_donthave: 0 } } },
      { bitfield: 4 },
    ],
  });
  assert.equal(r.clientVersion, 'Transmission 3.00');
  assert.equal(r.listenPort, 51413);

  const plain = await run({ reserved: buildReserved({ extensions: false, fast: false }), script: [{ handshake: true }, { bitfield: 4 }] });
  assert.deepEqual(plain.conn.parsed().ids, []);
  assert.equal(plain.r.clientVersion, null);
});

test('BEP 6: have_none right after the handshake exactly when both sides set the Fast bit, and only after the peer\'s handshake', async () => {
  const cases: [{ extensions: boolean; fast: boolean }, number[]][] = [
    [{ extensions: true, fast: true }, [MessageId.haveNone, MessageId.extended]],
    [{ extensions: false, fast: true }, [MessageId.haveNone]],
    [{ extensions: true, fast: false }, [MessageId.extended]],
    [{ extensions: false, fast: false }, []],
  ];
  for (const [bits, expected] of cases) {
    // the peer waits 200 ms before its handshake: nothing but our handshake may arrive before it
    const { conn } = await run({ reserved: buildReserved(bits), script: [{ wait: 200 }, { handshake: true }, { bitfield: 4 }, { wait: 100 }] });
    assert.deepEqual(conn.parsed().ids, expected, JSON.stringify(bits));
    assert.deepEqual(forbiddenIds(conn), [], JSON.stringify(bits));
  }
});

test('lt_donthave removes a piece', async () => {
  const { r } = await run({
    script: [
      { handshake: true },
      { extHandshake: { m: { lt_donthave: 5 } } },
      { bitfield: 10 },
      { wait: 150 },
      { extended: { id: 2, payload: u32(3) } },
    ],
  });
  assert.equal(r.openingPieces, 10);
  assert.equal(r.endPieces, 9);
});

test('bad messages end the contact as bad-message, keeping what was read', async () => {
  const cases: Array<{ name: string; steps: ScriptedPeerOptions['script'] }> = [
    { name: 'short bitfield', steps: [{ handshake: true }, { bitfield: Buffer.alloc(7) }] },
    { name: 'spare bits', steps: [{ handshake: true }, { bitfield: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 1]) }] },
    { name: 'have out of range', steps: [{ handshake: true }, { bitfield: 2 }, { have: 64 }] },
    { name: 'have 2^32-1', steps: [{ handshake: true }, { have: 2 ** 32 - 1 }] },
    { name: 'huge length prefix', steps: [{ handshake: true }, { bitfield: 2 }, { lengthPrefix: 0xffffffff }] },
    { name: 'garbage extension handshake', steps: [{ handshake: true }, { extended: { id: 0, payload: Buffer.from('l-3:e') } }] },
    { name: 'short have', steps: [{ handshake: true }, { message: { id: MessageId.have, payload: Buffer.from([0, 1]) } }] },
  ];
  for (const c of cases) {
    const { r, ms } = await run({ script: c.steps }, { timeoutMs: 3000 });
    assert.equal(r.reason, 'bad-message', c.name);
    assert.ok(ms < 1000, `${c.name}: at once`);
  }
  const kept = await run({ script: [{ handshake: true }, { bitfield: 2 }, { lengthPrefix: 0xffffffff }] });
  assert.equal(kept.r.endPieces, 2);
});

test('a handshake in pieces, and messages in the same chunk as its end', async () => {
  const hs = buildHandshake(infoHash, Buffer.from('-XX0001-abcdefghijkl', 'latin1'));
  const tail = Buffer.concat([hs.subarray(30), encodeMessage(MessageId.bitfield, Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0]))]);
  const { r } = await run({ script: [{ raw: hs.subarray(0, 1) }, { wait: 20 }, { raw: hs.subarray(1, 30) }, { wait: 20 }, { raw: tail }] });
  assert.equal(r.reason, 'success');
  assert.equal(r.endPieces, 8);
});

test('a contact with ourselves ends at once', async () => {
  const { r, ms } = await run({ peerId: ourId, script: [{ handshake: true }, { bitfield: 3 }] }, { timeoutMs: 3000 });
  assert.equal(r.reason, 'no-state');
  assert.ok(ms < 1000);
});

test('the injected clock stamps the result', async () => {
  let t = 1_000_000;
  const { r } = await run({ script: [{ handshake: true }, { haveAll: true }] }, { now: () => (t += 10) });
  assert.equal(r.startedAt, 1_000_010);
  assert.equal(r.openedAt, 1_000_020);
  assert.equal(r.endedAt, 1_000_030);
});

test('bad input never throws: a bad port resolves as error', async () => {
  const r = await contactPeer(torrent, '127.0.0.1', 70000, 'first', options());
  assert.equal(r.reason, 'error');
});

test('socket errors map onto reasons', () => {
  assert.equal(reasonForSocketError('ECONNREFUSED', 'connecting', false), 'refused');
  assert.equal(reasonForSocketError('EHOSTUNREACH', 'connecting', false), 'unreachable');
  assert.equal(reasonForSocketError('ENETUNREACH', 'connecting', false), 'unreachable');
  assert.equal(reasonForSocketError('ECONNRESET', 'handshake', false), 'reset');
  assert.equal(reasonForSocketError('EPIPE', 'messages', false), 'no-state');
  assert.equal(reasonForSocketError('ECONNRESET', 'messages', true), 'success');
  assert.equal(reasonForSocketError('ETIMEDOUT', 'connecting', false), 'timeout');
  assert.equal(reasonForSocketError('EWHATEVER', 'connecting', false), 'error');
});

test('property: whatever follows the handshake, a contact resolves once with a reason and sends nothing forbidden', async () => {
  const { default: fc } = await import('fast-check');
  const reasons = new Set(['success', 'no-state', 'bad-message']);
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), async (chunks) => {
      const steps: ScriptedPeerOptions['script'] = [{ handshake: true }];
      for (const c of chunks) steps.push({ raw: Buffer.from(c) }, { wait: 1 });
      steps.push({ close: true });
      const { r } = await run({ script: steps }, { timeoutMs: 500 });
      assert.ok(reasons.has(r.reason), r.reason);
    }),
    { numRuns: 40 },
  );
});

test('a scripted peer that changes between visits (script per connection)', async () => {
  const peer = await startScriptedPeer({
    infoHash,
    script: (visit) => [{ handshake: true }, visit === 0 ? { bitfield: 30 } : { bitfield: 64 }],
  });
  try {
    const first = await contactPeer(torrent, '127.0.0.1', peer.port, 'first', options({ timeoutMs: 100 }));
    const later = await contactPeer(torrent, '127.0.0.1', peer.port, 'later', options({ timeoutMs: 100 }));
    assert.deepEqual([first.endPieces, later.endPieces], [30, 64]);
    assert.equal(peer.connections.length, 2);
  } finally {
    await peer.close();
  }
});

test('a stop cuts contacts short: what was read is kept (success), a contact without state is stopped', async () => {
  const drip = Array.from({ length: 20 }, () => [{ wait: 100 }, { keepAlive: true } as const]).flat();
  const stop = new ContactStop();
  const withState = startScriptedPeer({ infoHash, script: [{ handshake: true }, { bitfield: 10 }, ...drip] });
  const without = startScriptedPeer({ infoHash, script: [{ handshake: true }, ...drip] });
  const [a, b] = await Promise.all([withState, without]);
  try {
    const o = options({ stop, timeoutMs: 1000, contactLimitMs: 10_000 });
    const t0 = Date.now();
    const contacts = [contactPeer(torrent, '127.0.0.1', a.port, 'first', o), contactPeer(torrent, '127.0.0.1', b.port, 'first', o)];
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stop.inFlight, 2);
    stop.cutShortAll();
    const [ra, rb] = await Promise.all(contacts);
    assert.ok(Date.now() - t0 < 1000, 'ended at the stop, not at the contact limit');
    assert.equal(ra.reason, 'success');
    assert.equal(ra.endPieces, 10);
    assert.equal(rb.reason, 'stopped');
    assert.equal(stop.inFlight, 0);
    // a contact that begins after the stop ends at once
    const late = await contactPeer(torrent, '127.0.0.1', b.port, 'first', o);
    assert.equal(late.reason, 'stopped');
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('MSE/PE: a peer that requires encryption closes a plaintext contact; an encrypted one reads its state', async () => {
  const peer = await startScriptedPeer({ infoHash, encrypted: true, script: [{ handshake: true }, { extHandshake: { v: 'Crypt 1.0' } }, { bitfield: 40 }, { have: [50, 51] }] });
  try {
    const plain = await contactPeer(torrent, '127.0.0.1', peer.port, 'first', options());
    assert.equal(plain.reason, 'closed-early');
    assert.equal(plain.encrypted, false);
    const r = await contactPeer(torrent, '127.0.0.1', peer.port, 'later', options({ dhtPort: 6881 }), true);
    assert.equal(r.reason, 'success');
    assert.equal(r.encrypted, true);
    assert.equal(r.endPieces, 42);
    assert.equal(r.clientVersion, 'Crypt 1.0');
    assert.equal(r.dhtPort, null);
    const conn = await peer.connection(0);
    await conn.closed;
    // what the peer decrypted: our handshake, our extension handshake, the PORT message; nothing forbidden
    const got = conn.parsed();
    assert.deepEqual(got.handshake?.infoHash, infoHash);
    assert.deepEqual(forbiddenIds(conn), []);
    assert.ok(got.ids.includes(MessageId.extended) && got.ids.includes(MessageId.port), `ids ${got.ids}`);
  } finally {
    await peer.close();
  }
});

test('PEX: with pex on we announce ut_pex and keep the peers a peer names; off, none', async () => {
  const pex = Buffer.from(bencode.encode({ added: Buffer.from([10, 0, 0, 7, 0x1a, 0xe1, 10, 0, 0, 8, 0, 0]) }));
  const script: Step[] = [{ handshake: true }, { bitfield: 10 }, { extended: { id: OUR_EXTENSION_IDS.ut_pex, payload: pex } }, { close: true }];
  const on = await run({ script }, { pex: true });
  assert.equal(on.r.reason, 'success');
  assert.deepEqual(on.r.pexPeers, [{ ip: '10.0.0.7', port: 6881 }], 'port 0 dropped');
  const ours = on.conn.parsed().messages.find((m) => m.type === 'extended');
  assert.ok(ours?.type === 'extended' && ours.payload.includes('6:ut_pexi3e'), 'our extension handshake names ut_pex');
  const off = await run({ script }, { pex: false });
  assert.equal(off.r.pexPeers, null);
  assert.equal(off.r.reason, 'success');
});

test('ContactStop.whenIdle resolves when the last contact ends, or at once when none is in flight', async () => {
  const stop = new ContactStop();
  await stop.whenIdle();
  const peer = await startScriptedPeer({ infoHash, script: [{ handshake: true }, { bitfield: 3 }, { wait: 200 }, { close: true }] });
  try {
    const contact = contactPeer(torrent, '127.0.0.1', peer.port, 'first', options({ stop, timeoutMs: 2000 }));
    let idle = false;
    const waiting = stop.whenIdle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(idle, false);
    assert.equal((await contact).reason, 'success');
    await waiting;
    assert.equal(stop.inFlight, 0);
  } finally {
    await peer.close();
  }
});
