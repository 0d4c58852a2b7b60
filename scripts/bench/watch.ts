// The watch (issue 14) on the loopback swarm: peers that download on their own clock and quit the moment
// they complete (swarm-simulator.ts `quitter`). A whole crawl (runCrawl, in this process) visits them with
// the default --revisit-delay (5 min: no revisit lands inside the run), so a quitter is confirmed only when
// a contact or the watch reads its crossing. Per --watch budget it prints: quitters first seen below the
// threshold, how many btda confirmed (and the share), the swarm's truth (crossings it conveyed), and the
// watch counters (watched, crossed live, left, budget full). Then the cost: btda's RSS and CPU per watched
// connection while `hold` slow downloaders are watched, beside the same number of bare sockets held open.
//
//   node --import tsx scripts/bench/watch.ts [--peers 200] [--budgets 400,50,0] [--hold 1000]
//
// All traffic stays on 127.78.0.0/16 (the swarm); nothing listens on a wildcard address.
import Sqlite from 'better-sqlite3';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, thresholdPieces, type Config } from '../../src/config.ts';
import { runCrawl, type CrawlSummary } from '../../src/cli/crawl.ts';
import { silentLogger } from '../../src/log.ts';
import { Database } from '../../src/store/database.ts';
import { args, emit, fmt, hardLimit, makeTorrents, sleep, startSwarm, type Swarm } from './lib.ts';

const a = args();
const PEERS = Number(a.peers ?? 200);
const BUDGETS = (a.budgets ?? `${PEERS * 2},10,0`).split(',').map(Number);
const HOLD = Number(a.hold ?? 1000);
const PIECES = 500;
hardLimit((BUDGETS.length * 150 + 180) * 1000, 'watch bench');

async function crawl(swarm: Swarm, torrent: { infoHash: string; pieces: number }, over: Partial<Config>, until: (s: Sqlite.Database | null, elapsed: number) => Promise<boolean>): Promise<{ summary: CrawlSummary; confirmed: number; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'btda-watch-bench-'));
  const db = Database.open(join(dir, 'b.sqlite'));
  db.addTorrent({ infoHash: torrent.infoHash, infoHashV2: null, name: 'watch-bench', pieces: torrent.pieces, pieceSize: 262_144, totalSize: torrent.pieces * 262_144, trackers: [] }, 'bench', 'bench', Date.now());
  db.close();
  const peersFile = join(dir, 'peers.txt');
  writeFileSync(peersFile, swarm.endpoints.map((e) => `${e.ip}:${e.port}`).join('\n') + '\n');
  const config: Config = {
    ...defaultConfig, db: join(dir, 'b.sqlite'), keyFile: join(dir, 'key'), dhtState: join(dir, 'dht.json'), inputPath: join(dir, 'none'),
    magnetFile: join(dir, 'none.txt'), allow: ['127.0.0.0/8'], peersFile, statsInterval: 5, ...over,
  };
  const controller = new AbortController();
  const done = runCrawl(config, { log: silentLogger, signal: controller.signal });
  const started = Date.now();
  while (!(await until(null, Date.now() - started))) await sleep(500);
  controller.abort('bench over');
  const summary = await done;
  const sqlite = new Sqlite(config.db, { readonly: true });
  const confirmed = (sqlite.prepare('SELECT count(*) AS n FROM confirmed_downloads').get() as { n: number }).n;
  sqlite.close();
  return { summary, confirmed, dir };
}

// 1. Quitters: what share is confirmed, per budget
for (const budget of BUDGETS) {
  const [torrent] = makeTorrents(1, PIECES);
  const threshold = thresholdPieces(PIECES, defaultConfig.threshold);
  // start between 30 % and 80 %, one piece per 100 ms: complete within 10..35 s of the first contact
  const swarm = await startSwarm({
    torrents: [{ ...torrent, thresholdPieces: threshold }], addressBase: 78, addresses: 1, portsPerAddress: PEERS,
    mix: { quitter: 1 }, startShare: 0.3, shareStep: 0.5, quitHaveGapMs: 100, idleMs: 120_000, lifetimeMs: 120_000,
  });
  try {
    const { summary, confirmed, dir } = await crawl(swarm, torrent, { active: 256, watch: budget }, async (_, elapsed) => {
      const s = await swarm.stats();
      return (s.quitters.contacted >= PEERS && s.quitters.completed >= s.quitters.contacted) || elapsed > 120_000;
    });
    await sleep(300);
    const s = await swarm.stats();
    const q = s.quitters;
    rmSync(dir, { recursive: true, force: true });
    const w = summary.watch!;
    console.log(`--watch ${budget}: quitters ${q.contacted}, first seen below ${q.firstBelow}, completed ${q.completed}; ` +
      `confirmed ${confirmed} (${fmt((100 * confirmed) / Math.max(1, q.firstBelow), 1)} %), swarm truth ${s.confirmedTruth}; ` +
      `watched ${w.watched}, crossed live ${w.crossed}, left ${w.left}, stalled ${w.stalled}, evicted ${w.evicted}, ` +
      `budget full ${w.fullOffers} times for ${fmt(w.fullMs / 1000, 1)} s`);
    emit('watch-quitters', { budget, peers: PEERS, firstBelow: q.firstBelow, completed: q.completed, confirmed, truth: s.confirmedTruth,
      share: confirmed / Math.max(1, q.firstBelow), watched: w.watched, crossed: w.crossed, left: w.left, evicted: w.evicted, fullOffers: w.fullOffers, fullMs: w.fullMs });
  } finally {
    await swarm.close();
  }
}

