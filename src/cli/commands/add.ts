// `btda add PATH|MAGNET... [--set LABEL] [--db FILE]`
import { importTorrents, type ImportReport } from '../../torrents/import-torrents.ts';
import { openForWriting } from '../open-database.ts';
import { ConfigError, resolveConfig } from '../options.ts';

export async function addCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv);
  const inputs = ((argv.inputs as unknown[] | undefined) ?? []).filter((x): x is string => typeof x === 'string' && x !== '');
  if (inputs.length === 0) throw new ConfigError('add: name the .torrent files, folders, magnet links or files of magnet links to import (btda add --help)');
  const db = openForWriting(config.db);
  try {
    const report: ImportReport = { added: [], duplicates: [], errors: [] };
    for (const input of inputs) {
      let one: ImportReport;
      try {
        one = importTorrents(db, [input], config.setLabel ?? null);
      } catch (err) {
        throw new Error(`cannot write to ${config.db}: ${(err as Error).message}`);
      }
      // an empty file, or a folder without .torrent files: say so instead of printing nothing
      if (one.added.length + one.duplicates.length + one.errors.length === 0) {
        one.errors.push({ source: input, message: 'no .torrent files or magnet links found' });
      }
      report.added.push(...one.added);
      report.duplicates.push(...one.duplicates);
      report.errors.push(...one.errors);
    }
    printImportReport(report, (line) => process.stdout.write(line + '\n'));
    db.checkpoint();
    return report.added.length === 0 && report.duplicates.length === 0 ? 1 : 0;
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
