// The file run lock of a SQLite database: one holder at a time, also when several runs find the same stale
// lock (its owner died) at the same moment and all try to take it over (issue 15 item 3).
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RunLock, RunLockedError } from '../../src/store/run-lock.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const RACER = fileURLToPath(new URL('../helpers/run-lock-racer.ts', import.meta.url));

/** The pid of a process that has exited: the owner of a stale lock. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

function staleLock(path: string, pid = deadPid()): void {
  writeFileSync(path, JSON.stringify({ pid, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z' }) + '\n');
}

test('one holder; a second acquire is refused; a stale lock is taken over; release removes only our own', () => {
  const db = join(tempDir(), 'a.sqlite');
  const lock = RunLock.acquire(db);
  assert.throws(() => RunLock.acquire(db), (err: Error) => err instanceof RunLockedError && /another btda run \(pid \d+ on .+\) is using/.test(err.message));
  lock.release();
  assert.equal(existsSync(`${db}.lock`), false);
  staleLock(`${db}.lock`);
  const taken = RunLock.acquire(db);
  assert.equal(JSON.parse(readFileSync(`${db}.lock`, 'utf8')).pid, process.pid);
  taken.release();
  // a lock file that is not JSON (an older btda that died between create and write) counts as stale once old
  writeFileSync(`${db}.lock`, '');
  utimesSync(`${db}.lock`, new Date(0), new Date(0));
  RunLock.acquire(db).release();
  // a takeover guard left by a run that died while taking over does not block later runs
  staleLock(`${db}.lock`);
  staleLock(`${db}.lock.takeover`);
  RunLock.acquire(db).release();
  assert.equal(existsSync(`${db}.lock.takeover`), false);
});

test('several processes racing for one stale lock: exactly one takes it, every round', async () => {
  const db = join(tempDir(), 'race.sqlite');
  const RACERS = 6;
  const ROUNDS = 15;
  const racers: { child: ChildProcess; lines: string[]; waiters: (() => void)[] }[] = [];
  for (let i = 0; i < RACERS; i++) {
    const child = spawn(process.execPath, ['--import', 'tsx', RACER, db], { stdio: ['pipe', 'pipe', 'inherit'] });
    const r = { child, lines: [] as string[], waiters: [] as (() => void)[] };
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        r.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        r.waiters.splice(0).forEach((w) => w());
      }
    });
    racers.push(r);
  }
  const next = (r: (typeof racers)[number]) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('a racer did not answer within 30 s')), 30_000);
      const take = () => {
        if (r.lines.length === 0) return void r.waiters.push(take);
        clearTimeout(timer);
        resolve(r.lines.shift()!);
      };
      take();
    });
  try {
    assert.deepEqual(await Promise.all(racers.map(next)), Array(RACERS).fill('ready'));
    for (let round = 0; round < ROUNDS; round++) {
      staleLock(`${db}.lock`);
      for (const r of racers) r.child.stdin!.write('go\n');
      const answers = await Promise.all(racers.map(next));
      assert.equal(answers.filter((a) => a === 'acquired').length, 1, `round ${round + 1}: ${answers.join(', ')}`);
      assert.equal(answers.filter((a) => a === 'refused').length, RACERS - 1, `round ${round + 1}: ${answers.join(', ')}`);
      for (const r of racers) r.child.stdin!.write('release\n');
      await Promise.all(racers.map(next));
      assert.equal(existsSync(`${db}.lock`), false, 'the holder removed its lock');
    }
  } finally {
    for (const r of racers) r.child.stdin!.end();
  }
});
