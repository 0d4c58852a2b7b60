// A magnet resolved from a real client that requires encryption: a transmission-daemon 3.00 seed set to
// "require encryption" closes the plaintext metadata fetch at once; under the default --encryption
// fallback the fetch tries again over MSE/PE, gets the info dictionary (BEP 9), and what transmission
// showed of its pieces during the fetch reads as a seed once the piece count is known.
//
// Skipped (with the reason) when transmission-daemon is missing.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { makePeerId } from '../../src/cli/crawl.ts';
import { resultFromSeen } from '../../src/evaluator/seen-result.ts';
import { fetchMetadata } from '../../src/torrents/fetch-metadata.ts';
import { fetchMetadataFromAny } from '../../src/torrents/fetch-from-any.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import type { PeerSeen } from '../../src/wire/seen-state.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { canBind, freePort } from './clients/ports.ts';
import { E2eRun } from './clients/e2e-run.ts';
import { hasCommand, poll } from './clients/processes.ts';
import { Transmission } from './clients/transmission.ts';

const SEED_HOST = '127.0.0.10';
const skip = hasCommand('transmission-daemon') ? false : 'needs transmission-daemon (Debian: apt-get install transmission-daemon)';

test('a magnet resolved over MSE/PE from a transmission seed that requires encryption', { skip, timeout: 90_000 }, async (t) => {
  if (!(await canBind(SEED_HOST))) return t.skip(`cannot bind ${SEED_HOST}`);
  const run = new E2eRun(t, 'btda-e2e-magnet-mse-');
  const { dir, group } = run;
  const tracker = await run.startTracker(5);
  const seedDir = join(dir, 'seed');
  mkdirSync(join(seedDir, 'download'), { recursive: true });
  const made = await makeTorrent({ name: 'magnet-mse.bin', size: 2 * 1024 * 1024, pieceLength: 128 * 1024, dir: join(seedDir, 'download'), trackers: [[tracker.httpUrl]] });
  const parsed = parseTorrentFile(made.torrent);
  const infoHash = Buffer.from(parsed.infoHash, 'hex');

  const peerPort = await freePort(SEED_HOST);
  const seed = new Transmission({ name: 'seed-tr-magnet', host: SEED_HOST, peerPort, rpcPort: await freePort(SEED_HOST), dir: seedDir, encryption: 2 }, group);
  await seed.ready();
  await seed.add(made.path);
  await poll(async () => (await seed.status()).percentDone === 1 || undefined, 20_000, 'transmission seeding');

  const opts = { peerId: makePeerId(), connectTimeoutMs: 3000, timeoutMs: 10_000 };
  const plain = await fetchMetadata(infoHash, SEED_HOST, peerPort, opts);
  assert.equal(plain.ok, false, 'a plaintext fetch is refused');

  const seen: PeerSeen[] = [];
  const r = await fetchMetadataFromAny(infoHash, [{ ip: SEED_HOST, port: peerPort }], { ...opts, encryption: 'fallback', onSeen: (s) => seen.push(s) });
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(parseTorrentFile(Buffer.concat([Buffer.from('d4:info'), r.info, Buffer.from('e')])).infoHash, parsed.infoHash);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].encrypted, true);
  const result = resultFromSeen(seen[0], { torrentId: 1, infoHash, pieces: parsed.pieces!, thresholdPieces: parsed.pieces! }, 1000)!;
  assert.equal(result.reason, 'success');
  assert.equal(result.endPieces, 16, 'transmission showed all 16 pieces during the fetch');
  assert.match(result.clientVersion ?? '', /Transmission/);
});
