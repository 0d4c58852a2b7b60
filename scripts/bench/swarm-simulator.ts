// A loopback swarm for the benchmarks: many BitTorrent peers that answer btda's contacts, run in a
// child process of its own (forked by startSwarm) so it never shares btda's event loop and the CPU
// time of each side is measured apart.
//
// Where the peers live (loopback only, never a wildcard address). A socket bound to 0.0.0.0 would
// accept any 127.x.y.z, but it is reachable from outside too, so every listener here is bound to one
// concrete 127.x.y.z address (Linux routes the whole 127.0.0.0/8 to `lo`, so any of them can be bound
// without configuring an alias, and no packet can leave the machine). One listener is one file
// descriptor, and an unprivileged process has 20,000 (ulimit -Hn), so the swarm uses a few thousand
// endpoints (8 addresses x 1,000 ports by default) and tells peers apart by what they were dialled on:
// the local address and port of the accepted socket PLUS the info hash of the handshake. One endpoint
// serves a peer of every torrent, so 8,000 endpoints x 13 torrents = 104,000 distinct peers, which is
// what btda sees too: a peer is a (torrent, ip, port) row. See scripts/bench/README.md for what the
// listeners cost (measured) and the alternatives (one wildcard listener in a private network namespace).
//
// Each peer follows a trajectory picked by a hash of its identity: a seed (have_all or a full
// bitfield), a leecher (partial bitfield, then `have` messages), or have_none then haves. Its piece
// count grows with the number of visits, so a revisited peer eventually crosses the threshold. An
// optional reply latency (uniform per peer in [min, max] ms) mimics the internet.
//
// Bounded: every connection is destroyed after `idleMs` of silence, the process exits after
// `lifetimeMs`, and when its parent goes away.
import net from 'node:net';
import { FaultPicker, injectFault, type FaultKind, type FaultMix, type FaultTarget } from './swarm-faults.ts';
import { haveMessage, hash32, message } from './swarm-wire.ts';
import { serveEncryptedOnly } from '../../src/wire/encrypted-only.ts';
import { obfuscatedInfoHash } from '../../src/wire/mse.ts';

export interface SwarmTorrent {
  /** 40 hex characters. */
  infoHash: string;
  pieces: number;
  /** Pieces that count as complete (the soak's ground truth of confirmed downloads); default all. */
  thresholdPieces?: number;
}

/** Shares of each kind of peer (need not sum to 1: they are normalised). */
export interface PeerMix {
  /** Handshake + have_all (BEP 6). */
  haveAll?: number;
  /** Handshake + a full bitfield. */
  bitfieldFull?: number;
  /** Handshake + a partial bitfield + `have` messages. */
  bitfieldHaves?: number;
  /** Handshake + have_none + `have` messages. */
  haveNoneHaves?: number;
  /**
   * Downloads on its own clock from its first contact (one piece per `quitHaveGapMs`, a `have` each on an open
   * connection) and quits the moment it completes: closes, and refuses every later connection (issue 14).
   */
  quitter?: number;
}

export type { FaultKind, FaultMix } from './swarm-faults.ts';

export interface SwarmOptions {
  torrents: SwarmTorrent[];
  /** Listening addresses: 127.<addressBase>.0.1, ... (default 77, 8 addresses). */
  addressBase?: number;
  addresses?: number;
  /** Listening ports per address, from basePort (default 20000, 1000 ports). */
  basePort?: number;
  portsPerAddress?: number;
  mix?: PeerMix;
  /** Reply latency per peer, ms (default 0..0). */
  latencyMs?: [number, number];
  /** `have` messages a leecher sends after its bitfield, and the gap between them (ms). */
  haves?: number;
  haveGapMs?: number;
  /** After its script a leecher goes quiet ('quiet', the client's timeout ends the contact) or closes. */
  afterScript?: 'quiet' | 'close';
  /** Share of pieces a leecher has on its first visit, and added per visit. */
  startShare?: number;
  shareStep?: number;
  /** A connection silent this long is destroyed (default 30 s). */
  idleMs?: number;
  /** The process exits after this long whatever happens (default 10 min). */
  lifetimeMs?: number;
  backlog?: number;
  faults?: FaultMix;
  /** Every peer speaks only MSE/PE (btda's own responder, RC4): a plaintext handshake is closed at once. */
  requireEncryption?: boolean;
  /** A quitter's time per piece, ms (default 200). */
  quitHaveGapMs?: number;
}

