// Run ONLY inside a private network namespace (crawl-address-policy.test.ts starts it with `unshare -n`):
// it gives lo special-purpose addresses (10.0.0.1, fc00::1, ...) with a listener (a "trap") on each, then has
// every source name them to a crawl: a real tracker (HTTP and UDP), real DHT nodes, a peer's ut_pex
// (`added`, `added6`), the peers file (also for an unresolved magnet) and an inbound peer's `p`. Were the
// address policy to fail, btda would dial a trap; since only lo exists, nothing could leave the machine.
// Prints one JSON line of facts for the parent test to judge.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import bencode from 'bencode';
import Sqlite from 'better-sqlite3';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { OUR_EXTENSION_IDS } from '../../src/wire/extension-handshake.ts';
import { parseIPv6 } from '../../src/wire/ip.ts';
import { freePort, startCrawl, testConfig } from '../helpers/crawl.ts';
import { createLocalDht } from '../helpers/local-dht.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { connectScriptedPeer, startScriptedPeer } from '../helpers/scripted-peer.ts';
import { announceHttpPeer, startRealTracker, waitFor } from '../helpers/tracker-server.ts';
import { tempDir } from '../helpers/temp-dir.ts';

export const TRAP_PORT = 40_001;
/** Special-purpose addresses given to lo, each with a trap listening on TRAP_PORT. 127.0.0.2 is allowed but excluded. */
export const TRAPS_V4 = ['10.0.0.1', '192.168.1.10', '172.16.5.5', '100.64.1.1', '169.254.1.1', '192.0.2.5', '198.18.0.1', '127.0.0.2'];
export const TRAPS_V6 = ['fc00::1', '2001:db8::1', '::1'];
/** Named too, but no socket can listen there (0.0.0.0 reaches the trap on 127.0.0.1 if ever dialled). */
export const UNBINDABLE_V4 = ['224.0.0.5', '240.1.2.3', '255.255.255.255', '0.0.0.0'];
const SPECIAL_V4 = [...TRAPS_V4, ...UNBINDABLE_V4];

if (!process.env.BTDA_IN_NETNS) {
  console.error('address-policy-netns.ts runs only inside a private network namespace (see crawl-address-policy.test.ts)');
  process.exit(2);
}
// belt and braces: refuse to run where any interface but lo exists
if (execFileSync('ip', ['-o', 'link', 'show']).toString().trim().split('\n').some((l) => !/^\d+: lo:/.test(l))) {
  console.error('not in a private network namespace: an interface other than lo exists');
  process.exit(2);
}

const limit = setTimeout(() => {
  console.error('address-policy-netns: time limit reached');
  process.exit(3);
}, 60_000);

const traps = new Map<string, number>();
const trapServers: net.Server[] = [];
for (const host of [...TRAPS_V4, ...TRAPS_V6, '127.0.0.1']) {
  traps.set(host, 0);
  const server = net.createServer((socket) => {
    traps.set(host, traps.get(host)! + 1);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(TRAP_PORT, host, () => resolve());
  });
  trapServers.push(server);
}

const dir = tempDir('btda-policy-');
const tracker = await startRealTracker(1);
const dht = await createLocalDht({ size: 8, settleMs: 500 });
const made = await makeTorrent({ size: 20 * 16_384, pieceLength: 16_384, dir, trackers: [[tracker.httpUrl], [tracker.udpUrl]] });
const parsed = parseTorrentFile(made.torrent);
const infoHash = Buffer.from(parsed.infoHash, 'hex');
const legit = () => startScriptedPeer({ infoHash, pieces: 20, script: [{ handshake: true }, { haveAll: true }] });
const trackerPeer = await legit();
const dhtPeer = await legit();
const pexPeer = await legit();

// the tracker: special addresses announce themselves (X-Forwarded-For), and one peer on 127.0.0.1
for (const ip of SPECIAL_V4) await announceHttpPeer(tracker.httpPort, infoHash, { ip, port: TRAP_PORT });
await announceHttpPeer(tracker.httpPort, infoHash, { ip: '127.0.0.1', port: trackerPeer.port });
// the DHT: every node holds the special addresses as peers of the torrent (what a hostile node answers)
for (const node of dht.nodes) {
  for (const host of SPECIAL_V4) (node as unknown as { _addPeer(p: object, h: Buffer, f: object): void })._addPeer({ host, port: TRAP_PORT }, infoHash, { host, port: TRAP_PORT });
}
await dht.announce(parsed.infoHash, dhtPeer.port);

