import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DueQueue, PeerState, sourcesOf } from '../../src/queue/due-queue.ts';
import { Scheduler } from '../../src/evaluator/scheduler.ts';

const policy = { revisitDelayMs: 300_000, revisitComplete: false, maxFailures: 3, retryDelayMs: 60_000 };

test('de-duplicates by (torrent, ip, port) and remembers every source', () => {
  const q = new DueQueue(policy);
  assert.equal(q.add(1, '10.0.0.1', 6881, 'http', 0), 'new');
  assert.equal(q.add(1, '10.0.0.1', 6881, 'dht', 0), 'known');
  assert.equal(q.add(2, '10.0.0.1', 6881, 'dht', 0), 'new');
  assert.equal(q.add(1, '10.0.0.1', 6882, 'dht', 0), 'new');
  assert.equal(q.known, 3);
  assert.deepEqual(sourcesOf(q.get(1, '10.0.0.1', 6881)!.sources), ['http', 'dht']);
});

test('the most overdue peer goes first; not-yet-due peers wait', () => {
  const q = new DueQueue(policy);
  q.add(1, 'a', 1, 'http', 100);
  q.add(1, 'b', 1, 'http', 50);
  q.add(1, 'c', 1, 'http', 50);
  assert.equal(q.take(40), undefined);
  assert.equal(q.take(100)!.ip, 'b');
  assert.equal(q.take(100)!.ip, 'c'); // same due time: first come first served
  const a = q.take(100)!;
  assert.equal(a.ip, 'a');
  q.finish(a, true, false, 1000);
  assert.equal(q.nextDueAt(), 1000 + policy.revisitDelayMs);
});

test('success below the threshold revisits, a crossing finishes, failures back off then retire, a report revives', () => {
  const q = new DueQueue(policy);
  q.add(1, 'a', 1, 'http', 0);
  let p = q.take(0)!;
  q.finish(p, false, false, 0);
  assert.equal(p.dueAt, 60_000);
  p = q.take(60_000)!;
  q.finish(p, false, false, 60_000);
  assert.equal(p.dueAt, 60_000 + 120_000);
  p = q.take(1e9)!;
  q.finish(p, false, false, 1e9);
  assert.equal(p.state, PeerState.Retired);
  assert.equal(q.queued, 0);
  assert.equal(q.add(1, 'a', 1, 'dht', 5), 'revived');
  p = q.take(5)!;
  assert.equal(p.attempts, 4);
  q.finish(p, true, true, 6);
  assert.equal(p.state, PeerState.Finished);
  assert.equal(q.add(1, 'a', 1, 'dht', 7), 'known');
  assert.equal(q.queued, 0);
});

test('heap order holds for any sequence of adds and takes (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.boolean()), { maxLength: 300 }), (ops) => {
      const q = new DueQueue(policy);
      let last = -Infinity;
      let i = 0;
      for (const [due, takeNow] of ops) {
        q.add(1, `p${i++}`, 1, 'file', due);
        if (takeNow) {
          const p = q.take(Infinity);
          if (p) last = p.dueAt;
        }
      }
      last = -Infinity;
      for (let p = q.take(Infinity); p; p = q.take(Infinity)) {
        assert.ok(p.dueAt >= last);
        last = p.dueAt;
      }
      assert.equal(q.inFlight, ops.length);
    }),
  );
});

test('the scheduler visits a peer due in 2 s within 2.5 s, and wakes at once for a new peer', async () => {
  const q = new DueQueue({ ...policy, revisitDelayMs: 2000 });
  const visits: number[] = [];
  const scheduler = new Scheduler(q, {
    active: 4,
    contact: async (peer) => {
      visits.push(Date.now());
      q.finish(peer, true, visits.length >= 2, Date.now());
    },
  });
  scheduler.start();
  const t0 = Date.now();
  q.add(1, '127.0.0.1', 1, 'file', t0); // due now: must start without waiting for a timer tick
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(visits.length, 1);
  assert.ok(visits[0] - t0 < 30, `first visit after ${visits[0] - t0} ms`);
  await new Promise((r) => setTimeout(r, 2600));
  assert.equal(visits.length, 2);
  const gap = visits[1] - visits[0];
  assert.ok(gap >= 1990 && gap <= 2500, `revisit after ${gap} ms`);
  await scheduler.stop();
});

test('the scheduler never has more than `active` contacts in flight', async () => {
  const q = new DueQueue(policy);
  let open = 0;
  let most = 0;
  const scheduler = new Scheduler(q, {
    active: 8,
    contact: async (peer) => {
      open++;
      most = Math.max(most, open);
      await new Promise((r) => setTimeout(r, 5));
      open--;
      q.finish(peer, true, true, Date.now());
    },
  });
  for (let i = 0; i < 100; i++) q.add(1, `10.0.0.${i}`, 1, 'file', Date.now());
  scheduler.start();
  for (let i = 0; i < 100 && q.queued + q.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 20));
  await scheduler.stop();
  assert.equal(most, 8);
  assert.equal(q.queued + q.inFlight, 0);
});
