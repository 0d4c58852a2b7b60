// Magnet links: the metadata from any of a torrent's peers (fetchMetadataFromAny), a few at a time, each
// under the crawl's encryption policy, as contacts are (src/evaluator/visit.ts contactWithPolicy).
import type { EncryptionPolicy } from '../config.ts';
import type { PeerSeen } from '../wire/seen-state.ts';
import { fetchMetadata, type MetadataFetchFailure, type MetadataFetchOptions, type MetadataFetchResult } from './fetch-metadata.ts';

export interface FetchFromAnyOptions extends MetadataFetchOptions {
  /** Peers tried at once (default 4). */
  parallel?: number;
  /** Peers tried at most, after removing duplicates (default 64): the whole call lasts at most about
   * ceil(maxPeers / parallel) × timeoutMs. */
  maxPeers?: number;
  /** As for contacts (src/evaluator/visit.ts contactWithPolicy): 'fallback' retries encrypted a peer that closed
   * our plaintext handshake, 'prefer' opens encrypted and retries plaintext; 'off' (default) never encrypts. */
  encryption?: EncryptionPolicy;
  /** Every peer whose handshake was read, with the state messages it sent (whether or not it gave the metadata). */
  onSeen?: (seen: PeerSeen) => void;
}

/**
 * Try `peers` (duplicates removed, at most `maxPeers`), `parallel` at a time, until one gives the
 * metadata; the fetches still running then are aborted. Never throws.
 */
export async function fetchMetadataFromAny(
  infoHash: Buffer,
  peers: readonly { ip: string; port: number }[],
  opts: FetchFromAnyOptions,
): Promise<MetadataFetchResult> {
  const seen = new Set<string>();
  const list: { ip: string; port: number }[] = [];
  const maxPeers = opts.maxPeers ?? 64;
  for (const p of peers) {
    if (list.length >= maxPeers) break;
    const key = `${p.ip}|${p.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    list.push({ ip: p.ip, port: p.port });
  }
  if (list.length === 0) return { ok: false, reason: 'no-peers' };

  const controller = new AbortController();
  const outer = opts.signal;
  const onOuterAbort = () => controller.abort();
  if (outer?.aborted) controller.abort();
  else outer?.addEventListener('abort', onOuterAbort, { once: true });

  const { parallel: _p, maxPeers: _m, signal: _s, encryption = 'off', onSeen, ...single } = opts;
  // A holder, not a `let`: it is set inside the workers, which control-flow narrowing cannot see.
  const found: { result: MetadataFetchResult | null } = { result: null };
  const failures: Partial<Record<MetadataFetchFailure, number>> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    while (found.result === null && !controller.signal.aborted && next < list.length) {
      const peer = list[next++];
      const r = await fetchWithPolicy(infoHash, peer.ip, peer.port, { ...single, signal: controller.signal }, encryption);
      if (r.seen) onSeen?.(r.seen);
      if (r.ok) {
        found.result ??= { ok: true, info: r.info, from: peer };
        controller.abort(); // the others stop now
      } else if (found.result === null && !(r.reason === 'aborted' && outer?.aborted)) {
        failures[r.reason] = (failures[r.reason] ?? 0) + 1;
      }
    }
  };
  const parallel = Math.max(1, Math.min(Math.floor(opts.parallel ?? 4) || 1, list.length));
  await Promise.all(Array.from({ length: parallel }, worker));
  outer?.removeEventListener('abort', onOuterAbort);

  if (found.result) return found.result;
  if (outer?.aborted) return { ok: false, reason: 'aborted', failures };
  const reasons = Object.keys(failures) as MetadataFetchFailure[];
  return { ok: false, reason: reasons.length === 1 ? reasons[0] : 'all-failed', failures };
}

/** How a peer refuses a handshake it will not speak, before its own handshake (as visit.ts reads contacts). */
const REFUSED_PLAINTEXT = new Set<MetadataFetchFailure>(['closed', 'reset']);
const REFUSED_ENCRYPTED = new Set<MetadataFetchFailure>(['closed', 'reset', 'unknown-protocol']);

/** One peer under the encryption policy: a second connection the other way when the first handshake was refused. */
async function fetchWithPolicy(
  infoHash: Buffer, ip: string, port: number, opts: MetadataFetchOptions, encryption: EncryptionPolicy,
): Promise<MetadataFetchResult> {
  const encryptFirst = encryption === 'prefer';
  const r = await fetchMetadata(infoHash, ip, port, { ...opts, encrypted: encryptFirst });
  if (r.ok || encryption === 'off' || r.seen || opts.signal?.aborted) return r;
  if (!(encryptFirst ? REFUSED_ENCRYPTED : REFUSED_PLAINTEXT).has(r.reason)) return r;
  return fetchMetadata(infoHash, ip, port, { ...opts, encrypted: !encryptFirst });
}
