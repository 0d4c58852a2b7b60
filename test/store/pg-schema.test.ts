// The PostgreSQL schema against the SQLite one, on a real server: the same tables, columns and indexes
// (the partial unique index included), and the views give the same rows for the same data.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Database } from '../../src/store/database.ts';
import { PgStore } from '../../src/store/pg/pg-store.ts';
import { postgresSkipReason, startPostgres, type PgServer } from '../helpers/postgres.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const skip = postgresSkipReason();
let server: PgServer | undefined;
before(async () => {
  if (!skip) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

let n = 0;
async function stores(): Promise<{ lite: Database; pgs: PgStore }> {
  const lite = Database.open(join(tempDir(), 'parity.sqlite'));
  const pgs = await PgStore.open(await server!.createDatabase(`parity_${++n}`));
  return { lite, pgs };
}

test('the same tables and views with the same columns in the same order', { skip }, async () => {
  const { lite, pgs } = await stores();
  try {
    const liteNames = (lite.sqlite.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__drizzle%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const pgNames = (await pgs.pool.query<{ name: string }>("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).rows.map((r) => r.name);
    assert.deepEqual(pgNames, liteNames);
    for (const name of liteNames) {
      const liteCols = (lite.sqlite.prepare('SELECT name FROM pragma_table_info(?) ORDER BY cid').all(name) as { name: string }[]).map((r) => r.name);
      const pgCols = (await pgs.pool.query<{ name: string }>(
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position", [name],
      )).rows.map((r) => r.name);
      assert.deepEqual(pgCols, liteCols, `columns of ${name}`);
    }
    const liteIndexes = (lite.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const pgIndexes = (await pgs.pool.query<{ name: string }>("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' ORDER BY 1")).rows.map((r) => r.name);
    assert.deepEqual(pgIndexes, liteIndexes);
  } finally {
    lite.close();
    await pgs.close();
  }
});

test('one latest session per torrent, address key and port: the partial unique index', { skip }, async () => {
  const { lite, pgs } = await stores();
  lite.close();
  try {
    const ins = (latest: number) =>
      pgs.pool.query("INSERT INTO peers (torrent_id, address, address_key, port, discovered_at, latest) VALUES (1, '10.0.0.0/24', 'k', 6881, 'x', $1)", [latest]);
    await ins(1);
    await assert.rejects(ins(1), /duplicate key value violates unique constraint "peers_torrent_address_port_latest"/);
    await ins(0);
    await ins(0); // older sessions of the same address:port are many
    const r = await pgs.pool.query<{ n: number }>('SELECT count(*) AS n FROM peers');
    assert.equal(r.rows[0].n, 3, 'count(*) comes back as a number, as from SQLite');
  } finally {
    await pgs.close();
  }
});

test('crossings, confirmed_downloads and hourly_confirmed give the same rows on both backends', { skip }, async () => {
  const { lite, pgs } = await stores();
  try {
    const torrent = ['aa'.repeat(20), 'x', 100, 16_384, 1_638_400, 'x.torrent', '2026-01-01T00:00:00.000Z', 98];
    lite.sqlite.prepare('INSERT INTO torrents (info_hash, name, pieces, piece_size, total_size, source, added_at, threshold_pieces) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(...torrent);
    await pgs.pool.query('INSERT INTO torrents (info_hash, name, pieces, piece_size, total_size, source, added_at, threshold_pieces) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', torrent);
    // confirmed in two hours, a restart, a suspect crossing, and a peer that never crossed
    const peers: [string, number, string | null, string | null, string | null][] = [
      ['a', 6881, '2026-01-01T10:05:00.000Z', 'confirmed', null],
      ['b', 6881, '2026-01-01T10:59:59.999Z', 'confirmed', null],
      ['c', 6882, '2026-01-01T11:00:00.000Z', 'confirmed', null],
      ['d', 6881, '2026-01-01T11:30:00.000Z', 'restart', null],
      ['e', 6881, '2026-01-01T12:00:00.000Z', 'suspect', 'rate'],
      ['f', 6881, null, null, null],
    ];
    for (const [key, port, at, cls, why] of peers) {
      const row = [1, '10.0.0.0/24', key, port, 'x', at === null ? 5 : 10, at === null ? 50 : 99, at, at === null ? null : 99, at === null ? null : 98, cls, why];
      lite.sqlite.prepare(
        'INSERT INTO peers (torrent_id, address, address_key, port, discovered_at, first_pieces, last_pieces, crossed_at, crossed_pieces, crossed_threshold, crossing_class, suspect_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(...row);
      await pgs.pool.query(
        'INSERT INTO peers (torrent_id, address, address_key, port, discovered_at, first_pieces, last_pieces, crossed_at, crossed_pieces, crossed_threshold, crossing_class, suspect_reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
        row,
      );
    }
    for (const [view, order] of [['crossings', 'peer_row'], ['confirmed_downloads', 'peer_row'], ['hourly_confirmed', 'hour']]) {
      const a = lite.sqlite.prepare(`SELECT * FROM ${view} ORDER BY ${order}`).all();
      const b = (await pgs.pool.query(`SELECT * FROM ${view} ORDER BY ${order}`)).rows;
      assert.deepEqual(b.map((r) => ({ ...r })), a.map((r) => ({ ...(r as object) })), view);
    }
    const hours = (await pgs.pool.query('SELECT hour, confirmed FROM hourly_confirmed ORDER BY hour')).rows;
    assert.deepEqual(hours, [{ hour: '2026-01-01 10:00', confirmed: 2 }, { hour: '2026-01-01 11:00', confirmed: 1 }]);
  } finally {
    lite.close();
    await pgs.close();
  }
});

test('peers leaves room in its pages for revisits (fillfactor 70: HOT updates, migration 0002)', { skip }, async () => {
  const pgs = await PgStore.open(await server!.createDatabase(`fill_${++n}`));
  try {
    const r = await pgs.pool.query(`SELECT reloptions FROM pg_class WHERE relname = 'peers'`);
    assert.deepEqual(r.rows[0].reloptions, ['fillfactor=70']);
  } finally {
    await pgs.close();
  }
});
