// PgPusher: sends what changed in a spool (spool.ts) since the last push to PostgreSQL, one transaction per
// round, batched through PgAppendWriter's plans (one unnest statement per table and CHUNK_ROWS rows):
//   torrents       upserted by info hash (what one host knows of a magnet fills what another lacks) → id map
//   runs           one row per spool run, found again by its origin ("spool block B run N") → id map
//   peers          the rows push_dirty names, upserted by id (the spool's ids are PostgreSQL's); a newer
//                  session of another host at the same (torrent, address key, port) stays `latest`
//   observations, requests, scrapes, statistics   appended after the last pushed id (a watermark in the
//                  spool's meta), an id already there skipped
//   outcomes, contact_waits   absolute counts of the spool's runs still open, replacing the stored ones
// Every step is idempotent, so a push whose commit was not recorded in the spool (a crash in between) is
// simply sent again. A push that fails (the server unreachable) changes nothing on either side; the spool
// keeps everything and the next push retries.
import type Sqlite from 'better-sqlite3';
import type pg from 'pg';
import { StoreError } from '../database.ts';
import { counterPlan, idPlan, insertPlan, sendColumns, type Plan } from './append-writer.ts';
import { redactUrl } from './connection.ts';
import type { PgStore } from './pg-store.ts';
import * as schema from './schema.ts';
import { PEERS, upsertPeers } from './push-peers.ts';
import { DUAL_STACK_REASON, setApartCountedTwins, type CountedCrossing } from './push-twins.ts';
import { returnUnsent, type Spool } from './spool.ts';

type Row = Record<string, unknown>;
/** A row as an array of values in the order of its plan's columns. */
type Values = unknown[];

/** Rows read per table and round (one transaction): bounds a round's memory and how long its read holds the event loop. */
const ROUND_ROWS = 10_000;
/** Rounds per push at most; a spool that grew during a long outage catches up over several pushes. */
const MAX_ROUNDS = 50;
/** Longest wait for one statement of a push: a server that stops answering (not refusing) fails the push, never hangs the crawl's stop. */
const QUERY_TIMEOUT_MS = 60_000;

const APPENDS = [
  { name: 'observations', plan: idPlan(schema.observations, 'append') },
  { name: 'requests', plan: idPlan(schema.requests, 'append') },
  { name: 'scrapes', plan: idPlan(schema.scrapes, 'append') },
  { name: 'statistics', plan: idPlan(schema.statistics, 'append') },
] as const;
const COUNTERS = [
  { name: 'outcomes', plan: counterPlan(schema.outcomes, 'set') },
  { name: 'contact_waits', plan: counterPlan(schema.contactWaits, 'set') },
] as const;
const TORRENTS = insertPlan(schema.torrents, `ON CONFLICT (info_hash) DO UPDATE SET
  info_hash_v2 = coalesce(torrents.info_hash_v2, excluded.info_hash_v2), name = coalesce(torrents.name, excluded.name),
  set_label = coalesce(torrents.set_label, excluded.set_label), pieces = coalesce(torrents.pieces, excluded.pieces),
  piece_size = coalesce(torrents.piece_size, excluded.piece_size), total_size = coalesce(torrents.total_size, excluded.total_size),
  threshold_pieces = coalesce(excluded.threshold_pieces, torrents.threshold_pieces)
  RETURNING id, info_hash`);

/**
 * Rows sent by one push, per table; `demoted`: other hosts' sessions that stopped being `latest`; `twins`:
 * crossings of ours set apart because another host counted the client over its other family (push-twins.ts).
 */
export type PushCounts = Record<'torrents' | 'runs' | 'peers' | 'demoted' | 'twins' | 'observations' | 'requests' | 'scrapes' | 'statistics' | 'outcomes' | 'contact_waits', number>;

/** The rows a push sent: every count but those of rows it changed in place (demoted, twins). */
export function rowsSent(c: PushCounts): number {
  return Object.entries(c).reduce((n, [k, v]) => (k === 'demoted' || k === 'twins' ? n : n + v), 0);
}

