// BEP 32 `want` between btda's two DHT nodes (src/collectors/dht/family-bridge.ts): the IPv6 node (ours, on ::1)
// answers `want: n4` from bittorrent-dht's table (on 127.0.0.1) and bittorrent-dht answers `want: n6` from
// the IPv6 table; IPv4 nodes named in the IPv6 node's replies join bittorrent-dht's table, past the address
// policy; an IPv6 node with nothing to start from asks IPv4 nodes for `nodes6`. Loopback only: 127.0.0.2
// plays the special-purpose address the policy refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { AddressPolicy } from '../../src/collectors/address-policy.ts';
import { DhtCollector } from '../../src/collectors/dht-collector.ts';
import { decodeNodes, type NodeInfo } from '../../src/collectors/dht/compact.ts';
import { Dht6Collector } from '../../src/collectors/dht/dht6-collector.ts';
import { linkFamilies, OfferBudget } from '../../src/collectors/dht/family-bridge.ts';
import { KrpcSocket } from '../../src/collectors/dht/krpc-socket.ts';
import { DhtNode } from '../../src/collectors/dht/node.ts';
import { createLocalDht, type LocalDht } from '../helpers/local-dht.ts';
import { createLocalOwnDht } from '../helpers/local-own-dht.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { fakeTorrent } from '../helpers/tracker-server.ts';

async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function nodesOf(local: LocalDht): NodeInfo[] {
  return local.nodes.map((n) => ({ id: Buffer.from(n.nodeId), host: '127.0.0.1', port: n.address().port }));
}

/** A UDP socket that counts what reaches it: a node the policy refuses must never get a packet. */
async function trap(host: string): Promise<{ port: number; packets: () => number; close: () => void }> {
  let packets = 0;
  const s = dgram.createSocket('udp4');
  s.on('message', () => packets++);
  await new Promise<void>((resolve) => s.bind(0, host, () => resolve()));
  return { port: s.address().port, packets: () => packets, close: () => s.close() };
}

test('the IPv6 node answers want n4 from the IPv4 table; bittorrent-dht answers want n6 from the IPv6 table', { timeout: 30_000 }, async () => {
  const local4 = await createLocalDht({ size: 8, settleMs: 300 });
  const local6 = await createLocalOwnDht({ family: 6, size: 8 });
  const v4 = new DhtCollector({ torrents: [], port: 0, host: '127.0.0.1', bootstrap: [local4.bootstrap], intervalS: 3600 });
  const v6 = new Dht6Collector({ torrents: [], port: 0, host: '::1', bootstrap: [local6.bootstrap], intervalS: 3600, scrape: false });
  linkFamilies(v4, v6);
  const asker6 = new KrpcSocket(6, () => {}, 1000);
  const asker4 = new KrpcSocket(4, () => {}, 1000);
  try {
    await v4.start(recordingContext().ctx);
    await v6.start(recordingContext().ctx);
    await until(() => v4.nodeCount >= 4 && v6.nodeCount >= 4, 10_000, 'both tables');
    await asker6.bind(0, '::1');
    await asker4.bind(0, '127.0.0.1');
    const id = randomBytes(20);
    const target = randomBytes(20);

    // ro=1 (BEP 43): the asking socket stays out of the tables whose answers it checks
    const r6 = await asker6.query({ host: '::1', port: v6.boundPort! }, 'find_node', { id, target, want: ['n4'], ro: 1 });
    assert.ok(r6.ok, 'the IPv6 node answers');
    const named4 = decodeNodes(r6.r.nodes as Buffer, 4);
    assert.ok(named4.length >= 4, `IPv4 nodes in the answer: ${named4.length}`);
    const ports4 = new Set(local4.ports);
    assert.ok(named4.every((n) => n.host === '127.0.0.1' && ports4.has(n.port)), 'only nodes of the IPv4 DHT');
    assert.equal(r6.r.nodes6, undefined, 'want n4 alone: no nodes6');
    const both = await asker6.query({ host: '::1', port: v6.boundPort! }, 'get_peers', { id, info_hash: target, want: ['n4', 'n6'], ro: 1 });
    assert.ok(both.ok && decodeNodes(both.r.nodes as Buffer, 4).length >= 4 && decodeNodes(both.r.nodes6 as Buffer, 6).length >= 4);

    const r4 = await asker4.query({ host: '127.0.0.1', port: v4.boundPort! }, 'find_node', { id, target, want: ['n6'] });
    assert.ok(r4.ok, 'bittorrent-dht answers');
    const named6 = decodeNodes(r4.r.nodes6 as Buffer, 6);
    const ports6 = new Set(local6.nodes.map((n) => n.port));
    assert.ok(named6.length >= 4 && named6.every((n) => n.host === '::1' && ports6.has(n.port)), `IPv6 nodes: ${named6.map((n) => n.port)}`);
    const plain = await asker4.query({ host: '127.0.0.1', port: v4.boundPort! }, 'find_node', { id, target });
    assert.ok(plain.ok && plain.r.nodes6 === undefined, 'without want: IPv4 nodes only');
  } finally {
    await asker4.close();
    await asker6.close();
    await v6.stop();
    await v4.stop();
    await local6.close();
    await local4.close();
  }
});

