// `btda demo`: the main job end to end with no set-up. A local swarm on loopback (the embedded
// bittorrent-tracker server and simulated peers with known download trajectories, src/cli/demo/), a
// fresh torrent imported into a demo database, a crawl of about a minute with live progress, then
// btda's confirmed downloads next to the swarm's truth and the tracker's reported number.
// Ends by itself after --duration (plus a few seconds of shutdown); Ctrl-C stops it cleanly.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { defaultConfig, isDatabaseUrl, thresholdPieces, type Config } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { AddressKeyError, openAddressKey } from '../../store/address-key.ts';
import { Database } from '../../store/database.ts';
import { parseTorrentFile } from '../../torrents/parse-torrent.ts';
import { runCrawl, type CrawlProgress } from '../crawl.ts';
import { openForWriting } from '../open-database.ts';
import { ConfigError, parseDuration } from '../options.ts';
import { countConfirmed, demoResult } from '../demo/report.ts';
import { DEMO_PIECE_LENGTH, DEMO_PIECES, DemoSwarm, type SwarmEvent } from '../demo/swarm.ts';
import { StatusLine } from '../demo/status-line.ts';

export const DEMO_MIN_S = 10;
/** A key that is not the database's (README "Exit codes"), as for `btda run`. */
const EXIT_USAGE = 2;
export const DEMO_MAX_S = 600;

export const demoOptions = {
  duration: { requiresArg: true, default: '60s', defaultDescription: '60s', describe: `length of the demo (${DEMO_MIN_S}s to ${DEMO_MAX_S / 60}m) [duration]` },
  db: { requiresArg: true, describe: 'SQLite database of the demo (default: a new one in a temporary folder, kept)' },
} as const;

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** A free TCP port on 127.0.0.1: the port btda announces (nothing listens there, see `passive`). */
async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The crawl settings of a demo of `durationS`: intervals scaled so every finisher is revisited in time. */
export function demoConfig(durationS: number, db: string, workDir: string, port: number): Config {
  return {
    ...defaultConfig,
    db,
    // beside the database, as for every command (README "Privacy"): a later demo, explain --address or run on
    // the same file finds the key that wrote it; in the temporary folder it would be gone with the folder
    keyFile: join(dirname(db), 'btda.key'),
    inputPath: join(workDir, 'no-input'),
    magnetFile: join(workDir, 'no-magnets'),
    dhtState: join(workDir, 'dht-state.json'),
    // No listener: the simulated peers never dial; every one is reached by btda's own contacts to the
    // addresses the tracker lists.
    passive: false,
    port,
    // the simulated peers live on loopback, which the address policy never dials unless allowed
    allow: ['127.0.0.0/8', '::1'],
    dht: false,
    active: 32,
    timeout: 1,
    connectTimeout: 2,
    contactLimit: clamp(durationS / 10, 3, 10),
    openingGrace: 0.5,
    revisitDelay: clamp(durationS / 20, 1, 5),
    // A demo lasts seconds; the watch waits minutes for clients that batch their haves or send none (the
    // 'quiet' peer), so here contacts end and revisit (scripts/bench/watch.ts measures the watch)
    watch: 0,
    retryDelay: 1,
    maxFailures: 3,
    trackerInterval: clamp(durationS / 10, 2, 10),
    statsInterval: 5,
    duration: durationS,
    storeIp: true, // loopback addresses of simulated peers: nothing private, and the result matches them
    flushIntervalMs: 200,
    quiet: true,
  };
}

