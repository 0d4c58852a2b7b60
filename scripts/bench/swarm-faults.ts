// The faults the loopback swarm injects for the soak benchmark (soak.ts): which one a visit gets (a share
// of the handshakes, picked by a hash of the peer and its visit) and what the peer then does on the wire.
import type net from 'node:net';
import { haveMessage, KEEP_ALIVE, message } from './swarm-wire.ts';

/**
 * Faults injected per visit (shares of handshakes, picked by a hash of the peer and its visit), and the
 * reason btda must count for each. The soak benchmark (soak.ts) compares the two.
 */
export interface FaultMix {
  /** TCP reset right after our handshake arrives, before any reply → `reset`. */
  reset?: number;
  /** Accept and read, never answer (the connection idles until `idleMs`) → `timeout`. */
  stall?: number;
  /** Bytes that are not a BitTorrent handshake → `unknown-protocol`. */
  garbage?: number;
  /** FIN right after our handshake arrives → `closed-early`. */
  close?: number;
  /** A handshake for another torrent → `wrong-info-hash`. */
  wrongHash?: number;
  /** Handshake, then a hostile message: a 2^32-1 length prefix, a wrong-size bitfield or a have past the last piece → `bad-message`. */
  badMessage?: number;
  /** Handshake, then silence → `no-state` (after btda's --timeout). */
  silent?: number;
  /** Handshake, then a keep-alive every 5 s and nothing else → `no-state` (at btda's --contact-limit). */
  drip?: number;
  /** Handshake and the opening state, then a TCP reset after 1 s → `success` (what was read counts). */
  resetAfterState?: number;
  /** Share of endpoints that stop listening at a random moment within `vanishWithinMs` → `refused` afterwards. */
  vanishEndpoints?: number;
  vanishWithinMs?: number;
}

export const FAULT_KINDS = ['reset', 'stall', 'garbage', 'close', 'wrongHash', 'badMessage', 'silent', 'drip', 'resetAfterState'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Picks the fault of a visit from its hash and counts what it picked. */
export class FaultPicker {
  readonly counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  private readonly weights: number[];

  constructor(mix: FaultMix) {
    this.weights = FAULT_KINDS.map((k) => Math.max(0, mix[k] ?? 0));
  }

  /** The fault of this visit, or null (honest): faults take their shares of [0, 1), the rest is honest. */
  pick(h: number): FaultKind | null {
    let x = h / 0x100000000;
    for (let k = 0; k < FAULT_KINDS.length; k++) {
      if (x < this.weights[k]) {
        this.counts[FAULT_KINDS[k]]++;
        return FAULT_KINDS[k];
      }
      x -= this.weights[k];
    }
    return null;
  }
}

/** What a faulty peer needs to know of its torrent and its honest script. */
export interface FaultTarget {
  /** Its handshake (its torrent's info hash). */
  handshake: Buffer;
  /** Another torrent's info hash (a wrong-hash handshake); null when there is one torrent only. */
  otherInfoHash: Buffer | null;
  pieces: number;
  /** Its handshake and opening state, as the honest script sends them, and the pieces they convey. */
  opening: Buffer;
  openingPieces: number;
  /** A hash of the peer and its visit: picks the variant of a hostile message. */
  seed: number;
}

/** Plays `fault` on the socket after our handshake arrived (after `latency` ms); timers go to `timers`. */
export function injectFault(
  socket: net.Socket, fault: FaultKind, t: FaultTarget, timers: NodeJS.Timeout[], latency: number, conveyedPieces: (pieces: number) => void,
): void {
  const at = (ms: number, fn: () => void) => timers.push(setTimeout(fn, latency + ms));
  switch (fault) {
    case 'reset':
      return void at(0, () => socket.resetAndDestroy());
    case 'stall':
      return; // the idle timeout ends it on our side, long after btda's connect timeout
    case 'garbage': {
      const junk = Buffer.alloc(68, 0x47); // 'GGGG...': an HTTP-ish greeting, first byte not 19
      return void at(0, () => socket.write(junk));
    }
    case 'close':
      return void at(0, () => socket.end());
    case 'wrongHash': {
      const hs = Buffer.from(t.handshake);
      if (t.otherInfoHash) t.otherInfoHash.copy(hs, 28);
      else hs[28] ^= 0xff;
      return void at(0, () => socket.write(hs));
    }
    case 'badMessage': {
      const variant = t.seed % 3;
      const bad =
        variant === 0 ? Buffer.from([0xff, 0xff, 0xff, 0xff, 5, 0, 0]) // 2^32-1 length prefix
        : variant === 1 ? message(5, Buffer.alloc(Math.ceil(t.pieces / 8) + 3, 0xff)) // bitfield 3 bytes too long
        : haveMessage(t.pieces + 7); // have past the last piece
      return void at(0, () => socket.write(Buffer.concat([t.handshake, bad])));
    }
    case 'silent':
      return void at(0, () => socket.write(t.handshake));
    case 'drip':
      at(0, () => socket.write(t.handshake));
      for (let i = 1; i <= 20; i++) at(i * 5000, () => socket.write(KEEP_ALIVE));
      return;
    case 'resetAfterState':
      conveyedPieces(t.openingPieces);
      at(0, () => socket.write(t.opening));
      at(1000, () => socket.resetAndDestroy());
      return;
  }
}
