// The sharding key: one answer per endpoint on every host, whatever form the address came in, and an even split.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Shard, ShardError, shardOf } from '../../src/queue/shard.ts';
import { runCli } from '../helpers/run-cli.ts';

const HASH = 'ab'.repeat(20);

test('K/N parses; anything else is refused', () => {
  assert.equal(Shard.parse(''), null);
  assert.equal(Shard.parse('2/3')!.label, '2/3');
  for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3', '-1/2']) assert.throws(() => Shard.parse(bad), ShardError, bad);
});

test('one shard per endpoint whatever the text of the address; each endpoint owned by exactly one of N', () => {
  const n = 7;
  assert.equal(shardOf(HASH.toUpperCase(), '::ffff:81.2.69.1', 6881, n), shardOf(HASH, '81.2.69.1', 6881, n));
  assert.equal(shardOf(HASH, '2001:DB8::1', 6881, n), shardOf(HASH, '2001:db8:0:0:0:0:0:1', 6881, n));
  const shards = Array.from({ length: n }, (_, i) => Shard.parse(`${i + 1}/${n}`)!);
  const counts = new Array(n).fill(0);
  for (let port = 1; port <= 14_000; port++) {
    const owners = shards.filter((s) => s.owns(HASH, '81.2.69.1', port));
    assert.equal(owners.length, 1);
    counts[owners[0].index - 1]++;
  }
  for (const c of counts) assert.ok(c > 1700 && c < 2300, `an even split: ${counts}`);
});

test('a bad --shard stops btda with one line, exit 2', async () => {
  const r = await runCli(['run', '--shard', '3/2', '--db', '/nonexistent/never.sqlite']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^btda: --shard: expected K\/N/);
  assert.equal(r.stderr.trim().split('\n').length, 1);
});
