// Hostile UDP packets against our DHT node. k-rpc-socket decodes every packet with bencode v2, which
// loops for ever on `l-3:e`: the guard (src/collectors/dht-guard.ts) must drop such packets first.
// The collector under attack runs in a child process, so a regression fails this test in bounded time
// instead of hanging the test process with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import bencode from 'bencode';
import { decode, isDict } from '../../src/bencode/decode.ts';
import { createGuardedDhtSocket, krpcRejectReason, MAX_KRPC_PACKET } from '../../src/collectors/dht-guard.ts';
import { createLocalDht } from '../helpers/local-dht.ts';

const HOST = '127.0.0.1';
const CHILD = fileURLToPath(new URL('../helpers/dht-collector-process.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

const ping = (t: string) =>
  Buffer.from(bencode.encode({ t: Buffer.from(t), y: 'q', q: 'ping', a: { id: randomBytes(20) } }));

/** A deterministic stream of pseudo-random bytes (xorshift32), so a failure can be replayed. */
function pseudoRandom(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** The packets an attacker (or a broken client) might send. All must be dropped. */
function hostilePackets(): Buffer[] {
  const s = (text: string) => Buffer.from(text, 'latin1');
  const packets: Buffer[] = [
    s('l-3:e'),
    s('d1:ad2:id-3:abce1:q4:ping1:t2:aa1:y1:qe'), // a ping with a negative string length inside
    s('l'.repeat(60_000)), // 100,000 deep does not fit a UDP datagram (65,507 bytes at most)
    s('l'.repeat(MAX_KRPC_PACKET)), // small enough, but nested 8192 deep
    s(`d1:ad2:id20:${'x'.repeat(20)}e1:q4:ping1:t2:aa1:y1:q1:z${60_000}:${'z'.repeat(60_000)}e`), // 60 KB
    s('d1:t2:aa1:y1:q1:q4:ping1:ad2:id4294967295:abcee'), // a length of 2^32-1
    s('d1:ai99999999999999999999999e1:t2:aa1:y1:qe'), // an integer beyond 2^53
    s('d1:ad9:__proto__d2:idi1eee1:q4:ping1:t2:aa1:y1:qe'), // would replace a prototype in bencode v2
    s('i42e'),
    s('d1:t2:aae'), // a dictionary without `y`
    s(''),
  ];
  const random = pseudoRandom(0x5eed);
  for (let i = 0; i < 300; i++) packets.push(random(1 + ((i * 37) % 1400)));
  // Valid-looking prefixes of a real ping, each cut short.
  const p = ping('zz');
  for (let cut = 1; cut < p.length; cut += 3) packets.push(p.subarray(0, cut));
  return packets;
}

test('the guard: only small, strictly valid KRPC packets reach the listeners', async () => {
  const { socket, stats } = createGuardedDhtSocket();
  const client = dgram.createSocket('udp4');
  const seen: Buffer[] = [];
  socket.on('message', (msg: Buffer) => seen.push(msg));
  try {
    socket.bind(0, HOST);
    await once(socket, 'listening');
    const port = socket.address().port;
    const sendAll = async (packets: Buffer[]) => {
      for (const packet of packets) await new Promise<void>((r) => client.send(packet, port, HOST, () => r()));
    };
    await sendAll([Buffer.from('l-3:e'), ping('aa'), Buffer.alloc(MAX_KRPC_PACKET + 1, 0x6c), ping('bb')]);
    const deadline = Date.now() + 3000;
    while (stats.accepted + stats.dropped < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(seen.map((m) => (decode(m) as { t: Buffer }).t.toString()), ['aa', 'bb']);
    assert.equal(stats.accepted, 2);
    assert.equal(stats.dropped, 2);
    assert.deepEqual(stats.droppedBy, { 'too large': 1, 'not bencode': 1, 'not a KRPC message': 0 });
  } finally {
    client.close();
    socket.close();
  }
});

test('property: krpcRejectReason is quick and total on any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => {
      const reason = krpcRejectReason(b);
      assert.ok(reason === null || ['too large', 'not bencode', 'not a KRPC message'].includes(reason));
    }),
    { numRuns: 2000 },
  );
  for (const p of hostilePackets()) assert.notEqual(krpcRejectReason(p), null, p.subarray(0, 40).toString('latin1'));
  assert.equal(krpcRejectReason(ping('aa')), null);
});

