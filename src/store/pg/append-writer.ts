// Batched writes of the append-only tables into PostgreSQL (issue 15 item 5): one round trip per table and
// flush instead of one per row. Rows are buffered column by column and sent as one array per column:
//   INSERT INTO t (a, b, ...) SELECT * FROM unnest($1::bigint[], $2::text[], ...)
// a multi-row insert whose statement text stays the same whatever the row count (prepared once per
// connection, no 65,535-parameter limit). The counters (outcomes, contact_waits) are summed in memory by key
// and added with one upsert per flush. A flush is one transaction: all of it is written, or none of it and
// the rows stay buffered for the next flush.
import type pg from 'pg';
import { getTableColumns, type InferInsertModel } from 'drizzle-orm';
import { getTableConfig, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import { createHash } from 'node:crypto';
import { StoreError } from '../database.ts';
import * as schema from './schema.ts';

export type AppendTable = typeof schema.requests | typeof schema.scrapes | typeof schema.statistics | typeof schema.observations;
export type CounterTable = typeof schema.outcomes | typeof schema.contactWaits;
type CounterKey<T extends CounterTable> = Omit<InferInsertModel<T>, 'count'>;

/** Rows per statement: bounds one message's size (and the server's memory for it). */
export const CHUNK_ROWS = 20_000;

export interface Column {
  key: string;
  name: string;
  sqlType: string;
  /** Used when a row leaves the column out (unnest cannot say DEFAULT per row). */
  fallback: unknown;
}

export interface Plan {
  table: string;
  columns: Column[];
  text: string;
}

/** The columns of a table that a row gives: all but a generated id (unless `ids`: rows carry their ids). */
function columnsOf(table: PgTable, skip: (c: PgColumn) => boolean = () => false, ids = false): Column[] {
  return Object.entries(getTableColumns(table))
    .filter(([, c]) => (ids || !(c as PgColumn).generatedIdentity) && !skip(c as PgColumn))
    .map(([key, c]) => ({ key, name: c.name, sqlType: (c as PgColumn).getSQLType(), fallback: c.hasDefault ? c.default : null }));
}

function unnestInsert(table: string, columns: Column[]): string {
  const names = columns.map((c) => `"${c.name}"`).join(', ');
  const arrays = columns.map((c, i) => `$${i + 1}::${c.sqlType}[]`).join(', ');
  return `INSERT INTO "${table}" (${names}) SELECT * FROM unnest(${arrays})`;
}

function appendPlan(table: AppendTable): Plan {
  const name = getTableConfig(table).name;
  const columns = columnsOf(table);
  return { table: name, columns, text: unnestInsert(name, columns) };
}

/**
 * Rows that carry their own ids (a spool's, src/store/pg/push.ts): `append` inserts them and skips an id
 * already there (a push sent again after its commit was not recorded writes nothing twice); `upsert`
 * replaces every other column of the row with that id.
 */
export function idPlan(table: PgTable, mode: 'append' | 'upsert'): Plan {
  const set = columnsOf(table).map((c) => `"${c.name}" = excluded."${c.name}"`).join(', ');
  return insertPlan(table, mode === 'append' ? 'ON CONFLICT (id) DO NOTHING' : `ON CONFLICT (id) DO UPDATE SET ${set}`, true);
}

/** An unnest insert of every column (with the id when `ids`) followed by `tail` (ON CONFLICT ..., RETURNING ...). */
export function insertPlan(table: PgTable, tail: string, ids = false): Plan {
  const name = getTableConfig(table).name;
  const columns = columnsOf(table, () => false, ids);
  return { table: name, columns, text: `${unnestInsert(name, columns)} ${tail}`.trim() };
}

/**
 * The counters. `add` sums into the stored count (a writer's increments); `set` replaces it (a spool's
 * absolute count of a run of its own: sending it twice changes nothing).
 */
export function counterPlan(table: CounterTable, mode: 'add' | 'set' = 'add'): Plan {
  const name = getTableConfig(table).name;
  const keys = columnsOf(table, (c) => c.name === 'count');
  const columns = [...keys, { key: 'count', name: 'count', sqlType: 'bigint', fallback: 0 }];
  const target = keys.map((c) => `"${c.name}"`).join(', ');
  const value = mode === 'add' ? `"${name}".count + excluded.count` : 'excluded.count';
  // the conflict target is the table's unique index over every column but count
  return { table: name, columns, text: `${unnestInsert(name, columns)} ON CONFLICT (${target}) DO UPDATE SET count = ${value}` };
}

const names = new Map<string, string>();
/** One prepared statement per statement text and connection (a name must never stand for two texts). */
function statementName(text: string): string {
  let name = names.get(text);
  if (!name) names.set(text, (name = `btda_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`));
  return name;
}

/** Sends column arrays through a plan in statements of CHUNK_ROWS rows; returns the rows of RETURNING, if any. */
export async function sendColumns(client: pg.ClientBase, plan: Plan, cols: unknown[][], rows: number, timeoutMs?: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for (let from = 0; from < rows; from += CHUNK_ROWS) {
    const values = rows <= CHUNK_ROWS ? cols : cols.map((col) => col.slice(from, from + CHUNK_ROWS));
    const r = await client.query({ name: statementName(plan.text), text: plan.text, values, query_timeout: timeoutMs } as pg.QueryConfig);
    if (r.rows.length > 0) out.push(...r.rows);
  }
  return out;
}

/** Buffered rows of one table, one array per column. */
class ColumnBuffer {
  cols: unknown[][];
  rows = 0;
  constructor(readonly plan: Plan) {
    this.cols = plan.columns.map(() => []);
  }
  push(row: Record<string, unknown>): void {
    const { columns } = this.plan;
    for (let i = 0; i < columns.length; i++) {
      const v = row[columns[i].key];
      this.cols[i].push(v === undefined ? columns[i].fallback : v);
    }
    this.rows++;
  }
  /** Takes everything buffered, leaving the buffer empty. */
  take(): { cols: unknown[][]; rows: number } {
    const out = { cols: this.cols, rows: this.rows };
    this.cols = this.plan.columns.map(() => []);
    this.rows = 0;
    return out;
  }
  /** Puts rows that failed to be written back in front of those buffered since. */
  restore(taken: { cols: unknown[][]; rows: number }): void {
    this.cols = taken.cols.map((c, i) => c.concat(this.cols[i]));
    this.rows += taken.rows;
  }
}

export class PgAppendWriter {
  private readonly appends = new Map<AppendTable, ColumnBuffer>();
  private readonly counters = new Map<CounterTable, { plan: Plan; sums: Map<string, { key: Record<string, unknown>; count: number }> }>();
  private running: Promise<unknown> = Promise.resolve();
  /** Rows written since the writer was created (counter rows count once per flush and key). */
  written = 0;

  constructor(private readonly pool: pg.Pool) {}

  append<T extends AppendTable>(table: T, row: InferInsertModel<T>): void {
    let buffer = this.appends.get(table);
    if (!buffer) this.appends.set(table, (buffer = new ColumnBuffer(appendPlan(table))));
    buffer.push(row as Record<string, unknown>);
  }

  /** Adds `n` to the counter row with this key (outcomes: run, torrent, event, reason). */
  count<T extends CounterTable>(table: T, key: CounterKey<T>, n = 1): void {
    let c = this.counters.get(table);
    if (!c) this.counters.set(table, (c = { plan: counterPlan(table), sums: new Map() }));
    const k = c.plan.columns.slice(0, -1).map((col) => String((key as Record<string, unknown>)[col.key])).join('\0');
    const entry = c.sums.get(k);
    if (entry) entry.count += n;
    else c.sums.set(k, { key: key as Record<string, unknown>, count: n });
  }

  /** Rows waiting for the next flush. */
  get pending(): number {
    let n = 0;
    for (const b of this.appends.values()) n += b.rows;
    for (const c of this.counters.values()) n += c.sums.size;
    return n;
  }

  /** Writes everything buffered in one transaction; flushes run one after another. Returns rows written. */
  flush(): Promise<number> {
    const next = this.running.then(() => this.flushNow());
    this.running = next.catch(() => {});
    return next;
  }

  private async flushNow(): Promise<number> {
    const appends = [...this.appends.values()].filter((b) => b.rows > 0).map((b) => ({ buffer: b, taken: b.take() }));
    const counters = [...this.counters.values()].filter((c) => c.sums.size > 0).map((c) => {
      const sums = c.sums;
      c.sums = new Map();
      return { counter: c, sums };
    });
    if (appends.length === 0 && counters.length === 0) return 0;
    let rows = 0;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      for (const { buffer, taken } of appends) {
        await sendColumns(client, buffer.plan, taken.cols, taken.rows);
        rows += taken.rows;
      }
      for (const { counter, sums } of counters) {
        const cols = counter.plan.columns;
        const values = cols.map((col) => [...sums.values()].map((e) => (col.key === 'count' ? e.count : e.key[col.key] ?? col.fallback)));
        await sendColumns(client, counter.plan, values, sums.size);
        rows += sums.size;
      }
      await client.query('COMMIT');
    } catch (err) {
      await client?.query('ROLLBACK').catch(() => {});
      for (const { buffer, taken } of appends) buffer.restore(taken);
      for (const { counter, sums } of counters) {
        for (const [k, e] of sums) {
          const now = counter.sums.get(k);
          if (now) now.count += e.count;
          else counter.sums.set(k, e);
        }
      }
      throw new StoreError(`cannot write to PostgreSQL: ${(err as Error).message}`);
    } finally {
      client?.release();
    }
    this.written += rows;
    return rows;
  }
}