// PEX: a peer (from the peers file) names the traps in `added` and `added6`, and one real peer
const compact4 = (ip: string, port: number) => Buffer.from([...ip.split('.').map(Number), port >> 8, port & 255]);
const compact6 = (ip: string, port: number) => {
  const b = Buffer.alloc(18);
  parseIPv6(ip)!.forEach((g, i) => b.writeUInt16BE(g, i * 2));
  b.writeUInt16BE(port, 16);
  return b;
};
const ADDED6 = [...TRAPS_V6, 'fe80::1', '::ffff:10.0.0.1', '2002:a00:1::1', 'ff02::1'];
const added = Buffer.concat([...SPECIAL_V4.map((ip) => compact4(ip, TRAP_PORT)), compact4('127.0.0.1', pexPeer.port)]);
const added6 = Buffer.concat(ADDED6.map((ip) => compact6(ip, TRAP_PORT)));
const teller = await startScriptedPeer({
  infoHash, pieces: 20,
  script: [{ handshake: true }, { bitfield: 5 }, { extended: { id: OUR_EXTENSION_IDS.ut_pex, payload: bencode.encode({ added, added6 }) } }, { wait: 300 }, { close: true }],
});

// the peers file: the teller, two traps, and a trap for a magnet whose metadata is unknown (resolver path)
const magnetHash = 'ab'.repeat(20);
const peersFile = join(dir, 'peers.txt');
writeFileSync(peersFile, [`127.0.0.1:${teller.port}`, `10.0.0.1:${TRAP_PORT}`, `[fc00::1]:${TRAP_PORT}`, `${magnetHash} 192.168.1.10:${TRAP_PORT}`].join('\n') + '\n');
const magnets = join(dir, 'magnets.txt');
writeFileSync(magnets, `magnet:?xt=urn:btih:${magnetHash}&dn=pending\n`);
const exclude = join(dir, 'exclude.txt');
writeFileSync(exclude, '# opt-out\n127.0.0.2/32\n');

const dbPath = join(dir, 'btda.sqlite');
const db = Database.open(dbPath);
db.addTorrent(parsed, made.path, null, Date.now());
db.close();
const config = testConfig(dir, {
  allow: ['127.0.0.0/8'], // ::1 is not allowed here: it is one of the traps
  exclude,
  peersFile,
  magnetFile: magnets,
  active: 8,
  passive: true,
  port: await freePort(),
  dht: true,
  dhtPort: 0,
  dhtBootstrap: [dht.bootstrap],
  dhtInterval: 1,
  trackerInterval: 1,
  timeout: 0.5,
  connectTimeout: 1,
  storeIp: true,
});
const count = (sql: string) => {
  const s = new Sqlite(dbPath, { readonly: true });
  try {
    return (s.prepare(sql).get() as { n: number }).n;
  } finally {
    s.close();
  }
};
const crawl = startCrawl(config);
try {
  await waitFor(() => [trackerPeer, dhtPeer, pexPeer].every((p) => p.connections.length > 0), 30_000, 'the real peers contacted');
  for (const kind of ['http', 'udp', 'dht', 'pex', 'file']) {
    await waitFor(() => count(`SELECT count(*) AS n FROM requests WHERE kind = '${kind}' AND skipped > 0`) > 0, 20_000, `a ${kind} row with skips`);
  }
  // an inbound peer from a special address advertising a listen port there: it may talk to us, but is never dialled
  const inbound = await connectScriptedPeer(config.port, {
    infoHash, localAddress: '10.0.0.1',
    script: [{ handshake: true }, { awaitHandshake: true }, { extHandshake: { m: {}, p: TRAP_PORT } }, { bitfield: 3 }, { wait: 300 }],
  });
  await inbound.closed;
  await new Promise((r) => setTimeout(r, 1500)); // room for a wrongly queued address to be dialled
} finally {
  await crawl.stop();
}

const s = new Sqlite(dbPath, { readonly: true });
const requests = s.prepare('SELECT kind, received, new, duplicates, skipped FROM requests ORDER BY id').all();
const peers = s.prepare('SELECT ip, port, sources, visits FROM peers').all();
s.close();
await Promise.allSettled([tracker.close(), dht.close(), trackerPeer.close(), dhtPeer.close(), pexPeer.close(), teller.close()]);
for (const server of trapServers) server.close();
clearTimeout(limit);
console.log(JSON.stringify({
  traps: Object.fromEntries(traps),
  requests,
  peers,
  expect: { specialV4: SPECIAL_V4.length, added6: ADDED6.length, trapPort: TRAP_PORT },
}));
process.exit(0);
