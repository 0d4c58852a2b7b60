// The pieces a peer says it has: a compact bitfield (BEP 3 bit order, high bit of byte 0 = piece 0)
// with the count of set bits kept up to date, so reading the count never walks the bits.

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
  private readonly bits: Uint8Array;
  private setCount = 0;

  constructor(pieces: number) {
    if (!Number.isInteger(pieces) || pieces < 0) throw new RangeError(`bad piece count ${pieces}`);
    this.pieces = pieces;
    this.bits = new Uint8Array(bitfieldLength(pieces));
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
    this.bits.fill(0xff);
    const spare = this.bits.length * 8 - this.pieces;
    this.bits[this.bits.length - 1] = (0xff << spare) & 0xff;
    this.setCount = this.pieces;
  }

  /** have_none (BEP 6). */
  clear(): void {
    this.bits.fill(0);
    this.setCount = 0;
  }

  /** True when `index` is a piece of this torrent. */
  inRange(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.pieces;
  }

  has(index: number): boolean {
    if (!this.inRange(index)) return false;
    return (this.bits[index >>> 3] & (0x80 >>> (index & 7))) !== 0;
  }

  /** `have`: false when the index is out of range (a bad message); a piece already set is not counted twice. */
  set(index: number): boolean {
    if (!this.inRange(index)) return false;
    const byte = index >>> 3;
    const mask = 0x80 >>> (index & 7);
    if ((this.bits[byte] & mask) === 0) {
      this.bits[byte] |= mask;
      this.setCount++;
    }
    return true;
  }

  /** `lt_donthave` (BEP 54): false when the index is out of range. */
  remove(index: number): boolean {
    if (!this.inRange(index)) return false;
    const byte = index >>> 3;
    const mask = 0x80 >>> (index & 7);
    if ((this.bits[byte] & mask) !== 0) {
      this.bits[byte] &= ~mask;
      this.setCount--;
    }
    return true;
  }

  /** A copy of the bitfield bytes. */
  toBitfield(): Buffer {
    return Buffer.from(this.bits);
  }
}
