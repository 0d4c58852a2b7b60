// InboundListener on 127.0.0.1 with real TCP clients: limits, garbage, slow clients, shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { InboundListener, type InboundListenerOptions } from '../../src/collectors/listener.ts';
import type { CollectorContext } from '../../src/collectors/collector.ts';
import { silentLogger } from '../../src/log.ts';
import type { RequestLog } from '../../src/types.ts';

function recordingContext() {
  const requests: RequestLog[] = [];
  const ctx: CollectorContext = {
    addPeers: (_id, peers) => ({ new: peers.length, duplicates: 0, skipped: 0 }),
    logRequest: (r) => requests.push(r),
    logScrape() {},
    log: silentLogger,
    now: () => Date.now(),
  };
  return { ctx, requests };
}

/** Reads a 68-byte handshake (or fails on close/timeout), answers 'ok' and ends: the shape of the real handler. */
function handshakeHandler(socket: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 68) {
        if (got[0] !== 19) return reject(new Error('unknown protocol'));
        socket.end('ok');
        resolve();
      }
    });
    socket.on('close', () => reject(new Error('closed early')));
  });
}

async function startListener(over: Partial<InboundListenerOptions> = {}) {
  const listener = new InboundListener({
    port: 0,
    host: '127.0.0.1',
    maxConnections: 50,
    maxPerIp: 10,
    idleTimeoutMs: 5000,
    handle: handshakeHandler,
    ...over,
  });
  const rec = recordingContext();
  await listener.start(rec.ctx);
  return { listener, port: listener.boundPort!, ...rec };
}

function connect(port: number, localAddress = '127.0.0.1'): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(s));
    s.on('error', () => {}); // resets of rejected sockets are expected
    s.once('error', reject);
  });
}

/** Resolves when the client socket has closed; reads (and drops) what arrives, else 'end' would never come. */
const closed = (s: net.Socket) =>
  s.destroyed ? Promise.resolve() : new Promise<void>((r) => s.once('close', () => r()).resume());

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const handshake = () => Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), randomBytes(48)]);

test('answers a handshake and survives garbage and a throwing handler', { timeout: 15_000 }, async () => {
  const { listener, port } = await startListener();
  try {
    const garbage = [];
    for (let i = 0; i < 30; i++) {
      const s = await connect(port);
      s.end(randomBytes(1 + ((i * 97) % 3000)));
      garbage.push(closed(s));
    }
    await Promise.all(garbage);
    const s = await connect(port);
    const reply = new Promise<string>((r) => {
      let text = '';
      s.on('data', (d) => (text += d));
      s.on('close', () => r(text));
    });
    s.write(handshake());
    assert.equal(await reply, 'ok');
    await until(() => listener.stats().open === 0, 2000, 'all closed');
    const st = listener.stats();
    assert.equal(st.accepted, 31);
    assert.ok(st.errors >= 1, 'garbage made the handler fail');
  } finally {
    await listener.stop();
  }

  const throwing = await startListener({
    handle: async () => {
      throw new Error('bug');
    },
  });
  try {
    const s = await connect(throwing.port);
    await closed(s);
    await until(() => throwing.listener.stats().errors === 1, 2000, 'error counted');
    const again = await connect(throwing.port); // still accepting
    await closed(again);
  } finally {
    await throwing.listener.stop();
  }
});

test('the per-IP limit rejects the extra connections of one address only', { timeout: 15_000 }, async () => {
  const { listener, port } = await startListener({ maxPerIp: 2 });
  const clients: net.Socket[] = [];
  try {
    for (let i = 0; i < 4; i++) clients.push(await connect(port, '127.0.0.1'));
    for (let i = 0; i < 2; i++) clients.push(await connect(port, '127.0.0.2'));
    await until(() => listener.stats().accepted + listener.stats().rejectedPerIp === 6, 2000, 'all seen');
    assert.deepEqual(
      { ...listener.stats(), errors: 0, socketErrors: 0 },
      { accepted: 4, rejectedTotalLimit: 0, rejectedPerIp: 2, open: 4, errors: 0, socketErrors: 0, timedOut: 0 },
    );
    await Promise.all([closed(clients[2]), closed(clients[3])]);
    assert.ok(!clients[0].destroyed && !clients[4].destroyed && !clients[5].destroyed);
    // A closed connection frees its slot.
    clients[0].destroy();
    await until(() => listener.stats().open === 3, 2000, 'slot freed');
    clients.push(await connect(port, '127.0.0.1'));
    await until(() => listener.stats().accepted === 5, 2000, 'accepted again');
  } finally {
    await listener.stop();
    clients.forEach((c) => c.destroy());
  }
});

