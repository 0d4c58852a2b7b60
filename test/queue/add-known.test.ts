// DueQueue.addKnown: a peer resumed from the database (cli/resume-peers.ts) joins the queue as its last contact
// left it: its sources, its lane (a known seed waits behind due leechers), how its next visit opens; it is the
// same peer as a collector's report of that address in any textual form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DueQueue, SOURCE_BITS } from '../../src/queue/due-queue.ts';

const policy = { revisitDelayMs: 300_000, revisitComplete: false, maxFailures: 3, retryDelayMs: 60_000 };

test('a resumed peer keeps its sources, lane and way of opening; a second add of it changes nothing', () => {
  const q = new DueQueue(policy);
  assert.equal(q.addKnown(1, '10.0.0.1', 1, SOURCE_BITS.http | SOURCE_BITS.dht, 'http', 0, true, false), true);
  assert.equal(q.addKnown(1, '10.0.0.2', 1, SOURCE_BITS.dht, 'dht', 10, false, true), true);
  assert.equal(q.addKnown(1, '10.0.0.3', 1, SOURCE_BITS.pex, 'pex', 20, false, null), true);
  assert.equal(q.addKnown(1, '10.0.0.3', 1, SOURCE_BITS.http, 'http', 0, true, true), false, 'known already');
  const seed = q.get(1, '10.0.0.1', 1)!;
  assert.deepEqual([seed.seed, seed.encrypted, seed.sources, seed.firstSource], [true, false, SOURCE_BITS.http | SOURCE_BITS.dht, 'http']);
  assert.deepEqual([q.get(1, '10.0.0.2', 1)!.encrypted, q.get(1, '10.0.0.3', 1)!.encrypted], [true, null]);
  assert.equal(q.get(1, '10.0.0.3', 1)!.sources, SOURCE_BITS.pex);
  assert.equal(q.known, 3);
  // the seed was due first but waits behind the due leechers (for at most a revisit delay)
  assert.deepEqual([q.take(30)!.ip, q.take(30)!.ip, q.take(30)!.ip], ['10.0.0.2', '10.0.0.3', '10.0.0.1']);
});

test('a resumed IPv6 peer stored in its expanded form is the peer a collector names in the short form', () => {
  const q = new DueQueue(policy);
  assert.equal(q.addKnown(1, '2a01:04f8:0000:0000:0000:0000:0000:0005', 6881, SOURCE_BITS.dht, 'dht', 0, false, null), true);
  assert.equal(q.add(1, '2a01:4f8::5', 6881, 'http', 0), 'known');
  assert.equal(q.get(1, '2a01:4f8::5', 6881)!.sources, SOURCE_BITS.dht | SOURCE_BITS.http);
  assert.equal(q.take(0)!.ip, '2a01:4f8::5');
});
