// A scripted BitTorrent peer on 127.0.0.1 for tests: it plays a list of steps (handshake, bitfield,
// haves, waits, garbage, close...) on each connection and records every byte it receives, so a test
// can check what our side sent. As a server (startScriptedPeer) it answers our outgoing contacts,
// with a script per connection number (a peer that changes between visits); as a client
// (connectScriptedPeer) it plays an inbound peer against our listener.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { mseInitiate, mseRespond } from './mse-socket.ts';
import bencode from 'bencode';
import { buildHandshake, buildReserved, parseHandshake, HANDSHAKE_LENGTH, RESERVED_FAST_BIT, type PeerHandshake } from '../../src/wire/handshake.ts';
import { encodeMessage, KEEP_ALIVE_MESSAGE, MessageId, readAllMessages, type WireMessage } from '../../src/wire/message-reader.ts';
import { buildExtendedMessage } from '../../src/wire/extension-handshake.ts';
import { buildPortMessage } from '../../src/wire/port.ts';

const HOST = '127.0.0.1';
/** Longest a step waits for the other side's handshake: keeps every script bounded. */
const AWAIT_HANDSHAKE_MS = 5000;

export type Step =
  /** Send a handshake (ours by default; override fields to lie). */
  | { handshake: true | { infoHash?: Buffer; peerId?: Buffer; reserved?: Buffer } }
  /** Wait until the other side's 68-byte handshake has arrived. */
  | { awaitHandshake: true }
  /** Bitfield: the first n pieces, a list of piece indices, or raw payload bytes. */
  | { bitfield: number | number[] | Buffer }
  | { have: number | number[] }
  | { haveAll: true }
  | { haveNone: true }
  /** Extended handshake with this dictionary (bencoded). */
  | { extHandshake: Record<string, unknown> }
  | { extended: { id: number; payload: Uint8Array } }
  | { message: { id: number; payload?: Uint8Array } }
  | { port: number }
  | { keepAlive: true }
  | { raw: Uint8Array }
  /** A bare 4-byte length prefix (e.g. 0xffffffff). */
  | { lengthPrefix: number }
  | { wait: number }
  /**
   * Serve BEP 9 metadata: answer each ut_metadata request the other side sends with a data message
   * holding that piece of `info`, until the socket closes or `forMs` (default 5000) has passed.
   * `localId` is the ut_metadata id this peer announced in its extHandshake step (requests arrive
   * with it; default 3); replies use the id the other side announced in its extension handshake.
   * `answer` may replace the reply to a request: see MetadataAnswer.
   */
  | { serveMetadata: ServeMetadata }
  /** Close with a FIN. */
  | { close: true }
  /** Close with a RST. */
  | { reset: true };

export interface ServeMetadata {
  info: Buffer;
  localId?: number;
  forMs?: number;
  answer?: (piece: number, info: Buffer) => MetadataAnswer;
}

/**
 * The reply to one metadata request: undefined = the right piece; `data` = a data message with these
 * bytes (and `piece` / `totalSize` when given, else the requested piece and info.length); `reject`;
 * `raw` bytes as they are; null = no reply.
 */
export type MetadataAnswer =
  | undefined
  | null
  | { data: Uint8Array; piece?: number; totalSize?: number }
  | { reject: true }
  | { raw: Uint8Array };

export interface ScriptedPeerOptions {
  infoHash: Buffer;
  /** Listening peer: the loopback address it binds (default 127.0.0.1; '::1' for IPv6). Connecting peer: where it dials. */
  host?: string;
  /** Default: '-SP0001-' + 12 random letters, one per scripted peer (a client session). */
  peerId?: Buffer;
  /** Default: extension protocol + fast. */
  reserved?: Buffer;
  /** Piece count, for `bitfield: n` and index lists (default 64). */
  pieces?: number;
  script: Step[] | ((connection: number) => Step[]);
  /** Wait for the other side's handshake before the first step (default: true as server, false as client). */
  awaitHandshake?: boolean;
  /** Speak MSE/PE: as server, answer only encrypted handshakes (a plaintext one is closed at once, like a
   *  client set to require encryption); as client, open with one. */
  encrypted?: boolean;
  /** As client: the local address to connect from (inside a private network namespace, any address on lo). */
  localAddress?: string;
}

export interface ReceivedWire {
  handshake: PeerHandshake | null;
  messages: WireMessage[];
  /** Message ids received (-1 = keep-alive). */
  ids: number[];
}

