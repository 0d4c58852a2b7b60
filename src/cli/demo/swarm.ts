// The demo's local swarm: the embedded tracker, the demo torrent and the simulated peers, each on its
// own loopback address (127.0.0.2, 127.0.0.3, ...) where the host allows it, else all on 127.0.0.1.
// A clock moves every peer along its plan; the swarm knows the truth btda is compared with.
import net from 'node:net';
import { parseTorrentFile } from '../../torrents/parse-torrent.ts';
import { readFileSync } from 'node:fs';
import { demoPlans } from './plans.ts';
import { SimulatedPeer, type SwarmFacts } from './simulated-peer.ts';
import { makeDemoTorrent, type DemoTorrent } from './torrent.ts';
import { startDemoTracker, type DemoTracker } from './tracker.ts';

export const DEMO_PIECES = 200;
export const DEMO_PIECE_LENGTH = 16 * 1024;
const TICK_MS = 200;

export type SwarmEvent = { t: number; peer: SimulatedPeer; what: 'joined' | 'finished' | 'left' | 'failed' };

export interface SwarmStatus {
  up: number;
  finished: number;
  left: number;
}

export class DemoSwarm {
  readonly startedAt = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;
  private stopped = false;

  private constructor(
    readonly tracker: DemoTracker,
    readonly torrent: DemoTorrent,
    readonly infoHash: string,
    readonly peers: SimulatedPeer[],
    private readonly onEvent: (e: SwarmEvent) => void,
  ) {}

  /** Starts tracker and peers (those due at 0 s join before this returns). */
  static async start(opts: {
    dir: string;
    durationS: number;
    thresholdPieces: (pieces: number) => number;
    trackerIntervalS: number;
    onEvent?: (e: SwarmEvent) => void;
  }): Promise<DemoSwarm> {
    const tracker = await startDemoTracker(opts.trackerIntervalS);
    try {
      const torrent = makeDemoTorrent(opts.dir, { pieces: DEMO_PIECES, pieceLength: DEMO_PIECE_LENGTH, trackers: [tracker.httpUrl, tracker.udpUrl] });
      const parsed = parseTorrentFile(readFileSync(torrent.path));
      const threshold = opts.thresholdPieces(DEMO_PIECES);
      const facts: SwarmFacts = {
        infoHash: Buffer.from(parsed.infoHash, 'hex'),
        pieces: DEMO_PIECES,
        pieceLength: DEMO_PIECE_LENGTH,
        thresholdPieces: threshold,
        trackerUrl: tracker.httpUrl,
        hiddenPeers: () => peers.filter((p) => p.plan.hidden && p.up).map((p) => ({ host: p.host, port: p.port })),
      };
      const ownAddresses = await canBind('127.0.0.2');
      const plans = demoPlans(opts.durationS, DEMO_PIECES, threshold);
      const peers: SimulatedPeer[] = plans.map((plan, i) => new SimulatedPeer(plan, ownAddresses ? `127.0.0.${i + 2}` : '127.0.0.1', facts));
      const swarm = new DemoSwarm(tracker, torrent, parsed.infoHash, peers, opts.onEvent ?? (() => {}));
      await swarm.advance();
      swarm.timer = setInterval(() => void swarm.advance(), TICK_MS);
      return swarm;
    } catch (err) {
      await tracker.close();
      throw err;
    }
  }

  /** Seconds since the swarm started. */
  get clock(): number {
    return (Date.now() - this.startedAt) / 1000;
  }

  status(): SwarmStatus {
    return {
      up: this.peers.filter((p) => p.up).length,
      finished: this.peers.filter((p) => p.finishedAt !== null).length,
      left: this.peers.filter((p) => p.leftAt !== null).length,
    };
  }

  /** Peers that finished their download and stayed reachable: what btda should confirm. */
  finishedWhileReachable(): SimulatedPeer[] {
    return this.peers.filter((p) => p.finishedAt !== null && p.leftAt === null);
  }

  finished(): SimulatedPeer[] {
    return this.peers.filter((p) => p.finishedAt !== null);
  }

  private async advance(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const t = this.clock;
      const now = Date.now();
      await Promise.all(
        this.peers.map(async (peer) => {
          if (peer.failed) return;
          try {
            if (peer.joinedAt === null && t >= peer.plan.joinAt) {
              await peer.join(t);
              this.onEvent({ t, peer, what: 'joined' });
            }
            const what = await peer.tick(t, now);
            if (what) this.onEvent({ t, peer, what });
          } catch (err) {
            // e.g. its address cannot be bound: the demo goes on without it, and says so
            peer.failed = (err as Error).message;
            this.onEvent({ t, peer, what: 'failed' });
          }
        }),
      );
    } finally {
      this.ticking = false;
    }
  }

  /** Peers close and announce `stopped`, then the tracker closes. Bounded by the announce timeouts. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled(this.peers.map((p) => p.stop()));
    await this.tracker.close();
  }
}

/** True when this host can bind `host` (Linux routes all of 127.0.0.0/8 to loopback; macOS does not). */
export async function canBind(host: string): Promise<boolean> {
  const server = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, host, () => resolve(true));
  });
  if (ok) await new Promise<void>((resolve) => server.close(() => resolve()));
  return ok;
}