const zero = (): PushCounts => ({ torrents: 0, runs: 0, peers: 0, demoted: 0, twins: 0, observations: 0, requests: 0, scrapes: 0, statistics: 0, outcomes: 0, contact_waits: 0 });

/** What one round read from the spool, and where the watermarks go once it is committed. */
interface Round {
  torrents: Row[];
  runs: Row[];
  peers: Values[];
  /** The largest peers id this round sends (its ids wait in push_sending until the commit). */
  maxPeerId: number;
  /** Rows of the round first contacted since the last push (taken from push_contacted; put back if the push fails). */
  recheck: number[];
  /** Peers rows with a larger id are new to PostgreSQL (the spool's ids only grow). */
  peersPushed: number;
  appends: { name: (typeof APPENDS)[number]['name']; plan: Plan; rows: Values[]; watermark: number }[];
  counters: { name: (typeof COUNTERS)[number]['name']; plan: Plan; rows: Values[] }[];
  countersFrom: number;
  more: boolean;
}

export class PgPusher {
  /** Spool id → PostgreSQL id. */
  private readonly torrentIds = new Map<number, number>();
  private readonly runIds = new Map<number, number>();
  /** The rows as last sent, to send a torrent or run again only when it changed. */
  private readonly sentTorrents = new Map<number, string>();
  private readonly sentRuns = new Map<number, string>();
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  /** The spool run being written now (its counters change until it ends); null: none. */
  liveRun: number | null = null;
  pushes = 0;
  failures = 0;
  readonly sent: PushCounts = zero();

  private readonly roundRows: number;
  private readonly timeoutMs: number;

  constructor(
    private readonly spool: Spool,
    private readonly store: PgStore,
    opts: { roundRows?: number; queryTimeoutMs?: number; prepare?: () => Promise<void> } = {},
  ) {
    this.roundRows = opts.roundRows ?? ROUND_ROWS;
    this.timeoutMs = opts.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    this.prepare = opts.prepare ?? null;
  }

  /** What must hold before rows are sent (a spool opened while the server was away: its checks), until it once succeeds. */
  private prepare: (() => Promise<void>) | null;

  /** Makes every push from now on run `fn` first, until it once succeeds (the run lock lost: take it again). */
  requirePrepare(fn: () => Promise<void>): void {
    const before = this.prepare;
    this.prepare = before ? async () => { await before(); await fn(); } : fn;
  }

  /** Sends everything that changed; pushes run one after another. Throws StoreError (one line) on failure. */
  push(): Promise<PushCounts> {
    const next = this.running.then(() => this.pushNow());
    this.running = next.catch(() => {});
    return next;
  }

  /** Pushes every `intervalMs`, skipping a tick while a push is under way; failures go to `onFailure`. */
  start(intervalMs: number, onFailure: (err: Error) => void): void {
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.push().catch(onFailure);
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The PostgreSQL id of a spool run, once pushed. */
  pgRunId(spoolRunId: number): number | undefined {
    return this.runIds.get(spoolRunId);
  }

  private async pushNow(): Promise<PushCounts> {
    this.busy = true;
    const counts = zero();
    let unsettled: number[] = [];
    try {
      if (this.prepare) {
        await this.prepare();
        this.prepare = null;
      }
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const r = this.read();
        unsettled = r.recheck;
        await this.send(r, counts);
        const twins = await this.setApartTwins(r);
        counts.twins += twins.length;
        this.commitRead(r, twins);
        unsettled = [];
        if (!r.more) break;
      }
      this.pushes++;
      for (const k of Object.keys(counts) as (keyof PushCounts)[]) this.sent[k] += counts[k];
      return counts;
    } catch (err) {
      this.failures++;
      try {
        returnUnsent(this.spool.db); // the rows of the round that failed are sent by the next push
        for (const id of unsettled) this.statement('INSERT INTO push_contacted (id) VALUES (?) ON CONFLICT (id) DO NOTHING').run(id);
      } catch {
        // the spool itself failed (disk): they go back when it is opened again
      }
      const e = err as Error & { code?: string };
      const why = (e.message || e.code || String(err)).replace(/\s+/g, ' ').trim();
      throw new StoreError(`cannot push ${this.spool.path} to ${redactUrl(this.store.url)}: ${why}`);
    } finally {
      this.busy = false;
    }
  }

