// What counts (README "What counts"): the one definition of a crossing, used by the writer when it records
// the fact and by `btda rederive` when counts are derived again from the observations. Pure functions over
// observed states; times in ms since the epoch.
//
// A session crosses at the first observed state at or above the threshold in force after a state below it
// was observed. The crossing is a fact recorded at that moment and never removed: a later, smaller state
// (a recheck, lt_donthave) changes nothing, and a run with another threshold judges only what it observes.

/** One observed state of a session, in the order it was read. */
export interface ObservedState {
  at: number;
  pieces: number;
}

export type CrossingClass = 'confirmed' | 'restart' | 'suspect';
export type SuspectReason = 'rate' | 'upload-only';

/**
 * Index of the state that crosses, or -1. `lowBefore` is the fewest pieces observed before these states
 * (null: none observed), `crossedBefore` whether the session has crossed already.
 */
export function crossingIndex(lowBefore: number | null, crossedBefore: boolean, states: readonly ObservedState[], thresholdPieces: number): number {
  if (crossedBefore) return -1;
  let low = lowBefore;
  for (let i = 0; i < states.length; i++) {
    const pieces = states[i].pieces;
    if (low !== null && low < thresholdPieces && pieces >= thresholdPieces) return i;
    low = low === null ? pieces : Math.min(low, pieces);
  }
  return -1;
}

/** Fewest pieces of `lowBefore` and the states. */
export function lowestPieces(lowBefore: number | null, states: readonly ObservedState[]): number | null {
  let low = lowBefore;
  for (const s of states) low = low === null ? s.pieces : Math.min(low, s.pieces);
  return low;
}

export interface PlausibilityLimits {
  pieceSize: number;
  /** Bytes per second no home link reaches (--suspect-rate). */
  maxRate: number;
}

/**
 * Why a crossing is not believable, or null. `lastBelow` is the latest state below the threshold before the
 * crossing; the rate from it to the crossing is a lower bound of the peer's real rate, so a lower bound
 * above the cap cannot be a download over the network (a file copied in, a recheck, two clients behind
 * one identity). A peer that said upload_only (BEP 21: wants nothing) while below the threshold was not
 * downloading either.
 */
export function suspectReason(crossing: ObservedState, lastBelow: ObservedState | null, uploadOnlyBelow: boolean, limits: PlausibilityLimits): SuspectReason | null {
  if (uploadOnlyBelow) return 'upload-only';
  if (lastBelow && limits.pieceSize > 0) {
    const seconds = Math.max(crossing.at - lastBelow.at, 1) / 1000;
    const rate = ((crossing.pieces - lastBelow.pieces) * limits.pieceSize) / seconds;
    if (rate > limits.maxRate) return 'rate';
  }
  return null;
}

/**
 * The class of a crossing. `byRestart`: the state below was observed in an earlier session of the same
 * program at this address:port, not in this session.
 */
export function crossingClass(byRestart: boolean, suspect: SuspectReason | null): CrossingClass {
  if (suspect) return 'suspect';
  return byRestart ? 'restart' : 'confirmed';
}