test('the total limit rejects connections beyond maxConnections', { timeout: 15_000 }, async () => {
  const { listener, port } = await startListener({ maxConnections: 3, maxPerIp: 10 });
  const clients: net.Socket[] = [];
  try {
    for (let i = 0; i < 6; i++) clients.push(await connect(port, `127.0.0.${1 + (i % 3)}`));
    await until(() => listener.stats().accepted + listener.stats().rejectedTotalLimit === 6, 2000, 'all seen');
    const st = listener.stats();
    assert.equal(st.accepted, 3);
    assert.equal(st.rejectedTotalLimit, 3);
    assert.equal(st.rejectedPerIp, 0);
    assert.equal(st.open, 3);
    await Promise.all(clients.slice(3).map(closed));
  } finally {
    await listener.stop();
    clients.forEach((c) => c.destroy());
  }
});

test('a client trickling one byte a second is cut at the idle timeout', { timeout: 15_000 }, async () => {
  const { listener, port } = await startListener({ idleTimeoutMs: 300 });
  const s = await connect(port);
  const t0 = Date.now();
  const trickle = setInterval(() => s.writable && s.write(Buffer.from([19])), 1000);
  try {
    await closed(s);
    const took = Date.now() - t0;
    assert.ok(took >= 250 && took < 1500, `closed after ${took} ms`);
    await until(() => listener.stats().timedOut === 1 && listener.stats().open === 0, 2000, 'counted');
  } finally {
    clearInterval(trickle);
    await listener.stop();
  }
});

test('maxConnectionMs cuts a client that keeps the idle timer alive', { timeout: 15_000 }, async () => {
  const { listener, port } = await startListener({ idleTimeoutMs: 1000, maxConnectionMs: 600 });
  const s = await connect(port);
  const t0 = Date.now();
  const trickle = setInterval(() => s.writable && s.write(Buffer.from([19])), 100);
  try {
    await closed(s);
    const took = Date.now() - t0;
    assert.ok(took >= 550 && took < 1000, `closed after ${took} ms`);
  } finally {
    clearInterval(trickle);
    await listener.stop();
  }
});

test('stop() closes the server and every open socket, and logs the last interval', { timeout: 15_000 }, async () => {
  const { listener, port, requests } = await startListener({ logIntervalS: 0.2 });
  const clients = [await connect(port), await connect(port, '127.0.0.3'), await connect(port, '127.0.0.4')];
  await until(() => listener.stats().open === 3, 2000, 'three open');
  await until(() => requests.length >= 1, 2000, 'an interval row');
  assert.equal(requests[0].kind, 'incoming');
  assert.equal(requests[0].url, null);
  assert.equal(requests[0].torrentId, null);
  assert.equal(requests[0].received, 3);
  await listener.stop();
  await Promise.all(clients.map(closed));
  assert.equal(listener.stats().open, 0);
  await assert.rejects(connect(port), /ECONNREFUSED/);
  const total = requests.reduce((sum, r) => sum + r.received, 0);
  assert.equal(total, 3);
  await listener.stop(); // twice is harmless
});

test('a port in use makes start() reject with the port in the message', { timeout: 5000 }, async () => {
  const { listener, port } = await startListener();
  try {
    const second = new InboundListener({
      port,
      host: '127.0.0.1',
      maxConnections: 1,
      maxPerIp: 1,
      idleTimeoutMs: 1000,
      handle: handshakeHandler,
    });
    await assert.rejects(second.start(recordingContext().ctx), new RegExp(`:${port}: EADDRINUSE`));
  } finally {
    await listener.stop();
  }
});