  /** Reads one round from the spool, synchronously: one consistent state between two of the writer's transactions. */
  private read(): Round {
    const db = this.spool.db;
    const q = (sql: string, ...params: unknown[]) => this.statement(sql).all(...params) as Row[];
    const raw = (plan: Plan, where: string, ...params: unknown[]) =>
      this.statement(`SELECT ${plan.columns.map((c) => `"${c.name}"`).join(', ')} FROM ${plan.table} ${where}`).raw(true).all(...params) as Values[];
    const torrents = q('SELECT * FROM torrents ORDER BY id').filter((t) => this.sentTorrents.get(t.id as number) !== JSON.stringify(t));
    const allRuns = q('SELECT * FROM runs ORDER BY id');
    const runs = allRuns.filter((r) => this.sentRuns.get(r.id as number) !== JSON.stringify(r));
    // the first roundRows peers rows changed (by id), each sent once however often it changed; moved to
    // push_sending at once, so that a change from now on marks the row again
    const ids = this.statement('SELECT id FROM push_dirty ORDER BY id LIMIT ?').pluck().all(this.roundRows) as number[];
    const maxId = ids.length > 0 ? ids[ids.length - 1] : 0;
    let recheck: number[] = [];
    if (ids.length > 0) {
      db.sqlite.transaction(() => {
        this.statement('INSERT INTO push_sending (id) SELECT id FROM push_dirty WHERE id <= ?').run(maxId);
        this.statement('DELETE FROM push_dirty WHERE id <= ?').run(maxId);
        recheck = this.statement('SELECT id FROM push_contacted WHERE id <= ?').pluck().all(maxId) as number[];
        this.statement('DELETE FROM push_contacted WHERE id <= ?').run(maxId);
      })();
    }
    const peers = ids.length > 0 ? raw(PEERS, 'WHERE id IN (SELECT id FROM push_sending) ORDER BY id') : [];
    let more = ids.length === this.roundRows;
    const appends = APPENDS.map((a) => {
      const from = Number(db.meta(`push_${a.name}`) ?? 0);
      const rows = raw(a.plan, 'WHERE id > ? ORDER BY id LIMIT ?', from, this.roundRows);
      if (rows.length === this.roundRows) more = true;
      const id = a.plan.columns.findIndex((c) => c.name === 'id');
      return { ...a, rows, watermark: rows.length > 0 ? (rows[rows.length - 1][id] as number) : from };
    });
    const countersFrom = Number(db.meta('push_counters_from') ?? 0);
    const counters = COUNTERS.map((c) => ({ ...c, rows: raw(c.plan, 'WHERE run_id >= ?', countersFrom) }));
    // after this push, only the live run's counters can still change
    const maxRun = allRuns.length > 0 ? (allRuns[allRuns.length - 1].id as number) : 0;
    const peersPushed = Number(db.meta('push_peers') ?? 0);
    return { torrents, runs, peers, maxPeerId: maxId, recheck, peersPushed, appends, counters, countersFrom: this.liveRun ?? maxRun + 1, more };
  }

  private readonly statements = new Map<string, Sqlite.Statement>();
  private statement(sql: string): Sqlite.Statement {
    let s = this.statements.get(sql);
    if (!s) this.statements.set(sql, (s = this.spool.db.sqlite.prepare(sql)));
    return s;
  }

