// A real PostgreSQL server for tests and benchmarks: initdb in a temporary folder, the server on 127.0.0.1
// and a free port (its unix socket inside the folder, so it touches nothing of the machine's own cluster),
// stopped and removed at the end. Debian's postgresql package provides the binaries (.ci/run installs it);
// without them `postgresSkipReason()` says why and the tests skip.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';

const SUPERUSER = 'btda';

/** The folder holding initdb, pg_ctl and postgres: $BTDA_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
function binDir(): string | undefined {
  const fromEnv = process.env.BTDA_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'initdb')) ? fromEnv : undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (existsSync(join(root, v, 'bin', 'initdb'))) return join(root, v, 'bin');
  return undefined;
}

/** initdb refuses to run as root: as root, the server runs as the `postgres` user the package creates. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return { uid: process.getuid!(), gid: process.getgid!() };
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    if (!line) return undefined;
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return undefined;
  }
}

/** Why PostgreSQL tests cannot run here, or undefined when they can (pass it as a test's `skip`). */
export function postgresSkipReason(): string | undefined {
  if (!binDir()) return 'PostgreSQL is not installed (apt-get install postgresql, or set BTDA_PG_BIN)';
  if (!serverUser()) return 'running as root without a postgres user to run the server as';
  return undefined;
}

export interface PgServer {
  /** postgres:// URL of a database on this server (the default `postgres` database when none is named). */
  url(database?: string): string;
  /** Creates a new empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown (open connections are ended); the folder is removed at process exit. */
  stop(): Promise<void>;
  readonly port: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Can this user reach `path` (search permission on it and every folder above)? */
function traversable(path: string, user: { uid: number; gid: number }): boolean {
  for (let p = path; ; p = dirname(p)) {
    const st = statSync(p);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return false;
    if (p === dirname(p)) return true;
  }
}

const folders: string[] = [];

/**
 * A folder of the server's user. Under the test's temporary folder when that user can reach it (npm test's
 * TMPDIR is root's own 0700 folder, which the postgres user cannot), else under /tmp; removed at exit.
 */
function serverDir(user: { uid: number; gid: number }): string {
  const base = traversable(tmpdir(), user) ? tmpdir() : '/tmp';
  const dir = mkdtempSync(join(base, 'btda-pg-'));
  chownSync(dir, user.uid, user.gid);
  folders.push(dir);
  hookExit();
  return dir;
}

const running = new Set<ChildProcess>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  // a test that forgot stop(), or failed: never leave a server or its files behind (SIGQUIT: immediate shutdown)
  process.on('exit', () => {
    for (const c of running) c.kill('SIGQUIT');
    for (const d of folders.splice(0)) rmSync(d, { recursive: true, force: true });
  });
}

export interface PgServerOptions {
  /** Most milliseconds to wait for initdb and the server (default 30 s). */
  timeoutMs?: number;
  /**
   * Keep fsync and full-page writes on (benchmarks: as a production server; commits still do not wait for
   * the disk, like SQLite's synchronous=NORMAL in WAL mode). Default off: a test database need not survive
   * power loss, and fsync would dominate the tests' time.
   */
  durable?: boolean;
  /** More server settings, `name=value` each (benchmarks compare e.g. shared_buffers). */
  settings?: string[];
}

/** Starts a fresh server; bounded: rejects after `timeoutMs`. Retries once on a port taken in between. */
export async function startPostgres(opts: PgServerOptions = {}): Promise<PgServer> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const durability = [...(opts.durable ? [] : ['-c', 'fsync=off', '-c', 'full_page_writes=off']), ...(opts.settings ?? []).flatMap((s) => ['-c', s])];
  const bin = binDir();
  const user = serverUser();
  if (!bin || !user) throw new Error(postgresSkipReason());
  const dir = serverDir(user);
  const data = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  mkdirSync(socketDir);
  chownSync(socketDir, user.uid, user.gid);
  // trust on loopback only: the server listens on 127.0.0.1 and a socket in our 0700 folder
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', SUPERUSER, '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    uid: user.uid, gid: user.gid, stdio: ['ignore', 'ignore', 'pipe'], cwd: dir, timeout: timeoutMs,
  });
  let lastError: Error | undefined;
  for (let attempt = 0; attempt < 2; attempt++) {
    const port = await freePort();
    try {
      return await launch(bin, user, dir, port, timeoutMs, durability);
    } catch (err) {
      lastError = err as Error;
    }
  }
  throw lastError;
}

async function launch(bin: string, user: { uid: number; gid: number }, dir: string, port: number, timeoutMs: number, durability: string[]): Promise<PgServer> {
  const data = join(dir, 'data');
  const socketDir = join(dir, 'socket');
  const child = spawn(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${socketDir}`,
    '-c', 'synchronous_commit=off', ...durability, '-c', 'max_connections=50',
  ], { uid: user.uid, gid: user.gid, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    if (log.length < 20_000) log += s;
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  const url = (database = 'postgres') => `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`postgres exited: ${log.trim().split('\n').slice(-3).join(' | ')}`);
    if (Date.now() > deadline) {
      child.kill('SIGQUIT');
      throw new Error(`postgres not ready after ${timeoutMs} ms`);
    }
    const c = new pg.Client({ connectionString: url(), connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      break;
    } catch {
      await c.end().catch(() => {});
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    port,
    url,
    async createDatabase(name: string) {
      const c = new pg.Client({ connectionString: url() });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT'); // fast shutdown: ends sessions, writes a checkpoint
      const hard = setTimeout(() => child.kill('SIGQUIT'), 10_000);
      await exited;
      clearTimeout(hard);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
