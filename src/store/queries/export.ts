// `btda export`: every table and view, whole, in a stable row order, streamed in batches. `SELECT *` gives
// the same columns in the same order on both backends (src/store/pg/schema.ts keeps SQLite's column order).
import type { Reader } from './reader.ts';

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

// text keys sort by bytes in both (PostgreSQL's default collation may follow a locale)
const binaryOrder = (orderBy: string) => ({
  sqlite: orderBy,
  postgres: orderBy.split(', ').map((c) => (['event', 'reason', 'hour'].includes(c) ? `${c} COLLATE "C"` : c)).join(', '),
});

/** Streams one table: `onBatch` gets the column names and a batch of rows as arrays in column order. */
export function eachTableBatch(r: Reader, table: { name: string; orderBy: string }, onBatch: (columns: string[], rows: unknown[][]) => void): Promise<void> {
  const order = binaryOrder(table.orderBy);
  const sql = (by: string) => `SELECT * FROM "${table.name}" ORDER BY ${by}`;
  return r.batches({ sqlite: sql(order.sqlite), postgres: sql(order.postgres) }, {}, onBatch);
}