  /** One transaction: all of the round is in PostgreSQL, or none of it. */
  private async send(r: Round, counts: PushCounts): Promise<void> {
    let client: pg.PoolClient | undefined;
    let failed: Error | undefined;
    try {
      client = await this.store.pool.connect();
      // a connection lost while checked out is reported here as well as by the query that fails: not a crash
      client.on('error', ignore);
      await this.query(client, 'BEGIN');
      await this.sendTorrents(client, r.torrents);
      await this.sendRuns(client, r.runs);
      counts.torrents += r.torrents.length;
      counts.runs += r.runs.length;
      if (r.peers.length > 0) counts.demoted += await this.sendPeers(client, r.peers, r.peersPushed, r.recheck);
      counts.peers += r.peers.length;
      for (const a of r.appends) {
        if (a.rows.length === 0) continue;
        await sendColumns(client, a.plan, this.columns(a.plan, a.rows), a.rows.length, this.timeoutMs);
        counts[a.name] += a.rows.length;
      }
      for (const c of r.counters) {
        if (c.rows.length === 0) continue;
        await sendColumns(client, c.plan, this.columns(c.plan, c.rows), c.rows.length, this.timeoutMs);
        counts[c.name] += c.rows.length;
      }
      await this.query(client, 'COMMIT');
    } catch (err) {
      failed = err as Error;
      // after a timeout the connection is dropped instead (release below): the server rolls back on its own
      if (client && !/timeout/i.test(failed.message)) await this.query(client, 'ROLLBACK').catch(() => {});
      // the maps learnt in a rolled-back transaction may name rows that do not exist
      this.torrentIds.clear();
      this.runIds.clear();
      this.sentTorrents.clear();
      this.sentRuns.clear();
      throw err;
    } finally {
      client?.off('error', ignore);
      // a failed connection is not handed out again
      client?.release(failed);
    }
    for (const t of r.torrents) this.sentTorrents.set(t.id as number, JSON.stringify(t));
    for (const run of r.runs) this.sentRuns.set(run.id as number, JSON.stringify(run));
  }

  /** A statement of a push, bounded by the query timeout. */
  private query<T extends pg.QueryResultRow = pg.QueryResultRow>(client: pg.ClientBase, text: string, values: unknown[] = []): Promise<pg.QueryResult<T>> {
    return client.query<T>({ text, values, query_timeout: this.timeoutMs } as pg.QueryConfig);
  }

  /** The round's counted crossings that another host counted already over the other family, set apart in PostgreSQL. */
  private async setApartTwins(r: Round): Promise<number[]> {
    const col = (name: string) => PEERS.columns.findIndex((c) => c.name === name);
    const [id, torrent, address, peerId, cls, first, last] = ['id', 'torrent_id', 'address', 'peer_id', 'crossing_class', 'first_seen', 'last_seen'].map(col);
    const counted: CountedCrossing[] = [];
    for (const row of r.peers) {
      if ((row[cls] !== 'confirmed' && row[cls] !== 'restart') || row[peerId] === null || row[first] === null) continue;
      counted.push({ id: row[id] as number, torrentId: this.torrentIds.get(row[torrent] as number)!, peerId: row[peerId] as string,
        ipv6: (row[address] as string).includes(':'), firstSeen: row[first] as string, lastSeen: (row[last] ?? row[first]) as string });
    }
    if (counted.length === 0) return [];
    const client = await this.store.pool.connect();
    let failed: Error | undefined;
    try {
      client.on('error', ignore);
      return await setApartCountedTwins(client, counted, this.spool.block, this.timeoutMs);
    } catch (err) {
      failed = err as Error;
      throw err;
    } finally {
      client.off('error', ignore);
      client.release(failed);
    }
  }

