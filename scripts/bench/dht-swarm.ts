// A private DHT of real bittorrent-dht nodes on 127.0.0.1 (test/helpers/local-dht.ts), run in a child
// process of its own for the DHT benchmark, with peers announced for some info hashes. Bounded: it
// exits after `lifetimeMs` and when its parent goes away.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLocalDht } from '../../test/helpers/local-dht.ts';

export interface DhtSwarmOptions {
  nodes: number;
  /** Info hashes (hex) that get `peersEach` announced peers; others have none. */
  announced: string[];
  peersEach: number;
  lifetimeMs: number;
}

export interface DhtSwarm {
  bootstrap: string;
  setupMs: number;
  cpuMs(): Promise<number>;
  close(): Promise<void>;
}

type Msg = { type: 'ready'; bootstrap: string; setupMs: number } | { type: 'cpu'; ms: number } | { type: 'failed'; error: string };

/** Forks the DHT and resolves once every node has bootstrapped and the peers are announced. */
export function startDhtSwarm(opts: DhtSwarmOptions, timeoutMs = 90_000): Promise<DhtSwarm> {
  const child = fork(fileURLToPath(import.meta.url), ['--dht-swarm', JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`local DHT not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`local DHT exited early (${code})`));
    });
    child.on('message', (m: Msg) => {
      if (m.type === 'failed') {
        clearTimeout(timer);
        child.kill('SIGKILL');
        reject(new Error(m.error));
      }
      if (m.type !== 'ready') return;
      clearTimeout(timer);
      resolve({
        bootstrap: m.bootstrap,
        setupMs: m.setupMs,
        cpuMs: () =>
          new Promise((res) => {
            const on = (x: Msg) => {
              if (x.type !== 'cpu') return;
              child.removeListener('message', on);
              res(x.ms);
            };
            child.on('message', on);
            child.send({ type: 'cpu' });
          }),
        close: async () => {
          if (child.connected) child.send({ type: 'stop' });
          const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(kill);
        },
      });
    });
  });
}

async function runChild(opts: DhtSwarmOptions): Promise<void> {
  setTimeout(() => process.exit(0), opts.lifetimeMs).unref();
  process.on('disconnect', () => process.exit(0));
  const t0 = Date.now();
  const local = await createLocalDht({ size: opts.nodes, settleMs: 1500 });
  // announce through different nodes, a few at a time (each is a lookup plus announce_peer)
  const jobs: Array<() => Promise<void>> = [];
  opts.announced.forEach((hash, i) => {
    for (let k = 0; k < opts.peersEach; k++) jobs.push(() => local.announce(hash, 40000 + ((i * opts.peersEach + k) % 20000), 1 + ((i + k * 7) % (opts.nodes - 1))));
  });
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) await jobs[next++]().catch(() => undefined);
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  process.send!({ type: 'ready', bootstrap: local.bootstrap, setupMs: Date.now() - t0 } satisfies Msg);
  process.on('message', async (m: { type: string }) => {
    if (m.type === 'cpu') {
      const c = process.cpuUsage();
      process.send!({ type: 'cpu', ms: (c.user + c.system) / 1000 } satisfies Msg);
    } else if (m.type === 'stop') {
      await local.close();
      process.exit(0);
    }
  });
}

if (process.argv[2] === '--dht-swarm' && process.send) {
  runChild(JSON.parse(process.argv[3]) as DhtSwarmOptions).catch((err: Error) => {
    process.send!({ type: 'failed', error: err.message } satisfies Msg);
  });
}
