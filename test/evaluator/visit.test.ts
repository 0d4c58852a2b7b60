import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { ContactOptions, ContactTorrent } from '../../src/evaluator/contact.ts';
import { visitPeer } from '../../src/evaluator/visit.ts';
import { DueQueue } from '../../src/queue/due-queue.ts';
import type { ContactResult } from '../../src/types.ts';
import { buildHandshake } from '../../src/wire/handshake.ts';
import { encodeMessage, MessageId } from '../../src/wire/message-reader.ts';
import { startScriptedPeer } from '../helpers/scripted-peer.ts';

const infoHash = Buffer.alloc(20, 0x77);
const torrent: ContactTorrent = { torrentId: 1, infoHash, pieces: 16, thresholdPieces: 16 };
const opts: ContactOptions = {
  peerId: Buffer.from('-BD0001-visitvisitvi', 'latin1'), timeoutMs: 300, connectTimeoutMs: 1000, contactLimitMs: 3000, maxMessages: 64, openingGraceMs: 50,
};

test('encryption fallback: a peer that requires MSE/PE costs two connections on the first visit, one on the next', async () => {
  const peer = await startScriptedPeer({ infoHash, pieces: 16, encrypted: true, script: [{ handshake: true }, { bitfield: 8 }, { close: true }] });
  const queue = new DueQueue({ revisitDelayMs: 0, revisitComplete: true, maxFailures: 3, retryDelayMs: 0 });
  const results: ContactResult[] = [];
  const record = (r: ContactResult) => (results.push(r), false);
  try {
    queue.add(1, '127.0.0.1', peer.port, 'file', Date.now());
    for (let visit = 0; visit < 2; visit++) {
      const due = queue.take(Date.now() + 1);
      assert.ok(due, `peer due for visit ${visit}`);
      await visitPeer(due, torrent, opts, queue, record, 'fallback');
    }
    assert.deepEqual(results.map((r) => [r.reason, r.encrypted, r.endPieces]), [['success', true, 8], ['success', true, 8]]);
    assert.equal(peer.accepted, 3, 'plaintext + encrypted, then encrypted only');
  } finally {
    await peer.close();
  }
});

test('encryption off: the plaintext refusal is what is recorded, nothing is retried', async () => {
  const peer = await startScriptedPeer({ infoHash, pieces: 16, encrypted: true, script: [{ handshake: true }, { bitfield: 8 }] });
  const queue = new DueQueue({ revisitDelayMs: 0, revisitComplete: true, maxFailures: 3, retryDelayMs: 0 });
  const results: ContactResult[] = [];
  try {
    queue.add(1, '127.0.0.1', peer.port, 'file', Date.now());
    await visitPeer(queue.take(Date.now() + 1)!, torrent, opts, queue, (r) => (results.push(r), false), 'off');
    assert.deepEqual(results.map((r) => [r.reason, r.encrypted]), [['closed-early', false]]);
    assert.equal(peer.accepted, 1);
  } finally {
    await peer.close();
  }
});

test('encryption prefer: a plaintext-only peer costs two connections on the first visit, one on the next', async () => {
  // a client without MSE/PE: answers a plaintext handshake, closes on anything else
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted++;
    socket.on('error', () => {});
    socket.once('data', (chunk: Buffer) => {
      if (chunk[0] !== 19 || chunk.subarray(1, 20).toString('latin1') !== 'BitTorrent protocol') return void socket.end();
      socket.end(Buffer.concat([buildHandshake(infoHash, Buffer.from('-XX0001-plaintextonl', 'latin1')), encodeMessage(MessageId.haveAll)]));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const queue = new DueQueue({ revisitDelayMs: 0, revisitComplete: true, maxFailures: 3, retryDelayMs: 0 });
  const results: ContactResult[] = [];
  try {
    queue.add(1, '127.0.0.1', (server.address() as net.AddressInfo).port, 'file', Date.now());
    for (let visit = 0; visit < 2; visit++) {
      await visitPeer(queue.take(Date.now() + 1)!, torrent, opts, queue, (r) => (results.push(r), false), 'prefer');
    }
    assert.deepEqual(results.map((r) => [r.reason, r.encrypted, r.endPieces]), [['success', false, 16], ['success', false, 16]]);
    assert.equal(accepted, 3, 'encrypted (closed) + plaintext, then plaintext only');
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
