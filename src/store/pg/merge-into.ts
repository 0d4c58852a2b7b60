// `btda merge A.sqlite B.sqlite ... -o postgres://...` (README "Merging databases"): the inputs are merged as
// for a SQLite target (merge.ts: runs appended, torrents by info hash, sessions by the identity rules,
// observations kept, crossings re-derived), into a temporary spool of the target, which one push then sends
// (push.ts: same rows, same ids). Like a merge into a file, it writes a new database: a target that already
// holds runs is refused, so no session of the inputs is left unjoined with one already there.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FINGERPRINT } from '../address-key.ts';
import { MergeError, mergeInto, type MergeOptions, type MergeReport } from '../merge.ts';
import type { Database } from '../database.ts';
import { redactUrl } from './connection.ts';
import { PgStore } from './pg-store.ts';
import { PgPusher, type PushCounts } from './push.ts';
import { Spool } from './spool.ts';


export async function mergeIntoPostgres(
  paths: string[],
  url: string,
  opts: MergeOptions,
  /** Last changes to the merged database before it is sent (the thresholds a --threshold merge records). */
  beforePush: (db: Database) => void = () => {},
): Promise<{ report: MergeReport; pushed: PushCounts }> {
  const label = redactUrl(url);
  const store = await PgStore.open(url);
  const dir = mkdtempSync(join(tmpdir(), 'btda-merge-'));
  let spool: Spool | undefined;
  try {
    // a crawl starting on the target meanwhile would have its runs in the new database unjoined with ours
    const lock = await store.acquireRunLock('run');
    try {
      const runs = Number((await store.pool.query<{ n: string }>('SELECT count(*) AS n FROM runs')).rows[0].n);
      if (runs > 0) throw new MergeError(`merge: ${label} already holds ${runs} runs; merge writes a new database (createdb a new one, or name its hosts' files as inputs)`);
      spool = await Spool.open(join(dir, 'merge-spool.sqlite'), store);
      const into = spool.db;
      const report = mergeInto(paths, () => into, opts);
      beforePush(into);
      const fingerprint = into.meta(FINGERPRINT);
      if (fingerprint !== null) await store.setMeta(FINGERPRINT, fingerprint);
      const pushed = await new PgPusher(spool, store).push();
      return { report, pushed };
    } finally {
      await lock.release();
    }
  } finally {
    spool?.db.close();
    rmSync(dir, { recursive: true, force: true });
    await store.close();
  }
}
