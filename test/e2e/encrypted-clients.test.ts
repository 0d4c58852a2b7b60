// MSE/PE against real clients that require it: a transmission-daemon 3.00 seed set to "require
// encryption" (it closes a plaintext handshake at once) and an aria2 1.36.0 leecher with
// --bt-require-crypto. btda runs with the default --encryption fallback: its plaintext contact is
// closed, the same visit tries again encrypted and reads the peer; aria2 also dials btda's listener
// (it learns btda from the tracker) with an encrypted handshake, which btda answers. aria2 has peer
// exchange on: its ut_pex messages name the seed, which btda then also lists under the source `pex`.
//
// Skipped (with the reason) when transmission-daemon or aria2c is missing.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Sqlite from 'better-sqlite3';
import { makePeerId } from '../../src/cli/crawl.ts';
import { contactPeer } from '../../src/evaluator/contact.ts';
import { Database } from '../../src/store/database.ts';
import { parseTorrentFile } from '../../src/torrents/parse-torrent.ts';
import { makeTorrent } from '../helpers/make-torrent.ts';
import { Aria2 } from './clients/aria2.ts';
import { canBind, freePort } from './clients/ports.ts';
import { E2eRun } from './clients/e2e-run.ts';
import { hasCommand, poll } from './clients/processes.ts';
import { Transmission } from './clients/transmission.ts';

const SEED_HOST = '127.0.0.8';
const LEECH_HOST = '127.0.0.9';
const missing = ['transmission-daemon', 'aria2c'].filter((c) => !hasCommand(c));
const skip = missing.length > 0 ? `needs ${missing.join(' and ')} (Debian: apt-get install transmission-daemon aria2)` : false;

test('clients that require encryption are measured over MSE/PE, outgoing and inbound', { skip, timeout: 150_000 }, async (t) => {
  for (const host of [SEED_HOST, LEECH_HOST]) {
    if (!(await canBind(host))) return t.skip(`cannot bind ${host}`);
  }
  const run = new E2eRun(t, 'btda-e2e-mse-');
  const { dir, group } = run;
  const tracker = await run.startTracker(5);
  const seedDir = join(dir, 'seed');
  mkdirSync(join(seedDir, 'download'), { recursive: true });
  // 2 MiB in 16 pieces, made in the seed's download folder so it seeds at once
  const made = await makeTorrent({ name: 'mse.bin', size: 2 * 1024 * 1024, pieceLength: 128 * 1024, dir: join(seedDir, 'download'), trackers: [[tracker.httpUrl]] });
  const parsed = parseTorrentFile(made.torrent);

  const seed = new Transmission({ name: 'seed-tr-require', host: SEED_HOST, peerPort: await freePort(SEED_HOST), rpcPort: await freePort(SEED_HOST), dir: seedDir, encryption: 2 }, group);
  await seed.ready();
  await seed.add(made.path);
  await poll(async () => (await seed.status()).percentDone === 1 || undefined, 20_000, 'transmission seeding');

  const db = Database.open(join(dir, 'btda.sqlite'));
  db.addTorrent(parsed, made.path, 'mse', Date.now());
  db.close();
  const config = run.crawlConfig(await freePort(), { active: 8, connectTimeout: 3, revisitDelay: 3 });
  assert.equal(config.encryption, 'fallback', 'the default');
  void run.startCrawl(config);

  // a leecher that speaks only MSE/PE, slowed so it stays a leecher for a while
  const leecher = new Aria2(
    { name: 'leech-aria2-require', host: LEECH_HOST, listenPort: await freePort(LEECH_HOST), rpcPort: await freePort(), dir: join(dir, 'leech'), torrentPath: made.path, downLimit: '64K', requireCrypto: true, pex: true },
    group,
  );
  await leecher.ready();

  const sqlite = new Sqlite(config.db, { readonly: true });
  t.after(() => sqlite.close());
  const row = sqlite.prepare('SELECT encrypted, visits, last_pieces AS pieces, client FROM peers WHERE ip = ? ORDER BY visits DESC LIMIT 1');
  const incoming = sqlite.prepare("SELECT coalesce(sum(count), 0) AS n FROM outcomes WHERE event = 'incoming' AND reason = 'success'");
  type Row = { encrypted: number; visits: number; pieces: number; client: string | null } | undefined;
  await poll(() => {
    const s = row.get(SEED_HOST) as Row;
    const l = row.get(LEECH_HOST) as Row;
    const inbound = (incoming.get() as { n: number }).n;
    return (s && s.visits > 0 && l && l.visits > 0 && inbound > 0) || undefined;
  }, 60_000, 'encrypted contacts with both clients and one inbound');

  const s = row.get(SEED_HOST) as NonNullable<Row>;
  assert.equal(s.encrypted, 1);
  assert.equal(s.pieces, 16, 'the seed read over RC4: all 16 pieces');
  assert.match(s.client ?? '', /Transmission 3\.00/);
  const l = row.get(LEECH_HOST) as NonNullable<Row>;
  assert.equal(l.encrypted, 1);
  assert.match(l.client ?? '', /aria2/);

  // the seed really refuses plaintext: a plaintext-only contact fails, an encrypted one reads it
  const torrent = { torrentId: 1, infoHash: Buffer.from(parsed.infoHash, 'hex'), pieces: 16, thresholdPieces: 16 };
  const opts = { peerId: makePeerId(), timeoutMs: 2000, connectTimeoutMs: 3000, contactLimitMs: 5000, maxMessages: 64, openingGraceMs: 500 };
  const plain = await contactPeer(torrent, SEED_HOST, seed.opts.peerPort, 'later', opts);
  assert.ok(['closed-early', 'reset'].includes(plain.reason), `plaintext: ${plain.reason}`);
  const encrypted = await contactPeer(torrent, SEED_HOST, seed.opts.peerPort, 'later', opts, true);
  assert.equal(encrypted.reason, 'success');
  assert.equal(encrypted.endPieces, 16);

  // peer exchange from a real client: aria2 (ut_pex on) names the peers it is connected to, the seed among them
  const pexRows = sqlite.prepare("SELECT received FROM requests WHERE kind = 'pex'");
  const seedSources = sqlite.prepare('SELECT sources FROM peers WHERE ip = ?');
  await poll(() => (seedSources.get(SEED_HOST) as { sources: string }).sources.includes('pex') || undefined, 60_000, 'a PEX message from aria2 naming the seed');
  const pex = pexRows.all() as { received: number }[];
  assert.ok(pex.length >= 1 && pex.every((r) => r.received >= 1), `PEX requests: ${JSON.stringify(pex)}`);
});
