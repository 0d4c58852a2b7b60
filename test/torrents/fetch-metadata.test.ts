// fetchMetadata against scripted peers on loopback that serve the real info dictionary of a real
// torrent (made with create-torrent; 1 KiB pieces so the info dict spans 8 metadata pieces).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import bencode from 'bencode';
import { fetchMetadataFromAny } from '../../src/torrents/fetch-from-any.ts';
import {
  fetchMetadata,
  torrentFileFromInfo,
  type MetadataFetchOptions,
  type MetadataFetchResult,
} from '../../src/torrents/fetch-metadata.ts';
import { buildMetadataData } from '../../src/torrents/metadata-messages.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { findTopLevelValue } from '../../src/bencode/scan.ts';
import { MessageId, type WireMessage } from '../../src/wire/message-reader.ts';
import { buildReserved } from '../../src/wire/handshake.ts';
import { makeTorrent, type MadeTorrent } from '../helpers/make-torrent.ts';
import {
  forbiddenIds,
  startScriptedPeer,
  type ScriptedConnection,
  type ScriptedPeer,
  type MetadataAnswer,
  type Step,
} from '../helpers/scripted-peer.ts';

const ourId = Buffer.from('-BD0001-metadata0000', 'latin1');
/** The id the scripted peer announces for ut_metadata (our requests must carry it). */
const PEER_UT_METADATA = 3;
/** The id we announce (the peer's data messages carry it). */
const OUR_UT_METADATA = 1;

let made: MadeTorrent;
let info: Buffer;
let infoHash: Buffer;

before(async () => {
  made = await makeTorrent({ name: 'metadata.bin', size: 6_000_000, pieceLength: 1024, trackers: [['udp://127.0.0.1:1/announce']] });
  const span = findTopLevelValue(made.torrent, 'info')!;
  info = Buffer.from(made.torrent.subarray(span.start, span.end));
  infoHash = createHash('sha1').update(info).digest();
  assert.ok(info.length > 7 * 16384 && info.length < 8 * 16384, `info dict of ${info.length} bytes spans 8 metadata pieces`);
});

function options(o: Partial<MetadataFetchOptions> = {}): MetadataFetchOptions {
  return { peerId: ourId, connectTimeoutMs: 2000, timeoutMs: 5000, ...o };
}

const extHandshake = (o: Record<string, unknown> = {}): Step => ({
  extHandshake: { m: { ut_metadata: PEER_UT_METADATA, lt_donthave: 7 }, metadata_size: info.length, v: 'Scripted 1.0', ...o },
});

/** A peer that serves the metadata (answer may change replies). */
type Answer = (piece: number, info: Buffer) => MetadataAnswer;
const serve = (answer?: Answer): Step => ({ serveMetadata: { info, localId: PEER_UT_METADATA, answer } });
const serving = (answer?: Answer): Step[] => [{ handshake: true }, extHandshake(), serve(answer)];

/** ut_metadata dictionaries we sent (extended messages with the peer's id). */
function metadataSent(conn: ScriptedConnection): Record<string, unknown>[] {
  return conn
    .parsed()
    .messages.filter((m): m is Extract<WireMessage, { type: 'extended' }> => m.type === 'extended' && m.extId === PEER_UT_METADATA)
    .map((m) => bencode.decode(m.payload) as Record<string, unknown>);
}
const requestedPieces = (conn: ScriptedConnection) => metadataSent(conn).filter((d) => d.msg_type === 0).map((d) => d.piece as number);

/** One fetch against a scripted peer; always checks we sent nothing but handshake and extension messages. */
async function run(script: Step[], o: Partial<MetadataFetchOptions> = {}, hash = infoHash) {
  const peer = await startScriptedPeer({ infoHash: hash, script });
  try {
    const start = Date.now();
    const r = await fetchMetadata(hash, '127.0.0.1', peer.port, options(o));
    const ms = Date.now() - start;
    const conn = await peer.connection(0);
    await conn.closed; // our side destroyed the socket: everything we sent has arrived
    assert.deepEqual(forbiddenIds(conn), [], 'we sent no interested/request/piece/bitfield...');
    assert.ok(!conn.parsed().ids.includes(MessageId.request) && !conn.parsed().ids.includes(MessageId.interested));
    return { r, conn, ms };
  } finally {
    await peer.close();
  }
}

