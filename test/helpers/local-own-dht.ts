// A private DHT of btda's own DHT nodes (src/collectors/dht/node.ts) on one loopback address: ::1 for the
// IPv6 DHT (BEP 32) or 127.0.0.1. Unlike bittorrent-dht nodes, these answer BEP 33 scrapes.
// Node 0 starts without bootstrap nodes; every other node bootstraps from it.
import { DhtNode } from '../../src/collectors/dht/node.ts';
import type { Family } from '../../src/collectors/dht/compact.ts';

export interface LocalOwnDht {
  nodes: DhtNode[];
  /** '[::1]:port' or '127.0.0.1:port' of node 0. */
  bootstrap: string;
  bootstrapAddress: { host: string; port: number };
  /** Announces a peer at (`host`, `port`) from a short-lived node bound to `host` (default: the DHT's). */
  announce(infoHash: string, port: number, opts?: { host?: string; seed?: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** `ports`: UDP ports of the nodes, in order (default: any free port). A restart on the same ports gives new ids. */
export async function createLocalOwnDht(opts: { family: Family; size?: number; ports?: number[] }): Promise<LocalOwnDht> {
  const host = opts.family === 4 ? '127.0.0.1' : '::1';
  const size = Math.max(2, opts.size ?? 16);
  const nodes: DhtNode[] = [];
  const close = async () => {
    await Promise.all(nodes.map((n) => n.close()));
  };
  try {
    const first = new DhtNode({ family: opts.family, host, port: opts.ports?.[0] ?? 0, bootstrap: [], queryTimeoutMs: 1000 });
    nodes.push(first);
    await first.listen();
    const bootstrapAddress = { host, port: first.port };
    for (let i = 1; i < size; i++) {
      const node = new DhtNode({ family: opts.family, host, port: opts.ports?.[i] ?? 0, bootstrap: [bootstrapAddress], queryTimeoutMs: 1000 });
      nodes.push(node);
      await node.listen();
      await node.bootstrap(3000);
    }
    // A second round, so the early nodes learn of the later ones too.
    await Promise.all(nodes.map((n) => n.bootstrap(3000)));

    const announce = async (infoHash: string, port: number, a: { host?: string; seed?: boolean } = {}) => {
      // Read-only (BEP 43): the short-lived announcer must not stay in the tables of the DHT it leaves.
      const node = new DhtNode({ family: opts.family, host: a.host ?? host, port: 0, bootstrap: [bootstrapAddress], queryTimeoutMs: 1000, readOnly: true });
      try {
        await node.listen();
        await node.bootstrap(3000);
        const hash = Buffer.from(infoHash, 'hex');
        const { closest } = await node.lookup(hash, () => {}, 5000).done;
        const accepted = await node.announce(hash, port, closest, a.seed);
        if (!accepted) throw new Error(`local DHT: no node accepted the announce of ${a.host ?? host}:${port}`);
      } finally {
        await node.close();
      }
    };
    const bootstrap = opts.family === 4 ? `${host}:${first.port}` : `[${host}]:${first.port}`;
    return { nodes, bootstrap, bootstrapAddress, announce, close };
  } catch (err) {
    await close();
    throw err;
  }
}
