// The known peers a scheduled run resumes are read in pages of an id range; ids with gaps (a spool's rows start
// at its block, 2^40 x B; a merged database) are jumped over with one seek, not walked span by span.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Database } from '../../src/store/database.ts';
import { KnownPeerPages } from '../../src/store/known-peers.ts';

test('pages jump over gaps in the ids: every known peer read in a few pages', () => {
  const db = Database.open(':memory:');
  const t = db.addTorrent({ infoHash: 'ab'.repeat(20), infoHashV2: null, name: 'x', pieces: 10, pieceSize: 16_384, totalSize: 163_840, trackers: [] }, 'x', null, 0)!;
  const insert = db.sqlite.prepare(`INSERT INTO peers (id, torrent_id, address, address_key, ip, port, sources, discovered_at)
    VALUES (?, ?, '81.2.69.0/24', ?, '81.2.69.1', ?, 'http', '2026-01-01T00:00:00.000Z')`);
  const ids = [1, 2, 3, 2 ** 40 + 1, 2 ** 40 + 2, 3 * 2 ** 40 + 7];
  for (const [i, id] of ids.entries()) insert.run(id, t.id, `key${i}`, 6881 + i);
  const pages = new KnownPeerPages(db);
  assert.equal(pages.lastId, 3 * 2 ** 40 + 7);
  const read: number[] = [];
  let after = 0;
  let calls = 0;
  while (after < pages.lastId && calls < 100) {
    read.push(...pages.next(after, 4096).map((r) => r[0]));
    after = pages.advance(after, 4096);
    calls++;
  }
  assert.deepEqual(read, ids);
  assert.ok(calls <= 4, `${calls} pages`);
  db.close();
});
