// `btda demo` through the real CLI: the embedded swarm on loopback, a 20-second crawl, and the printed
// comparison — btda's confirmed downloads must equal the simulated peers that finished while reachable.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { FINGERPRINT } from '../../src/store/address-key.ts';
import { Database } from '../../src/store/database.ts';
import { runCli } from '../helpers/run-cli.ts';

function count(stdout: string, label: string): number {
  const m = new RegExp(`^${label.replace(/[()]/g, '\\$&')}\\s+(\\d+)\\s*$`, 'm').exec(stdout);
  assert.ok(m, `no "${label}" line in:\n${stdout}`);
  return Number(m[1]);
}

/** The table row of one simulated peer. */
function rowOf(stdout: string, label: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${label} `));
  assert.ok(line, `no row for ${label} in:\n${stdout}`);
  return line;
}

test('btda demo: confirmed downloads equal the simulated peers that finished while reachable', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-demo-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'demo.sqlite');
  const started = Date.now();
  const r = await runCli(['demo', '--duration', '20', '--db', db], { timeoutMs: 80_000 });
  const tookS = (Date.now() - started) / 1000;
  assert.equal(r.signal, null, `killed: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(tookS < 40, `the demo ends by itself (took ${tookS} s)`);

  const out = r.stdout;
  assert.match(out, /^btda demo: 20 s on a local swarm \(loopback only\)$/m);
  assert.match(out, /tracker {3}http:\/\/127\.0\.0\.1:\d+\/announce and udp:\/\/127\.0\.0\.1:\d+/);
  const confirmed = count(out, 'confirmed downloads (btda)');
  const truth = count(out, 'finished while reachable (swarm truth)');
  const finished = count(out, 'finished in all (swarm truth)');
  const reported = count(out, 'reported downloaded (tracker scrape)');
  assert.equal(confirmed, truth, out);
  // the cast of src/cli/demo/plans.ts: six finish and stay (one of them never announces), one leaves at
  // completion, two seeds
  assert.equal(truth, 6, out);
  assert.equal(finished, 7, out);
  // bittorrent-tracker's `downloaded` is its current `complete`: two seeds and the five that stayed and announced
  assert.equal(reported, 7, out);
  assert.match(out, /^btda confirmed exactly the downloads that finished while reachable\.$/m);
  for (const label of ['early', 'hidden', 'halfway', 'steady', 'quiet', 'late']) assert.match(rowOf(out, label), /confirmed at/);
  assert.match(rowOf(out, 'hidden'), /found by PEX only/);
  assert.match(rowOf(out, 'steady'), /\(MSE\/PE\)/);
  for (const label of ['seed-1', 'seed-2', 'slow', 'stuck', 'leaver']) assert.doesNotMatch(rowOf(out, label), /confirmed at/);
  assert.match(rowOf(out, 'leaver'), /blind spot/);
  assert.match(rowOf(out, 'early'), /qBittorrent 4\.5\.2/);
  assert.match(rowOf(out, 'halfway'), /aria2 1\.36\.0/);
  // progress went to standard error: plain lines when not on a terminal
  assert.match(r.stderr, /^\[ ?\d+\/20 s\] swarm: \d+ peers up/m);

  const sqlite = new Sqlite(db, { readonly: true });
  try {
    const n = sqlite.prepare('SELECT count(*) AS n FROM confirmed_downloads').get() as { n: number };
    assert.equal(n.n, confirmed);
    const run = sqlite.prepare('SELECT exit_reason FROM runs').get() as { exit_reason: string };
    assert.equal(run.exit_reason, 'completed');
  } finally {
    sqlite.close();
  }

  // the address key stays beside the database (not in the demo's temporary folder): explain --address finds
  // the sessions of an address, and the database's fingerprint is that key's
  assert.ok(existsSync(join(dir, 'btda.key')), 'btda.key beside the demo database');
  const [, ip, port] = /^early\s+(\S+):(\d+)\s/.exec(rowOf(out, 'early'))!;
  const explained = await runCli(['explain', '--db', db, '--address', ip], { timeoutMs: 30_000 });
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, new RegExp(`port ${port}, qBittorrent 4\\.5\\.2`));
  assert.match(explained.stdout, /confirmed download: at /);
});

test('btda demo: Ctrl-C stops it cleanly and still prints the comparison', { timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-demo-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const r = await runCli(['demo', '--duration', '60', '--db', join(dir, 'demo.sqlite')], {
    timeoutMs: 45_000,
    onStart: (child) => {
      let sent = false;
      child.stdout!.on('data', (d: Buffer) => {
        // once the swarm is up and the crawl has begun
        if (!sent && d.toString().includes('database')) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 3000);
        }
      });
    },
  });
  assert.equal(r.signal, null, `killed: ${r.stderr}`);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^Stopped \(signal SIGINT\) after \d+ s:$/m);
  assert.match(r.stdout, /^confirmed downloads \(btda\)\s+\d+$/m);
  // the .sqlite file alone is the whole result: nothing left behind in its -wal file (issue 13 item 15)
  const copy = join(dir, 'copy.sqlite');
  copyFileSync(join(dir, 'demo.sqlite'), copy);
  const sqlite = new Sqlite(copy, { readonly: true });
  assert.equal((sqlite.prepare('SELECT count(*) AS n FROM runs WHERE ended_at IS NOT NULL').get() as { n: number }).n, 1);
  assert.equal((sqlite.prepare('SELECT count(*) AS n FROM torrents').get() as { n: number }).n, 1);
  sqlite.close();
});

test('btda demo: a bad duration is a usage error', async () => {
  const r = await runCli(['demo', '--duration', '5'], { timeoutMs: 20_000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--duration/);
});

test('btda demo: a database written with another address key is refused with one line, exit 2', { timeout: 40_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-demo-test-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'demo.sqlite');
  const other = Database.open(db);
  other.setMeta(FINGERPRINT, '0123456789abcdef');
  other.close();
  const r = await runCli(['demo', '--duration', '10', '--db', db], { timeoutMs: 30_000 });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`address key file ${join(dir, 'btda.key').replace(/[.]/g, '\\.')} does not exist, but database .*demo\\.sqlite was written with key 0123456789abcdef`));
  assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  const after = Database.open(db, { readonly: true });
  assert.equal(after.torrents().length, 0, 'nothing written into a database of another key');
  after.close();
  assert.ok(!existsSync(join(dir, 'btda.key')), 'no key made');
});
