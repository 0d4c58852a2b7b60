// Shared pieces of the benchmarks: the forked swarm, figures, and the bounded helpers every script uses.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SwarmEndpoint, SwarmMessage, SwarmOptions, SwarmStats, SwarmTorrent } from './swarm-simulator.ts';

const SIMULATOR = fileURLToPath(new URL('./swarm-simulator.ts', import.meta.url));

export interface Swarm {
  endpoints: SwarmEndpoint[];
  failedBinds: number;
  listenMs: number;
  stats(): Promise<SwarmStats>;
  resetVisits(): void;
  close(): Promise<void>;
}

/** Forks the swarm simulator and waits until every listener is bound (bounded by `timeoutMs`). */
export function startSwarm(opts: SwarmOptions, timeoutMs = 60_000): Promise<Swarm> {
  const child: ChildProcess = fork(SIMULATOR, ['--swarm', JSON.stringify(opts)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`swarm not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`swarm exited early (${code})`));
    });
    const onReady = (m: SwarmMessage) => {
      if (m.type !== 'ready') return;
      clearTimeout(timer);
      child.removeListener('message', onReady);
      resolve({
        endpoints: m.endpoints,
        failedBinds: m.failedBinds,
        listenMs: m.listenMs,
        stats: () =>
          new Promise<SwarmStats>((res, rej) => {
            const t = setTimeout(() => rej(new Error('swarm stats timed out')), 10_000);
            const on = (msg: SwarmMessage) => {
              if (msg.type !== 'stats') return;
              clearTimeout(t);
              child.removeListener('message', on);
              res(msg.stats);
            };
            child.on('message', on);
            child.send({ type: 'stats' });
          }),
        resetVisits: () => child.send({ type: 'reset-visits' }),
        close: async () => {
          if (child.exitCode === null && child.connected) child.send({ type: 'stop' });
          const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(kill);
        },
      });
    };
    child.on('message', onReady);
  });
}

/** `n` torrents with random info hashes. */
export function makeTorrents(n: number, pieces: number): SwarmTorrent[] {
  return Array.from({ length: n }, () => ({ infoHash: randomBytes(20).toString('hex'), pieces }));
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function fmt(x: number, digits = 0): string {
  return Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : String(x);
}

/**
 * Longest event-loop stall between start() and stop() (perf_hooks.monitorEventLoopDelay, 10 ms
 * resolution), when it happened (ms after start, from a 10 ms ticker), the longest GC pause, and
 * the longest stall our own process spent on the CPU (`busyMaxMs`: the CPU time this process used
 * during the longest late tick of the ticker). On a loaded machine the OS may deschedule the
 * process for a while: that shows in maxMs, not in busyMaxMs.
 */
export class StallMonitor {
  private readonly h: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private ticker: NodeJS.Timeout | undefined;
  private gc: PerformanceObserver | undefined;
  private worst = { lateMs: 0, atMs: 0 };
  private busyMaxMs = 0;
  private gcMaxMs = 0;
  start(): void {
    this.h.reset();
    this.h.enable();
    const t0 = performance.now();
    let last = t0;
    let lastCpu = cpuMs();
    this.worst = { lateMs: 0, atMs: 0 };
    this.busyMaxMs = 0;
    this.ticker = setInterval(() => {
      const now = performance.now();
      const cpu = cpuMs();
      const late = now - last - 10;
      if (late > this.worst.lateMs) this.worst = { lateMs: late, atMs: last - t0 };
      this.busyMaxMs = Math.max(this.busyMaxMs, Math.min(now - last, cpu - lastCpu));
      last = now;
      lastCpu = cpu;
    }, 10);
    this.gcMaxMs = 0;
    this.gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) this.gcMaxMs = Math.max(this.gcMaxMs, e.duration);
    });
    this.gc.observe({ entryTypes: ['gc'] });
  }
  stop(): { maxMs: number; p99Ms: number; worstAtMs: number; busyMaxMs: number; gcMaxMs: number } {
    this.h.disable();
    clearInterval(this.ticker);
    this.gc?.disconnect();
    return {
      maxMs: this.h.max / 1e6,
      p99Ms: this.h.percentile(99) / 1e6,
      worstAtMs: this.worst.atMs,
      busyMaxMs: this.busyMaxMs,
      gcMaxMs: this.gcMaxMs,
    };
  }
}

/** CPU time of the main thread (Linux: /proc, 10 ms ticks), else of the process (GC threads included). */
const MAIN_THREAD_STAT = `/proc/self/task/${process.pid}/stat`;
function cpuMs(): number {
  try {
    const stat = readFileSync(MAIN_THREAD_STAT, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime, USER_HZ = 100
  } catch {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1000;
  }
}

/** A promise that rejects after `ms`: every wait in the benchmarks is bounded. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Prints a result line run-all.ts collects (and a human reads). */
export function emit(name: string, figures: Record<string, unknown>): void {
  console.log(`BENCH-RESULT ${JSON.stringify({ name, ...figures })}`);
}

/** `--key value` and `--flag` arguments. */
export function args(): Record<string, string> {
  const out: Record<string, string> = {};
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    if (!a[i].startsWith('--')) continue;
    const key = a[i].slice(2);
    if (i + 1 < a.length && !a[i + 1].startsWith('--')) out[key] = a[++i];
    else out[key] = 'true';
  }
  return out;
}

/** Exits the process after `ms` whatever happens: a benchmark never hangs. */
export function hardLimit(ms: number, what: string): void {
  setTimeout(() => {
    console.error(`${what}: hard time limit of ${ms} ms reached, exiting`);
    process.exit(3);
  }, ms).unref();
}

/** Busy CPU milliseconds of the whole machine (all processes, all cores) from /proc/stat; 0 elsewhere. */
export function machineBusyMs(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const busy = f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
    return (busy * 1000) / 100; // USER_HZ = 100 on Linux
  } catch {
    return 0;
  }
}
