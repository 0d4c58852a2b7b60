// The demo's result: what btda measured (its database) next to the swarm's truth (the simulator
// knows every peer's trajectory) and what the tracker reported (the scrape rows btda recorded).
import { endpointLabel } from '../../collectors/tracker/host-resolver.ts';
import { Database } from '../../store/database.ts';
import { confirmedCountNow, demoRows } from '../../store/queries/demo.ts';
import { SqliteReader } from '../../store/queries/reader.ts';
import { formatTable } from '../format.ts';
import type { DemoSwarm } from './swarm.ts';
import type { SimulatedPeer } from './simulated-peer.ts';

export interface DemoResult {
  confirmed: number;
  finishedWhileReachable: number;
  finished: number;
  reported: number | null;
  /** Labels of the simulated peers btda confirmed, and of those it should have. */
  confirmedLabels: string[];
  truthLabels: string[];
  text: string;
}

/** Reads btda's results for the demo torrent and sets them against the swarm. */
export async function demoResult(dbPath: string, swarm: DemoSwarm, thresholdPieces: number): Promise<DemoResult> {
  const db = new SqliteReader(Database.open(dbPath, { readonly: true }));
  try {
    const { torrent, peers: rows, confirmed: confirmedRows, latestDownloaded, crossingClasses: classes, sessionsReached: sessions } =
      await demoRows(db, swarm.infoHash, endpointLabel(swarm.tracker.httpUrl, 4));

    const key = (ip: string | null, port: number) => `${ip}:${port}`;
    const rowOf = (p: SimulatedPeer) => rows.find((r) => key(r.ip, r.port) === key(p.host, p.port));
    const confirmedKeys = new Set(confirmedRows.map((r) => key(r.ip, r.port)));
    const isConfirmed = (p: SimulatedPeer) => p.port > 0 && confirmedKeys.has(key(p.host, p.port));
    const truth = swarm.finishedWhileReachable();
    const P = torrent.pieces;
    const since = (iso: string) => `${((Date.parse(iso) - swarm.startedAt) / 1000).toFixed(1)} s`;

    const table = formatTable(
      ['peer', 'address', 'client (peer id)', 'plan', 'truth', 'btda saw'],
      swarm.peers.map((p) => {
        const row = rowOf(p);
        let truthText = '-';
        if (p.failed) truthText = `could not start: ${p.failed}`;
        else if (p.finishedAt !== null && p.leftAt !== null) truthText = 'finished, left';
        else if (p.finishedAt !== null) truthText = 'finished, stayed';
        else if (p.count >= thresholdPieces) truthText = 'seed';
        else truthText = `incomplete (${Math.round((100 * p.count) / P)}%)`;
        let seen = 'never reached';
        if (row && row.first_pieces !== null) {
          seen = `${row.first_pieces} -> ${row.last_pieces}, ${row.visits} visit${row.visits === 1 ? '' : 's'}${row.encrypted ? ' (MSE/PE)' : ''}`;
          if (row.sources === 'pex') seen += ', found by PEX only';
          if (isConfirmed(p)) seen += `, confirmed at ${since(row.crossed_at!)}`;
          else if (row.crossing_class === 'restart') seen += `, confirmed across a restart at ${since(row.crossed_at!)}`;
          else if (row.crossing_class === 'suspect') seen += `, suspect crossing (${row.suspect_reason})`;
          else if (p.leftAt !== null) seen += ', left unseen (blind spot)';
        }
        const client = (row?.client ?? p.plan.imitates).replace('libTorrent (Rakshasa) / rTorrent*', 'rTorrent');
        return [p.plan.label, p.port ? `${p.host}:${p.port}` : p.host, client, p.plan.describe, truthText, seen];
      }),
    );

    const result = {
      confirmed: confirmedRows.length,
      finishedWhileReachable: truth.length,
      finished: swarm.finished().length,
      reported: latestDownloaded,
      confirmedLabels: swarm.peers.filter(isConfirmed).map((p) => p.plan.label),
      truthLabels: truth.map((p) => p.plan.label),
    };
    const exact =
      result.confirmed === result.finishedWhileReachable &&
      result.confirmedLabels.length === result.confirmed &&
      result.truthLabels.every((l) => result.confirmedLabels.includes(l));
    const classCount = (k: string) => String(classes.find((c) => c.k === k)?.n ?? 0);
    const counts = formatTable(
      ['', 'count'],
      [
        ['peer sessions reached (torrent, address, port, peer id)', String(sessions)],
        ['confirmed downloads (btda)', String(result.confirmed)],
        ['  beside it: confirmed across a restart (new peer id, same client)', classCount('restart')],
        ['  beside it: suspect crossings (too fast, or upload_only while below)', classCount('suspect')],
        ['finished while reachable (swarm truth)', String(result.finishedWhileReachable)],
        ['finished in all (swarm truth)', String(result.finished)],
        ['reported downloaded (tracker scrape)', result.reported === null ? 'none' : String(result.reported)],
      ],
    );
    const verdict = exact
      ? 'btda confirmed exactly the downloads that finished while reachable.'
      : `btda confirmed ${result.confirmedLabels.join(', ') || 'none'}; finished while reachable: ${result.truthLabels.join(', ') || 'none'}.`;
    const notes = [
      'A confirmed download is a peer session (same address, port and peer id) seen below the threshold and later at or above it.',
      'A peer that leaves the moment it finishes is never seen complete: the blind spot of counting by revisits. The demo runs without',
      'the watch; `btda run` keeps such a peer\'s connection open and reads its crossing live (README "The watch").',
      'A peer that never announces is missing from the scrape numbers; btda finds it through peer exchange (PEX).',
      "bittorrent-tracker's scrape reports as `downloaded` the peers complete right now, seeds included.",
    ];
    return { ...result, text: `${table}\n\n${counts}\n\n${verdict}\n${notes.map((n) => `  ${n}`).join('\n')}\n` };
  } finally {
    await db.close();
  }
}

/** Confirmed downloads of the demo torrent so far (the live status line). */
export function countConfirmed(db: Database, infoHash: string): number {
  return confirmedCountNow(db, infoHash);
}
