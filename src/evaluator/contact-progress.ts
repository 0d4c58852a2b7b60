// What one contact learns about a peer's pieces, apart from sockets: the state messages in order,
// the opening state, and the moment the state crossed the threshold. Times are passed in, so the
// rules are testable to the millisecond.
import { PieceState } from '../wire/piece-state.ts';

export class ContactProgress {
  private state: PieceState | null = null;
  private openedAtMs: number | null = null;
  private opening: number | null = null;
  /** Set once an update arrives after the opening grace: the opening state is fixed from then on. */
  private sealed = false;
  private crossed: number | null = null;
  private crossedCount: number | null = null;

  constructor(
    readonly pieces: number,
    readonly thresholdPieces: number,
    /** Updates this soon after the first state message still belong to the opening state (lazy bitfields). */
    readonly openingGraceMs: number,
  ) {}

  get hasState(): boolean {
    return this.state !== null;
  }
  /** The peer has every piece: nothing more to learn in this contact. */
  get complete(): boolean {
    return this.state !== null && this.state.complete;
  }
  get openingPieces(): number | null {
    return this.opening;
  }
  get openedAt(): number | null {
    return this.openedAtMs;
  }
  get endPieces(): number | null {
    return this.state ? this.state.count : null;
  }
  get crossedAt(): number | null {
    return this.crossed;
  }
  get crossedPieces(): number | null {
    return this.crossedCount;
  }

  /** A bitfield replaces the state (clients send several: the latest wins). False when invalid. */
  bitfield(bits: Uint8Array, at: number): boolean {
    if (!this.state) {
      const state = PieceState.fromBitfield(bits, this.pieces);
      if (!state) return false;
      this.state = state;
    } else if (!this.state.replaceWith(bits)) {
      return false;
    }
    this.changed(at);
    return true;
  }

  /** A have adds a piece (a have before any bitfield starts from nothing). False when out of range. */
  have(index: number, at: number): boolean {
    const state = this.state ?? new PieceState(this.pieces);
    if (!state.set(index)) return false;
    this.state = state;
    this.changed(at);
    return true;
  }

  haveAll(at: number): void {
    this.ensureState().setAll();
    this.changed(at);
  }

  haveNone(at: number): void {
    this.ensureState().clear();
    this.changed(at);
  }

  /** lt_donthave removes a piece; before any state there is nothing to remove. False when out of range. */
  dontHave(index: number, at: number): boolean {
    if (!this.state) return index >= 0 && index < this.pieces;
    if (!this.state.remove(index)) return false;
    this.changed(at);
    return true;
  }

  private ensureState(): PieceState {
    this.state ??= new PieceState(this.pieces);
    return this.state;
  }

  private changed(at: number): void {
    const count = this.state!.count;
    if (this.openedAtMs === null) {
      this.openedAtMs = at;
      this.opening = count;
      return;
    }
    if (!this.sealed) {
      if (at - this.openedAtMs <= this.openingGraceMs) {
        this.opening = count;
        return;
      }
      this.sealed = true;
    }
    if (this.crossed === null && this.opening! < this.thresholdPieces && count >= this.thresholdPieces) {
      this.crossed = at;
      this.crossedCount = count;
    }
  }
}
