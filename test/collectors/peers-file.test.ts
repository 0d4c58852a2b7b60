// PeersFileCollector: the line format, per-torrent routing, reporting of bad lines, and a large file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { PeersFileCollector, forEachLine, parsePeerAddress, parsePeerLine } from '../../src/collectors/peers-file.ts';
import type { CollectorContext, PeerAddress } from '../../src/collectors/collector.ts';
import type { PeerSource, RequestLog, Torrent } from '../../src/types.ts';

interface PeerFound {
  torrentId: number;
  ip: string;
  port: number;
  source: PeerSource;
}

const HASH_A = 'aa'.repeat(20);
const HASH_B = 'bb'.repeat(20);
const HASH_UNKNOWN = 'cc'.repeat(20);

function torrent(id: number, infoHash: string): Torrent {
  return {
    id,
    infoHash,
    infoHashV2: null,
    name: null,
    setLabel: null,
    pieces: 1,
    pieceSize: 16384,
    totalSize: 16384,
    trackers: [],
    source: 'test',
  };
}

function recordingContext(keep = true) {
  const found: PeerFound[] = [];
  const requests: RequestLog[] = [];
  const warnings: string[] = [];
  const batches: number[] = [];
  const known = new Set<string>();
  const ctx: CollectorContext = {
    addPeers(torrentId: number, peers: PeerAddress[], source: PeerSource) {
      batches.push(peers.length);
      if (!keep) return { new: peers.length, duplicates: 0, skipped: 0 }; // the large-file test measures the reader, not this
      let fresh = 0;
      for (const p of peers) {
        found.push({ torrentId, ip: p.ip, port: p.port, source });
        const key = `${torrentId} ${p.ip}:${p.port}`;
        if (!known.has(key)) fresh++;
        known.add(key);
      }
      return { new: fresh, duplicates: peers.length - fresh, skipped: 0 };
    },
    logRequest: (r) => requests.push(r),
    logScrape() {},
    log: { debug() {}, info() {}, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    now: () => Date.now(),
  };
  return { ctx, found, requests, warnings, batches };
}

async function withFile(content: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'btda-peers-'));
  try {
    const path = join(dir, 'peers.txt');
    await writeFile(path, content);
    await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const addrs = (found: PeerFound[], id: number) => found.filter((f) => f.torrentId === id).map((f) => `${f.ip}|${f.port}`);

test('parsePeerAddress accepts IPv4 and bracketed IPv6, rejects the rest', () => {
  assert.deepEqual(parsePeerAddress('1.2.3.4:6881'), { ip: '1.2.3.4', port: 6881 });
  assert.deepEqual(parsePeerAddress('[2001:DB8::1]:51413'), { ip: '2001:db8::1', port: 51413 });
  assert.deepEqual(parsePeerAddress('[::ffff:10.0.0.1]:1'), { ip: '10.0.0.1', port: 1 });
  for (const bad of ['1.2.3.4', '1.2.3.4:0', '1.2.3.4:65536', '1.2.3:80', '::1:6881', '[::1:6881', 'host:80', ':80', '1.2.3.4:8a']) {
    assert.equal(parsePeerAddress(bad), null, bad);
  }
});

test('parsePeerLine never throws and round-trips generated addresses', () => {
  fc.assert(fc.property(fc.string({ maxLength: 80 }), (s) => void parsePeerLine(s)));
  fc.assert(
    fc.property(fc.ipV4(), fc.integer({ min: 1, max: 65535 }), (ip, port) => {
      const p = parsePeerLine(`  ${HASH_A}\t${ip}:${port} `);
      assert.deepEqual(p, { kind: 'peer', infoHash: HASH_A, ip, port });
    }),
  );
});

test('with one torrent, bare lines belong to it; comments and blanks are skipped', async () => {
  const content = ['# peers', '', '1.2.3.4:6881', '  5.6.7.8:51413  ', '[::1]:6881', '1.2.3.4:6881', '\r'].join('\r\n');
  await withFile(content, async (path) => {
    const { ctx, found, requests, warnings } = recordingContext();
    const c = new PeersFileCollector({ path, torrents: [torrent(1, HASH_A)] });
    await c.start(ctx);
    assert.deepEqual(addrs(found, 1), ['1.2.3.4|6881', '5.6.7.8|51413', '::1|6881', '1.2.3.4|6881']);
    assert.ok(found.every((f) => f.source === 'file'));
    assert.equal(requests.length, 1);
    assert.deepEqual({ ...requests[0], startedAt: 0, durationMs: 0 }, {
      torrentId: 1,
      kind: 'file',
      url: path,
      startedAt: 0,
      durationMs: 0,
      received: 4,
      new: 3,
      duplicates: 1,
      skipped: 0,
      error: null,
    });
    assert.deepEqual(warnings, []);
    await c.stop();
  });
});

test('info-hash lines select the torrent; bare lines go to all; unknown hashes and bad lines are reported once', async () => {
  const content = [
    `${HASH_A} 1.1.1.1:1`,
    `${HASH_B.toUpperCase()} [2001:db8::2]:2`,
    '9.9.9.9:9',
    `${HASH_UNKNOWN} 3.3.3.3:3`,
    `${HASH_UNKNOWN} 4.4.4.4:4`,
    'garbage',
    `${HASH_A} 1.1.1.1:1 extra`,
    '300.1.1.1:5',
  ].join('\n');
  await withFile(content, async (path) => {
    const { ctx, found, requests, warnings } = recordingContext();
    const c = new PeersFileCollector({ path, torrents: [torrent(1, HASH_A), torrent(2, HASH_B)] });
    await c.start(ctx);
    assert.deepEqual(addrs(found, 1).sort(), ['1.1.1.1|1', '9.9.9.9|9']);
    assert.deepEqual(addrs(found, 2).sort(), ['2001:db8::2|2', '9.9.9.9|9']);
    assert.deepEqual(
      requests.map((r) => [r.torrentId, r.received, r.url]),
      [
        [1, 2, path],
        [2, 2, path],
      ],
    );
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /3 malformed lines .*line 6/);
    assert.match(warnings[1], new RegExp(`2 lines .*not loaded.*${HASH_UNKNOWN}`));
    assert.deepEqual(
      { ...c.lastResult, durationMs: 0 },
      { lines: 8, peers: 3, badLines: 3, firstBadLine: 6, unknownHashLines: 2, firstUnknownHash: HASH_UNKNOWN, durationMs: 0 },
    );
  });
});

