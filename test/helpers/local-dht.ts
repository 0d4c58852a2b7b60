// A private DHT of real bittorrent-dht nodes on 127.0.0.1 for tests: no packet ever leaves the machine.
// Node 0 starts with `bootstrap: false`; every other node bootstraps from it.
import DHT from 'bittorrent-dht';

export interface LocalDht {
  nodes: DHT[];
  /** UDP port of each node, in order. */
  ports: number[];
  /** 'host:port' of node 0, to bootstrap a node under test from. */
  bootstrap: string;
  /** Announces that a peer of `infoHash` listens on `port` at 127.0.0.1 (through node `from`). */
  announce(infoHash: string, port: number, from?: number): Promise<void>;
  close(): Promise<void>;
}

export interface LocalDhtOptions {
  /** Number of nodes (default 24). */
  size?: number;
  /** Extra wait after every node has bootstrapped, so tables fill in (default 1500 ms). */
  settleMs?: number;
  /** UDP ports of the nodes, in order (default: any free port). A restart on the same ports gives new ids. */
  ports?: number[];
}

const HOST = '127.0.0.1';

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`local DHT: ${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

function listening(dht: DHT, port = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    dht.once('error', reject);
    dht.listen(port, HOST, () => resolve());
  });
}

function ready(dht: DHT): Promise<void> {
  return dht.ready ? Promise.resolve() : new Promise((resolve) => dht.once('ready', () => resolve()));
}

export async function createLocalDht(opts: LocalDhtOptions = {}): Promise<LocalDht> {
  const size = Math.max(2, opts.size ?? 24);
  const nodes: DHT[] = [];
  const close = async () => {
    await Promise.all(
      nodes.map((n) => withTimeout(new Promise<void>((r) => n.destroy(() => r())), 2000, 'destroy').catch(() => {})),
    );
  };
  try {
    const first = new DHT({ bootstrap: false });
    nodes.push(first);
    await withTimeout(listening(first, opts.ports?.[0]), 2000, 'listen');
    const bootstrap = `${HOST}:${first.address().port}`;
    for (let i = 1; i < size; i++) {
      const node = new DHT({ bootstrap: [bootstrap] });
      nodes.push(node);
      await withTimeout(listening(node, opts.ports?.[i]), 2000, 'listen');
    }
    await withTimeout(Promise.all(nodes.map(ready)), 10_000, 'bootstrap');
    await new Promise((r) => setTimeout(r, opts.settleMs ?? 1500));

    const announce = (infoHash: string, port: number, from = 1) =>
      withTimeout(
        new Promise<void>((resolve, reject) =>
          nodes[from % nodes.length].announce(infoHash, port, (err) => (err ? reject(err) : resolve())),
        ),
        10_000,
        'announce',
      );
    const ports = nodes.map((n) => n.address().port);
    return { nodes, ports, bootstrap, announce, close };
  } catch (err) {
    await close();
    throw err;
  }
}