export interface SwarmEndpoint {
  ip: string;
  port: number;
}

export type SwarmMessage =
  | { type: 'ready'; endpoints: SwarmEndpoint[]; failedBinds: number; listenMs: number }
  | { type: 'stats'; stats: SwarmStats };

export interface SwarmStats {
  accepted: number;
  handshakes: number;
  open: number;
  badHandshakes: number;
  /** Distinct (address, port, torrent) identities contacted. */
  distinctPeers: number;
  /** Handshakes answered honestly, and per injected fault. */
  honest: number;
  /** Plaintext handshakes closed because the swarm requires encryption. */
  refusedPlaintext: number;
  faults: Record<FaultKind, number>;
  /** Endpoints that stopped listening, and the peers (endpoint x torrent) they were. */
  vanishedEndpoints: number;
  vanishedPeers: number;
  /**
   * Ground truth of confirmed downloads: peers whose first conveyed state (a visit that reached its
   * opening state) was below the torrent's thresholdPieces and a later one at or above it.
   */
  confirmedTruth: number;
  /** Quitters contacted, those whose first conveyed state was below the threshold, and those that completed (and left). */
  quitters: { contacted: number; firstBelow: number; completed: number };
  cpuUserMs: number;
  cpuSystemMs: number;
  rssMb: number;
}

const PSTR = Buffer.from('BitTorrent protocol', 'latin1');
const PEER_ID = Buffer.from('-TR3000-', 'latin1');
const KIND_NAMES = ['haveAll', 'bitfieldFull', 'bitfieldHaves', 'haveNoneHaves', 'quitter'] as const;
const QUITTER = 4;