interface Status {
  type: 'status';
  stats: { packetsDropped: number; nodes: number };
  found: string[];
}

test('hostile packets to our DHT port are dropped; the node still answers and finds peers', { timeout: 20_000 }, async () => {
  const local = await createLocalDht({ size: 12, settleMs: 300 });
  const a = randomBytes(20).toString('hex');
  const b = randomBytes(20).toString('hex');
  const client = dgram.createSocket('udp4');
  let child: ChildProcess | null = null;
  try {
    await local.announce(a, 41001, 3);
    child = fork(CHILD, [JSON.stringify({ bootstrap: [local.bootstrap], torrents: [{ id: 1, infoHash: a }, { id: 2, infoHash: b }], intervalS: 1 })], {
      cwd: ROOT,
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const proc = child;
    const nextMessage = <T>(type: string, ms: number): Promise<T> =>
      withTimeout(
        new Promise<T>((resolve, reject) => {
          const onMessage = (m: { type: string; message?: string }) => {
            if (m.type === 'error') reject(new Error(`child: ${m.message}`));
            if (m.type !== type) return;
            proc.off('message', onMessage);
            resolve(m as T);
          };
          proc.on('message', onMessage);
        }),
        ms,
        `child ${type}`,
      );
    const status = () => {
      const reply = nextMessage<Status>('status', 2000);
      proc.send({ cmd: 'status' });
      return reply;
    };
    const waitFor = async (what: string, ms: number, cond: (s: Status) => boolean): Promise<Status> => {
      const end = Date.now() + ms;
      for (;;) {
        const s = await status();
        if (cond(s)) return s;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(s.stats)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    const { port } = await nextMessage<{ port: number }>('ready', 8000);
    await waitFor('the peer of torrent 1', 8000, (s) => s.found.includes(`1 ${HOST}:41001`));

    // Our node must answer a ping at once, also between hostile packets.
    let pings = 0;
    const answers = new Map<string, () => void>();
    client.on('message', (msg) => {
      try {
        const r = decode(msg);
        if (isDict(r) && Buffer.isBuffer(r.t)) answers.get(r.t.toString('latin1'))?.();
      } catch {
        // not ours to judge here
      }
    });
    client.bind(0, HOST);
    await once(client, 'listening');
    const send = (packet: Buffer) => new Promise<void>((r) => client.send(packet, port, HOST, () => r()));
    const pingAnswered = async () => {
      const t = `p${(pings++).toString(36)}`;
      const answered = new Promise<void>((r) => answers.set(t, r));
      await send(ping(t));
      await withTimeout(answered, 2000, `ping ${t} after hostile packets`);
      answers.delete(t);
    };

    await pingAnswered();
    const before = (await status()).stats.packetsDropped;
    const packets = hostilePackets();
    await withTimeout(
      (async () => {
        for (let i = 0; i < packets.length; i++) {
          await send(packets[i]);
          if (i < 3 || i % 25 === 0) await pingAnswered(); // alive, and paced so no socket buffer overflows
        }
        await pingAnswered();
      })(),
      10_000,
      'the hostile phase',
    );
    const after = (await status()).stats.packetsDropped - before;
    assert.ok(after > 0, 'dropped packets are counted');
    // Loopback UDP may in theory lose a datagram; none of these may have been accepted, though.
    assert.ok(after >= packets.length * 0.9 && after <= packets.length, `dropped ${after} of ${packets.length}`);

    // Still a working DHT node: a peer announced now is found by the next lookups.
    await local.announce(b, 42002, 5);
    await waitFor('the peer of torrent 2 after the attack', 8000, (s) => s.found.includes(`2 ${HOST}:42002`));
  } finally {
    client.close();
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.send({ cmd: 'stop' });
      await withTimeout(exited, 3000, 'child stop').catch(() => child?.kill('SIGKILL'));
    }
    await local.close();
  }
});
