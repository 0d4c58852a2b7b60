// Wire bytes and the hash the loopback swarm builds its peers from (swarm-simulator.ts, swarm-faults.ts).

export const KEEP_ALIVE = Buffer.alloc(4);

export function message(id: number, payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(5 + payload.length);
  buf.writeUInt32BE(1 + payload.length, 0);
  buf[4] = id;
  payload.copy(buf, 5);
  return buf;
}

export function haveMessage(index: number): Buffer {
  const buf = Buffer.allocUnsafe(9);
  buf.writeUInt32BE(5, 0);
  buf[4] = 4;
  buf.writeUInt32BE(index, 5);
  return buf;
}

/** A well-mixed 32-bit hash of a number (the peer's trajectory is a function of its identity). */
export function hash32(n: number): number {
  let h = Math.imul((n % 0x100000000) ^ Math.floor(n / 0x100000000), 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
