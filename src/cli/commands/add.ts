// `btda add PATH|MAGNET... [--set LABEL] [--db FILE]`
import { Database } from '../../store/database.ts';
import { importTorrents, type ImportReport } from '../../torrents/import-torrents.ts';
import { resolveConfig } from '../options.ts';

export async function addCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv);
  const db = Database.open(config.db);
  try {
    const report = importTorrents(db, (argv.inputs as string[]) ?? [], config.setLabel ?? null);
    printImportReport(report, (line) => process.stdout.write(line + '\n'));
    return report.errors.length > 0 && report.added.length === 0 && report.duplicates.length === 0 ? 1 : 0;
  } finally {
    db.close();
  }
}

/** One line per added torrent, duplicate and error: what a user needs to see after an import. */
export function printImportReport(report: ImportReport, print: (line: string) => void): void {
  for (const t of report.added) {
    print(`added ${t.infoHash} ${t.name ?? '(magnet, metadata pending)'}${t.pieces !== null ? ` (${t.pieces} pieces)` : ''}`);
  }
  for (const d of report.duplicates) print(`skipped ${d.infoHash}: already in the database (${d.source})`);
  for (const e of report.errors) print(`error: ${e.source}: ${e.message}`);
}
