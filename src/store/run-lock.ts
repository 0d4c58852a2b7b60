// One crawl per database at a time: a second run on the same file (say, cron starting before the last run
// ended) is refused with a clear message. The lock is a file next to the database holding the owner's pid;
// a lock left by a dead process (kill -9, power loss) is taken over.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';

export class RunLockedError extends Error {}

interface LockOwner {
  pid: number;
  host: string;
  startedAt: string;
}

export class RunLock {
  private constructor(readonly path: string) {}

  static acquire(dbPath: string): RunLock {
    const path = `${dbPath}.lock`;
    const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx' });
        return new RunLock(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EEXIST') {
          const why = code === 'EROFS' ? 'read-only file system' : code === 'ENOSPC' ? 'disk full' : (err as Error).message;
          throw new Error(`cannot use ${dbPath}: cannot create its lock file ${path} (${why})`);
        }
      }
      const owner = readOwner(path);
      if (owner && isAlive(owner)) {
        throw new RunLockedError(
          `another btda run (pid ${owner.pid} on ${owner.host}, started ${owner.startedAt}) is using ${dbPath}; ` +
            `if it is gone, delete ${path}`,
        );
      }
      try {
        unlinkSync(path); // stale: its owner is dead
      } catch {
        // someone else removed it first; try again
      }
    }
    throw new RunLockedError(`cannot lock ${dbPath}: ${path} keeps coming back`);
  }

  release(): void {
    try {
      if (readOwner(this.path)?.pid === process.pid) unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as LockOwner;
  } catch {
    return undefined; // half-written or removed: treat as stale
  }
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
