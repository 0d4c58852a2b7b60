// A DhtCollector in its own process, driven over IPC (child_process.fork). Hostile-packet tests use it:
// if a packet ever hung the collector's event loop, the test process still runs its timers, sees the
// child stop answering, fails, and kills it, instead of hanging itself.
//
// argv[2]: JSON { bootstrap: string[], torrents: [{ id, infoHash }], intervalS }
// child → parent: { type: 'ready', port } | { type: 'status', stats, found: string[] } | { type: 'error', message }
// parent → child: { cmd: 'status' } | { cmd: 'stop' }
import { DhtCollector } from '../../src/collectors/dht-collector.ts';
import type { CollectorContext } from '../../src/collectors/collector.ts';
import { silentLogger } from '../../src/log.ts';
import type { Torrent } from '../../src/types.ts';
import { fakeTorrent } from './tracker-server.ts';

interface Setup {
  bootstrap: string[];
  torrents: Array<{ id: number; infoHash: string }>;
  intervalS: number;
}

const send = (msg: unknown) => process.send?.(msg);
// Never outlive the test that started it.
setTimeout(() => process.exit(3), 60_000).unref();
process.on('disconnect', () => process.exit(0));

async function main(): Promise<void> {
  const setup = JSON.parse(process.argv[2]) as Setup;
  const torrents: Torrent[] = setup.torrents.map((t) => fakeTorrent(t.id, [], Buffer.from(t.infoHash, 'hex')));
  const found = new Set<string>();
  const ctx: CollectorContext = {
    addPeers(torrentId, peers) {
      let fresh = 0;
      for (const p of peers) {
        const key = `${torrentId} ${p.ip}:${p.port}`;
        if (!found.has(key)) fresh++;
        found.add(key);
      }
      return { new: fresh, duplicates: peers.length - fresh, skipped: 0 };
    },
    logRequest() {},
    logScrape() {},
    log: silentLogger,
    now: () => Date.now(),
  };
  const collector = new DhtCollector({
    torrents,
    port: 0,
    host: '127.0.0.1',
    bootstrap: setup.bootstrap,
    intervalS: setup.intervalS,
    lookupTimeoutMs: 3000,
    bootstrapWaitMs: 3000,
  });
  await collector.start(ctx);
  process.on('message', (msg: { cmd: string }) => {
    if (msg.cmd === 'status') send({ type: 'status', stats: collector.stats(), found: [...found] });
    else if (msg.cmd === 'stop') void collector.stop().then(() => process.exit(0));
  });
  send({ type: 'ready', port: collector.boundPort });
}

main().catch((err: Error) => {
  send({ type: 'error', message: err.message });
  process.exit(2);
});
