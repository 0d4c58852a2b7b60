// Runs the real `btda` executable (bin/btda.js) as a child process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BTDA_BIN = fileURLToPath(new URL('../../bin/btda.js', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs btda with `args`; `onStart` may signal the child; killed after `timeoutMs` whatever happens. */
export function runCli(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; onStart?: (child: ReturnType<typeof spawn>) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BTDA_BIN, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      resolve({ code, signal, stdout, stderr });
    });
    opts.onStart?.(child);
  });
}

/** Calls `then` once `check` holds (polled every 50 ms), or after `timeoutMs` anyway. */
export function when(check: () => boolean, then: () => void, timeoutMs = 20_000): void {
  const started = Date.now();
  const poll = setInterval(() => {
    if (check() || Date.now() - started > timeoutMs) {
      clearInterval(poll);
      then();
    }
  }, 50);
}