test('BEP 6: have_none follows the handshake when the peer set the Fast bit too, and not otherwise', async () => {
  for (const fast of [true, false]) {
    const peer = await startScriptedPeer({ infoHash, reserved: buildReserved({ fast }), script: serving() });
    try {
      const r = await fetchMetadata(infoHash, '127.0.0.1', peer.port, options());
      assert.ok(r.ok, JSON.stringify(r));
      const conn = await peer.connection(0);
      await conn.closed;
      const ids = conn.parsed().ids;
      assert.deepEqual(ids.slice(0, 2), fast ? [MessageId.haveNone, MessageId.extended] : [MessageId.extended, MessageId.extended], `fast ${fast}: ${ids}`);
      assert.deepEqual(forbiddenIds(conn), []);
    } finally {
      await peer.close();
    }
  }
});

function failed(r: MetadataFetchResult): string {
  assert.equal(r.ok, false, 'the fetch should fail');
  return (r as { reason: string }).reason;
}

test('fetches a multi-piece info dict, verified, and it parses like the .torrent file', async () => {
  const { r, conn } = await run(serving());
  assert.ok(r.ok, JSON.stringify(r));
  assert.ok(r.info.equals(info));

  const fromMagnet = parseTorrentFile(torrentFileFromInfo(r.info));
  const fromFile = parseTorrentFile(made.torrent);
  assert.equal(fromMagnet.infoHash, infoHash.toString('hex'));
  assert.equal(fromMagnet.infoHash, fromFile.infoHash);
  assert.equal(fromMagnet.pieces, made.pieces);
  assert.equal(fromMagnet.pieceSize, 1024);
  assert.equal(fromMagnet.totalSize, 6_000_000);
  assert.equal(fromMagnet.name, 'metadata.bin');

  // Each piece asked once, in order; our extension handshake announced ut_metadata.
  assert.deepEqual(requestedPieces(conn), [0, 1, 2, 3, 4, 5, 6, 7]);
  const ours = conn.parsed().messages.find((m) => m.type === 'extended' && m.extId === 0) as Extract<WireMessage, { type: 'extended' }>;
  const m = (bencode.decode(ours.payload) as { m: Record<string, number> }).m;
  assert.equal(m.ut_metadata, OUR_UT_METADATA);
});

test('at most 4 requests are in flight: a peer that never answers gets 4, then the fetch times out', async () => {
  const { r, conn } = await run(serving(() => null), { timeoutMs: 500 });
  assert.equal(failed(r), 'timeout');
  assert.deepEqual(requestedPieces(conn), [0, 1, 2, 3]);
});

test('wrong bytes in one piece: hash-mismatch', async () => {
  const { r } = await run(
    serving((piece, all) => {
      if (piece !== 5) return undefined;
      const bytes = Buffer.from(all.subarray(piece * 16384, (piece + 1) * 16384));
      bytes[100] ^= 0xff;
      return { data: bytes };
    }),
  );
  assert.equal(failed(r), 'hash-mismatch');
});

test('the wrong info hash on the right metadata (e.g. a v2-only magnet) is a hash-mismatch', async () => {
  const other = Buffer.alloc(20, 0x42);
  const { r } = await run(serving(), {}, other);
  assert.equal(failed(r), 'hash-mismatch');
});

