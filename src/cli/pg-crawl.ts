// Where a crawl writes: a SQLite file of its own, or (--db postgres://...) a spool pushed to PostgreSQL
// (src/store/pg/spool.ts, push.ts; README "Running on several hosts"). Either way the crawl writes the same
// SQLite schema through the same ResultWriter; this file opens, locks, pushes and closes.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { keyFileOf, type Config } from '../config.ts';
import type { Logger } from '../log.ts';
import { Shard } from '../queue/shard.ts';
import { AddressKeyError, FINGERPRINT, keyFingerprint, openAddressKey } from '../store/address-key.ts';
import { Database } from '../store/database.ts';
import { AddressHasher } from '../store/peer-identity.ts';
import { isPostgresUrl, redactUrl } from '../store/pg/connection.ts';
import { PgStore } from '../store/pg/pg-store.ts';
import { OtherHostsPeers, spoolTorrents } from '../store/pg/pull-peers.ts';
import { PgPusher, rowsSent } from '../store/pg/push.ts';
import { defaultSpoolPath, pullTorrents, Spool, verifySpool } from '../store/pg/spool.ts';
import { RunLock } from '../store/run-lock.ts';
import { PeerPull, type PullSink } from './pull-peers.ts';

export interface CrawlStore {
  /** The SQLite database the crawl writes: the database itself, or the spool. */
  db: Database;
  hasher: AddressHasher;
  /** How messages name it (a URL without its password). */
  label: string;
  /** The run row exists in `db`: a PostgreSQL crawl starts pushing (not waited for), then every --push-interval. */
  started(runId: number): Promise<void>;
  /** After the run's last write: the last push, then everything closed and unlocked. Never throws. */
  finish(): Promise<void>;
  /**
   * A sharded PostgreSQL crawl with --store-ip and --pull-interval: starts pulling the endpoints of this shard
   * other hosts learnt (src/cli/pull-peers.ts), and the crawl stores the other shards' it learns. Else null.
   */
  pull: { start(sink: PullSink): void } | null;
}

export async function openCrawlStore(config: Config, log: Logger): Promise<CrawlStore> {
  return isPostgresUrl(config.db) ? openPostgres(config, log) : openSqlite(config, log);
}

function openSqlite(config: Config, log: Logger): CrawlStore {
  const lock = RunLock.acquire(config.db);
  let db: Database | undefined;
  try {
    db = Database.open(config.db);
    const hasher = openAddressKey(db, config.db, keyFileOf(config));
    const opened = db;
    return {
      db: opened, hasher, label: config.db,
      started: async () => {},
      pull: null,
      finish: async () => {
        try {
          opened.checkpoint(); // the .sqlite file alone holds the whole run, even while an analyst has it open
        } catch (err) {
          log.warn(`cannot checkpoint ${config.db}: ${(err as Error).message}`);
        }
        opened.close();
        lock.release();
      },
    };
  } catch (err) {
    db?.close();
    lock.release();
    throw err;
  }
}

/** While pushes keep failing, at most one line per this long (the run's last line counts them all). */
const FAILURE_LINE_MS = 5 * 60_000;