export interface ScriptedConnection {
  index: number;
  socket: net.Socket;
  /** All bytes received so far. */
  received(): Buffer;
  /** The received bytes parsed: the handshake, then messages. */
  parsed(): ReceivedWire;
  /** Resolves when the socket has closed. */
  closed: Promise<void>;
  /** Resolves when the script has run (or stopped because the socket closed). */
  scriptDone: Promise<void>;
  /** This peer sent a handshake with the Fast bit (BEP 6) set. */
  sentFast(): boolean;
  /** Bytes received from our side before this peer's handshake was sent whole (-1: it was not). */
  receivedBeforeHandshake(): number;
}

export interface ScriptedPeer {
  port: number;
  connections: ScriptedConnection[];
  /** TCP connections accepted, including those refused before the script ran (a plaintext handshake to an `encrypted` peer). */
  readonly accepted: number;
  /** Resolves with connection number `index` once it has been accepted. */
  connection(index: number): Promise<ScriptedConnection>;
  close(): Promise<void>;
}

/** Each scripted peer is its own client: '-SP0001-' + 12 random letters, the same for all its connections. */
function newPeerId(): Buffer {
  return Buffer.from('-SP0001-' + Array.from(randomBytes(12), (b) => String.fromCharCode(97 + (b % 26))).join(''), 'latin1');
}

/** Ids our side may ever send: have_none, extended, port, keep-alive (never interested/request/piece...). */
export const ALLOWED_FROM_US = new Set<number>([MessageId.haveNone, MessageId.extended, MessageId.port, -1]);

/**
 * Ids received that we must never send, then what is wrong with the opening (see openingProblems):
 * [] when our side behaved.
 */
export function forbiddenIds(conn: ScriptedConnection): (number | string)[] {
  return [...conn.parsed().ids.filter((id) => !ALLOWED_FROM_US.has(id)), ...openingProblems(conn)];
}

/**
 * BEP 6 as this peer saw our side: when both handshakes set the Fast bit, the first message after the
 * handshake is have_none and no other bitfield/have_all/have_none follows; when either lacks the bit,
 * none of them at all; and nothing after our handshake before the peer's was sent. (A contact that sent no message at all, e.g. closed at a wrong info hash, passes:
 * tests that expect the opening assert it.)
 */
export function openingProblems(conn: ScriptedConnection): string[] {
  const { handshake, ids } = conn.parsed();
  if (!handshake) return [];
  // aria2 drops a peer whose handshake and next message arrive in one read: nothing after our handshake
  // may be sent before the peer's handshake has been read
  if (conn.receivedBeforeHandshake() > HANDSHAKE_LENGTH) return [`${conn.receivedBeforeHandshake() - HANDSHAKE_LENGTH} bytes after our handshake before the peer's`];
  const fast = handshake.fast && conn.sentFast();
  const piecesStates = ids.filter((id) => id === MessageId.haveNone || id === MessageId.haveAll || id === MessageId.bitfield);
  if (!fast) return piecesStates.length === 0 ? [] : [`sent ${piecesStates} although Fast was not set on both sides`];
  if (ids.length === 0) return [];
  const problems: string[] = [];
  if (ids[0] !== MessageId.haveNone) problems.push(`first message after the handshake is ${ids[0]}, not have_none (Fast on both sides)`);
  if (piecesStates.length !== 1) problems.push(`${piecesStates.length} bitfield/have_all/have_none messages, not exactly one`);
  return problems;
}

