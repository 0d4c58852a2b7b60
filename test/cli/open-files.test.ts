// The open-file limit is read at start and --active (and --max-incoming) are lowered below it with one
// warning line, instead of contacts failing with EMFILE as outcome `error` (issue 13 item 12).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fitOpenFiles, readOpenFileLimit, RESERVED_FILES } from '../../src/cli/open-files.ts';
import { BTDA_BIN, runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('the limit is read from /proc/self/limits; unlimited or unreadable means no change', () => {
  const dir = tempDir('btda-nofile-');
  const limits = (soft: string) => {
    const path = join(dir, `limits-${soft}`);
    writeFileSync(path, `Limit                     Soft Limit           Hard Limit           Units\nMax open files            ${soft}                 4096                 files\n`);
    return path;
  };
  assert.equal(readOpenFileLimit(limits('1024')), 1024);
  assert.equal(readOpenFileLimit(limits('unlimited')), undefined);
  assert.equal(readOpenFileLimit(join(dir, 'missing')), undefined);
  if (process.platform === 'linux') assert.ok((readOpenFileLimit() ?? 0) > 0);
});

test('--active and --max-incoming shrink in proportion to fit below the limit, with one warning', () => {
  const roomy = fitOpenFiles({ active: 512, passive: true, maxIncoming: 256, watch: 0 }, 65_536);
  assert.deepEqual(roomy, { active: 512, maxIncoming: 256, watch: 0 });
  assert.deepEqual(fitOpenFiles({ active: 512, passive: false, maxIncoming: 256, watch: 0 }, undefined), { active: 512, maxIncoming: 256, watch: 0 });

  const tight = fitOpenFiles({ active: 512, passive: true, maxIncoming: 256, watch: 0 }, 800);
  assert.ok(tight.active + tight.maxIncoming + 1 + RESERVED_FILES <= 800, JSON.stringify(tight));
  assert.ok(tight.active > 1.9 * tight.maxIncoming && tight.active >= 400, 'the ratio stays');
  assert.match(tight.warning!, /^open files: the limit is 800 \(ulimit -n\) and --active 512 and --max-incoming 256 need 897 .*running with --active \d+ and --max-incoming \d+/);

  const outgoingOnly = fitOpenFiles({ active: 4096, passive: false, maxIncoming: 256, watch: 0 }, 1024);
  assert.equal(outgoingOnly.active, 1024 - RESERVED_FILES);
  assert.equal(outgoingOnly.maxIncoming, 256, 'no listener: --max-incoming is not touched');
  assert.ok(fitOpenFiles({ active: 512, passive: false, maxIncoming: 256, watch: 0 }, 16).active >= 1, 'never below one contact');
});

test('--watch: unset takes twice --active from the room the others leave; set, it shrinks with them', () => {
  assert.equal(fitOpenFiles({ active: 512, passive: true, maxIncoming: 256, watch: undefined }, 65_536).watch, 1024);
  assert.equal(fitOpenFiles({ active: 512, passive: false, maxIncoming: 256, watch: undefined }, undefined).watch, 1024);
  const room = fitOpenFiles({ active: 512, passive: true, maxIncoming: 256, watch: undefined }, 1200);
  assert.deepEqual(room, { active: 512, maxIncoming: 256, watch: 1200 - RESERVED_FILES - 512 - 257 }, 'the others keep what they asked');
  assert.equal(fitOpenFiles({ active: 512, passive: false, maxIncoming: 256, watch: undefined }, 600).watch, 0, 'no room: no watch');
  const asked = fitOpenFiles({ active: 500, passive: false, maxIncoming: 256, watch: 500 }, 628);
  assert.ok(asked.active + asked.watch + RESERVED_FILES <= 628 && asked.watch === asked.active, JSON.stringify(asked));
  assert.match(asked.warning!, /--active 500, --watch 500 need 1128 .*running with --active 250, --watch 250/);
});

test('btda run under a low ulimit -n warns once and runs with what fits', { skip: spawnSync('prlimit', ['--version']).status !== 0 && 'no prlimit' }, async () => {
  const dir = tempDir('btda-nofile-run-');
  const args = ['--nofile=300:300', process.execPath, BTDA_BIN, '--db', join(dir, 'x.sqlite'), '--key-file', join(dir, 'key'),
    '--input', join(dir, 'none'), '--active', '512', '--duration', '200ms', '--debug'];
  const r = spawnSync('prlimit', args, { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  // (the run has no torrents, which is a warning of its own)
  const warnings = r.stderr.split('\n').filter((l) => l.includes(' warn ') && !l.includes('no torrents to measure'));
  assert.equal(warnings.length, 1, r.stderr);
  assert.match(warnings[0], /open files: the limit is 300 \(ulimit -n\) and --active 512 need 640 .*running with --active 172/);
  assert.match(r.stderr, /settings: .*"active":172/);
  const roomy = await runCli(['--db', join(dir, 'x.sqlite'), '--key-file', join(dir, 'key'), '--input', join(dir, 'none'), '--active', '16', '--duration', '1ms']);
  assert.equal(roomy.code, 0);
  assert.doesNotMatch(roomy.stderr, /open files/);
});
