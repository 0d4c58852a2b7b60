// `btda export`: every table (and the two views) as CSV or JSON Lines, one file each. Rows are streamed from
// SQLite with a statement iterator and written in ~64 KiB chunks, so memory stays flat whatever the size.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Database } from '../store/database.ts';
import { csvLine } from './csv.ts';

export type ExportFormat = 'csv' | 'jsonl';

/** What is exported, in this order, with a stable row order (the primary key, or the natural key). */
export const EXPORT_TABLES: { name: string; orderBy: string }[] = [
  { name: 'runs', orderBy: 'id' },
  { name: 'torrents', orderBy: 'id' },
  { name: 'peers', orderBy: 'id' },
  { name: 'requests', orderBy: 'id' },
  { name: 'scrapes', orderBy: 'id' },
  { name: 'outcomes', orderBy: 'run_id, torrent_id, event, reason' },
  { name: 'contact_waits', orderBy: 'run_id, torrent_id, event, wait_s' },
  { name: 'statistics', orderBy: 'id' },
  { name: 'confirmed_downloads', orderBy: 'peer_row' },
  { name: 'hourly_confirmed', orderBy: 'torrent_id, hour' },
];

export interface ExportedFile {
  table: string;
  path: string;
  rows: number;
  bytes: number;
}

const CHUNK = 64 * 1024;

/** Writes one file per table into `outDir` (created if needed). */
export function exportTables(db: Database, format: ExportFormat, outDir: string, onFile?: (f: ExportedFile) => void): ExportedFile[] {
  mkdirSync(outDir, { recursive: true });
  const out: ExportedFile[] = [];
  for (const t of EXPORT_TABLES) {
    if (!db.hasTable(t.name)) continue; // a database from an older btda
    const f = exportTable(db, t.name, t.orderBy, format, join(outDir, `${t.name}.${format}`));
    out.push(f);
    onFile?.(f);
  }
  return out;
}

function exportTable(db: Database, table: string, orderBy: string, format: ExportFormat, path: string): ExportedFile {
  const stmt = db.sqlite.prepare(`SELECT * FROM "${table}" ORDER BY ${orderBy}`);
  const columns = stmt.columns().map((c) => c.name);
  const fd = openSync(path, 'w');
  let buffer = '';
  let bytes = 0;
  let rows = 0;
  const write = (s: string) => {
    buffer += s;
    if (buffer.length >= CHUNK) flush();
  };
  const flush = () => {
    if (buffer.length === 0) return;
    bytes += writeSync(fd, buffer);
    buffer = '';
  };
  try {
    if (format === 'csv') write(csvLine(columns));
    // raw() gives arrays in column order: no object per row, and duplicate column names survive
    for (const row of stmt.raw(true).iterate() as Iterable<unknown[]>) {
      if (format === 'csv') write(csvLine(row));
      else {
        const obj: Record<string, unknown> = {};
        for (let i = 0; i < columns.length; i++) obj[columns[i]] = jsonValue(row[i]);
        write(JSON.stringify(obj) + '\n');
      }
      rows++;
    }
    flush();
  } finally {
    closeSync(fd);
  }
  return { table, path, rows, bytes };
}

/** JSON cannot hold bigint or raw bytes: write them as a number string and hex. */
function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
