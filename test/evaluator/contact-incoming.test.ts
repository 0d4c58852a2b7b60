import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { evaluateIncoming, type ContactOptions, type ContactTorrent } from '../../src/evaluator/contact.ts';
import { buildHandshake, buildReserved } from '../../src/wire/handshake.ts';
import { obfuscatedInfoHash } from '../../src/wire/mse.ts';
import { MessageId } from '../../src/wire/message-reader.ts';
import { connectScriptedPeer, forbiddenIds, type ScriptedConnection, type Step } from '../helpers/scripted-peer.ts';
import type { ContactResult } from '../../src/types.ts';

const infoHash = Buffer.alloc(20, 0x33);
const ourId = Buffer.from('-BD0001-111111111111', 'latin1');
const torrent: ContactTorrent = { torrentId: 3, infoHash, pieces: 40, thresholdPieces: 40 };
const options: ContactOptions = {
  peerId: ourId, timeoutMs: 200, connectTimeoutMs: 500, contactLimitMs: 3000, maxMessages: 256, openingGraceMs: 50,
};

/** A real listener handing its sockets to evaluateIncoming, and a scripted peer dialling it. */
async function incoming(script: Step[], o: Partial<ContactOptions> = {}, encrypted = false): Promise<{ r: ContactResult; conn: ScriptedConnection }> {
  const lookedUp: string[] = [];
  const results: Promise<ContactResult>[] = [];
  const obfuscated = obfuscatedInfoHash(infoHash).toString('hex');
  const server = net.createServer((socket) => {
    results.push(evaluateIncoming(socket, (hex) => (lookedUp.push(hex), hex === infoHash.toString('hex') ? torrent : undefined), { ...options, ...o },
      (hex) => (hex === obfuscated ? torrent : undefined)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const conn = await connectScriptedPeer((server.address() as net.AddressInfo).port, { infoHash, pieces: 40, script, encrypted });
    const localPort = conn.socket.localPort;
    await conn.closed;
    assert.equal(results.length, 1);
    const r = await results[0];
    assert.equal(r.event, 'incoming');
    assert.equal(r.ip, '127.0.0.1');
    assert.equal(r.port, localPort);
    assert.ok(lookedUp.length <= 1, 'looked up once');
    assert.deepEqual(forbiddenIds(conn), []);
    return { r, conn };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

test('inbound, known hash: we answer with our handshake and read the peer', async () => {
  const { r, conn } = await incoming([{ handshake: true }, { awaitHandshake: true }, { extHandshake: { v: 'x 1' } }, { bitfield: 10 }, { have: 11 }]);
  assert.equal(r.reason, 'success');
  assert.equal(r.torrentId, 3);
  assert.equal(r.openingPieces, 11);
  assert.equal(r.clientVersion, 'x 1');
  const got = conn.parsed();
  assert.deepEqual(got.handshake?.infoHash, infoHash);
  assert.deepEqual(got.handshake?.peerId, ourId);
  assert.deepEqual(got.ids, [MessageId.haveNone, MessageId.extended], 'have_none (Fast on both sides), then our extension handshake');
});

test('inbound peer without the Fast bit: no have_none, only our extension handshake', async () => {
  const reserved = buildReserved({ fast: false });
  const { r, conn } = await incoming([{ handshake: { reserved } }, { awaitHandshake: true }, { bitfield: 10 }, { wait: 100 }]);
  assert.equal(r.reason, 'success');
  assert.deepEqual(conn.parsed().ids, [MessageId.extended]);
});

test('inbound, a seed: ends at once with the DHT PORT sent', async () => {
  const { r, conn } = await incoming([{ handshake: true }, { haveAll: true }], { dhtPort: 6881, timeoutMs: 3000 });
  assert.equal(r.reason, 'success');
  assert.equal(r.endPieces, 40);
  assert.ok(r.endedAt - r.startedAt < 1000);
  assert.deepEqual(conn.parsed().ids, [MessageId.haveNone, MessageId.extended, MessageId.port]);
});

test('inbound peer that waits for our handshake before sending its peer id', async () => {
  const hs = buildHandshake(infoHash, Buffer.from('-YY0001-abcdefghijkl', 'latin1'));
  const { r } = await incoming([{ raw: hs.subarray(0, 48) }, { awaitHandshake: true }, { raw: hs.subarray(48) }, { haveNone: true }]);
  assert.equal(r.reason, 'success');
  assert.equal(r.openingPieces, 0);
  assert.deepEqual(r.peerId, Buffer.from('-YY0001-abcdefghijkl', 'latin1'));
});

test('inbound, unknown hash: counted with torrentId -1, nothing sent', async () => {
  const { r, conn } = await incoming([{ handshake: { infoHash: Buffer.alloc(20, 0x44) } }, { awaitHandshake: true }]);
  assert.equal(r.reason, 'unknown-info-hash');
  assert.equal(r.torrentId, -1);
  assert.equal(conn.received().length, 0);
});

test('inbound garbage (neither a plaintext nor an encrypted handshake): unknown-protocol', async () => {
  const { r } = await incoming([{ raw: Buffer.from('8f3a2c9d10e4b7a6', 'hex') }, { wait: 1000 }]);
  assert.equal(r.reason, 'unknown-protocol');
  assert.equal(r.torrentId, -1);
});

test('inbound silence: timeout; close before the handshake: closed-early', async () => {
  assert.equal((await incoming([{ wait: 1000 }])).r.reason, 'timeout');
  assert.equal((await incoming([{ raw: Buffer.from([19]) }, { close: true }])).r.reason, 'closed-early');
});

test('inbound MSE/PE: an encrypted handshake is answered, the torrent found by its obfuscated hash, the peer read', async () => {
  const { r, conn } = await incoming([{ handshake: true }, { awaitHandshake: true }, { extHandshake: { v: 'enc 2' } }, { bitfield: 12 }, { haveAll: true }], { dhtPort: 6881 }, true);
  assert.equal(r.reason, 'success');
  assert.equal(r.encrypted, true);
  assert.equal(r.torrentId, 3);
  assert.equal(r.openingPieces, 40);
  assert.equal(r.clientVersion, 'enc 2');
  const got = conn.parsed();
  assert.deepEqual(got.handshake?.peerId, ourId);
  assert.deepEqual(got.ids, [MessageId.haveNone, MessageId.extended, MessageId.port]);
});

test('inbound MSE/PE for a torrent we do not measure: unknown-info-hash', async () => {
  const other = Buffer.alloc(20, 0x44);
  const results: Promise<ContactResult>[] = [];
  const server = net.createServer((socket) => {
    results.push(evaluateIncoming(socket, () => undefined, options, () => undefined));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await assert.rejects(connectScriptedPeer((server.address() as net.AddressInfo).port, { infoHash: other, script: [{ handshake: true }], encrypted: true }));
    assert.equal((await results[0]).reason, 'unknown-info-hash');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
