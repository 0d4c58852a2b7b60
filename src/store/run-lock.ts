// One crawl per database at a time: a second run on the same file (say, cron starting before the last run
// ended) is refused with a clear message. The lock is a file next to the database holding the owner's pid;
// a lock left by a dead process (kill -9, power loss) is taken over. (PostgreSQL uses an advisory lock
// instead: src/store/pg/advisory-lock.ts.)
//
// Race-free (issue 15 item 3): the lock file appears whole (written under a private name, then hard-linked
// to the lock's name, which fails if it exists), and a stale lock is removed only by the one run that holds
// the takeover guard (`.lock.takeover`, created exclusively), after it read the lock again under the guard.
// Two runs that find the same stale lock thus never both take it: one removes it and creates its own, the
// other then finds a live owner and is refused.
import { linkSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

export class RunLockedError extends Error {}

interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

/** A lock file that cannot be read as an owner (an older btda died between creating and writing it) is stale after this. */
const UNREADABLE_STALE_MS = 2000;
/** A takeover guard lives for a few system calls; one older than this was left by a run that died inside them. */
const GUARD_STALE_MS = 10_000;
/** Bounds the wait for another run's takeover: attempts × pause. */
const ATTEMPTS = 200;
const PAUSE_MS = 10;

export class RunLock {
  private constructor(readonly path: string) {}

  static acquire(dbPath: string): RunLock {
    const path = `${dbPath}.lock`;
    const guard = `${path}.takeover`;
    const content = JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() } satisfies LockOwner) + '\n';
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      if (create(path, content, dbPath)) return new RunLock(path);
      const seen = read(path);
      if (seen === 'gone') continue; // released or removed since: try again
      if (!isStale(seen)) throw lockedError(seen, dbPath, path);
      // stale: only the holder of the guard may remove it
      if (!create(guard, content, dbPath)) {
        removeStaleGuard(guard);
        pause();
        continue;
      }
      try {
        const now = read(path);
        // removed only if still stale: a live owner's lock is never removed (only its owner releases it)
        if (now !== 'gone' && isStale(now)) unlinkSync(path);
        if (create(path, content, dbPath)) return new RunLock(path);
      } finally {
        try {
          unlinkSync(guard);
        } catch {
          // moved aside by a run that judged it stale (we were descheduled for long): nothing to remove
        }
      }
    }
    throw new RunLockedError(`cannot lock ${dbPath}: ${path} keeps changing; try again`);
  }

  release(): void {
    try {
      if (readOwner(this.path)?.pid === process.pid) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** Creates `path` with `content`, atomically and only if it does not exist. */
function create(path: string, content: string, dbPath: string): boolean {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(temp, content, { flag: 'wx' });
    try {
      linkSync(temp, path);
      return true;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
      // a file system without hard links: the exclusive create, whose file is briefly empty (read() waits that out)
      try {
        writeFileSync(path, content, { flag: 'wx' });
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
    } finally {
      unlinkSync(temp);
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'read-only file system' : code === 'ENOSPC' ? 'disk full' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new Error(`cannot use ${dbPath}: cannot create its lock file ${path} (${why})`);
  }
}

type Seen = { owner: LockOwner | undefined; mtimeMs: number } | 'gone';

function read(path: string): Seen {
  try {
    const mtimeMs = statSync(path).mtimeMs;
    return { owner: readOwner(path), mtimeMs };
  } catch {
    return 'gone';
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
    return typeof o?.pid === 'number' ? o : undefined;
  } catch {
    return undefined;
  }
}

function isStale(seen: Exclude<Seen, 'gone'>): boolean {
  if (!seen.owner) return Date.now() - seen.mtimeMs > UNREADABLE_STALE_MS;
  return !isAlive(seen.owner);
}

function lockedError(seen: Exclude<Seen, 'gone'>, dbPath: string, path: string): RunLockedError {
  const o = seen.owner;
  const who = o ? `pid ${o.pid} on ${o.host}, started ${o.startedAt}` : 'its lock file is being written';
  return new RunLockedError(`another btda run (${who}) is using ${dbPath}; if it is gone, delete ${path}`);
}

/**
 * A guard left by a run that died while taking over would block every later takeover: removed once its
 * owner is dead or it is old. It is moved aside under a private name first and removed only if it is the
 * guard we judged stale; a fresh guard of a live run moved by mistake is put back.
 */
function removeStaleGuard(guard: string): void {
  const seen = read(guard);
  if (seen === 'gone') return;
  const old = Date.now() - seen.mtimeMs > GUARD_STALE_MS;
  if (!old && !(seen.owner ? !isAlive(seen.owner) : Date.now() - seen.mtimeMs > UNREADABLE_STALE_MS)) return;
  const aside = `${guard}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(guard, aside);
  } catch {
    return; // removed by its owner or another run
  }
  const moved = read(aside);
  const same = moved !== 'gone' && moved.mtimeMs === seen.mtimeMs && JSON.stringify(moved.owner) === JSON.stringify(seen.owner);
  if (!same) {
    try {
      linkSync(aside, guard);
    } catch {
      // another guard exists by now: the one we moved belonged to a run that has finished its few calls
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // gone
  }
}

function pause(): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, PAUSE_MS);
}

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // cannot check another machine: assume it runs
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
