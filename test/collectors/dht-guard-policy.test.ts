// Our DHT node's socket asks the address policy before it sends to a node: DHT replies name nodes at any
// address (LAN, loopback), and bittorrent-dht would query them. Loopback only: 127.0.0.2 plays the refused node.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { createGuardedDhtSocket } from '../../src/collectors/dht-guard.ts';

test('the guarded DHT socket drops sends to nodes the policy refuses, and counts them', async (t) => {
  const received = new Map<string, number>();
  const receivers = await Promise.all(['127.0.0.1', '127.0.0.2'].map((host) => new Promise<dgram.Socket>((resolve) => {
    const s = dgram.createSocket('udp4');
    s.on('message', () => received.set(host, (received.get(host) ?? 0) + 1));
    s.bind(0, host, () => resolve(s));
  })));
  const { socket, stats } = createGuardedDhtSocket(undefined, (ip) => ip !== '127.0.0.2');
  t.after(() => {
    socket.close();
    for (const r of receivers) r.close();
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const packet = Buffer.from('d1:y1:qe');
  let callbacks = 0;
  for (const r of receivers) {
    const { address, port } = r.address();
    // k-rpc-socket's call shape: (buf, offset, length, port, host, cb)
    socket.send(packet, 0, packet.length, port, address, () => callbacks++);
  }
  const deadline = Date.now() + 5000;
  while ((received.get('127.0.0.1') ?? 0) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200)); // room for a wrongly sent packet to arrive
  assert.equal(received.get('127.0.0.1'), 1);
  assert.equal(received.get('127.0.0.2'), undefined);
  assert.equal(stats.refusedSends, 1);
  assert.equal(callbacks, 2, 'a refused send still calls back, so nothing waits on it');
});
