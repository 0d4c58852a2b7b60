// Counts derived again from the evidence (README "Re-deriving counts"): every session's crossing is
// recomputed from its observations in order, by the one definition in crossing.ts, with the threshold in
// force per observation (its run's `runs.threshold`, or one threshold for all) and the suspect rate of its
// run (`runs.suspect_rate`, or one rate for all). `btda rederive` and `btda merge` use it; the writer records
// the same facts as it observes them, so re-deriving an untouched database changes nothing.
import { bytesPerSecond, thresholdPieces } from '../config.ts';
import { crossingClass, crossingIndex, lowestPieces, suspectReason, type CrossingClass, type ObservedState } from './crossing.ts';
import type { Database } from './database.ts';

export interface RederiveOptions {
  /** One threshold (0..1) for every observation; default: the threshold of each observation's run. */
  threshold?: number;
  /** One suspect rate (Mbit/s) for every crossing; default: the rate of the crossing's run. */
  suspectRate?: number;
  /** Mbit/s for runs of an older btda, which did not record theirs. */
  defaultSuspectRate: number;
  /** Compute and report, write nothing. */
  dryRun: boolean;
}

/** What a session's recorded crossing is: the columns of `peers` that rederive owns. */
export interface CrossingFact {
  lowPieces: number | null;
  crossedAt: string | null;
  crossedPieces: number | null;
  crossedThreshold: number | null;
  crossingClass: CrossingClass | null;
  suspectReason: string | null;
  crossedObservation: number | null;
}

export type ClassOrNone = CrossingClass | 'none';

export interface RederiveReport {
  sessions: number;
  /** Sessions whose fact changed (class, time, pieces, threshold, reason or observation). */
  changed: number;
  before: Record<ClassOrNone, number>;
  after: Record<ClassOrNone, number>;
  /** "confirmed → none": sessions that moved from one class to another. */
  moves: Record<string, number>;
}

interface Observation extends ObservedState {
  id: number;
  runId: number;
  atText: string;
  uploadOnly: boolean;
}

interface RunFacts {
  id: number;
  startedAt: string;
  threshold: number;
  suspectRate: number | null;
}

const CHUNK = 5000;

export function rederiveCrossings(db: Database, opts: RederiveOptions): RederiveReport {
  const sqlite = db.sqlite;
  const runs = sqlite.prepare('SELECT id, started_at startedAt, threshold, suspect_rate suspectRate FROM runs ORDER BY started_at, id').all() as RunFacts[];
  const runById = new Map(runs.map((r) => [r.id, r]));
  const torrents = new Map((sqlite.prepare('SELECT id, pieces, piece_size pieceSize FROM torrents').all() as
    { id: number; pieces: number | null; pieceSize: number | null }[]).map((t) => [t.id, t]));
  // observations migrated from an older btda (run 0) belong to the run that was under way when they were seen
  const runOf = (o: { runId: number; atText: string }): RunFacts | undefined =>
    runById.get(o.runId) ?? runs.filter((r) => r.startedAt <= o.atText).at(-1) ?? runs[0];
  const thresholdOf = (pieces: number, o: Observation): number =>
    thresholdPieces(pieces, opts.threshold ?? runOf(o)?.threshold ?? 1);
  const maxRateOf = (o: Observation): number =>
    bytesPerSecond(opts.suspectRate ?? runOf(o)?.suspectRate ?? opts.defaultSuspectRate);

  // predecessors of restarts: their derived crossing is needed when their successor is judged
  const predecessors = new Set((sqlite.prepare('SELECT DISTINCT restart_of r FROM peers WHERE restart_of IS NOT NULL').all() as { r: number }[]).map((x) => x.r));
  const crossedObservationOf = new Map<number, number | null>();

  const sessionsStmt = sqlite.prepare(`SELECT id, torrent_id torrentId, restart_of restartOf, low_pieces lowPieces, crossed_at crossedAt,
      crossed_pieces crossedPieces, crossed_threshold crossedThreshold, crossing_class crossingClass, suspect_reason suspectReason,
      crossed_observation crossedObservation FROM peers WHERE id > ? ORDER BY id LIMIT ?`);
  const observationsStmt = sqlite.prepare(`SELECT id, peer_row peerRow, run_id runId, at atText, pieces, upload_only uploadOnly
      FROM observations WHERE peer_row BETWEEN ? AND ? ORDER BY peer_row, id`);
  const earlierStmt = sqlite.prepare(`SELECT id, run_id runId, at atText, pieces, upload_only uploadOnly
      FROM observations WHERE peer_row = ? AND id < ? ORDER BY id`);
  const update = sqlite.prepare(`UPDATE peers SET low_pieces = ?, crossed_at = ?, crossed_pieces = ?, crossed_threshold = ?,
      crossing_class = ?, suspect_reason = ?, crossed_observation = ? WHERE id = ?`);

  const report: RederiveReport = { sessions: 0, changed: 0, before: emptyCounts(), after: emptyCounts(), moves: {} };
  const run = () => {
    let after = 0;
    for (;;) {
      const sessions = sessionsStmt.all(after, CHUNK) as (CrossingFact & { id: number; torrentId: number; restartOf: number | null })[];
      if (sessions.length === 0) break;
      after = sessions[sessions.length - 1].id;
      const bySession = new Map<number, Observation[]>();
      for (const row of observationsStmt.all(sessions[0].id, after) as (RawObservation & { peerRow: number })[]) {
        let list = bySession.get(row.peerRow);
        if (!list) bySession.set(row.peerRow, (list = []));
        list.push(observation(row));
      }
      for (const s of sessions) {
        const torrent = torrents.get(s.torrentId);
        const observations = bySession.get(s.id) ?? [];
        let predecessor: Predecessor | null = null;
        if (s.restartOf !== null && observations.length > 0) {
          const crossedAt = crossedObservationOf.get(s.restartOf) ?? null;
          // the predecessor counts only if it had not crossed when this session appeared
          if (crossedAt === null || crossedAt > observations[0].id) {
            predecessor = { observations: (earlierStmt.all(s.restartOf, observations[0].id) as RawObservation[]).map(observation) };
          }
        }
        const fact = torrent?.pieces ? deriveFact(observations, predecessor, {
          threshold: (o) => thresholdOf(torrent.pieces!, o),
          maxRate: maxRateOf,
          pieceSize: torrent.pieceSize ?? 0,
        }) : { ...NO_CROSSING, lowPieces: lowestPieces(null, observations) };
        if (predecessors.has(s.id)) crossedObservationOf.set(s.id, fact.crossedObservation);
        report.sessions++;
        const from = s.crossingClass ?? 'none';
        const to = fact.crossingClass ?? 'none';
        report.before[from]++;
        report.after[to]++;
        if (from !== to) report.moves[`${from} → ${to}`] = (report.moves[`${from} → ${to}`] ?? 0) + 1;
        if (!sameFact(s, fact)) {
          report.changed++;
          if (!opts.dryRun) {
            update.run(fact.lowPieces, fact.crossedAt, fact.crossedPieces, fact.crossedThreshold, fact.crossingClass,
              fact.suspectReason, fact.crossedObservation, s.id);
          }
        }
      }
    }
  };
  if (opts.dryRun) run();
  else sqlite.transaction(run)();
  return report;
}

