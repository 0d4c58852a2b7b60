// `btda export`: every table (and the two views) as CSV or JSON Lines, one file each. Rows are streamed from
// the store in batches (a statement iterator in SQLite, a cursor in PostgreSQL) and written in ~64 KiB
// chunks, so memory stays flat whatever the size.
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { eachTableBatch, EXPORT_TABLES } from '../store/queries/export.ts';
import { readerOf, type ReadSource } from '../store/queries/reader.ts';
import { csvLine } from './csv.ts';

export { EXPORT_TABLES } from '../store/queries/export.ts';

export type ExportFormat = 'csv' | 'jsonl';

export interface ExportedFile {
  table: string;
  path: string;
  rows: number;
  bytes: number;
}

const CHUNK = 64 * 1024;

/** Writes one file per table into `outDir` (created if needed). */
export async function exportTables(source: ReadSource, format: ExportFormat, outDir: string, onFile?: (f: ExportedFile) => void): Promise<ExportedFile[]> {
  const r = readerOf(source);
  mkdirSync(outDir, { recursive: true });
  const out: ExportedFile[] = [];
  for (const t of EXPORT_TABLES) {
    if (!(await r.hasTable(t.name))) continue; // a database from an older btda
    const path = join(outDir, `${t.name}.${format}`);
    const fd = openSync(path, 'w');
    let buffer = '';
    let bytes = 0;
    let rows = 0;
    let header = format !== 'csv';
    const flush = () => {
      if (buffer.length === 0) return;
      bytes += writeSync(fd, buffer);
      buffer = '';
    };
    try {
      await eachTableBatch(r, t, (columns, batch) => {
        if (!header) {
          buffer += csvLine(columns);
          header = true;
        }
        for (const row of batch) {
          if (format === 'csv') buffer += csvLine(row);
          else {
            const obj: Record<string, unknown> = {};
            for (let i = 0; i < columns.length; i++) obj[columns[i]] = jsonValue(row[i]);
            buffer += JSON.stringify(obj) + '\n';
          }
          rows++;
          if (buffer.length >= CHUNK) flush();
        }
      });
      flush();
    } finally {
      closeSync(fd);
    }
    const f = { table: t.name, path, rows, bytes };
    out.push(f);
    onFile?.(f);
  }
  return out;
}

/** JSON cannot hold bigint or raw bytes: write them as a number string and hex. */
function jsonValue(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}