test('a lying metadata_size is bad-size before anything is allocated or requested', async () => {
  const cases: { size: unknown; max?: number }[] = [
    { size: 2 ** 40 }, // a terabyte: must never reach Buffer.alloc
    { size: 16 * 1024 * 1024 + 1 }, // just above the default limit
    { size: info.length, max: 64 * 1024 }, // honest, but above the caller's limit
    { size: 0 },
    { size: -5 },
    { size: 'abc' },
  ];
  for (const c of cases) {
    const before = process.memoryUsage().arrayBuffers;
    const { r, conn, ms } = await run([{ handshake: true }, extHandshake({ metadata_size: c.size }), serve()], { maxMetadataSize: c.max });
    assert.equal(failed(r), 'bad-size', `metadata_size ${String(c.size)}`);
    assert.deepEqual(requestedPieces(conn), [], 'nothing requested');
    assert.ok(ms < 2000);
    assert.ok(process.memoryUsage().arrayBuffers - before < 8 * 1024 * 1024, 'nothing of the claimed size allocated');
  }
});

test('a data message whose total_size differs from metadata_size: bad-size', async () => {
  const { r } = await run(serving((piece, all) => ({ data: all.subarray(piece * 16384, (piece + 1) * 16384), totalSize: all.length + 1 })));
  assert.equal(failed(r), 'bad-size');
});

test('a requested piece of the wrong length: bad-message', async () => {
  const { r } = await run(serving((piece, all) => (piece === 7 ? { data: all.subarray(piece * 16384, all.length - 1) } : undefined)));
  assert.equal(failed(r), 'bad-message');
});

test('data for pieces not asked for, out of range or already received is ignored', async () => {
  const junk = Buffer.alloc(16384, 0xee);
  const { r } = await run([
    { handshake: true },
    extHandshake(),
    // Piece 6 is not requested yet (4 in flight), 500 does not exist: both dropped.
    { raw: buildMetadataData(OUR_UT_METADATA, 6, info.length, junk) },
    { raw: buildMetadataData(OUR_UT_METADATA, 500, info.length, junk) },
    // After the right piece 0, a wrong duplicate of it: dropped.
    serve((piece, all) =>
      piece === 0
        ? { raw: Buffer.concat([buildMetadataData(OUR_UT_METADATA, 0, all.length, all.subarray(0, 16384)), buildMetadataData(OUR_UT_METADATA, 0, all.length, junk)]) }
        : undefined,
    ),
  ]);
  assert.ok(r.ok, JSON.stringify(r));
  assert.ok(r.info.equals(info));
});

test('other peer messages (bitfield, have_all, unchoke, lt_donthave, unknown ids) are ignored', async () => {
  const { r } = await run([
    { handshake: true },
    { bitfield: 10 },
    { haveAll: true },
    { message: { id: MessageId.unchoke } },
    extHandshake(),
    { extended: { id: 2, payload: Buffer.from([0, 0, 0, 1]) } },
    { extended: { id: 99, payload: Buffer.from('whatever') } },
    { extended: { id: OUR_UT_METADATA, payload: bencode.encode({ msg_type: 9, piece: 0 }) } }, // unknown msg_type
    { keepAlive: true },
    serve(),
  ]);
  assert.ok(r.ok, JSON.stringify(r));
});

test('a peer that asks us for metadata gets a reject, and the fetch goes on', async () => {
  const { r, conn } = await run([
    { handshake: true },
    extHandshake(),
    { extended: { id: OUR_UT_METADATA, payload: bencode.encode({ msg_type: 0, piece: 0 }) } },
    serve(),
  ]);
  assert.ok(r.ok, JSON.stringify(r));
  const rejects = metadataSent(conn).filter((d) => d.msg_type === 2);
  assert.deepEqual(rejects, [{ msg_type: 2, piece: 0 }]);
});

test('reject of a requested piece: rejected', async () => {
  const { r } = await run(serving((piece) => (piece === 1 ? { reject: true } : undefined)));
  assert.equal(failed(r), 'rejected');
});

