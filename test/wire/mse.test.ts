import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import net from 'node:net';
import { contactPeer } from '../../src/evaluator/contact.ts';
import { serveEncryptedOnly } from '../../src/wire/encrypted-only.ts';
import { buildHandshake } from '../../src/wire/handshake.ts';
import { encodeMessage, MessageId } from '../../src/wire/message-reader.ts';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, MseInitiator, MseResponder, obfuscatedInfoHash, type MseResult, type MseStep } from '../../src/wire/mse.ts';
import { Rc4 } from '../../src/wire/rc4.ts';

const infoHash = Buffer.alloc(20, 0x5a);
const known = new Map([[obfuscatedInfoHash(infoHash).toString('hex'), infoHash]]);
const lookup = (h: Buffer) => known.get(h.toString('hex'));
const handshake = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(48, 1)]);

test('RC4 matches RFC 6229 (key 0x0102030405, offsets 0 and 1024)', () => {
  const key = Buffer.from('0102030405', 'hex');
  assert.equal(new Rc4(key).apply(Buffer.alloc(8)).toString('hex'), 'b2396305f03dc027');
  assert.equal(new Rc4(key).skip(1024).apply(Buffer.alloc(8)).toString('hex'), '30abbcc7c20b0160');
  const c = new Rc4(key).skip(10);
  assert.deepEqual(c.clone().apply(Buffer.alloc(16)), c.apply(Buffer.alloc(16)), 'a clone continues the same keystream');
});

/** Runs both sides against each other, delivering bytes in chunks of `chunk` (0 = whole writes). */
function negotiate(provide: number, chunk: number, extra = Buffer.from('after-handshake')): { a: MseResult; b: MseResult } {
  const initiator = new MseInitiator(infoHash, handshake, provide);
  const responder = new MseResponder(lookup);
  let toB: Buffer = initiator.hello();
  let toA: Buffer = Buffer.alloc(0);
  let a: MseResult | null = null;
  let b: MseResult | null = null;
  const deliver = (bytes: Buffer, feed: (c: Buffer) => MseStep): Buffer => {
    const out: Buffer[] = [];
    const size = chunk || bytes.length || 1;
    for (let i = 0; i < bytes.length; i += size) {
      const step = feed(bytes.subarray(i, i + size));
      assert.notEqual(step.status, 'bad', step.status === 'bad' ? step.reason : '');
      if (step.status !== 'bad' && step.write) out.push(step.write);
      if (step.status === 'done') {
        // bytes after the handshake belong to the stream: the caller decrypts them with the new cipher
        const later = Buffer.from(bytes.subarray(i + size));
        const r = step.result;
        const result = { ...r, payload: Buffer.concat([r.payload, r.decrypt ? r.decrypt.apply(later) : later]) };
        return Object.assign(Buffer.concat(out), { result });
      }
    }
    return Buffer.concat(out);
  };
  for (let round = 0; round < 6 && !(a && b); round++) {
    const fromB = deliver(toB, (c) => responder.feed(c)) as Buffer & { result?: MseResult };
    toB = Buffer.alloc(0);
    if (fromB.result) {
      b = fromB.result;
      // B's payload stream follows its handshake reply at once
      toA = Buffer.concat([toA, fromB, b.encrypt ? b.encrypt.apply(Buffer.from(extra)) : extra]);
    } else toA = Buffer.concat([toA, fromB]);
    const fromA = deliver(toA, (c) => initiator.feed(c)) as Buffer & { result?: MseResult };
    toA = Buffer.alloc(0);
    if (fromA.result) a = fromA.result;
    toB = fromA;
  }
  assert.ok(a && b, 'both sides finished');
  return { a, b };
}

