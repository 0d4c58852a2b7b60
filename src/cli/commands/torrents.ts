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
    process.stdout.write(formatTable(['id', 'info hash', 'name', 'set', 'pieces', 'size', 'trackers'], rows) + '\n');
    return 0;
  } finally {
    db.close();
  }
}
