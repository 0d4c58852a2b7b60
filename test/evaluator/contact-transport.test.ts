// ContactOptions.openSocket: the seam through which another transport (uTP: scripts/utp/utp-socket.ts)
// carries a contact. Here a stream that is not a net.Socket (an EventEmitter relaying a TCP socket, the
// way the uTP adapter relays a utp-native connection) carries a whole contact against a scripted peer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { contactPeer, type ContactTorrent, type PeerSocket } from '../../src/evaluator/contact.ts';
import { startScriptedPeer } from '../helpers/scripted-peer.ts';

const infoHash = Buffer.alloc(20, 0x33);
const torrent: ContactTorrent = { torrentId: 3, infoHash, pieces: 64, thresholdPieces: 63 };
const opts = { peerId: Buffer.from('-BD0001-transport000', 'latin1'), timeoutMs: 2000, connectTimeoutMs: 2000, contactLimitMs: 5000, maxMessages: 64, openingGraceMs: 100 };

/** A PeerSocket that is not a net.Socket: it opens its TCP connection on connect() and relays events. */
class RelayedSocket extends EventEmitter {
  inner: net.Socket | null = null;
  written = 0;
  connect(o: { host: string; port: number }): this {
    const s = net.connect(o);
    this.inner = s;
    for (const e of ['connect', 'data', 'end', 'close', 'error']) s.on(e, (x?: unknown) => this.emit(e, x));
    return this;
  }
  write(b: Buffer): boolean {
    this.written += b.length;
    return this.inner!.write(b);
  }
  end(b?: Buffer): this {
    if (b) this.inner?.end(b);
    else this.inner?.end();
    return this;
  }
  destroy(): this {
    if (this.inner) this.inner.destroy();
    else queueMicrotask(() => this.emit('close'));
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  get destroyed(): boolean {
    return this.inner?.destroyed ?? false;
  }
  get writable(): boolean {
    return this.inner?.writable ?? false;
  }
}

test('a contact runs over the socket openSocket gives, not a net.Socket of its own', async () => {
  const peer = await startScriptedPeer({ infoHash, script: [{ handshake: true }, { haveAll: true }] });
  try {
    const made: RelayedSocket[] = [];
    const openSocket = () => {
      const s = new RelayedSocket();
      made.push(s);
      return s as unknown as PeerSocket;
    };
    const r = await contactPeer(torrent, '127.0.0.1', peer.port, 'first', { ...opts, openSocket });
    assert.equal(r.reason, 'success');
    assert.equal(r.endPieces, 64);
    assert.equal(made.length, 1);
    assert.ok(made[0].written >= 68, 'our handshake went through the given socket');
  } finally {
    await peer.close();
  }
});

test('a transport error code is classified as for TCP (refused)', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const r = await contactPeer(torrent, '127.0.0.1', port, 'first', { ...opts, openSocket: () => new RelayedSocket() as unknown as PeerSocket });
  assert.equal(r.reason, 'refused');
});