function runSwarm(opts: SwarmOptions): void {
  const addressBase = opts.addressBase ?? 77;
  const addresses = opts.addresses ?? 8;
  const basePort = opts.basePort ?? 20000;
  const portsPerAddress = opts.portsPerAddress ?? 1000;
  const [latMin, latMax] = opts.latencyMs ?? [0, 0];
  const haves = opts.haves ?? 4;
  const haveGapMs = opts.haveGapMs ?? 100;
  const afterScript = opts.afterScript ?? 'quiet';
  const startShare = opts.startShare ?? 0.3;
  const shareStep = opts.shareStep ?? 0.35;
  const idleMs = opts.idleMs ?? 30_000;
  const mix = opts.mix ?? { haveAll: 1 };
  const weights = KIND_NAMES.map((k) => Math.max(0, mix[k] ?? 0));
  const totalWeight = weights.reduce((a, b) => a + b, 0) || 1;

  // Per torrent: the handshake we send (extension + fast bits), have_all, the full bitfield.
  const torrents = opts.torrents.map((t) => {
    const infoHash = Buffer.from(t.infoHash, 'hex');
    const hs = Buffer.alloc(68);
    hs[0] = 19;
    PSTR.copy(hs, 1);
    hs[25] = 0x10; // extension protocol
    hs[27] = 0x04; // fast extension
    infoHash.copy(hs, 28);
    PEER_ID.copy(hs, 48);
    for (let i = 56; i < 68; i++) hs[i] = 0x61 + (i % 26);
    const bytes = Math.ceil(t.pieces / 8);
    const fullBits = Buffer.alloc(bytes, 0xff);
    const spare = bytes * 8 - t.pieces;
    if (bytes > 0) fullBits[bytes - 1] = (0xff << spare) & 0xff;
    return {
      infoHash,
      pieces: t.pieces,
      thresholdPieces: t.thresholdPieces ?? t.pieces,
      key: infoHash.toString('latin1'),
      hsHaveAll: Buffer.concat([hs, message(0x0e, Buffer.alloc(0))]),
      hsBitfieldFull: Buffer.concat([hs, message(5, fullBits)]),
      hs,
    };
  });
  const torrentIndex = new Map(torrents.map((t, i) => [t.key, i]));

  const visits = new Map<number, number>();
  const stats = { accepted: 0, handshakes: 0, open: 0, badHandshakes: 0, honest: 0, refusedPlaintext: 0, vanishedEndpoints: 0, vanishedPeers: 0 };
  const byObfuscatedHash = new Map(opts.torrents.map((t) => {
    const infoHash = Buffer.from(t.infoHash, 'hex');
    return [obfuscatedInfoHash(infoHash).toString('hex'), infoHash] as const;
  }));
  const faults = opts.faults ?? {};
  const picker = new FaultPicker(faults);
  /** Per peer: pieces conveyed on its first visit that reached an opening state, and the most since (truth). */
  const conveyed = new Map<number, { first: number; max: number }>();
  const noteConveyed = (id: number, pieces: number) => {
    const c = conveyed.get(id);
    if (!c) conveyed.set(id, { first: pieces, max: pieces });
    else c.max = Math.max(c.max, pieces);
  };

  const onConnection = (socket: net.Socket) => {
    stats.accepted++;
    stats.open++;
    let head: Buffer | null = null;
    let timers: NodeJS.Timeout[] | null = null;
    socket.setNoDelay(true);
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('close', () => {
      stats.open--;
      if (timers) for (const t of timers) clearTimeout(t);
    });
    const onData = (chunk: Buffer) => {
      head = head ? Buffer.concat([head, chunk]) : chunk;
      if (head.length < 48) return;
      socket.removeListener('data', onData);
      socket.on('data', drain);
      if (head[0] !== 19 || !head.subarray(1, 20).equals(PSTR)) {
        stats.badHandshakes++;
        socket.destroy();
        return;
      }
      const ti = torrentIndex.get(head.toString('latin1', 28, 48));
      head = null;
      if (ti === undefined) {
        stats.badHandshakes++;
        socket.destroy();
        return;
      }
      stats.handshakes++;
      // The peer's identity: the address and port it was dialled on, and the torrent.
      const local = socket.localAddress ?? '';
      const dot = local.lastIndexOf('.');
      const addrIndex = Number(local.slice(dot + 1)) + 256 * Number(local.slice(local.lastIndexOf('.', dot - 1) + 1, dot));
      const id = (addrIndex * 65536 + (socket.localPort ?? 0)) * 64 + ti;
      const visit = visits.get(id) ?? 0;
      visits.set(id, visit + 1);
      const h = hash32(id);
      const kind = pickKind(h);
      const t = torrents[ti];
      const latency = latMax > latMin ? latMin + (h % (latMax - latMin + 1)) : latMin;
      const script = buildScript(kind, t, visit, h);
      // each peer is its own client: its own peer id (the same on every visit), as real swarms are
      script.first = withPeerId(script.first, id);
      const fault = picker.pick(hash32(id * 97 + visit + 1));
      if (fault !== null) {
        timers = [];
        const other = torrents[(ti + 1) % torrents.length];
        const target: FaultTarget = {
          handshake: withPeerId(t.hs, id), otherInfoHash: other === t ? null : other.infoHash, pieces: t.pieces,
          opening: script.first, openingPieces: kind === 3 ? 0 : script.openingPieces, seed: hash32(id * 31 + visit),
        };
        injectFault(socket, fault, target, timers, latency, (pieces) => noteConveyed(id, pieces));
        return;
      }
      stats.honest++;
      if (kind === QUITTER) return serveQuitter(socket, id, t, h);
      noteConveyed(id, script.pieces);
      if (latency === 0 && script.later.length === 0) {
        socket.write(script.first);
        if (afterScript === 'close' && kind >= 2) socket.end();
        return;
      }
      timers = [];
      timers.push(setTimeout(() => socket.write(script.first), latency));
      script.later.forEach((buf, i) => timers!.push(setTimeout(() => socket.write(buf), latency + (i + 1) * haveGapMs)));
      if (afterScript === 'close' && kind >= 2) {
        timers.push(setTimeout(() => socket.end(), latency + (script.later.length + 1) * haveGapMs));
      }
    };
    if (opts.requireEncryption) encryptedFirst(socket, onData);
    else socket.on('data', onData);
  };

  /** The MSE/PE handshake, then `onData` on the decrypted stream; what the peer writes is encrypted from then on. */
  function encryptedFirst(socket: net.Socket, onData: (chunk: Buffer) => void): void {
    serveEncryptedOnly(socket, (h) => byObfuscatedHash.get(h.toString('hex')), {
      onReady: (payload) => {
        socket.on('data', onData);
        if (payload.length > 0) onData(payload);
      },
      onRefused: (why) => {
        if (why === 'plaintext') stats.refusedPlaintext++;
        else stats.badHandshakes++;
        socket.destroy();
      },
    });
  }

  function pickKind(h: number): number {
    let x = ((h >>> 8) / 0x1000000) * totalWeight;
    for (let k = 0; k < weights.length; k++) {
      if (x < weights[k]) return k;
      x -= weights[k];
    }
    return weights.length - 1;
  }

  type Script = { first: Buffer; later: Buffer[]; pieces: number; openingPieces: number };

  function buildScript(kind: number, t: (typeof torrents)[number], visit: number, h: number): Script {
    if (kind === 0) return { first: t.hsHaveAll, later: [], pieces: t.pieces, openingPieces: t.pieces };
    if (kind === 1) return { first: t.hsBitfieldFull, later: [], pieces: t.pieces, openingPieces: t.pieces };
    const share = Math.min(1, startShare + visit * shareStep);
    const have = Math.min(t.pieces, Math.floor(share * t.pieces));
    const later: Buffer[] = [];
    let first: Buffer;
    if (kind === 2) {
      const bits = Buffer.alloc(Math.ceil(t.pieces / 8));
      for (let i = 0; i < have; i++) bits[i >> 3] |= 0x80 >> (i & 7);
      first = Buffer.concat([t.hs, message(5, bits)]);
      for (let i = 0; i < haves && have + i < t.pieces; i++) later.push(haveMessage(have + i));
    } else {
      first = Buffer.concat([t.hs, message(0x0f, Buffer.alloc(0))]);
      for (let i = 0; i < haves && i < t.pieces; i++) later.push(haveMessage((h + i) % t.pieces));
    }
    const pieces = kind === 2 ? have + later.length : later.length;
    return { first, later, pieces, openingPieces: kind === 2 ? have : 0 };
  }

  /** A copy of a handshake (and what follows it) with the peer's own id in the last 12 bytes of the peer id. */
  function withPeerId(buf: Buffer, id: number): Buffer {
    const out = Buffer.allocUnsafe(buf.length);
    buf.copy(out);
    out.write(id.toString(36).padStart(12, '0').slice(-12), 56, 'latin1');
    return out;
  }

  /** Per quitter: when it started downloading (its first contact) and the pieces it had then. */
  const quitters = new Map<number, { t0: number; start: number; done: boolean }>();
  const quitGapMs = opts.quitHaveGapMs ?? 200;

  function serveQuitter(socket: net.Socket, id: number, t: (typeof torrents)[number], h: number): void {
    let q = quitters.get(id);
    const now = Date.now();
    if (!q) {
      // its start spread over [startShare, startShare + shareStep) of the pieces
      const share = startShare + ((h % 1000) / 1000) * shareStep;
      q = { t0: now, start: Math.min(t.thresholdPieces - 1, Math.floor(share * t.pieces)), done: false };
      quitters.set(id, q);
    }
    const quitter = q;
    const piecesAt = (at: number) => Math.min(t.pieces, quitter.start + Math.floor((at - quitter.t0) / quitGapMs));
    if (quitter.done || piecesAt(now) >= t.pieces) {
      quitter.done = true;
      socket.destroy(); // gone: the torrent is no longer served
      return;
    }
    let have = piecesAt(now);
    const bits = Buffer.alloc(Math.ceil(t.pieces / 8));
    for (let i = 0; i < have; i++) bits[i >> 3] |= 0x80 >> (i & 7);
    socket.write(withPeerId(Buffer.concat([t.hs, message(5, bits)]), id));
    noteConveyed(id, have);
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      const target = piecesAt(Date.now());
      while (have < target) {
        socket.write(haveMessage(have));
        have++;
        noteConveyed(id, have);
      }
      if (have >= t.pieces) {
        quitter.done = true;
        clearInterval(timer);
        socket.end(); // completed: quits at once
      }
    }, quitGapMs);
    socket.on('close', () => clearInterval(timer));
  }

  function quitterStats(): SwarmStats['quitters'] {
    let firstBelow = 0;
    let completed = 0;
    const now = Date.now();
    for (const [id, q] of quitters) {
      const t = torrents[id % 64];
      const c = conveyed.get(id);
      if (c && c.first < t.thresholdPieces) firstBelow++;
      if (q.done || q.start + Math.floor((now - q.t0) / quitGapMs) >= t.pieces) completed++;
    }
    return { contacted: quitters.size, firstBelow, completed };
  }

  const drain = () => {};

  // Listen on every endpoint (concrete loopback addresses only).
  const started = Date.now();
  const servers: net.Server[] = [];
  const endpoints: SwarmEndpoint[] = [];
  let failedBinds = 0;
  let pendingBinds = addresses * portsPerAddress;
  const backlog = opts.backlog ?? 511;
  for (let a = 0; a < addresses; a++) {
    const ip = `127.${addressBase}.${(a + 1) >> 8}.${(a + 1) & 255}`;
    for (let p = 0; p < portsPerAddress; p++) {
      const port = basePort + p;
      const server = net.createServer({ noDelay: true, pauseOnConnect: false }, onConnection);
      server.once('error', () => {
        failedBinds++;
        server.close();
        if (--pendingBinds === 0) ready();
      });
      server.listen({ host: ip, port, backlog, exclusive: true }, () => {
        endpoints.push({ ip, port });
        servers.push(server);
        if (--pendingBinds === 0) ready();
      });
    }
  }
  function ready() {
    endpoints.sort((x, y) => (x.port - y.port) || x.ip.localeCompare(y.ip));
    scheduleVanishing();
    send({ type: 'ready', endpoints, failedBinds, listenMs: Date.now() - started });
  }

  /** Some endpoints stop listening for good, each at a moment picked by its hash: btda then meets `refused`. */
  function scheduleVanishing(): void {
    const share = faults.vanishEndpoints ?? 0;
    const within = faults.vanishWithinMs ?? 60_000;
    if (share <= 0) return;
    servers.forEach((server, i) => {
      const h = hash32(i * 7919 + 13);
      if (h / 0x100000000 >= share) return;
      setTimeout(() => {
        server.close();
        stats.vanishedEndpoints++;
        stats.vanishedPeers += torrents.length;
      }, (hash32(h) / 0x100000000) * within).unref();
    });
  }

  function countConfirmedTruth(): number {
    let n = 0;
    for (const [id, c] of conveyed) {
      const t = torrents[id % 64];
      if (c.first < t.thresholdPieces && c.max >= t.thresholdPieces) n++;
    }
    return n;
  }

  const send = (m: SwarmMessage) => process.send?.(m);
  process.on('message', (m: { type: string }) => {
    if (m.type === 'stats') {
      const cpu = process.cpuUsage();
      send({
        type: 'stats',
        stats: {
          ...stats,
          faults: picker.counts,
          confirmedTruth: countConfirmedTruth(),
          quitters: quitterStats(),
          distinctPeers: visits.size,
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000,
          rssMb: process.memoryUsage.rss() / 1048576,
        },
      });
    } else if (m.type === 'reset-visits') {
      visits.clear();
    } else if (m.type === 'stop') {
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  setTimeout(() => process.exit(0), opts.lifetimeMs ?? 600_000).unref();
  // keeps the process alive while listeners exist; the lifetime timer above is the hard bound
}

// Run as the child process: options arrive as a JSON argument.
if (process.argv[2] === '--swarm' && process.send) {
  runSwarm(JSON.parse(process.argv[3]) as SwarmOptions);
}
