// Hostile .torrent files: random mutations of a real torrent (made with create-torrent) and hand-made
// monsters. parseTorrentFile must answer with a parsed torrent or a TorrentParseError, never anything
// else, and quickly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTorrentFile, TorrentParseError, type ParsedTorrent } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';

const s = (text: string) => Buffer.from(text, 'latin1');

function parsedOrError(data: Buffer, maxMs = 500): ParsedTorrent | TorrentParseError {
  const start = performance.now();
  try {
    const t = parseTorrentFile(data);
    assert.match(t.infoHash, /^[0-9a-f]{40}$/);
    assert.ok(t.infoHashV2 === null || /^[0-9a-f]{64}$/.test(t.infoHashV2));
    assert.ok(t.pieces === null || (Number.isSafeInteger(t.pieces) && t.pieces >= 0));
    assert.ok(t.pieceSize === null || (Number.isSafeInteger(t.pieceSize) && t.pieceSize > 0));
    assert.ok(t.totalSize === null || (Number.isFinite(t.totalSize) && t.totalSize >= 0));
    assert.ok(t.trackers.every((u) => /^(https?|udp):\/\//i.test(u)));
    return t;
  } catch (err) {
    assert.ok(err instanceof TorrentParseError, `not a TorrentParseError: ${String(err)}`);
    return err;
  } finally {
    const ms = performance.now() - start;
    assert.ok(ms < maxMs, `took ${ms.toFixed(0)} ms`);
  }
}

/** One edit of a byte string: flip, overwrite, insert, delete, truncate, duplicate or splice in a token. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 200 }) }),
  fc.record({
    kind: fc.constant('token' as const),
    at: fc.nat(),
    token: fc.constantFrom('l', 'd', 'e', 'i-1e', '-3:', '4294967295:', 'i99999999999999999999e', 'le', 'de', '0:', 'l'.repeat(600)),
  }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(buf: Buffer, m: Mutation): Buffer {
  const at = buf.length === 0 ? 0 : m.at % buf.length;
  switch (m.kind) {
    case 'set': {
      const c = Buffer.from(buf);
      if (c.length) c[at] = m.byte;
      return c;
    }
    case 'flip': {
      const c = Buffer.from(buf);
      if (c.length) c[at] ^= 1 << m.bit;
      return c;
    }
    case 'insert':
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    case 'delete':
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.n)]);
    case 'truncate':
      return buf.subarray(0, at);
    case 'duplicate':
      return Buffer.concat([buf.subarray(0, at + m.n), buf.subarray(at)]);
    case 'token':
      return Buffer.concat([buf.subarray(0, at), s(m.token), buf.subarray(at)]);
  }
}

test('property: random mutations of a real torrent parse or give a TorrentParseError', async () => {
  const single = await makeTorrent({ size: 200_000, pieceLength: 16_384, trackers: [['http://127.0.0.1:1/announce'], ['udp://127.0.0.1:2']] });
  const original = parsedOrError(single.torrent);
  assert.ok(!(original instanceof TorrentParseError));
  let parsed = 0;
  let refused = 0;
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (edits) => {
      const damaged = edits.reduce(mutate, single.torrent);
      if (parsedOrError(damaged) instanceof TorrentParseError) refused++;
      else parsed++;
    }),
    { numRuns: 1500 },
  );
  // Both outcomes occur: the test exercises the checks after decoding, not only the decoder.
  assert.ok(parsed > 0 && refused > 0, `parsed ${parsed}, refused ${refused}`);
});

test('hand-made monsters', () => {
  const info = (body: string) => s(`d4:infod${body}ee`);
  const pieces = (n: number) => `6:pieces${20 * n}:${'x'.repeat(20 * n)}`;
  const cases: Array<[Buffer, RegExp | null]> = [
    [s('d4:info' + 'l'.repeat(100_000) + 'e'.repeat(100_000) + 'e'), /nested deeper/],
    [s('d4:info' + 'd1:a'.repeat(100_000) + 'i1e' + 'e'.repeat(100_000) + 'e'), /nested deeper/],
    [s('d4:infod6:pieces4294967295:abcee'), /not valid bencode/],
    [s('d4:infod6:pieces-20:abcee'), /not valid bencode/],
    [s('l-3:e'), /not valid bencode/],
    [info(`6:lengthi-5e12:piece lengthi16384e${pieces(1)}`), /neither "length" nor "files"/],
    [info(`6:lengthi100e12:piece lengthi0e${pieces(1)}`), /piece length/],
    [info(`6:lengthi100e12:piece lengthi99999999999999999999e${pieces(1)}`), /piece length/],
    [info(`6:lengthi99999999999999999999e12:piece lengthi16384e${pieces(1)}`), /neither "length" nor "files"/],
    [info(`5:filesl${'d6:lengthi1ee'.repeat(1000)}e12:piece lengthi16384e${pieces(1)}`), null],
    [info(`5:filesli1ee12:piece lengthi16384e${pieces(1)}`), /a file without/],
    [info(`12:meta versioni2e12:piece lengthi16384e9:file treei3e`), /file tree/],
    [info(`12:meta versioni2e12:piece lengthi16384e9:file tree${'d1:a'.repeat(300)}d0:d6:lengthi5eee${'e'.repeat(300)}`), null],
    [info(`12:meta versioni2e12:piece lengthi16384e9:file tree${'d1:a'.repeat(600)}d0:d6:lengthi5eee${'e'.repeat(600)}`), /nested deeper/],
    [s(`d9:__proto__d1:ai1ee4:infod6:lengthi1e12:piece lengthi16384e${pieces(1)}ee`), null],
    [s(`d13:announce-listl${'l'.repeat(10)}${'e'.repeat(10)}i5ee4:infod6:lengthi1e12:piece lengthi16384e${pieces(1)}ee`), null],
    [s(`d4:infod6:lengthi1e12:piece lengthi16384e${pieces(1)}eeTRAILING`), /trailing bytes/],
  ];
  for (const [data, expected] of cases) {
    const r = parsedOrError(data);
    const what = data.subarray(0, 60).toString('latin1');
    if (expected === null) assert.ok(!(r instanceof TorrentParseError), `${what}: ${String(r)}`);
    else {
      assert.ok(r instanceof TorrentParseError, `${what} parsed`);
      assert.match(r.message, expected, what);
    }
  }
  assert.equal(({} as Record<string, unknown>).a, undefined, 'no prototype pollution');
});

test('property: random bytes and random bencode give a parsed torrent or a TorrentParseError', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 500 }), (b) => void parsedOrError(Buffer.from(b))), { numRuns: 1000 });
  const { value } = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.integer({ min: -1e6, max: 1e6 }),
      fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(
        fc.constantFrom('info', 'length', 'files', 'pieces', 'piece length', 'name', 'meta version', 'file tree', '', 'announce', 'announce-list', 'path'),
        tie('value'),
        { maxKeys: 6 },
      ),
    ),
  }));
  const encode = (v: unknown): string => {
    if (typeof v === 'number') return `i${v}e`;
    if (Buffer.isBuffer(v)) return `${v.length}:${v.toString('latin1')}`;
    if (Array.isArray(v)) return `l${v.map(encode).join('')}e`;
    const d = v as Record<string, unknown>;
    return `d${Object.keys(d).map((k) => `${Buffer.byteLength(k, 'latin1')}:${k}${encode(d[k])}`).join('')}e`;
  };
  fc.assert(fc.property(value, (v) => void parsedOrError(s(encode({ info: v })))), { numRuns: 1000 });
});