test('initiator and responder agree: the responder gets our handshake as IA, we get its payload, ciphers pair up', () => {
  for (const chunk of [0, 1, 7, 97]) {
    const { a, b } = negotiate(CRYPTO_RC4, chunk);
    assert.deepEqual(b.infoHash, infoHash);
    assert.deepEqual(b.payload, handshake);
    assert.deepEqual(a.payload, Buffer.from('after-handshake'), `chunk ${chunk}`);
    // what A encrypts next, B decrypts, and the other way round
    assert.deepEqual(b.decrypt!.apply(a.encrypt!.apply(Buffer.from('bitfield'))), Buffer.from('bitfield'));
    assert.deepEqual(a.decrypt!.apply(b.encrypt!.apply(Buffer.from('have 7'))), Buffer.from('have 7'));
  }
});

test('plaintext selected: no ciphers, the payload stream is readable as is', () => {
  const { a, b } = negotiate(CRYPTO_PLAINTEXT, 5);
  assert.equal(a.encrypt, null);
  assert.equal(b.decrypt, null);
  assert.deepEqual(a.payload, Buffer.from('after-handshake'));
});

test('a torrent the responder does not know, or junk instead of req1: bad, never a throw', () => {
  const initiator = new MseInitiator(Buffer.alloc(20, 1), handshake);
  const responder = new MseResponder(lookup);
  const first = responder.feed(initiator.hello());
  assert.equal(first.status, 'more');
  const step3 = initiator.feed(first.write!);
  const last = responder.feed(step3.status === 'more' ? step3.write! : Buffer.alloc(0));
  assert.deepEqual(last, { status: 'bad', reason: 'unknown info hash' });

  const junk = new MseResponder(lookup);
  assert.equal(junk.feed(Buffer.alloc(96, 7)).status, 'more');
  assert.deepEqual(junk.feed(Buffer.alloc(600, 1)), { status: 'bad', reason: 'no req1 hash' });
  assert.deepEqual(new MseResponder(lookup).feed(Buffer.alloc(96, 0)), { status: 'bad', reason: 'invalid public key' });
  assert.deepEqual(new MseInitiator(infoHash, handshake).feed(Buffer.alloc(96, 0xff)), { status: 'bad', reason: 'invalid public key' });
});

test('property: random bytes fed in random chunks never throw and stay bounded', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }), fc.boolean(), (chunks, asResponder) => {
      const side = asResponder ? new MseResponder(lookup) : new MseInitiator(infoHash, handshake);
      for (const c of chunks) {
        const step = side.feed(Buffer.from(c));
        if (step.status === 'bad') return;
        assert.ok(step.status === 'more', 'random bytes never complete a handshake');
      }
    }),
    { numRuns: 300 },
  );
});

test('serveEncryptedOnly: a plaintext contact is refused, an encrypted one reads the peer through the ciphers', async () => {
  const refusals: string[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    serveEncryptedOnly(socket, lookup, {
      onReady: (payload) => {
        assert.deepEqual(payload.subarray(28, 48), infoHash, "btda's handshake arrives as the initial payload");
        socket.write(Buffer.concat([buildHandshake(infoHash, Buffer.from('-XX0001-encryptedonl', 'latin1')), encodeMessage(MessageId.haveAll)]));
      },
      onRefused: (why) => {
        refusals.push(why);
        socket.destroy();
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const torrent = { torrentId: 1, infoHash, pieces: 8, thresholdPieces: 8 };
  const opts = { peerId: Buffer.from('-BD0001-mseonlymseon', 'latin1'), timeoutMs: 500, connectTimeoutMs: 1000, contactLimitMs: 3000, maxMessages: 16, openingGraceMs: 50 };
  try {
    const plain = await contactPeer(torrent, '127.0.0.1', port, 'first', opts);
    assert.notEqual(plain.reason, 'success');
    const encrypted = await contactPeer(torrent, '127.0.0.1', port, 'later', opts, true);
    assert.deepEqual([encrypted.reason, encrypted.encrypted, encrypted.endPieces], ['success', true, 8]);
    assert.deepEqual(refusals, ['plaintext']);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