async function openPostgres(config: Config, log: Logger): Promise<CrawlStore> {
  const shard = Shard.parse(config.shard);
  const label = redactUrl(config.db);
  const keyPath = keyFileOf(config);
  const spoolPath = config.spool || defaultSpoolPath(dirname(keyPath), config.db, shard);
  const store = PgStore.connect(config.db);
  const cleanup: (() => unknown)[] = [() => store.close()];
  const undo = async () => {
    for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => {});
  };
  try {
    // two processes of one shard refuse; different shards crawl together
    const scope = shard ? `run shard ${shard.label}` : 'run';
    // a lock whose connection ends (a server restart, the network) is gone: the pushes stop until it is taken
    // again, so that two processes of one shard never both write to the database; the spool keeps everything
    let pusher: PgPusher | undefined;
    const lockRun = async () => {
      let lost = false;
      const lock = await store.acquireRunLock(scope, (err) => {
        if (lost) return; // a connection reports its end more than once: one retake per lock lost
        lost = true;
        log.warn(`lost the run lock of ${label} (${err.message}): pushes wait until it is taken again`);
        pusher?.requirePrepare(lockRun);
      });
      cleanup.push(() => lock.release());
    };
    const away = await store.ready().then(() => null, (err: Error) => err);
    if (away && !existsSync(spoolPath)) throw away;
    if (!away) await lockRun();
    mkdirSync(dirname(spoolPath), { recursive: true });
    const spoolLock = RunLock.acquire(spoolPath); // --spool named by two runs of different databases
    cleanup.push(() => spoolLock.release());
    // the server away at the start (a restart, the network): measure into the spool of the earlier runs, and
    // let the first push that reaches the server make the checks a start makes (key, lock, same database)
    const spool = away ? Spool.openOffline(spoolPath) : await Spool.open(spoolPath, store);
    cleanup.push(() => spool.db.close());
    const hasher = away ? openAddressKey(spool.db, spool.path, keyPath) : await checkAddressKey(store, spool, keyPath, label);
    if (away) log.warn(`${away.message}: crawling into the spool ${spoolPath}; every push tries the server again`);
    const pulled = away ? 0 : await pullTorrents(spool, store);
    if (pulled > 0) log.info(`${pulled} torrents of ${label} added to (or completed in) the spool`);
    const catchUp = async () => {
      await store.ready();
      await verifySpool(spool, store);
      await checkAddressKey(store, spool, keyPath, label);
      await lockRun(); // another process of this shard took over meanwhile: this spool is not pushed (it keeps everything)
    };
    pusher = new PgPusher(spool, store, away ? { prepare: catchUp } : {});
    const pushed = (what: string) => (counts: Record<string, number>) =>
      log.debug(`${what}: ${Object.entries(counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing new'}`);
    // a long outage is one line every few minutes, not one per push interval
    let warnedAt = -Infinity;
    const failed = (err: Error) => {
      if (Date.now() - warnedAt < FAILURE_LINE_MS) return;
      warnedAt = Date.now();
      log.warn(`${err.message} (failed pushes: ${pusher.failures}; the spool keeps everything, the next push retries)`);
    };
    log.info(`spool ${spoolPath} (block ${spool.block}), pushed to ${label} every ${config.pushInterval}s`);
    // nothing to pull without a shard (this host dials every endpoint) or without addresses (--store-ip)
    const pull = shard && config.storeIp && config.pullInterval > 0
      ? new PeerPull(new OtherHostsPeers(spool, store), spoolTorrents(spool, store), shard, log, away ? () => verifySpool(spool, store) : null) : null;
    return {
      db: spool.db, hasher, label: `${label} (spool ${spoolPath})`,
      started: async (runId) => {
        pusher.liveRun = runId;
        // beside the first contacts, not before them: a backlog a failed push left must not delay the start
        void pusher.push().then(pushed('first push'), failed);
        pusher.start(config.pushInterval * 1000, failed);
      },
      pull: pull && { start: (sink) => pull.start(sink, config.pullInterval * 1000) },
      finish: async () => {
        if (pull) {
          await pull.stop(); // before the pool and the spool close
          log.info(pull.summary());
        }
        pusher.stop();
        pusher.liveRun = null;
        await pusher.push().then(pushed('last push'), (err: Error) =>
          log.error(`${err.message}: the spool keeps what this run measured, and the next run on this host pushes it`));
        const rows = rowsSent(pusher.sent);
        log.info(`pushed ${rows} rows to ${label} in ${pusher.pushes} pushes${pusher.failures > 0 ? `; ${pusher.failures} pushes failed` : ''}`);
        try {
          spool.db.checkpoint();
        } catch (err) {
          log.warn(`cannot checkpoint ${spoolPath}: ${(err as Error).message}`);
        }
        await undo();
      },
    };
  } catch (err) {
    await undo();
    throw err;
  }
}

/**
 * Every host must hash addresses with one key, or the shared database would split every history: the
 * first host records its key's fingerprint in PostgreSQL, and a host with another key is refused (exit 2).
 */
async function checkAddressKey(store: PgStore, spool: Spool, keyPath: string, label: string): Promise<AddressHasher> {
  const recorded = await store.meta(FINGERPRINT);
  const mismatch = (fingerprint: string, expected: string | null) => new AddressKeyError(`address key file ${keyPath} ` +
    `(fingerprint ${fingerprint}) is not the key database ${label} was written with (fingerprint ${expected}): copy the key file of the first host to this one`);
  if (recorded !== null) {
    if (!existsSync(keyPath)) {
      throw new AddressKeyError(`address key file ${keyPath} does not exist, but database ${label} was written with key ${recorded}: ` +
        'copy the key file of the first host to this one (a new key would split every peer history)');
    }
    // before the spool records this key as its own
    const fingerprint = keyFingerprint(AddressHasher.fromKeyFile(keyPath).key);
    if (fingerprint !== recorded) throw mismatch(fingerprint, recorded);
  }
  const hasher = openAddressKey(spool.db, spool.path, keyPath);
  const fingerprint = keyFingerprint(hasher.key);
  if (recorded === null) {
    if (await store.hasPeers()) {
      throw new AddressKeyError(`database ${label} has peers but no address key fingerprint: it cannot be told which key wrote them`);
    }
    // hosts starting at once: the first one's key wins, the others compare with it
    await store.pool.query('INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [FINGERPRINT, fingerprint]);
  }
  const now = recorded ?? (await store.meta(FINGERPRINT));
  if (now !== fingerprint) throw mismatch(fingerprint, now);
  return hasher;
}
