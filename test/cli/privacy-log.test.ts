// --debug follows the privacy setting: without --store-ip, debug lines name a peer's network (what the
// database stores), never its address (issue 13 item 10).
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { redactAddresses } from '../../src/cli/private-log.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { runCli } from '../helpers/run-cli.ts';
import { tempDir } from '../helpers/temp-dir.ts';

test('addresses in a log line become the stored networks; times and versions stay', () => {
  const cases: [string, string][] = [
    ['contact first 81.2.69.142:6881 torrent 3: success', 'contact first 81.2.69.0/24:6881 torrent 3: success'],
    ['inbound ::ffff:10.1.2.3: handler failed', 'inbound 10.1.2.0/24: handler failed'],
    ['DHT addNode [2001:db8:1:2::5]:6881: bad', 'DHT addNode [2001:db8:1::/48]:6881: bad'],
    ['inbound 2001:db8:1:2::5: reset', 'inbound 2001:db8:1::/48: reset'],
    ['at 12:30:45, btda 0.1.0, 1.2.3', 'at 12:30:45, btda 0.1.0, 1.2.3'],
  ];
  for (const [line, want] of cases) assert.equal(redactAddresses(line), want);
});

test('btda --debug logs networks by default and raw addresses only with --store-ip', { timeout: 60_000 }, async () => {
  const dir = tempDir('btda-privacy-');
  const db = join(dir, 'btda.sqlite');
  const made = await makeTorrent({ name: 'p.bin', size: 40_000, dir });
  assert.equal((await runCli(['add', made.path, '--db', db])).code, 0);
  // nothing listens on port 1: the contact is refused at once and logged
  writeFileSync(join(dir, 'peers.txt'), '127.0.0.2:1\n');
  const base = ['--db', db, '--key-file', join(dir, 'key'), '--input', join(dir, 'none'), '--peers-file', join(dir, 'peers.txt'), '--duration', '1500ms', '--debug', '--allow', '127.0.0.0/8'];
  const private_ = await runCli(base);
  assert.equal(private_.code, 0, private_.stderr);
  assert.match(private_.stderr, /debug contact \w+ 127\.0\.0\.0\/24:1 /);
  assert.doesNotMatch(private_.stderr, /127\.0\.0\.2/);
  const raw = await runCli([...base, '--store-ip']);
  assert.equal(raw.code, 0, raw.stderr);
  assert.match(raw.stderr, /debug contact \w+ 127\.0\.0\.2:1 /);
});
