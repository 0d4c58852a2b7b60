// Which address families a tracker host has, and one address per family, cached. The system resolver
// (getaddrinfo, so /etc/hosts counts) answers; a tracker with 250,000 torrents must not cost 250,000
// look-ups a round, and every wait is bounded.
import { lookup } from 'node:dns/promises';
import { isIP, type LookupFunction } from 'node:net';
import type { Family, Outcome } from './tracker-client.ts';

/** Strips the brackets of an IPv6 literal host (`[::1]` in a URL). */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1');
}

export function familyTag(family: Family): string {
  return family === 6 ? 'ipv6' : 'ipv4';
}

/** How a tracker endpoint is named in `requests.url` and `scrapes.tracker`: the URL and `#ipv4` or `#ipv6`. */
export function endpointLabel(url: string, family: Family): string {
  return `${url.split('#')[0]}#${familyTag(family)}`;
}

async function bounded<T>(work: Promise<T>, timeoutMs: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), timeoutMs)));
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The families of `host`: its own for an address literal, else those of its A and AAAA records. */
export async function familiesOf(host: string, timeoutMs: number): Promise<Outcome<Family[]>> {
  const bare = bareHost(host);
  const literal = isIP(bare);
  if (literal === 4 || literal === 6) return { ok: true, value: [literal] };
  try {
    const found = await bounded(lookup(bare, { all: true }), timeoutMs);
    if (found === null) return { ok: false, error: `DNS lookup of ${bare} timed out`, unreachable: true };
    const families = new Set<Family>(found.map((a) => (a.family === 6 ? 6 : 4)));
    const value = [4, 6].filter((f) => families.has(f as Family)) as Family[];
    if (value.length === 0) return { ok: false, error: `DNS lookup of ${bare} found no address`, unreachable: true };
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: `DNS lookup of ${bare} failed: ${(err as Error).message}`, unreachable: true };
  }
}

/** One address per (host, family), kept `ttlMs`; concurrent asks share one look-up. */
export class HostResolver {
  private readonly cache = new Map<string, { at: number; answer: Promise<Outcome<string>> }>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  resolve(host: string, family: Family, timeoutMs: number): Promise<Outcome<string>> {
    const bare = bareHost(host);
    if (isIP(bare) === family) return Promise.resolve({ ok: true, value: bare });
    if (isIP(bare) !== 0) return Promise.resolve({ ok: false, error: `${bare} is not an IPv${family} address` });
    const key = `${family}|${bare}`;
    const hit = this.cache.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.answer;
    const answer = this.lookupOnce(bare, family, timeoutMs);
    this.cache.set(key, { at: this.now(), answer });
    // A failure is not kept: the next request asks again (the collector's back-off paces it).
    void answer.then((r) => {
      if (!r.ok && this.cache.get(key)?.answer === answer) this.cache.delete(key);
    });
    return answer;
  }

  /** For http.get's `lookup` option: the cached address of the given family. */
  lookupFunction(family: Family, timeoutMs: number): LookupFunction {
    return (hostname, options, callback) => {
      void this.resolve(hostname, family, timeoutMs).then((r) => {
        if (!r.ok) {
          const err = Object.assign(new Error(r.error), { code: 'ENOTFOUND' }) as NodeJS.ErrnoException;
          return callback(err, '', family);
        }
        // net asks for a list when it may try several addresses (autoSelectFamily).
        if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address: r.value, family }]);
        else callback(null, r.value, family);
      });
    };
  }

  private async lookupOnce(host: string, family: Family, timeoutMs: number): Promise<Outcome<string>> {
    try {
      const found = await bounded(lookup(host, { family }), timeoutMs);
      if (found === null) return { ok: false, error: `DNS lookup of ${host} timed out`, unreachable: true };
      return { ok: true, value: found.address };
    } catch (err) {
      return { ok: false, error: `DNS lookup of ${host} (IPv${family}) failed: ${(err as Error).message}`, unreachable: true };
    }
  }
}
