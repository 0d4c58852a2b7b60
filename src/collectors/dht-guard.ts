// A UDP socket for our DHT node that lets only well-formed, small KRPC packets through.
//
// Why: bittorrent-dht reads every packet with k-rpc-socket, which decodes it with its own copy of the
// `bencode` package (v2). That decoder loops for ever on a negative string length (`l-3:e`) and recurses
// without a depth limit, so ONE packet from anyone on the internet could hang or crash btda. k-rpc-socket
// takes the dgram socket as an option (`socket`, passed through by bittorrent-dht and k-rpc), so we hand
// it one whose 'message' events are filtered: our strict decoder must accept a packet before any
// listener sees it. Everything the strict decoder accepts (no negative lengths, bounded depth, safe
// integers, exact end) is a value bencode v2 reads correctly and quickly.
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { BencodeError, decode, isDict, type BValue } from '../bencode/decode.ts';

/** A real KRPC message is under ~1.5 KB; BEP 44 values are at most 1000 bytes. */
export const MAX_KRPC_PACKET = 8 * 1024;
/** KRPC nests 3 levels (message, `a`/`r`, `values`); BEP 44 `v` may nest more, but not this much. */
const KRPC_LIMITS = { maxDepth: 16, maxItems: 2048 };

export type DropReason = 'too large' | 'not bencode' | 'not a KRPC message';

/** Why `packet` must not reach k-rpc-socket, or null when it may. */
export function krpcRejectReason(packet: Uint8Array): DropReason | null {
  if (packet.length > MAX_KRPC_PACKET) return 'too large';
  let value: BValue;
  try {
    value = decode(packet, KRPC_LIMITS);
  } catch (err) {
    if (err instanceof BencodeError) return 'not bencode';
    throw err;
  }
  // k-rpc-socket only acts on dictionaries with a `y`; bencode v2 builds plain objects, where a
  // `__proto__` key would replace the prototype: such a packet is not KRPC, drop it here.
  if (!isDict(value) || !Buffer.isBuffer(value.y) || hasProtoKey(value, 0)) return 'not a KRPC message';
  return null;
}

function hasProtoKey(v: BValue, depth: number): boolean {
  if (depth > KRPC_LIMITS.maxDepth) return true; // unreachable: decode already bounded the depth
  if (Array.isArray(v)) return v.some((x) => hasProtoKey(x, depth + 1));
  if (!isDict(v)) return false;
  for (const key of Object.keys(v)) {
    if (key === '__proto__' || hasProtoKey(v[key], depth + 1)) return true;
  }
  return false;
}

export interface GuardStats {
  /** Packets that reached the DHT code. */
  accepted: number;
  /** Packets dropped, in total and by reason. */
  dropped: number;
  droppedBy: Record<DropReason, number>;
  /** Packets to nodes the address policy refuses (a node list may name LAN or loopback nodes), never sent. */
  refusedSends: number;
}

export interface GuardedSocket {
  socket: dgram.Socket;
  readonly stats: GuardStats;
}

/**
 * A udp4 socket whose 'message' listeners only see packets `krpcRejectReason` lets through. Node's
 * dgram delivers every datagram with `socket.emit('message', buf, rinfo)`, so an own `emit` on the
 * instance filters them for every listener, present and future, however it was added.
 */
export function createGuardedDhtSocket(
  onDrop?: (reason: DropReason, from: dgram.RemoteInfo) => void,
  /** Judges every IP literal we would send to (host names, i.e. bootstrap routers, are the user's own choice). */
  mayContact?: (ip: string, port: number) => boolean,
): GuardedSocket {
  const socket = dgram.createSocket('udp4');
  const stats: GuardStats = { accepted: 0, dropped: 0, droppedBy: { 'too large': 0, 'not bencode': 0, 'not a KRPC message': 0 }, refusedSends: 0 };
  if (mayContact) {
    // k-rpc-socket sends as send(buf, offset, length, port, host, cb): nodes learned from other nodes' replies
    // go out this way, so a refused one is dropped here; its query times out and k-rpc forgets the node.
    const send = socket.send.bind(socket) as (...a: unknown[]) => void;
    socket.send = function policedSend(...a: unknown[]): void {
      const port = a[3];
      const host = a[4];
      if (typeof host === 'string' && typeof port === 'number' && isIP(host) !== 0 && !mayContact(host, port)) {
        stats.refusedSends++;
        const cb = a.find((x) => typeof x === 'function') as (() => void) | undefined;
        if (cb) queueMicrotask(cb);
        return;
      }
      send(...a);
    } as typeof socket.send;
  }
  const emit = socket.emit.bind(socket);
  socket.emit = function guardedEmit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'message') {
      const reason = Buffer.isBuffer(args[0]) ? krpcRejectReason(args[0]) : 'not bencode';
      if (reason) {
        stats.dropped++;
        stats.droppedBy[reason]++;
        onDrop?.(reason, args[1] as dgram.RemoteInfo);
        return false;
      }
      stats.accepted++;
    }
    return emit(event, ...args);
  } as typeof socket.emit;
  return { socket, stats };
}