// 2. Cost: HOLD slow downloaders watched (one piece per 10 minutes: none crosses, none stalls within the window)
{
  const [torrent] = makeTorrents(1, PIECES);
  const swarm = await startSwarm({
    torrents: [{ ...torrent, thresholdPieces: thresholdPieces(PIECES, defaultConfig.threshold) }], addressBase: 78, addresses: 2,
    portsPerAddress: Math.ceil(HOLD / 2), mix: { quitter: 1 }, startShare: 0.3, shareStep: 0.1, quitHaveGapMs: 600_000, idleMs: 300_000, lifetimeMs: 300_000,
  });
  try {
    // the bare minimum: as many sockets held open, each having sent a handshake, nothing read or parsed
    global.gc?.();
    const rss0 = process.memoryUsage.rss();
    const bare: net.Socket[] = [];
    const hs = Buffer.concat([Buffer.from([19]), Buffer.from('BitTorrent protocol'), Buffer.alloc(8), Buffer.from(torrent.infoHash, 'hex'), Buffer.alloc(20, 1)]);
    await Promise.all(swarm.endpoints.slice(0, HOLD).map((e) => new Promise<void>((resolve) => {
      const s = net.connect({ host: e.ip, port: e.port }, () => { s.write(hs); resolve(); });
      s.on('error', () => resolve());
      s.on('data', () => {});
      bare.push(s);
    })));
    await sleep(2000);
    const bareBytes = (process.memoryUsage.rss() - rss0) / bare.length;
    for (const s of bare) s.destroy();
    await sleep(1000);
    let sampled: { rssPer: number; cpuPerConnMsPerMin: number; watching: number } | null = null;
    const { summary, dir } = await crawl(swarm, torrent, { active: 256, watch: HOLD, watchStall: 3600 }, async (_, elapsed) => {
      if (sampled || elapsed < 3000) return elapsed > 90_000;
      // every peer contacted and handed over by now; sample 20 s of holding
      const rss1 = process.memoryUsage.rss();
      const cpu1 = process.cpuUsage();
      await sleep(20_000);
      const cpu = process.cpuUsage(cpu1);
      const rss2 = process.memoryUsage.rss();
      sampled = { rssPer: Math.max(rss1, rss2) - rss0, cpuPerConnMsPerMin: ((cpu.user + cpu.system) / 1000 / 20) * 60, watching: 0 };
      return true;
    });
    rmSync(dir, { recursive: true, force: true });
    const w = summary.watch!;
    // per watched connection: every watch lasts the whole window (--watch-stall 1 h, no piece crosses)
    const m = { rssPer: sampled!.rssPer / w.watched, cpuPerConnMsPerMin: sampled!.cpuPerConnMsPerMin / w.watched };
    console.log(`cost: ${w.watched} watched (${HOLD} asked): btda RSS ${fmt(m.rssPer / 1024, 1)} KiB per watched connection (whole process, ` +
      `queue and store included), beside ${fmt(bareBytes / 1024, 1)} KiB per bare socket held open; CPU ${fmt(m.cpuPerConnMsPerMin, 3)} ms per connection per minute while holding`);
    emit('watch-cost', { hold: HOLD, watched: w.watched, rssKiBPerWatched: m.rssPer / 1024, rssKiBPerBareSocket: bareBytes / 1024, cpuMsPerConnPerMin: m.cpuPerConnMsPerMin });
  } finally {
    await swarm.close();
  }
}
process.exit(0);