test('no extension protocol, or no ut_metadata in m: no-ut-metadata; no metadata_size: no-metadata', async () => {
  const noBit = await run([{ handshake: { reserved: Buffer.alloc(8) } }, { wait: 2000 }]);
  assert.equal(failed(noBit.r), 'no-ut-metadata');
  assert.ok(noBit.ms < 2000);

  const noUt = await run([{ handshake: true }, { extHandshake: { m: { lt_donthave: 7 }, metadata_size: info.length } }, { wait: 2000 }]);
  assert.equal(failed(noUt.r), 'no-ut-metadata');

  const noSize = await run([{ handshake: true }, { extHandshake: { m: { ut_metadata: 3 } } }, { wait: 2000 }]);
  assert.equal(failed(noSize.r), 'no-metadata');
});

test('an undecodable ut_metadata message or extension handshake: bad-message', async () => {
  const garbage = await run([{ handshake: true }, extHandshake(), { extended: { id: OUR_UT_METADATA, payload: Buffer.from('d8:msg_typei1e5:piecei-1ee') } }, serve()]);
  assert.equal(failed(garbage.r), 'bad-message');
  const badHs = await run([{ handshake: true }, { extended: { id: 0, payload: Buffer.from('l-3:e') } }, { wait: 2000 }]);
  assert.equal(failed(badHs.r), 'bad-message');
  const huge = await run([{ handshake: true }, extHandshake(), { lengthPrefix: 0xffffffff }, { wait: 2000 }]);
  assert.equal(failed(huge.r), 'bad-message');
});

test('a silent peer: timeout (no handshake within connectTimeoutMs; no data within timeoutMs)', async () => {
  const noHandshake = await run([{ wait: 2500 }], { connectTimeoutMs: 300, timeoutMs: 10_000 });
  assert.equal(failed(noHandshake.r), 'timeout');
  assert.ok(noHandshake.ms >= 250 && noHandshake.ms < 1500, `${noHandshake.ms} ms`);

  const quiet = await run([{ handshake: true }, extHandshake(), { wait: 2500 }], { timeoutMs: 400 });
  assert.equal(failed(quiet.r), 'timeout');
  assert.ok(quiet.ms >= 350 && quiet.ms < 1500, `${quiet.ms} ms`);
});

