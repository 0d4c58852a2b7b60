// `btda explain`: the observations that prove a count, as text. A count that cannot be explained from
// stored observations is not a result (README "What counts").
import type { ObservationRow, SessionEvidence } from '../store/queries/evidence.ts';

const CLASS_TEXT: Record<string, string> = {
  confirmed: 'confirmed download',
  restart: 'confirmed across a restart (not in the headline)',
  suspect: 'suspect crossing (not in the headline)',
};

export function explainText(sessions: SessionEvidence[], restartedFrom: Map<number, SessionEvidence>): string {
  if (sessions.length === 0) return 'no such peer session\n';
  const out: string[] = [];
  for (const s of sessions) {
    out.push(`peer row ${s.row}: torrent ${s.torrentName ?? '?'} (${s.infoHash.slice(0, 12)}…), ${s.address} port ${s.port}, ` +
      `${s.client ?? 'unknown client'}${s.clientVersion && s.clientVersion !== s.client ? ` (${s.clientVersion})` : ''}, ` +
      `sources ${s.sources || '-'}, ${s.visits} successful contact${s.visits === 1 ? '' : 's'}`);
    if (s.crossingClass) {
      out.push(`  ${CLASS_TEXT[s.crossingClass] ?? s.crossingClass}${s.suspectReason ? ` (reason: ${s.suspectReason})` : ''}: ` +
        `at ${s.crossedAt}, ${s.crossedPieces} of ${s.pieces ?? '?'} pieces, threshold ${s.thresholdPieces} pieces in force`);
    } else {
      out.push('  no crossing recorded');
    }
    const before = s.restartOf !== null ? restartedFrom.get(s.restartOf) : undefined;
    if (before) {
      out.push(`  follows session row ${before.row} of the same client at this address:port (a restart with a new peer id):`);
      for (const o of before.observations) out.push(observationLine(o, null));
    }
    out.push('  observations (state changes):');
    for (const o of s.observations) out.push(observationLine(o, s.crossedObservation));
    out.push('');
  }
  return out.join('\n') + '\n';
}

function observationLine(o: ObservationRow, crossed: number | null): string {
  const how = `${o.direction === 'in' ? 'inbound' : o.direction === 'out' ? 'outgoing' : o.direction} ${o.event}, ` +
    `IPv${o.family}, ${o.encrypted ? 'MSE/PE' : 'plaintext'}`;
  const who = [o.peerId ? `peer id ${peerIdPrefix(o.peerId)}` : '', o.client ?? '', o.uploadOnly ? 'upload_only' : ''].filter(Boolean).join(', ');
  return `    ${o.at}  ${o.phase.padEnd(5)} ${String(o.pieces).padStart(7)} pieces  run ${o.runId}  ${how}${who ? `  ${who}` : ''}` +
    (o.id === crossed ? '  <- crossing' : '');
}

/** The client prefix of a hex peer id ("-TR3000-"), the random rest left out. */
export function peerIdPrefix(hex: string): string {
  const bytes = Buffer.from(hex.slice(0, 16), 'hex');
  const text = bytes.toString('latin1');
  return /^[\x20-\x7e]{8}$/.test(text) ? text : hex.slice(0, 16);
}