test('forEachLine splits across chunks, keeps a last line without newline and caps overlong lines', async () => {
  async function* chunks() {
    yield '1.1.1.1:1\n2.2.';
    yield '2.2:2\r\n' + 'x'.repeat(3000);
    yield 'y'.repeat(3000);
    yield 'z\n3.3.3.3:3';
  }
  const lines: string[] = [];
  await forEachLine(chunks(), (l) => lines.push(l));
  assert.equal(lines.length, 4);
  assert.deepEqual([lines[0], lines[1], lines[3]], ['1.1.1.1:1', '2.2.2.2:2\r', '3.3.3.3:3']);
  assert.equal(parsePeerLine(lines[2]).kind, 'bad');
});

test('a missing file makes start() reject with the path in the message', async () => {
  const path = join(tmpdir(), 'btda-no-such-dir', 'peers.txt');
  const c = new PeersFileCollector({ path, torrents: [torrent(1, HASH_A)] });
  await assert.rejects(c.start(recordingContext().ctx), (err: Error) => err.message.includes(path) && /no such file/.test(err.message));
  const dir = await mkdtemp(join(tmpdir(), 'btda-peers-'));
  try {
    const d = new PeersFileCollector({ path: dir, torrents: [torrent(1, HASH_A)] });
    await assert.rejects(d.start(recordingContext().ctx), (err: Error) => err.message.includes(dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a 1,000,000-line file is read in chunks within a few seconds', { timeout: 30_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'btda-peers-'));
  const path = join(dir, 'big.txt');
  try {
    const out = createWriteStream(path);
    const lines = 1_000_000;
    for (let block = 0; block < lines / 10_000; block++) {
      let text = '';
      for (let i = block * 10_000; i < (block + 1) * 10_000; i++) {
        text += `${10 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.1:${1024 + (i % 60000)}\n`;
      }
      if (!out.write(text)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));

    const { ctx, requests, batches } = recordingContext(false);
    const c = new PeersFileCollector({ path, torrents: [torrent(1, HASH_A)] });
    await c.start(ctx);
    const r = c.lastResult!;
    assert.equal(r.peers, lines);
    assert.equal(r.badLines, 0);
    assert.equal(requests[0].received, lines);
    assert.equal(requests[0].new, lines);
    assert.equal(batches.length, 100);
    assert.ok(batches.every((b) => b === 10_000));
    const perSecond = Math.round(lines / (r.durationMs / 1000));
    console.log(`peers file: ${lines} lines in ${Math.round(r.durationMs)} ms (${perSecond} lines/s)`);
    assert.ok(r.durationMs < 15_000, `took ${r.durationMs} ms`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
