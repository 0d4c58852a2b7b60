// Thesis tables 5.5 (peer addresses per source) and 5.7 (outcomes of contacts per event and reason).
import type { Reader } from '../../store/queries/reader.ts';
import { outcomeCounts, peersDiscovered, peersFromSource, peersPerFirstSource, requestsPerKind } from '../../store/queries/sources.ts';
import { countMap, type Params } from './shared.ts';
import { byOrder, sum } from './stats.ts';
import type { OutcomeReport, Report, SourceReport } from './types.ts';

const KIND_ORDER = ['http', 'udp', 'dht', 'incoming', 'pex', 'file'];
const EVENT_ORDER = ['first', 'later', 'incoming'];

export async function buildSources(r: Reader, p: Params, measuredHours: number): Promise<Pick<Report, 'sources' | 'sourcesTotal'>> {
  const requestRows = await requestsPerKind(r, p);
  const firstSourceBy = countMap(await peersPerFirstSource(r, p));
  const kinds = new Set<string>([...requestRows.map((x) => x.kind), ...[...firstSourceBy.keys()].map(String).filter((k) => k !== '')]);
  const sources: SourceReport[] = [];
  for (const kind of [...kinds].sort(byOrder(KIND_ORDER))) {
    const row = requestRows.find((x) => x.kind === kind);
    const unique = await peersFromSource(r, p, kind);
    const firstSource = firstSourceBy.get(kind) ?? 0;
    const received = row?.received ?? 0;
    // The listener cannot tell new peers (the torrent is known only after the handshake): count them from peers.
    const newFrom: 'requests' | 'peers' = kind === 'incoming' ? 'peers' : 'requests';
    const fresh = newFrom === 'peers' ? firstSource : (row?.new ?? 0);
    sources.push({
      kind,
      requests: row?.requests ?? 0,
      errors: row?.errors ?? 0,
      received,
      new: fresh,
      newFrom,
      duplicates: row?.duplicates ?? 0,
      unique,
      firstSource,
      shareNew: received > 0 ? fresh / received : null,
      uniquePerHour: measuredHours > 0 ? unique / measuredHours : null,
    });
  }
  const totalUnique = await peersDiscovered(r, p);
  const totalReceived = sum(sources.map((s) => s.received));
  const totalNew = sum(sources.map((s) => s.new));
  return {
    sources,
    sourcesTotal: {
      received: totalReceived,
      new: totalNew,
      unique: totalUnique,
      shareNew: totalReceived > 0 ? totalNew / totalReceived : null,
      uniquePerHour: measuredHours > 0 ? totalUnique / measuredHours : null,
    },
  };
}

/** Outcomes have no time, so a window selects the runs that overlap it. */
export async function buildOutcomes(r: Reader, p: Params, runIds: number[]): Promise<OutcomeReport[]> {
  const rows = await outcomeCounts(r, p, runIds);
  const perEvent = new Map<string, number>();
  for (const x of rows) perEvent.set(x.event, (perEvent.get(x.event) ?? 0) + x.n);
  return rows
    .filter((x) => x.n > 0)
    .map((x) => ({ event: x.event, reason: x.reason, count: x.n, share: x.n / perEvent.get(x.event)! }))
    .sort((a, b) => byOrder(EVENT_ORDER)(a.event, b.event) || b.count - a.count || a.reason.localeCompare(b.reason));
}
