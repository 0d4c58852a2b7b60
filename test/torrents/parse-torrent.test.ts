import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import bencode from 'bencode';
import { parseMagnet, parseTorrentFile, TorrentParseError } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';

test('a real single-file torrent: hash, pieces, size, trackers of every tier', async () => {
  const made = await makeTorrent({
    size: 1_000_000,
    pieceLength: 16_384,
    trackers: [['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'], ['https://127.0.0.1:3/announce', 'wss://x/y']],
  });
  const t = parseTorrentFile(made.torrent);
  const info = bencode.encode(bencode.decode(made.torrent).info);
  assert.equal(t.infoHash, createHash('sha1').update(info).digest('hex'));
  assert.equal(t.pieces, 62); // ceil(1,000,000 / 16,384)
  assert.equal(t.pieceSize, 16_384);
  assert.equal(t.totalSize, 1_000_000);
  assert.equal(t.name, 'sample.bin');
  assert.deepEqual(t.trackers, ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2', 'https://127.0.0.1:3/announce']);
  assert.equal(t.infoHashV2, null);
});

test('the info hash is taken over the raw bytes, even when the dict is not canonical', () => {
  // keys out of order inside info: re-encoding would sort them and change the hash
  const info = Buffer.from('d6:pieces20:aaaaaaaaaaaaaaaaaaaa4:name1:x12:piece lengthi16384e6:lengthi100ee');
  const file = Buffer.concat([Buffer.from('d4:info'), info, Buffer.from('e')]);
  const t = parseTorrentFile(file);
  assert.equal(t.infoHash, createHash('sha1').update(info).digest('hex'));
  assert.equal(t.pieces, 1);
});

test('a v2-only torrent counts pieces per file and hashes with SHA-256', () => {
  const fileTree = { 'a.bin': { '': { length: 40_000, 'pieces root': Buffer.alloc(32) } }, dir: { 'b.bin': { '': { length: 10, 'pieces root': Buffer.alloc(32) } } } };
  const info = bencode.encode({ 'file tree': fileTree, 'meta version': 2, name: 'v2', 'piece length': 16_384 });
  const file = Buffer.from(bencode.encode({ info: bencode.decode(info), 'piece layers': {} }));
  const t = parseTorrentFile(file);
  assert.equal(t.pieces, 3 + 1);
  assert.equal(t.totalSize, 40_010);
  const sha256 = createHash('sha256').update(info).digest('hex');
  assert.equal(t.infoHashV2, sha256);
  assert.equal(t.infoHash, sha256.slice(0, 40));
});

test('corrupt input gives a TorrentParseError with a clear message, never another exception', () => {
  const cases: [Buffer, RegExp][] = [
    [Buffer.from(''), /not valid bencode/],
    [Buffer.from('garbage'), /not valid bencode/],
    [Buffer.from('d4:infod6:lengthi1eee'), /piece length/],
    [Buffer.from('d4:infoi3ee'), /no info/],
    [Buffer.from('d4:infod12:piece lengthi16e6:pieces3:abc6:lengthi1eee'), /multiple of 20/],
    [Buffer.from('d4:info'), /not valid bencode/],
    [Buffer.concat([Buffer.from('d4:info'), Buffer.from('l'.repeat(100_000)), Buffer.from('e'.repeat(100_000)), Buffer.from('e')]), /nested deeper/],
    [Buffer.from('d4:infod6:pieces99999999999:ee'), /not valid bencode/],
  ];
  for (const [input, re] of cases) {
    assert.throws(() => parseTorrentFile(input), (err: unknown) => err instanceof TorrentParseError && re.test(err.message), input.subarray(0, 40).toString());
  }
});

test('magnet links: hex and base32 btih, btmh, name and trackers', () => {
  const hex = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
  const m = parseMagnet(`magnet:?xt=urn:btih:${hex}&dn=Some+Name&tr=udp%3A%2F%2F127.0.0.1%3A6969&tr=wss%3A%2F%2Fx`);
  assert.equal(m.infoHash, hex);
  assert.equal(m.name, 'Some Name');
  assert.deepEqual(m.trackers, ['udp://127.0.0.1:6969']);
  assert.equal(m.pieces, null);
  const b32 = parseMagnet('magnet:?xt=urn:btih:YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK');
  assert.equal(b32.infoHash, hex);
  assert.throws(() => parseMagnet('magnet:?dn=nothing'), TorrentParseError);
});