function bitfieldPayload(spec: number | number[] | Buffer, pieces: number): Buffer {
  if (Buffer.isBuffer(spec)) return spec;
  const bits = Buffer.alloc(Math.ceil(pieces / 8));
  const indices = typeof spec === 'number' ? Array.from({ length: spec }, (_, i) => i) : spec;
  for (const i of indices) bits[i >> 3] |= 0x80 >> (i & 7);
  return bits;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function encodeStep(step: Step, opts: ScriptedPeerOptions): Buffer | null {
  const pieces = opts.pieces ?? 64;
  if ('handshake' in step) {
    const o = step.handshake === true ? {} : step.handshake;
    const hs = buildHandshake(o.infoHash ?? opts.infoHash, o.peerId ?? opts.peerId!);
    (o.reserved ?? opts.reserved ?? buildReserved()).copy(hs, 20);
    return hs;
  }
  if ('bitfield' in step) return encodeMessage(MessageId.bitfield, bitfieldPayload(step.bitfield, pieces));
  if ('have' in step) {
    const list = Array.isArray(step.have) ? step.have : [step.have];
    return Buffer.concat(list.map((i) => encodeMessage(MessageId.have, u32(i))));
  }
  if ('haveAll' in step) return encodeMessage(MessageId.haveAll);
  if ('haveNone' in step) return encodeMessage(MessageId.haveNone);
  if ('extHandshake' in step) return buildExtendedMessage(0, bencode.encode(step.extHandshake));
  if ('extended' in step) return buildExtendedMessage(step.extended.id, step.extended.payload);
  if ('message' in step) return encodeMessage(step.message.id, step.message.payload);
  if ('port' in step) return buildPortMessage(step.port);
  if ('keepAlive' in step) return KEEP_ALIVE_MESSAGE;
  if ('raw' in step) return Buffer.from(step.raw);
  if ('lengthPrefix' in step) return u32(step.lengthPrefix);
  return null;
}

export function parseReceived(bytes: Buffer): ReceivedWire {
  const hs = parseHandshake(bytes);
  if (hs.status !== 'done') return { handshake: null, messages: [], ids: [] };
  const ids: number[] = [];
  const { messages } = readAllMessages(bytes.subarray(hs.consumed), 1 << 24);
  for (const m of messages) {
    if (m.type === 'keep-alive') ids.push(-1);
    else if (m.type === 'bad' || m.type === 'unknown') ids.push(m.id);
    else ids.push(messageIdOf(m.type));
  }
  return { handshake: hs.handshake, messages, ids };
}

const TYPE_IDS: Record<string, number> = {
  choke: 0, unchoke: 1, interested: 2, 'not-interested': 3, have: 4, bitfield: 5, request: 6, piece: 7,
  cancel: 8, port: 9, suggest: 0x0d, 'have-all': 0x0e, 'have-none': 0x0f, reject: 0x10, 'allowed-fast': 0x11, extended: 20,
};
const messageIdOf = (type: string): number => TYPE_IDS[type] ?? -2;

function decodeDict(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const d = bencode.decode(bytes);
    return d && typeof d === 'object' && !Array.isArray(d) && !ArrayBuffer.isView(d) ? (d as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The other side's ut_metadata id (from its extension handshake) and the pieces it requested, in order. */
function metadataRequests(messages: WireMessage[], localId: number): { remoteId: number | null; requests: number[] } {
  let remoteId: number | null = null;
  const requests: number[] = [];
  for (const m of messages) {
    if (m.type !== 'extended') continue;
    const d = decodeDict(m.payload);
    if (!d) continue;
    if (m.extId === 0) {
      const id = (d.m as Record<string, unknown> | undefined)?.ut_metadata;
      if (typeof id === 'number' && id > 0) remoteId = id;
    } else if (m.extId === localId && d.msg_type === 0 && typeof d.piece === 'number') {
      requests.push(d.piece);
    }
  }
  return { remoteId, requests };
}

function metadataReply(remoteId: number, piece: number, spec: ServeMetadata): Buffer | null {
  const answer = spec.answer?.(piece, spec.info);
  if (answer === null) return null;
  if (answer && 'raw' in answer) return Buffer.from(answer.raw);
  if (answer && 'reject' in answer) return buildExtendedMessage(remoteId, bencode.encode({ msg_type: 2, piece }));
  const data = answer ? answer.data : spec.info.subarray(piece * 16384, (piece + 1) * 16384);
  const dict = bencode.encode({ msg_type: 1, piece: answer?.piece ?? piece, total_size: answer?.totalSize ?? spec.info.length });
  return buildExtendedMessage(remoteId, Buffer.concat([dict, data]));
}

/** Play `steps` on a connected socket, recording what arrives. */
export function runScript(
  socket: net.Socket, index: number, steps: Step[], opts: ScriptedPeerOptions, awaitFirst: boolean,
  /** Bytes already received (the plaintext that came with an encrypted handshake). */
  initial: Buffer = Buffer.alloc(0),
): ScriptedConnection {
  const chunks: Buffer[] = initial.length > 0 ? [initial] : [];
  let size = initial.length;
  let wake: (() => void) | null = null;
  socket.on('error', () => {}); // resets are part of the tests
  socket.on('data', (c: Buffer) => {
    chunks.push(c);
    size += c.length;
    wake?.();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => {
    wake?.();
    resolve();
  }));
  const received = () => Buffer.concat(chunks, size);
  /** The first bytes this peer sent (its handshake, scripted whole or in raw pieces). */
  let opening = Buffer.alloc(0);
  /** Bytes received by the time this peer's handshake was written whole (-1: not yet). */
  let receivedBeforeHandshake = -1;

  const awaitHandshake = () =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, AWAIT_HANDSHAKE_MS);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = () => {
        if (size >= HANDSHAKE_LENGTH || socket.destroyed) done();
      };
      wake();
    });

  /** Resolves on new data, close, or after `ms`. */
  const nextEvent = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  const serveMetadata = async (spec: ServeMetadata) => {
    const localId = spec.localId ?? 3;
    const deadline = Date.now() + (spec.forMs ?? 5000);
    let answered = 0;
    while (!socket.destroyed && Date.now() < deadline) {
      const { remoteId, requests } = metadataRequests(parseReceived(received()).messages, localId);
      for (; remoteId !== null && answered < requests.length; answered++) {
        const bytes = metadataReply(remoteId, requests[answered], spec);
        if (bytes && socket.writable) socket.write(bytes);
      }
      if (socket.readableEnded) return;
      await nextEvent(deadline - Date.now());
    }
  };

  const play = async () => {
    if (awaitFirst) await awaitHandshake();
    for (const step of steps) {
      if (socket.destroyed) return;
      if ('wait' in step) await new Promise((r) => setTimeout(r, step.wait));
      else if ('awaitHandshake' in step) await awaitHandshake();
      else if ('close' in step) socket.end();
      else if ('reset' in step) socket.resetAndDestroy();
      else if ('serveMetadata' in step) await serveMetadata(step.serveMetadata);
      else {
        const bytes = encodeStep(step, opts);
        if (bytes && socket.writable) socket.write(bytes);
        if (bytes && opening.length < HANDSHAKE_LENGTH) {
          opening = Buffer.concat([opening, bytes]).subarray(0, HANDSHAKE_LENGTH);
          if (opening.length === HANDSHAKE_LENGTH) receivedBeforeHandshake = size;
        }
      }
    }
  };
  return { index, socket, received, parsed: () => parseReceived(received()), closed, scriptDone: play(), sentFast: () => opening.length > 27 && opening[0] === 19 && (opening[27] & RESERVED_FAST_BIT) !== 0,
    receivedBeforeHandshake: () => receivedBeforeHandshake };
}

