// transmission 3.00 keeps a lock file in /tmp itself (not $TMPDIR), named after its RPC session id, and a
// daemon killed before its shutdown ends leaves it there; the test client removes it, so the end-to-end
// tests leave nothing in /tmp (issue 13 item 19).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { freePort } from './clients/ports.ts';
import { hasCommand, ProcessGroup } from './clients/processes.ts';
import { Transmission } from './clients/transmission.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const skip = hasCommand('transmission-daemon') ? false : 'needs transmission-daemon (Debian: apt-get install transmission-daemon)';

test('a transmission-daemon killed with SIGKILL leaves no tr_session_id file in /tmp', { skip, timeout: 30_000 }, async () => {
  const dir = tempDir('btda-tr-lock-');
  const group = new ProcessGroup(dir);
  const host = '127.0.0.1';
  const daemon = new Transmission({ name: 'tr-lock', host, peerPort: await freePort(host), rpcPort: await freePort(host), dir }, group);
  try {
    await daemon.ready();
    const file = daemon.sessionIdFile;
    assert.ok(file, 'the session id was read');
    assert.ok(existsSync(file), `${file} exists while the daemon runs`);
    daemon.process.child.kill('SIGKILL'); // no shutdown: the daemon cannot remove it itself
    await daemon.process.exited;
    await new Promise((r) => setImmediate(r)); // the exit handler's turn
    assert.equal(existsSync(file), false, `${file} is left in /tmp`);
  } finally {
    await group.stopAll();
  }
});
