// `btda torrents [--db FILE] [--set LABEL]`: what is being measured.
import { openForReading } from '../open-database.ts';
import { resolveConfig } from '../options.ts';
import { formatBytes, formatTable } from '../format.ts';

export async function torrentsCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv);
  const db = openForReading(config.db);
  try {
    const rows = db.torrents(config.setLabel).map((t) => [
      String(t.id),
      t.infoHash,
      t.name ?? '',
      t.setLabel ?? '',
      t.pieces === null ? '?' : String(t.pieces),
      t.totalSize === null ? '?' : formatBytes(t.totalSize),
      String(t.trackers.length),
    ]);
    if (rows.length === 0) {
      // an empty table after a typo in --set says nothing: name the sets there are
      const sets = [...new Set(db.torrents().map((t) => t.setLabel).filter((l) => l !== null))];
      process.stdout.write(config.setLabel
        ? `no torrents in set ${config.setLabel}; the sets in ${config.db}: ${sets.length > 0 ? sets.join(', ') : 'none'}\n`
        : `no torrents in ${config.db}: import some with btda add FILE|FOLDER|MAGNET\n`);
      return 0;
    }
    process.stdout.write(formatTable(['id', 'info hash', 'name', 'set', 'pieces', 'size', 'trackers'], rows) + '\n');
    return 0;
  } finally {
    db.close();
  }
}
