// One simulated peer of the demo swarm: a plain TCP server on its own loopback address that speaks just
// enough of the peer wire protocol to tell what it has — handshake, extension handshake, its opening
// state (have_none / bitfield / have_all) and live updates in the style of a real client — and announces
// itself to the tracker over HTTP as a real client would (started, completed, stopped). Its pieces
// follow a planned trajectory; it never sends or accepts payload.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import bencode from 'bencode';
import { buildAnnounceUrl } from '../../collectors/tracker/http-tracker.ts';
import { buildExtendedMessage, EXTENDED_HANDSHAKE_ID, parseExtensionHandshake } from '../../wire/extension-handshake.ts';
import { buildHandshake, HANDSHAKE_LENGTH, parseHandshake } from '../../wire/handshake.ts';
import { encodeMessage, maxMessageLength, MessageId, MessageReader } from '../../wire/message-reader.ts';
import { serveEncryptedOnly } from '../../wire/encrypted-only.ts';
import { obfuscatedInfoHash } from '../../wire/mse.ts';

/**
 * How a peer reports new pieces while connected (SPEC "What real clients send"):
 * `have` at once (qBittorrent), `batched-have` every 2 s (transmission batches about every 10 s),
 * `bitfield` a full bitfield every second (aria2), `silent` nothing until the next connection (rtorrent).
 */
export type UpdateStyle = 'have' | 'batched-have' | 'bitfield' | 'silent';

export interface PeerPlan {
  label: string;
  /** The client it imitates (its peer id prefix decodes to this name). */
  imitates: string;
  peerIdPrefix: string;
  updates: UpdateStyle;
  /** Seconds after the swarm started when it joins (listens and announces `started`). */
  joinAt: number;
  /** Pieces at joinAt, growing linearly to `toPieces` at `doneAt` (seconds), then constant. */
  fromPieces: number;
  toPieces: number;
  doneAt: number;
  /** Closes everything the moment it has every piece (seeding time 0), without telling anyone. */
  leavesAtCompletion?: boolean;
  /** Speaks only MSE/PE: closes a plaintext handshake at once (transmission set to "require encryption"). */
  requiresEncryption?: boolean;
  /** Never announces to the tracker (a peer found only through the others: peer exchange). */
  hidden?: boolean;
  /** Names the hidden peers in a ut_pex message once btda's extension handshake announces ut_pex. */
  sendsPex?: boolean;
  /** One line for the comparison table. */
  describe: string;
}

export interface SwarmFacts {
  infoHash: Buffer;
  pieces: number;
  pieceLength: number;
  thresholdPieces: number;
  trackerUrl: string;
  /** Addresses of the hidden peers that are up (what a `sendsPex` peer tells about). */
  hiddenPeers: () => { host: string; port: number }[];
}

/** A connection lives at most this long whatever the other side does (btda ends its contacts sooner). */
const CONNECTION_LIMIT_MS = 120_000;
const ANNOUNCE_TIMEOUT_MS = 2_000;

export class SimulatedPeer {
  readonly peerId: Buffer;
  port = 0;
  /** Seconds after the swarm start. */
  joinedAt: number | null = null;
  finishedAt: number | null = null;
  leftAt: number | null = null;
  count = 0;
  /** Why the peer could not take part (set by the swarm). */
  failed: string | null = null;
  private server: net.Server | null = null;
  private readonly connections = new Set<Connection>();
  /** The order in which this peer gets pieces: it has the first `count`. */
  private readonly order: number[];

  constructor(
    readonly plan: PeerPlan,
    readonly host: string,
    private readonly swarm: SwarmFacts,
  ) {
    this.peerId = Buffer.concat([Buffer.from(plan.peerIdPrefix, 'latin1'), randomBytes(20 - plan.peerIdPrefix.length)]);
    this.order = shuffled(swarm.pieces);
  }

  get up(): boolean {
    return this.server !== null;
  }

  /** Pieces the plan gives at `t` seconds after the swarm start. */
  piecesAt(t: number): number {
    const { fromPieces, toPieces, joinAt, doneAt, leavesAtCompletion } = this.plan;
    const share = doneAt <= joinAt ? 1 : Math.min(1, Math.max(0, (t - joinAt) / (doneAt - joinAt)));
    const n = Math.floor(fromPieces + share * (toPieces - fromPieces));
    // A leaver's last pieces arrive together with its exit: below the threshold until then.
    if (leavesAtCompletion && share < 1) return Math.min(n, this.swarm.thresholdPieces - 1);
    return n;
  }