test('IPv4 nodes named in replies to the IPv6 node join bittorrent-dht; a special-purpose one is never sent to', { timeout: 30_000 }, async () => {
  const localA = await createLocalDht({ size: 6, settleMs: 300 }); // the IPv4 node's own DHT
  const localB = await createLocalDht({ size: 4, settleMs: 300 }); // known only to the IPv6 node below
  const refused = await trap('127.0.0.2'); // loopback, so special-purpose unless --allow names it
  const allowed = await trap('127.0.0.3'); // the control: same path, allowed, so it is pinged
  const named: NodeInfo[] = [
    ...nodesOf(localB),
    { id: randomBytes(20), host: '127.0.0.2', port: refused.port },
    { id: randomBytes(20), host: '127.0.0.3', port: allowed.port },
  ];
  // An IPv6 node that answers every `want: n4` with those IPv4 nodes.
  const dual = new DhtNode({ family: 6, host: '::1', port: 0, bootstrap: [], closestOtherFamily: () => named });
  const policy = new AddressPolicy({ allow: ['127.0.0.1', '127.0.0.3', '::1'] });
  const mayContact = (ip: string, port: number) => policy.mayDial(ip, port);
  const v4 = new DhtCollector({ torrents: [], port: 0, host: '127.0.0.1', bootstrap: [localA.bootstrap], intervalS: 3600, mayContact });
  let v6: Dht6Collector | null = null;
  try {
    await dual.listen();
    v6 = new Dht6Collector({ torrents: [], port: 0, host: '::1', bootstrap: [`[::1]:${dual.port}`], intervalS: 3600, scrape: false, mayContact });
    linkFamilies(v4, v6);
    await v4.start(recordingContext().ctx);
    await v6.start(recordingContext().ctx);
    // Closest to a node's own id is that node: each of B's nodes is in bittorrent-dht's table once it answered the ping.
    const inV4Table = (n: NodeInfo) => v4.familyPeer.closestNodes(n.id)[0]?.port === n.port;
    await until(() => nodesOf(localB).every(inV4Table) && allowed.packets() > 0, 10_000, "B's nodes in the IPv4 table");
    await new Promise((r) => setTimeout(r, 300)); // room for a wrongly sent packet to arrive
    assert.equal(refused.packets(), 0, 'the policy keeps 127.0.0.2 out');
    assert.ok(v4.familyPeer.closestNodes(randomBytes(20)).every((n) => n.host === '127.0.0.1'), 'answers name no refused node');
  } finally {
    await v6?.stop();
    await v4.stop();
    await dual.close();
    refused.close();
    allowed.close();
    await localB.close();
    await localA.close();
  }
});

test('an IPv6 node with no saved table and no IPv6 bootstrap asks IPv4 nodes for nodes6 and finds the peers', { timeout: 40_000 }, async () => {
  const local6 = await createLocalOwnDht({ family: 6, size: 10 });
  const torrent = fakeTorrent(1, []);
  await local6.announce(torrent.infoHash, 43001);
  const targets: string[] = [];
  // An IPv4 node of a dual-stack client: it answers `want: n6` with nodes of the IPv6 DHT.
  const dual = new DhtNode({
    family: 4,
    host: '127.0.0.1',
    port: 0,
    bootstrap: [],
    closestOtherFamily: (t) => {
      targets.push(t.toString('hex'));
      return local6.nodes.slice(0, 8).map((n) => ({ id: n.id, host: '::1', port: n.port }));
    },
  });
  await dual.listen();
  const v4 = new DhtCollector({ torrents: [], port: 0, host: '127.0.0.1', bootstrap: [`127.0.0.1:${dual.port}`], intervalS: 3600, bootstrapWaitMs: 3000 });
  const v6 = new Dht6Collector({ torrents: [torrent], port: 0, host: '::1', bootstrap: [], intervalS: 3600, scrape: false, lookupTimeoutMs: 5000 });
  linkFamilies(v4, v6);
  const rec = recordingContext();
  try {
    await v4.start(recordingContext().ctx);
    await v6.start(rec.ctx);
    await until(() => rec.requests.length > 0, 25_000, 'the IPv6 lookup');
    assert.ok(targets.includes(v6.nodeId!), 'the IPv4 node was asked find_node of our IPv6 id with want n6');
    assert.deepEqual(rec.found.map((f) => `[${f.ip}]:${f.port}/${f.source}`), ['[::1]:43001/dht']);
    assert.equal(rec.requests[0].url, 'dht6');
    assert.equal(rec.requests[0].error, null);
    assert.ok(v6.nodeCount >= 4, `IPv6 table: ${v6.nodeCount}`);
  } finally {
    await v6.stop();
    await v4.stop();
    await dual.close();
    await local6.close();
  }
});

test('the offer budget: each address once a window, at most N a window, a new window starts afresh', () => {
  let now = 0;
  const budget = new OfferBudget(3, 60_000, () => now);
  assert.deepEqual(['a', 'a', 'b', 'c', 'd'].map((h) => budget.take(h, 1)), [true, false, true, true, false]);
  assert.equal(budget.overBudget, 1);
  now = 60_000;
  assert.deepEqual(['a', 'd'].map((h) => budget.take(h, 1)), [true, true]);
  assert.equal(budget.accepted, 5);
});