export async function demoCommand(argv: Record<string, unknown>): Promise<number> {
  const durationS = parseDuration(String(argv.duration ?? '60'));
  if (durationS === undefined || durationS < DEMO_MIN_S || durationS > DEMO_MAX_S) {
    throw new ConfigError(`--duration: expected ${DEMO_MIN_S}s to ${DEMO_MAX_S / 60}m, e.g. 60s or 2m (got ${JSON.stringify(argv.duration)})`);
  }
  // a URL would become a folder named "postgres:" holding the demo's SQLite file
  if (typeof argv.db === 'string' && isDatabaseUrl(argv.db)) {
    throw new ConfigError(`--db: the demo writes a SQLite file; ${argv.db.split(':')[0]} URLs are not supported (--db path/to/demo.sqlite)`);
  }
  const workDir = mkdtempSync(join(tmpdir(), 'btda-demo-'));
  const dbPath = typeof argv.db === 'string' && argv.db !== '' ? resolve(argv.db) : join(workDir, 'demo.sqlite');
  const keepWorkDir = dirname(dbPath) === workDir;
  const config = demoConfig(durationS, dbPath, workDir, await freeLoopbackPort());
  const log = createLogger({ quiet: true });
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const status = new StatusLine(process.stderr, durationS);

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => controller.abort(`signal ${signal}`);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let swarm: DemoSwarm | undefined;
  let live: Database | undefined;
  try {
    const onEvent = (e: SwarmEvent) => {
      const p = e.peer;
      const text = e.what === 'failed' ? `could not start: ${p.failed}` : e.what;
      status.event(`${e.t.toFixed(1).padStart(5)} s  ${p.plan.label} (${p.plan.imitates}, ${p.host}) ${text}`);
    };
    // the key is checked before the swarm starts or anything is written: a database of another key gets one line
    const keyed = openForWriting(dbPath);
    try {
      openAddressKey(keyed, dbPath, config.keyFile);
    } finally {
      keyed.close();
    }
    swarm = await DemoSwarm.start({
      dir: workDir,
      durationS,
      thresholdPieces: (pieces) => thresholdPieces(pieces, config.threshold),
      trackerIntervalS: config.trackerInterval,
      onEvent,
    });
    const threshold = thresholdPieces(DEMO_PIECES, config.threshold);
    const parsed = parseTorrentFile(readFileSync(swarm.torrent.path));
    const db = openForWriting(dbPath);
    try {
      db.addTorrent(parsed, swarm.torrent.path, 'demo', Date.now());
    } finally {
      db.close();
    }
    const hosts = [...new Set(swarm.peers.map((p) => p.host))];
    out(`btda demo: ${durationS} s on a local swarm (loopback only)`);
    out(`  tracker   ${swarm.tracker.httpUrl} and ${swarm.tracker.udpUrl} (bittorrent-tracker, embedded)`);
    out(`  torrent   ${swarm.torrent.name}: ${DEMO_PIECES} pieces of ${DEMO_PIECE_LENGTH / 1024} KiB, ` +
      `complete at ${threshold} pieces (${config.threshold * 100}%)`);
    out(`  peers     ${swarm.peers.length} simulated peers on ${hosts.length > 1 ? `${hosts[0]} - ${hosts.at(-1)}` : hosts[0]}`);
    out(`  database  ${dbPath}`);
    out();

    live = Database.open(dbPath, { readonly: true });
    const liveDb = live;
    const infoHash = swarm.infoHash;
    const theSwarm = swarm;
    let confirmed = 0;
    let summaryReason = controller.signal.aborted ? String(controller.signal.reason) : 'completed';
    if (!controller.signal.aborted) {
      const summary = await runCrawl(config, {
        log,
        signal: controller.signal,
        args: ['demo', ...process.argv.slice(3)],
        onProgress: (p: CrawlProgress) => {
          try {
            confirmed = countConfirmed(liveDb, infoHash);
          } catch {
            // the writer holds the lock for a moment: show the last number until next time
          }
          const s = theSwarm.status();
          status.update(
            p.elapsedMs / 1000,
            `swarm: ${s.up} peers up, ${s.finished} finished, ${s.left} left | btda: ${p.known} peers, ` +
              `${p.contacts} contacts (${p.successes} ok), confirmed ${confirmed}`,
          );
        },
      });
      summaryReason = summary.exitReason;
    }
    status.done();
    live.close();
    live = undefined;
    // our reader kept the crawl from emptying the WAL when it closed: the .sqlite file alone is the result
    const finished = Database.open(dbPath);
    try {
      finished.checkpoint();
    } finally {
      finished.close();
    }
    const stoppedAt = swarm.clock;
    await swarm.stop(); // the truth stands still from here
    const result = await demoResult(dbPath, swarm, threshold);
    out(summaryReason === 'completed' ? `Result after ${stoppedAt.toFixed(0)} s:` : `Stopped (${summaryReason}) after ${stoppedAt.toFixed(0)} s:`);
    out();
    out(result.text);
    out(keepWorkDir
      ? `The demo database stays in ${dbPath}; try: sqlite3 ${dbPath} 'SELECT * FROM confirmed_downloads'`
      : `Results are in ${dbPath}.`);
    return 0;
  } catch (err) {
    if (err instanceof AddressKeyError) {
      status.done();
      process.stderr.write(`btda: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  } finally {
    status.done();
    live?.close();
    await swarm?.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!keepWorkDir) rmSync(workDir, { recursive: true, force: true });
  }
}
