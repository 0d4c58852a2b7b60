// The batched append writer on a real PostgreSQL: every table's rows arrive as given (defaults, nulls,
// awkward text), counters add up across flushes, large batches are split, and a failed flush writes
// nothing and keeps its rows for the next one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { StoreError } from '../../src/store/database.ts';
import { PgAppendWriter } from '../../src/store/pg/append-writer.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import * as schema from '../../src/store/pg/schema.ts';
import { postgresSkipReason, startPostgres, type PgServer } from '../helpers/postgres.ts';

const skip = postgresSkipReason();
let server: PgServer | undefined;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

const AT = '2026-01-01T10:00:00.000Z';
const AWKWARD = 'tracker said: "no", {a,b} \\ NULL ,\n ünïcödé \u{1F600}';

test('rows of every append-only table arrive as given; counters are summed by key across flushes', { skip }, async () => {
  const store = await PgStore.open(await server!.createDatabase('append_rows'));
  try {
    const w = new PgAppendWriter(store.pool);
    w.append(schema.requests, { runId: 1, torrentId: null, kind: 'http', url: 'http://127.0.0.1/announce', startedAt: AT, durationMs: 12, received: 50, new: 40, duplicates: 10, error: AWKWARD });
    w.append(schema.requests, { runId: 1, kind: 'dht', startedAt: AT, durationMs: 3 }); // defaults
    w.append(schema.scrapes, { runId: 1, torrentId: 2, tracker: 'udp://127.0.0.1:6969', at: AT, seeders: 5, leechers: null, downloaded: 5_000_000_000 });
    w.append(schema.statistics, { runId: 1, at: AT, queue: 10, inFlight: 2, evaluations: 3_000_000_000, rssMb: 123.5, loadAverage: null });
    w.append(schema.observations, { peerRow: 7, runId: 1, at: AT, phase: 'open', event: 'first', direction: 'out', family: 4, pieces: 10, peerId: null, client: 'Transmission 3.00' });
    w.count(schema.outcomes, { runId: 1, torrentId: 2, event: 'first', reason: 'timeout' });
    w.count(schema.outcomes, { runId: 1, torrentId: 2, event: 'first', reason: 'timeout' }, 4);
    w.count(schema.outcomes, { runId: 1, torrentId: 2, event: 'later', reason: 'success' });
    w.count(schema.contactWaits, { runId: 1, torrentId: 2, event: 'first', waitS: 3 }, 2);
    assert.equal(w.pending, 8);
    assert.equal(await w.flush(), 8);
    assert.equal(w.pending, 0);
    w.count(schema.outcomes, { runId: 1, torrentId: 2, event: 'first', reason: 'timeout' }, 10);
    assert.equal(await w.flush(), 1);
    assert.equal(await w.flush(), 0);

    const q = async (text: string) => (await store.pool.query(text)).rows;
    assert.deepEqual(await q('SELECT run_id, torrent_id, kind, url, started_at, duration_ms, received, new, duplicates, skipped, error FROM requests ORDER BY id'), [
      { run_id: 1, torrent_id: null, kind: 'http', url: 'http://127.0.0.1/announce', started_at: AT, duration_ms: 12, received: 50, new: 40, duplicates: 10, skipped: 0, error: AWKWARD },
      { run_id: 1, torrent_id: null, kind: 'dht', url: null, started_at: AT, duration_ms: 3, received: 0, new: 0, duplicates: 0, skipped: 0, error: null },
    ]);
    assert.deepEqual(await q('SELECT seeders, leechers, downloaded FROM scrapes'), [{ seeders: 5, leechers: null, downloaded: 5_000_000_000 }]);
    assert.deepEqual(await q('SELECT evaluations, successes, rss_mb, load_average FROM statistics'), [{ evaluations: 3_000_000_000, successes: 0, rss_mb: 123.5, load_average: null }]);
    assert.deepEqual(await q('SELECT peer_row, encrypted, upload_only, client FROM observations'), [{ peer_row: 7, encrypted: 0, upload_only: 0, client: 'Transmission 3.00' }]);
    assert.deepEqual(await q('SELECT event, reason, count FROM outcomes ORDER BY event'), [
      { event: 'first', reason: 'timeout', count: 15 },
      { event: 'later', reason: 'success', count: 1 },
    ]);
    assert.deepEqual(await q('SELECT wait_s, count FROM contact_waits'), [{ wait_s: 3, count: 2 }]);
  } finally {
    await store.close();
  }
});

test('a batch larger than one statement is split, in order', { skip }, async () => {
  const store = await PgStore.open(await server!.createDatabase('append_large'));
  try {
    const w = new PgAppendWriter(store.pool);
    const N = 45_000;
    for (let i = 0; i < N; i++) w.append(schema.observations, { peerRow: i, runId: 1, at: AT, phase: 'end', event: 'later', direction: 'out', family: 6, pieces: i % 1000 });
    assert.equal(await w.flush(), N);
    const r = (await store.pool.query('SELECT count(*) AS n, sum(peer_row) AS s, bool_and(peer_row = id - 1) AS ordered FROM observations')).rows[0];
    assert.deepEqual(r, { n: N, s: (N * (N - 1)) / 2, ordered: true });
  } finally {
    await store.close();
  }
});

test('a failed flush writes nothing and keeps every row for the next flush', { skip }, async () => {
  const store = await PgStore.open(await server!.createDatabase('append_fail'));
  try {
    const w = new PgAppendWriter(store.pool);
    w.append(schema.observations, { peerRow: 1, runId: 1, at: AT, phase: 'open', event: 'first', direction: 'out', family: 4, pieces: 1 });
    w.append(schema.requests, { runId: 1, kind: 'udp', startedAt: AT, durationMs: 1 });
    w.count(schema.outcomes, { runId: 1, torrentId: 1, event: 'first', reason: 'refused' }, 2);
    await store.pool.query('ALTER TABLE requests RENAME TO requests_away');
    await assert.rejects(w.flush(), (err: Error) => err instanceof StoreError && /^cannot write to PostgreSQL: relation "requests" does not exist/.test(err.message));
    assert.equal((await store.pool.query('SELECT count(*) AS n FROM observations')).rows[0].n, 0, 'the transaction wrote nothing');
    // more arrives while the database is unavailable; all of it is written once it is back
    w.count(schema.outcomes, { runId: 1, torrentId: 1, event: 'first', reason: 'refused' }, 3);
    w.append(schema.requests, { runId: 1, kind: 'http', startedAt: AT, durationMs: 2 });
    await store.pool.query('ALTER TABLE requests_away RENAME TO requests');
    assert.equal(w.pending, 4);
    assert.equal(await w.flush(), 4);
    assert.deepEqual((await store.pool.query('SELECT kind FROM requests ORDER BY id')).rows, [{ kind: 'udp' }, { kind: 'http' }]);
    assert.deepEqual((await store.pool.query('SELECT count FROM outcomes')).rows, [{ count: 5 }]);
    assert.equal((await store.pool.query('SELECT count(*) AS n FROM observations')).rows[0].n, 1);
  } finally {
    await store.close();
  }
});
