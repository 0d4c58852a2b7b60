// `btda export [--db FILE|postgres://...] --format csv|jsonl --out DIR`: every table (and the views) as one file each,
// streamed row by row.
import type { Options } from 'yargs';
import { exportTables, type ExportFormat } from '../../analysis/export.ts';
import { openReader, READ_DB } from '../open-database.ts';
import { formatBytes } from '../format.ts';
import { resolveConfig, yargsOptions } from '../options.ts';

export function exportOptions(): Record<string, Options> {
  return {
    ...yargsOptions(['db'], { db: READ_DB }),
    format: { requiresArg: true, choices: ['csv', 'jsonl'], demandOption: true, describe: 'CSV with a header row, or one JSON object per line' },
    out: { requiresArg: true, demandOption: true, describe: 'folder for the files (created if needed)' },
  };
}

export async function exportCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv, { postgres: true });
  const db = await openReader(config.db);
  try {
    await exportTables(db, argv.format as ExportFormat, String(argv.out), (f) =>
      process.stdout.write(`wrote ${f.path}: ${f.rows.toLocaleString('en-US')} ${f.rows === 1 ? 'row' : 'rows'}, ${formatBytes(f.bytes)}\n`));
    return 0;
  } finally {
    await db.close();
  }
}
