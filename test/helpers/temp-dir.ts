// Temporary folders for tests that remove themselves: every folder made here is deleted when the test
// process exits, pass or fail, so `npm test` leaves nothing behind in /tmp.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
let hooked = false;

/** A new empty folder under the system's temporary folder, deleted at process exit. */
export function tempDir(prefix = 'btda-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  if (!hooked) {
    hooked = true;
    process.on('exit', removeTempDirs);
  }
  return dir;
}

/** Deletes every folder made so far (also called at exit). */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    } catch {
      // a folder still mounted (tmpfs tests) or already gone: nothing more to do at exit
    }
  }
}