  async join(t: number): Promise<void> {
    this.count = this.piecesAt(t);
    const server = net.createServer((socket) => this.accept(socket));
    server.on('error', () => {}); // after listening: nothing to do but carry on
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, this.host, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    this.joinedAt = t;
    await this.announce('started');
  }

  /** Moves along the trajectory; returns what happened ('finished', 'left') for the progress display. */
  async tick(t: number, nowMs: number): Promise<'finished' | 'left' | null> {
    if (!this.up) return null;
    const before = this.count;
    this.count = Math.max(this.count, this.piecesAt(t));
    const all = this.swarm.pieces;
    if (this.count === all && before < all) {
      this.finishedAt = t;
      if (this.plan.leavesAtCompletion) {
        // like aria2 --seed-time=0: drops every connection without a last update, then tells the tracker
        this.closeAll();
        this.leftAt = t;
        await this.announce('completed');
        await this.announce('stopped');
        return 'left';
      }
      for (const c of this.connections) c.update(this.count, nowMs);
      await this.announce('completed');
      return 'finished';
    }
    for (const c of this.connections) c.update(this.count, nowMs);
    return null;
  }

  /** The end of the demo: close everything, say goodbye to the tracker (bounded). */
  async stop(): Promise<void> {
    if (!this.up) return;
    this.closeAll();
    await this.announce('stopped');
  }

  private closeAll(): void {
    for (const c of this.connections) c.socket.destroy();
    this.connections.clear();
    this.server?.close();
    this.server = null;
  }

  private accept(socket: net.Socket): void {
    if (!this.up) {
      socket.destroy();
      return;
    }
    const conn = new Connection(socket, this, this.swarm);
    this.connections.add(conn);
    socket.once('close', () => this.connections.delete(conn));
  }

  /** Pieces this peer has, as a bitfield. */
  bitfield(count: number): Buffer {
    const bits = Buffer.alloc(Math.ceil(this.swarm.pieces / 8));
    for (let i = 0; i < count; i++) {
      const p = this.order[i];
      bits[p >> 3] |= 0x80 >> (p & 7);
    }
    return bits;
  }

  pieceAt(i: number): number {
    return this.order[i];
  }

  /** An HTTP announce from this peer's own address; failures are ignored (the demo goes on). */
  private announce(event: 'started' | 'completed' | 'stopped'): Promise<void> {
    if (this.plan.hidden) return Promise.resolve();
    const left = (this.swarm.pieces - this.count) * this.swarm.pieceLength;
    const url = new URL(buildAnnounceUrl(this.swarm.trackerUrl, {
      infoHash: this.swarm.infoHash,
      peerId: this.peerId,
      port: this.port,
      uploaded: 0,
      downloaded: this.count * this.swarm.pieceLength,
      left,
      numwant: 50,
      key: this.peerId.readUInt32BE(16),
      event,
    }));
    return new Promise((resolve) => {
      const req = http.get(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, localAddress: this.host, agent: false, timeout: ANNOUNCE_TIMEOUT_MS },
        (res) => {
          res.resume();
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        },
      );
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve());
      req.on('close', () => resolve());
    });
  }
}

/** One wire connection of a simulated peer (btda dialled it). */
class Connection {
  private handshake: Buffer | null = Buffer.alloc(0);
  private fast = false;
  /** Pieces this connection has been told about (the first `told` of the peer's order). */
  private told = 0;
  private lastFlush = 0;
  private readonly reader: MessageReader;
  private opened = false;

  constructor(
    readonly socket: net.Socket,
    private readonly peer: SimulatedPeer,
    private readonly swarm: SwarmFacts,
  ) {
    // messages from btda: only its extension handshake matters (does it take ut_pex?)
    this.reader = new MessageReader(maxMessageLength(swarm.pieces), (id, payload) => this.onMessage(id, payload));
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const onData = (chunk: Buffer) => this.onData(chunk);
    if (peer.plan.requiresEncryption) {
      const obfuscated = obfuscatedInfoHash(swarm.infoHash);
      serveEncryptedOnly(socket, (h) => (h.equals(obfuscated) ? swarm.infoHash : undefined), {
        onReady: (payload) => {
          socket.on('data', onData);
          if (payload.length > 0) this.onData(payload);
        },
        onRefused: () => socket.destroy(),
      });
    } else {
      socket.on('data', onData);
    }
    const limit = setTimeout(() => socket.destroy(), CONNECTION_LIMIT_MS);
    limit.unref();
    socket.once('close', () => clearTimeout(limit));
  }

