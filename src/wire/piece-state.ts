// The pieces a peer says it has: a compact bitfield (BEP 3 bit order, high bit of byte 0 = piece 0)
// with the count of set bits kept up to date, so reading the count never walks the bits. The bytes
// are allocated only when a single piece is asked about or changed: a state that is all or nothing
// (a new state, have_all, have_none: most seeds' only message) is just its count.

/** Set bits of every byte value: popcount by table lookup, one step per byte. */
const BITS_IN_BYTE = new Uint8Array(256);
for (let i = 1; i < 256; i++) BITS_IN_BYTE[i] = (i & 1) + BITS_IN_BYTE[i >> 1];

/** Set bits in a byte array. */
export function popcount(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) n += BITS_IN_BYTE[bytes[i]];
  return n;
}

/** Bytes of a bitfield for `pieces` pieces. */
export function bitfieldLength(pieces: number): number {
  return Math.ceil(pieces / 8);
}

/**
 * A peer's bitfield is valid when it has exactly ceil(pieces/8) bytes and the spare bits of the
 * last byte are zero (BEP 3: such a bitfield must be refused).
 */
export function isValidBitfield(bitfield: Uint8Array, pieces: number): boolean {
  if (bitfield.length !== bitfieldLength(pieces)) return false;
  const spare = bitfield.length * 8 - pieces;
  if (spare === 0) return true;
  return (bitfield[bitfield.length - 1] & ((1 << spare) - 1)) === 0;
}

export class PieceState {
  readonly pieces: number;
  /** Null while the state is uniform: every piece (setCount === pieces) or none (setCount === 0). */
  private bitsOrNull: Uint8Array | null = null;
  private setCount = 0;

  constructor(pieces: number) {
    if (!Number.isInteger(pieces) || pieces < 0) throw new RangeError(`bad piece count ${pieces}`);
    this.pieces = pieces;
  }

  /** The bytes, made on first use from the uniform state. */
  private get bits(): Uint8Array {
    if (this.bitsOrNull) return this.bitsOrNull;
    const bits = new Uint8Array(bitfieldLength(this.pieces));
    if (this.pieces > 0 && this.setCount === this.pieces) {
      bits.fill(0xff);
      const spare = bits.length * 8 - this.pieces;
      bits[bits.length - 1] = (0xff << spare) & 0xff;
    }
    this.bitsOrNull = bits;
    return bits;
  }

  /** A state from a peer's bitfield, or null when the bitfield is invalid (a bad message). */
  static fromBitfield(bitfield: Uint8Array, pieces: number): PieceState | null {
    const state = new PieceState(pieces);
    return state.replaceWith(bitfield) ? state : null;
  }

  /** Pieces set. */
  get count(): number {
    return this.setCount;
  }

  get complete(): boolean {
    return this.setCount === this.pieces;
  }

  /** Replace the state by a bitfield (the latest bitfield wins). False, state untouched, when invalid. */
  replaceWith(bitfield: Uint8Array): boolean {
    if (!isValidBitfield(bitfield, this.pieces)) return false;
    this.bits.set(bitfield);
    this.setCount = popcount(bitfield);
    return true;
  }

  /** have_all (BEP 6). */
  setAll(): void {
    if (this.pieces === 0) return;
    this.bitsOrNull = null;
    this.setCount = this.pieces;
  }

  /** have_none (BEP 6). */
  clear(): void {
    this.bitsOrNull = null;
    this.setCount = 0;
  }

  /** True when `index` is a piece of this torrent. */
  inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.pieces;
  }

  has(index: number): boolean {
    if (!this.inRange(index)) return false;
    if (!this.bitsOrNull) return this.setCount > 0; // uniform: all or none
    return (this.bits[index >>> 3] & (0x80 >>> (index & 7))) !== 0;
  }

  /** `have`: false when the index is out of range (a bad message); a piece already set is not counted twice. */
  set(index: number): boolean {
    if (!this.inRange(index)) return false;
    const bits = this.bits;
    const byte = index >>> 3;
    const mask = 0x80 >>> (index & 7);
    if ((bits[byte] & mask) === 0) {
      bits[byte] |= mask;
      this.setCount++;
    }
    return true;
  }

  /** `lt_donthave` (BEP 54): false when the index is out of range. */
  remove(index: number): boolean {
    if (!this.inRange(index)) return false;
    const bits = this.bits;
    const byte = index >>> 3;
    const mask = 0x80 >>> (index & 7);
    if ((bits[byte] & mask) !== 0) {
      bits[byte] &= ~mask;
      this.setCount--;
    }
    return true;
  }

  /** A copy of the bitfield bytes. */
  toBitfield(): Buffer {
    return Buffer.from(this.bits);
  }
}