/** A scripted peer listening on 127.0.0.1 (an ephemeral port). */
export async function startScriptedPeer(opts: ScriptedPeerOptions): Promise<ScriptedPeer> {
  opts = { ...opts, peerId: opts.peerId ?? newPeerId() };
  const connections: ScriptedConnection[] = [];
  const waiters = new Map<number, (c: ScriptedConnection) => void>();
  let accepted = 0;
  const server = net.createServer(async (socket) => {
    accepted++;
    const index = connections.length;
    const steps = typeof opts.script === 'function' ? opts.script(index) : opts.script;
    let initial: Buffer | undefined;
    if (opts.encrypted) {
      socket.on('error', () => {});
      const payload = await mseRespond(socket, opts.infoHash).catch(() => null);
      if (!payload) return void socket.destroy();
      initial = payload;
    }
    const conn = runScript(socket, index, steps, opts, opts.awaitHandshake ?? true, initial);
    connections.push(conn);
    waiters.get(index)?.(conn);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? HOST, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    connections,
    get accepted() {
      return accepted;
    },
    connection: (index) =>
      connections[index] ? Promise.resolve(connections[index]) : new Promise((resolve) => waiters.set(index, resolve)),
    close: async () => {
      for (const c of connections) c.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A scripted peer that connects to `port` on 127.0.0.1 (an inbound peer for our listener). */
export async function connectScriptedPeer(port: number, opts: ScriptedPeerOptions): Promise<ScriptedConnection> {
  opts = { ...opts, peerId: opts.peerId ?? newPeerId() };
  const socket = net.connect({ host: opts.host ?? HOST, port, localAddress: opts.localAddress });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const steps = typeof opts.script === 'function' ? opts.script(0) : opts.script;
  const initial = opts.encrypted ? await mseInitiate(socket, opts.infoHash) : undefined;
  return runScript(socket, 0, steps, opts, opts.awaitHandshake ?? false, initial);
}