  private onData(chunk: Buffer): void {
    if (this.handshake === null) {
      if (!this.reader.feed(chunk)) this.socket.destroy();
      return;
    }
    const buf = Buffer.concat([this.handshake, chunk]);
    const parsed = parseHandshake(buf);
    if (parsed.status === 'bad') return void this.socket.destroy();
    if (parsed.status === 'partial') {
      if (buf.length > HANDSHAKE_LENGTH) return void this.socket.destroy();
      this.handshake = buf;
      return;
    }
    this.handshake = null;
    const hs = parsed.handshake;
    if (!hs.infoHash.equals(this.swarm.infoHash)) return void this.socket.destroy();
    // our handshake answers theirs (btda dials us and speaks first)
    this.write(buildHandshake(this.swarm.infoHash, this.peer.peerId));
    this.fast = hs.fast;
    if (hs.extensionProtocol) {
      const dict = { m: {}, p: this.peer.port, v: `${this.peer.plan.imitates} (btda demo peer)` };
      this.write(buildExtendedMessage(EXTENDED_HANDSHAKE_ID, bencode.encode(dict)));
    }
    this.open();
    const rest = buf.subarray(parsed.consumed);
    if (rest.length > 0 && !this.reader.feed(rest)) this.socket.destroy();
  }

  /** libtorrent-style peer exchange: right after the extension handshakes, the peers it knows of. */
  private onMessage(id: number, payload: Buffer): void {
    if (id !== MessageId.extended || payload[0] !== EXTENDED_HANDSHAKE_ID || !this.peer.plan.sendsPex) return;
    const utPex = parseExtensionHandshake(payload.subarray(1))?.extensions?.ut_pex;
    const hidden = this.swarm.hiddenPeers();
    if (!utPex || hidden.length === 0) return;
    const added = Buffer.concat(hidden.map(({ host, port }) => Buffer.from([...host.split('.').map(Number), port >> 8, port & 255])));
    this.write(buildExtendedMessage(utPex, bencode.encode({ added })));
  }

  /** The opening state, as the imitated client sends it. */
  private open(): void {
    const count = this.peer.count;
    const all = this.swarm.pieces;
    this.opened = true;
    this.told = count;
    this.lastFlush = Date.now();
    if (this.peer.plan.updates === 'silent') {
      // rtorrent: nothing when empty, a bitfield otherwise (even when complete)
      if (count > 0) this.write(encodeMessage(MessageId.bitfield, this.peer.bitfield(count)));
      return;
    }
    if (this.fast && count === 0) this.write(encodeMessage(MessageId.haveNone));
    else if (this.fast && count === all) this.write(encodeMessage(MessageId.haveAll));
    else if (count > 0) this.write(encodeMessage(MessageId.bitfield, this.peer.bitfield(count)));
  }

  /** New pieces since the last update, sent in the imitated client's style. */
  update(count: number, nowMs: number): void {
    if (!this.opened || count <= this.told) return;
    const style = this.peer.plan.updates;
    const complete = count === this.swarm.pieces;
    if (style === 'silent') return;
    if (style === 'batched-have' && nowMs - this.lastFlush < 2000 && !complete) return;
    if (style === 'bitfield' && nowMs - this.lastFlush < 1000 && !complete) return;
    if (style === 'bitfield') {
      this.write(complete && this.fast ? encodeMessage(MessageId.haveAll) : encodeMessage(MessageId.bitfield, this.peer.bitfield(count)));
    } else {
      const haves: Buffer[] = [];
      for (let i = this.told; i < count; i++) {
        const payload = Buffer.alloc(4);
        payload.writeUInt32BE(this.peer.pieceAt(i), 0);
        haves.push(encodeMessage(MessageId.have, payload));
      }
      this.write(Buffer.concat(haves));
    }
    this.told = count;
    this.lastFlush = nowMs;
  }

  private write(bytes: Buffer): void {
    if (this.socket.writable) this.socket.write(bytes);
  }
}

/** 0..n-1 in random order (Fisher-Yates). */
function shuffled(n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randomBytes(4).readUInt32BE(0) % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}
