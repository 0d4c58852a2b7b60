// `npm test` leaves nothing in /tmp: the tests' folders go at exit (test/helpers/temp-dir.ts), and
// scripts/test.sh runs every test in a TMPDIR of its own that it removes (issue 13 item 19).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { tempDir } from '../helpers/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

test('a folder from tempDir() is gone when the process exits', () => {
  const script = "import { tempDir } from './test/helpers/temp-dir.ts'; import { writeFileSync } from 'node:fs'; " +
    "const d = tempDir('btda-gone-'); writeFileSync(d + '/f', 'x'); console.log(d);";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const dir = r.stdout.trim();
  assert.ok(dir.includes('btda-gone-'), r.stdout);
  assert.equal(existsSync(dir), false);
});

test('scripts/test.sh removes what a test forgot, and passes the exit code on', () => {
  const tmp = tempDir('btda-testsh-');
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env.NODE_TEST_CONTEXT; // a test runner of its own, not a child of this one
  const r = spawnSync('sh', ['scripts/test.sh', 'test/fixtures/temp/leaves-a-folder.ts'], { cwd: ROOT, env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /# pass 1/);
  assert.deepEqual(readdirSync(tmp), [], 'nothing left in TMPDIR');
  const failing = spawnSync('sh', ['scripts/test.sh', 'test/fixtures/temp/no-such.test.ts'], { cwd: ROOT, env, encoding: 'utf8' });
  assert.notEqual(failing.status, 0);
  assert.deepEqual(readdirSync(tmp), []);
});

test('report/ (the default output folder of btda report) is ignored by git', () => {
  assert.match(readFileSync(`${ROOT}.gitignore`, 'utf8'), /^\/report\/$/m);
});
