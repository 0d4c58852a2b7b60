// An HTTP(S) GET with every limit explicit: one deadline for the whole request including
// redirects, a cap on the reply size (checked on Content-Length and while reading), a bounded
// number of redirects, and redirects followed only to http/https. Never throws; failures are values.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Family, Outcome } from './tracker-client.ts';

export interface BoundedGetOptions {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  signal?: AbortSignal;
  userAgent?: string;
  /** Connect over this address family only. */
  family?: Family;
  /** Resolves the host (a cache); default: the system resolver on every request. */
  lookup?: LookupFunction;
}

export interface BoundedGetReply {
  status: number;
  body: Buffer;
  /** The URL that produced this reply (after redirects). */
  url: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export async function boundedGet(url: string, opts: BoundedGetOptions): Promise<Outcome<BoundedGetReply>> {
  // Real time, not the injectable clock: this bounds a socket wait.
  const deadline = Date.now() + opts.timeoutMs;
  let current = url;
  for (let redirects = 0; ; redirects++) {
    let parsed: URL;
    try {
      parsed = new URL(current);
    } catch {
      return { ok: false, error: `invalid URL ${current}` };
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      return { ok: false, error: `unsupported scheme ${parsed.protocol}` };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { ok: false, error: `timeout after ${opts.timeoutMs} ms`, unreachable: true };
    const hop = await getOnce(parsed, remaining, opts);
    if (!hop.ok) return hop;
    const { status, location } = hop.value;
    if (!REDIRECT_STATUSES.has(status) || location === undefined) {
      return { ok: true, value: { status, body: hop.value.body, url: current } };
    }
    if (redirects >= opts.maxRedirects) return { ok: false, error: `more than ${opts.maxRedirects} redirects` };
    let next: URL;
    try {
      next = new URL(location, parsed);
    } catch {
      return { ok: false, error: `redirect to an invalid URL` };
    }
    if (next.protocol !== 'http:' && next.protocol !== 'https:') {
      return { ok: false, error: `redirect to unsupported scheme ${next.protocol}` };
    }
    current = next.href;
  }
}

interface Hop {
  status: number;
  location?: string;
  body: Buffer;
}

function getOnce(url: URL, timeoutMs: number, opts: BoundedGetOptions): Promise<Outcome<Hop>> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (outcome: Outcome<Hop>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      req.destroy();
      resolve(outcome);
    };
    const onAbort = () => finish({ ok: false, error: 'aborted' });

    const get = url.protocol === 'https:' ? https.get : http.get;
    // agent:false: a fresh connection each time; we ask a tracker every few minutes, and idle
    // keep-alive sockets would only hold the process open at shutdown.
    const req = get(
      url,
      {
        agent: false,
        family: opts.family,
        ...(opts.lookup ? { lookup: opts.lookup } : {}),
        headers: {
          'user-agent': opts.userAgent ?? 'btda',
          'accept-encoding': 'identity',
          connection: 'close',
        },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (REDIRECT_STATUSES.has(status) && location !== undefined) {
          finish({ ok: true, value: { status, location, body: Buffer.alloc(0) } });
          return;
        }
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > opts.maxBytes) {
          finish({ ok: false, error: `reply larger than ${opts.maxBytes} bytes (Content-Length ${declared})` });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > opts.maxBytes) {
            finish({ ok: false, error: `reply larger than ${opts.maxBytes} bytes` });
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => finish({ ok: true, value: { status, body: Buffer.concat(chunks) } }));
        res.on('error', (err) => finish({ ok: false, error: describeError(err) }));
        res.on('close', () => finish({ ok: false, error: 'connection closed before the reply ended', unreachable: true }));
      },
    );
    // Not reaching the tracker at all (refused, reset, no route, DNS, timeout) is the tracker's failure.
    req.on('error', (err) => finish({ ok: false, error: describeError(err), unreachable: true }));
    timer = setTimeout(() => finish({ ok: false, error: `timeout after ${opts.timeoutMs} ms`, unreachable: true }), timeoutMs);
    if (opts.signal?.aborted) onAbort();
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function describeError(err: Error & { code?: string }): string {
  return err.message || err.code || 'network error';
}