test('refused, closed, wrong info hash, not BitTorrent, ourselves', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const refused = await fetchMetadata(infoHash, '127.0.0.1', port, options());
  assert.equal(failed(refused), 'refused');

  assert.equal(failed((await run([{ handshake: true }, extHandshake(), { close: true }])).r), 'closed');
  assert.equal(failed((await run([{ handshake: { infoHash: Buffer.alloc(20, 9) } }, { wait: 2000 }])).r), 'wrong-info-hash');
  assert.equal(failed((await run([{ raw: Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n') }, { wait: 2000 }])).r), 'unknown-protocol');
  assert.equal(failed((await run([{ handshake: { peerId: ourId } }, { wait: 2000 }])).r), 'self');
});

test('abort ends the fetch; bad arguments resolve as error, never throw', async () => {
  const controller = new AbortController();
  const peer = await startScriptedPeer({ infoHash, script: [{ handshake: true }, extHandshake(), { wait: 2500 }] });
  try {
    setTimeout(() => controller.abort(), 200);
    const start = Date.now();
    const r = await fetchMetadata(infoHash, '127.0.0.1', peer.port, options({ signal: controller.signal }));
    assert.equal(failed(r), 'aborted');
    assert.ok(Date.now() - start < 1500);
    await (await peer.connection(0)).closed;
    assert.equal(failed(await fetchMetadata(infoHash, '127.0.0.1', peer.port, options({ signal: controller.signal }))), 'aborted');
  } finally {
    await peer.close();
  }
  assert.equal(failed(await fetchMetadata(Buffer.alloc(19), '127.0.0.1', 1, options())), 'error');
  assert.equal(failed(await fetchMetadata(infoHash, '127.0.0.1', 70_000, options())), 'error');
  assert.equal(failed(await fetchMetadata(infoHash, '127.0.0.1', 1, options({ peerId: Buffer.alloc(3) }))), 'error');
});

// ---- fetchMetadataFromAny ----

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function withPeers<T>(scripts: Step[][], body: (peers: ScriptedPeer[]) => Promise<T>): Promise<T> {
  const peers = await Promise.all(scripts.map((script) => startScriptedPeer({ infoHash, script })));
  try {
    return await body(peers);
  } finally {
    await Promise.all(peers.map((p) => p.close()));
  }
}

const silent = (): Step[] => [{ handshake: true }, extHandshake(), { wait: 2500 }];

test('fromAny: tries peers until one gives the metadata', async () => {
  const refused = await closedPort();
  await withPeers([serving((p) => (p === 0 ? { reject: true } : undefined)), silent(), serving()], async ([rejecting, quiet, good]) => {
    const list = [
      { ip: '127.0.0.1', port: refused },
      { ip: '127.0.0.1', port: rejecting.port },
      { ip: '127.0.0.1', port: quiet.port },
      { ip: '127.0.0.1', port: good.port },
    ];
    const start = Date.now();
    const r = await fetchMetadataFromAny(infoHash, list, { ...options({ timeoutMs: 6000 }), parallel: 2 });
    assert.ok(r.ok, JSON.stringify(r));
    assert.ok(r.info.equals(info));
    assert.deepEqual(r.from, { ip: '127.0.0.1', port: good.port });
    // The quiet peer's fetch was aborted when the good one finished, not left to its 6 s timeout.
    await (await quiet.connection(0)).closed;
    assert.ok(Date.now() - start < 3000, `${Date.now() - start} ms`);
    for (const p of [rejecting, quiet, good]) assert.deepEqual(forbiddenIds(p.connections[0]), []);
  });
});

test('fromAny: every peer fails → the shared reason, or all-failed with counts; no peers → no-peers', async () => {
  const [a, b] = [await closedPort(), await closedPort()];
  const same = await fetchMetadataFromAny(
    infoHash,
    [{ ip: '127.0.0.1', port: a }, { ip: '127.0.0.1', port: b }, { ip: '127.0.0.1', port: a }],
    options(),
  );
  assert.deepEqual(same, { ok: false, reason: 'refused', failures: { refused: 2 } }, 'duplicates tried once');

  await withPeers([serving((p) => (p === 2 ? { reject: true } : undefined))], async ([rejecting]) => {
    const r = await fetchMetadataFromAny(infoHash, [{ ip: '127.0.0.1', port: a }, { ip: '127.0.0.1', port: rejecting.port }], options());
    assert.deepEqual(r, { ok: false, reason: 'all-failed', failures: { refused: 1, rejected: 1 } });
  });

  assert.deepEqual(await fetchMetadataFromAny(infoHash, [], options()), { ok: false, reason: 'no-peers' });
});

test('fromAny: at most `parallel` peers at once, at most maxPeers in all', async () => {
  const scripts = Array.from({ length: 6 }, silent);
  await withPeers(scripts, async (peers) => {
    const contacted = () => peers.filter((p) => p.connections.length > 0).length;
    const list = peers.map((p) => ({ ip: '127.0.0.1', port: p.port }));
    const start = Date.now();
    const pending = fetchMetadataFromAny(infoHash, list, { ...options({ timeoutMs: 400 }), parallel: 2, maxPeers: 5 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(contacted(), 2, 'two peers in the first round');
    const r = await pending;
    const ms = Date.now() - start;
    assert.deepEqual(r, { ok: false, reason: 'timeout', failures: { timeout: 5 } });
    assert.equal(contacted(), 5, 'the sixth peer is beyond maxPeers');
    assert.ok(ms >= 3 * 400 - 50 && ms < 3 * 400 + 1000, `3 rounds of 2, 2, 1 peers: ${ms} ms`);
  });
});

test('fromAny: an outer abort stops every fetch', async () => {
  await withPeers([silent(), silent()], async (peers) => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const start = Date.now();
    const r = await fetchMetadataFromAny(
      infoHash,
      peers.map((p) => ({ ip: '127.0.0.1', port: p.port })),
      { ...options({ timeoutMs: 5000 }), signal: controller.signal },
    );
    assert.equal(failed(r), 'aborted');
    assert.ok(Date.now() - start < 1500);
  });
});
