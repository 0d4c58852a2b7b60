// Child processes of the end-to-end tests (real clients): each one logs to a file in the test's temp
// folder and is always ended — SIGTERM, then SIGKILL after a grace period — by `stopAll`, which the
// tests call from t.after / finally. A process 'exit' hook SIGKILLs whatever is left should the test
// process itself end early, so no client outlives the test run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Managed {
  name: string;
  child: ChildProcess;
  logPath: string;
  /** Resolves with the exit code (null when killed by a signal) once the process has ended. */
  exited: Promise<number | null>;
  exitCode: number | null | undefined;
  /** The last lines of its log (for failure messages). */
  tail(lines?: number): string;
}

const live = new Set<ChildProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** True when `command` is on the PATH. */
export function hasCommand(command: string): boolean {
  return spawnSync('/bin/sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

export class ProcessGroup {
  readonly processes: Managed[] = [];

  constructor(private readonly logDir: string) {}

  start(name: string, command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Managed {
    hookExit();
    const logPath = join(this.logDir, `${name}.log`);
    const fd = openSync(logPath, 'a');
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(child);
    const managed: Managed = {
      name,
      child,
      logPath,
      exitCode: undefined,
      exited: new Promise((resolve) => {
        child.once('error', () => resolve(-1));
        child.once('exit', (code) => resolve(code));
      }),
      tail: (lines = 15) => {
        try {
          return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
        } catch {
          return '';
        }
      },
    };
    void managed.exited.then((code) => {
      managed.exitCode = code;
      live.delete(child);
    });
    this.processes.push(managed);
    return managed;
  }

  /** Ends one process: SIGTERM, SIGKILL after `graceMs`; resolves once it is gone. */
  static async stop(p: Managed, graceMs = 3000): Promise<void> {
    if (p.exitCode !== undefined) return;
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
    await p.exited;
    clearTimeout(timer);
  }

  async stopAll(graceMs = 3000): Promise<void> {
    await Promise.all(this.processes.map((p) => ProcessGroup.stop(p, graceMs)));
  }
}

/** Polls `check` every `everyMs` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function poll<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
