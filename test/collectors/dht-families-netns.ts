// Run ONLY inside a private network namespace (dht-families-netns.test.ts starts it with `unshare -n`): lo holds
// special-purpose addresses (10.0.0.1, 192.168.1.10, fc00::1, 2001:db8::1) with a UDP "trap" on each. The IPv6
// node's replies name the IPv4 traps (`nodes` to `want: n4`), an IPv4 node's replies name the IPv6 traps
// (`nodes6` to `want: n6`), each beside real loopback nodes. Once with the address policy, once without
// (the control: the traps are then pinged, so the first run's zero means the policy held).
// Prints one JSON line of facts for the parent test to judge.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { AddressPolicy } from '../../src/collectors/address-policy.ts';
import { DhtCollector } from '../../src/collectors/dht-collector.ts';
import type { NodeInfo } from '../../src/collectors/dht/compact.ts';
import { Dht6Collector } from '../../src/collectors/dht/dht6-collector.ts';
import { linkFamilies } from '../../src/collectors/dht/family-bridge.ts';
import { DhtNode } from '../../src/collectors/dht/node.ts';
import { createLocalDht } from '../helpers/local-dht.ts';
import { createLocalOwnDht } from '../helpers/local-own-dht.ts';
import { recordingContext } from '../helpers/recording-context.ts';

export const TRAPS_V4 = ['10.0.0.1', '192.168.1.10'];
export const TRAPS_V6 = ['fc00::1', '2001:db8::1'];
const TRAP_PORT = 40_002;

if (!process.env.BTDA_IN_NETNS) {
  console.error('dht-families-netns.ts runs only inside a private network namespace (see dht-families-netns.test.ts)');
  process.exit(2);
}
if (execFileSync('ip', ['-o', 'link', 'show']).toString().trim().split('\n').some((l) => !/^\d+: lo:/.test(l))) {
  console.error('not in a private network namespace: an interface other than lo exists');
  process.exit(2);
}
const limit = setTimeout(() => {
  console.error('dht-families-netns: time limit reached');
  process.exit(3);
}, 50_000);

const packets = new Map<string, number>();
const traps: dgram.Socket[] = [];
for (const host of [...TRAPS_V4, ...TRAPS_V6]) {
  packets.set(host, 0);
  const s = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: host.includes(':') });
  s.on('message', () => packets.set(host, packets.get(host)! + 1));
  await new Promise<void>((resolve) => s.bind(TRAP_PORT, host, () => resolve()));
  traps.push(s);
}
const trapNodes = (hosts: string[]): NodeInfo[] => hosts.map((host) => ({ id: randomBytes(20), host, port: TRAP_PORT }));

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return cond();
}

async function run(mayContact?: (ip: string, port: number) => boolean) {
  for (const host of packets.keys()) packets.set(host, 0);
  const local4 = await createLocalDht({ size: 3, settleMs: 200 });
  const local6 = await createLocalOwnDht({ family: 6, size: 3 });
  const real4: NodeInfo[] = local4.nodes.map((n) => ({ id: Buffer.from(n.nodeId), host: '127.0.0.1', port: n.address().port }));
  const real6: NodeInfo[] = local6.nodes.map((n) => ({ id: n.id, host: '::1', port: n.port }));
  // A dual-stack client's two nodes: each names the other family's real nodes and traps.
  const dual6 = new DhtNode({ family: 6, host: '::1', port: 0, bootstrap: [], closestOtherFamily: () => [...real4, ...trapNodes(TRAPS_V4)] });
  const dual4 = new DhtNode({ family: 4, host: '127.0.0.1', port: 0, bootstrap: [], closestOtherFamily: () => [...real6, ...trapNodes(TRAPS_V6)] });
  await dual6.listen();
  await dual4.listen();
  const v4 = new DhtCollector({ torrents: [], port: 0, host: '127.0.0.1', bootstrap: [`127.0.0.1:${dual4.port}`], intervalS: 3600, bootstrapWaitMs: 3000, mayContact });
  const v6 = new Dht6Collector({ torrents: [], port: 0, host: '::1', bootstrap: [`[::1]:${dual6.port}`], intervalS: 3600, scrape: false, mayContact });
  linkFamilies(v4, v6);
  try {
    await v4.start(recordingContext().ctx);
    await v6.start(recordingContext().ctx);
    const joined = (peer: { closestNodes(t: Buffer): NodeInfo[] }, nodes: NodeInfo[]) => nodes.every((n) => peer.closestNodes(n.id)[0]?.port === n.port);
    const v4Joined = await until(() => joined(v4.familyPeer, real4), 10_000);
    const v6Joined = await until(() => joined(v6.familyPeer, real6), 10_000);
    await new Promise((r) => setTimeout(r, 500)); // room for a wrongly sent ping to arrive
    return { v4Joined, v6Joined, traps: Object.fromEntries(packets) };
  } finally {
    await v6.stop();
    await v4.stop();
    await dual6.close();
    await dual4.close();
    await local6.close();
    await local4.close();
  }
}

const policy = new AddressPolicy({ allow: ['127.0.0.1', '::1'] });
const withPolicy = await run((ip, port) => policy.mayDial(ip, port));
const withoutPolicy = await run();
for (const s of traps) s.close();
clearTimeout(limit);
console.log(JSON.stringify({ withPolicy, withoutPolicy }));
