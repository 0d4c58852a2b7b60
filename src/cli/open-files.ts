// The open-file limit (ulimit -n) bounds how many sockets a crawl may hold: past it, contacts fail with
// EMFILE and show up as outcome `error`, and the database or the log may fail to open. So the limit is
// read once at start and --active (and the listener's --max-incoming) are lowered to fit, with one line.
import { readFileSync } from 'node:fs';
import type { Config } from '../config.ts';

/**
 * Descriptors kept for everything else: standard streams, Node's own (event loop, thread pool), the
 * database (file, WAL, shared memory) and the lock, the log, the DHT socket, tracker announces and
 * scrapes in flight, and the metadata fetches of magnet links.
 */
export const RESERVED_FILES = 128;

/** The soft limit on open files of this process (Node raises it to the hard limit at start); undefined = unknown or unlimited. */
export function readOpenFileLimit(limitsFile = '/proc/self/limits'): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, 'utf8');
  } catch {
    return undefined; // not Linux: nothing to read, nothing lowered
  }
  const m = /^Max open files\s+(\S+)/m.exec(text);
  const n = m ? Number(m[1]) : NaN; // "unlimited" → NaN
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export interface OpenFilesFit {
  active: number;
  maxIncoming: number;
  /** Watched connections (--watch): as asked, or when unset, the auto budget (autoWatch). */
  watch: number;
  /** One line for the log when the settings were lowered. */
  warning?: string;
}

/** The watch budget when --watch is unset: twice --active (a watched peer holds a socket for minutes, a contact for seconds). */
export function autoWatch(active: number): number {
  return 2 * active;
}

/**
 * --active, --max-incoming and --watch as they fit below `limit`, shrunk in proportion when they do not. An
 * unset --watch takes only the room the others leave (never lowering them), up to autoWatch(--active).
 */
export function fitOpenFiles(config: Pick<Config, 'active' | 'passive' | 'maxIncoming' | 'watch'>, limit: number | undefined): OpenFilesFit {
  const incoming = config.passive ? config.maxIncoming + 1 : 0; // + the listening socket
  if (config.watch === undefined) {
    const fit = fitOpenFiles({ ...config, watch: 0 }, limit);
    const room = limit === undefined ? Infinity : limit - RESERVED_FILES - fit.active - (config.passive ? fit.maxIncoming + 1 : 0);
    return { ...fit, watch: Math.max(0, Math.min(autoWatch(fit.active), room)) };
  }
  const wanted = config.active + incoming + config.watch;
  const same = { active: config.active, maxIncoming: config.maxIncoming, watch: config.watch };
  if (limit === undefined || wanted + RESERVED_FILES <= limit || wanted === 0) return same;
  const room = Math.max(2, limit - RESERVED_FILES);
  const share = room / wanted;
  const active = config.active > 0 ? Math.max(1, Math.floor(config.active * share)) : 0;
  const maxIncoming = config.passive ? Math.max(1, Math.floor(config.maxIncoming * share)) : config.maxIncoming;
  const watch = Math.floor(config.watch * share);
  const watchText = (n: number) => (config.watch! > 0 ? `, --watch ${n}` : '');
  const asked = (config.passive ? `--active ${config.active} and --max-incoming ${config.maxIncoming}` : `--active ${config.active}`) + watchText(config.watch);
  const now = (config.passive ? `--active ${active} and --max-incoming ${maxIncoming}` : `--active ${active}`) + watchText(watch);
  return {
    active,
    maxIncoming,
    watch,
    warning: `open files: the limit is ${limit} (ulimit -n) and ${asked} need ${wanted + RESERVED_FILES} with the ` +
      `database, DHT and trackers; running with ${now} (raise ulimit -n to use more)`,
  };
}