  /** Moves the spool's watermarks past what was committed; the crossings set apart as twins are set apart in the spool too. */
  private commitRead(r: Round, twins: number[] = []): void {
    const db = this.spool.db;
    db.sqlite.transaction(() => {
      for (const id of twins) this.statement(`UPDATE peers SET crossing_class = 'suspect', suspect_reason = ? WHERE id = ?`).run(DUAL_STACK_REASON, id);
      for (const a of r.appends) if (a.rows.length > 0) db.setMeta(`push_${a.name}`, String(a.watermark));
      this.statement('DELETE FROM push_sending').run();
      if (r.maxPeerId > r.peersPushed) db.setMeta('push_peers', String(r.maxPeerId));
      db.setMeta('push_counters_from', String(r.countersFrom));
    })();
  }

  private async sendTorrents(client: pg.ClientBase, rows: Row[]): Promise<void> {
    if (rows.length === 0) return;
    const returned = await sendColumns(client, TORRENTS, columnsOf(TORRENTS, rows), rows.length, this.timeoutMs);
    const byHash = new Map(returned.map((t) => [t.info_hash as string, t.id as number]));
    for (const t of rows) this.torrentIds.set(t.id as number, byHash.get(t.info_hash as string)!);
  }

  private async sendRuns(client: pg.ClientBase, rows: Row[]): Promise<void> {
    for (const run of rows) {
      // a merged run keeps the origin the merge gave it ("FILE run ID"); a crawl's run is named by its spool
      const origin = (run.origin as string | null) ?? `spool block ${this.spool.block} run ${run.id}`;
      const values = [run.started_at, run.ended_at, run.version, redactArgs(run.args as string), run.host, run.exit_reason, run.threshold,
        run.suspect_rate, run.shard, origin];
      let id = this.runIds.get(run.id as number);
      if (id === undefined) {
        const found = await this.query<{ id: number }>(client, 'SELECT id FROM runs WHERE origin = $1', [origin]);
        id = found.rows[0]?.id;
      }
      if (id === undefined) {
        const made = await this.query<{ id: number }>(client, `INSERT INTO runs (started_at, ended_at, version, args, host, exit_reason, threshold,
          suspect_rate, shard, origin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, values);
        id = made.rows[0].id;
      } else {
        await this.query(client, `UPDATE runs SET started_at = $1, ended_at = $2, version = $3, args = $4, host = $5, exit_reason = $6,
          threshold = $7, suspect_rate = $8, shard = $9, origin = $10 WHERE id = $11`, [...values, id]);
      }
      this.runIds.set(run.id as number, id);
    }
  }

  private async sendPeers(client: pg.ClientBase, rows: Values[], pushedBefore: number, recheck: number[]): Promise<number> {
    return upsertPeers(client, this.columns(PEERS, rows), rows.length, pushedBefore, this.timeoutMs, new Set(recheck));
  }

  /** A plan's columns from spool rows (arrays in the plan's column order), run and torrent ids mapped to PostgreSQL's. */
  private columns(plan: Plan, rows: Values[]): unknown[][] {
    return plan.columns.map((c, j) => {
      const map = c.name === 'run_id' ? this.runIds : c.name === 'torrent_id' ? this.torrentIds : null;
      const out = new Array<unknown>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        let v = rows[i][j];
        if (v === undefined) v = c.fallback;
        if (map && v !== null) {
          const mapped = map.get(v as number);
          if (mapped === undefined && map === this.runIds) throw new Error(`run ${v} of the spool has no row in PostgreSQL`);
          // an outcome of an inbound peer that named no torrent of ours keeps its -1
          if (mapped !== undefined) v = mapped;
        }
        out[i] = v;
      }
      return out;
    });
  }
}

function ignore(): void {}

/** A plan's columns from rows read as objects. */
function columnsOf(plan: Plan, rows: Row[]): unknown[][] {
  return plan.columns.map((c) => rows.map((r) => (r[c.name] === undefined ? c.fallback : r[c.name])));
}

/** runs.args as stored in PostgreSQL: database URLs without their passwords. */
export function redactArgs(args: string): string {
  return args.replace(/postgres(ql)?:\/\/[^\s"]*/gi, (url) => redactUrl(url));
}
