// One of several processes racing for the file run lock (test/store/run-lock.test.ts). Reads commands on
// stdin, one a line: "go" (try to acquire; prints "acquired" or "refused"), "release" (releases a lock it
// holds; prints "released"). Exits when stdin closes, or after 60 s whatever happens (bounded).
//   node --import tsx test/helpers/run-lock-racer.ts DB_PATH
import { createInterface } from 'node:readline';
import { RunLock, RunLockedError } from '../../src/store/run-lock.ts';

const dbPath = process.argv[2];
let held: RunLock | undefined;
setTimeout(() => process.exit(3), 60_000).unref();
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line === 'go') {
    try {
      held = RunLock.acquire(dbPath);
      process.stdout.write('acquired\n');
    } catch (err) {
      process.stdout.write(err instanceof RunLockedError ? 'refused\n' : `error ${(err as Error).message}\n`);
    }
  } else if (line === 'release') {
    held?.release();
    held = undefined;
    process.stdout.write('released\n');
  }
});
lines.on('close', () => process.exit(0));
process.stdout.write('ready\n');
