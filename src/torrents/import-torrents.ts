// `btda add` and the input folder of `btda run`: .torrent files, folders (recursive), magnet links and
// text files of magnet links. A bad input is reported by name and skipped; the rest still import.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { Database } from '../store/database.ts';
import type { Torrent } from '../types.ts';
import { parseMagnet, parseTorrentFile, TorrentParseError, type ParsedTorrent } from './parse-torrent.ts';

export interface ImportReport {
  added: Torrent[];
  /** Inputs whose info hash was already stored. */
  duplicates: { source: string; infoHash: string }[];
  /** Inputs that could not be read: one clear message each. */
  errors: { source: string; message: string }[];
}

/** .torrent files bigger than this are not torrents (the largest real ones are a few MB). */
const MAX_TORRENT_FILE = 64 * 1024 * 1024;

export function importTorrents(db: Database, inputs: string[], setLabel: string | null, now = Date.now()): ImportReport {
  const report: ImportReport = { added: [], duplicates: [], errors: [] };
  const store = (parsed: ParsedTorrent, source: string) => {
    const row = db.addTorrent(parsed, source, setLabel, now);
    if (row) report.added.push(row);
    else report.duplicates.push({ source, infoHash: parsed.infoHash });
  };
  const fail = (source: string, err: unknown) =>
    report.errors.push({ source, message: err instanceof Error ? err.message : String(err) });

  for (const input of inputs) {
    if (input.startsWith('magnet:')) {
      try {
        store(parseMagnet(input), input);
      } catch (err) {
        fail(input, err);
      }
      continue;
    }
    for (const file of expand(input, fail)) {
      try {
        if (extname(file).toLowerCase() === '.torrent') {
          if (statSync(file).size > MAX_TORRENT_FILE) throw new TorrentParseError('larger than 64 MiB');
          store(parseTorrentFile(readFileSync(file)), file);
        } else {
          importMagnetList(file, store, fail);
        }
      } catch (err) {
        fail(file, err);
      }
    }
  }
  return report;
}

/** A text file of magnet links, one per line; blank lines and # comments are skipped. */
function importMagnetList(
  file: string,
  store: (p: ParsedTorrent, source: string) => void,
  fail: (source: string, err: unknown) => void,
): void {
  const lines = readFileSync(file, 'utf8').split(/\r?\n/);
  lines.forEach((line, i) => {
    const text = line.trim();
    if (!text || text.startsWith('#')) return;
    try {
      if (!text.startsWith('magnet:')) throw new TorrentParseError('not a magnet link');
      store(parseMagnet(text), text);
    } catch (err) {
      fail(`${file}:${i + 1}`, err);
    }
  });
}

/** A file stays itself; a folder becomes its .torrent files, recursively, in a stable order. */
function expand(path: string, fail: (source: string, err: unknown) => void): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    fail(path, new Error(code === 'ENOENT' ? 'no such file or folder' : `cannot read: ${code ?? (err as Error).message}`));
    return [];
  }
  if (!st.isDirectory()) return [path];
  const files: string[] = [];
  const pending = [path];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      fail(dir, err);
      continue;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) pending.push(full);
      else if (e.isFile() && e.name.toLowerCase().endsWith('.torrent')) files.push(full);
    }
  }
  return files.sort();
}