interface RawObservation {
  id: number;
  runId: number;
  atText: string;
  pieces: number;
  uploadOnly: number;
}

interface Predecessor {
  /** Its observations before the restarted session's first one. */
  observations: Observation[];
}

interface Judge {
  /** Pieces of the threshold in force for an observation. */
  threshold(o: Observation): number;
  /** Bytes/s above which a crossing observed in `o` is suspect. */
  maxRate(o: Observation): number;
  pieceSize: number;
}

const NO_CROSSING: CrossingFact = Object.freeze({
  lowPieces: null, crossedAt: null, crossedPieces: null, crossedThreshold: null, crossingClass: null, suspectReason: null, crossedObservation: null,
});

/**
 * The crossing of one session, as the writer records it contact by contact: observations are judged in runs of
 * one threshold with crossingIndex; a restarted program's first observation is judged against the below state
 * of the session it follows.
 */
export function deriveFact(observations: readonly Observation[], predecessor: Predecessor | null, judge: Judge): CrossingFact {
  const lowPieces = lowestPieces(null, observations);
  if (observations.length === 0) return { ...NO_CROSSING, lowPieces };
  let crossed = -1;
  let byRestart = false;
  let belowIn: readonly Observation[] = observations;
  if (predecessor) {
    // a restarted program's first state is judged against the session it follows (within one contact the
    // pieces only grow, so no own crossing can come first)
    const inherited = lowestPieces(null, predecessor.observations);
    if (inherited !== null && crossingIndex(inherited, false, observations.slice(0, 1), judge.threshold(observations[0])) === 0) {
      crossed = 0;
      byRestart = true;
      belowIn = predecessor.observations;
    }
  }
  let low: number | null = null;
  for (let start = 0; start < observations.length && crossed === -1;) {
    const threshold = judge.threshold(observations[start]);
    let end = start + 1;
    while (end < observations.length && judge.threshold(observations[end]) === threshold) end++;
    const group = observations.slice(start, end);
    const i = crossingIndex(low, false, group, threshold);
    if (i !== -1) crossed = start + i;
    low = lowestPieces(low, group);
    start = end;
  }
  if (crossed === -1) return { ...NO_CROSSING, lowPieces };
  const c = observations[crossed];
  const threshold = judge.threshold(c);
  const before = byRestart ? belowIn : belowIn.slice(0, crossed);
  const lastBelow = before.filter((o) => o.pieces < threshold).at(-1) ?? null;
  const uploadOnlyBelow = before.some((o) => o.uploadOnly && o.pieces < threshold);
  const reason = suspectReason(c, lastBelow, uploadOnlyBelow, { pieceSize: judge.pieceSize, maxRate: judge.maxRate(c) });
  return {
    lowPieces,
    crossedAt: c.atText,
    crossedPieces: c.pieces,
    crossedThreshold: threshold,
    crossingClass: crossingClass(byRestart, reason),
    suspectReason: reason,
    crossedObservation: c.id,
  };
}

function observation(r: RawObservation): Observation {
  return { id: r.id, runId: r.runId, atText: r.atText, at: Date.parse(r.atText), pieces: r.pieces, uploadOnly: r.uploadOnly === 1 };
}

function sameFact(a: CrossingFact, b: CrossingFact): boolean {
  return a.lowPieces === b.lowPieces && a.crossedAt === b.crossedAt && a.crossedPieces === b.crossedPieces &&
    a.crossedThreshold === b.crossedThreshold && a.crossingClass === b.crossingClass && a.suspectReason === b.suspectReason &&
    a.crossedObservation === b.crossedObservation;
}

function emptyCounts(): Record<ClassOrNone, number> {
  return { confirmed: 0, restart: 0, suspect: 0, none: 0 };
}
