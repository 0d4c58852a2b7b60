// `btda explain`: the observations behind a confirmed download, by default, by peer row and by address.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import { contactResult } from '../helpers/contact-result.ts';
import { runCli } from '../helpers/run-cli.ts';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const T0 = Date.parse('2026-05-01T08:00:00Z');

test('explain lists the observations that prove each confirmed download, and a restart beside it', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-explain-'));
  dirs.push(dir);
  const dbPath = join(dir, 'btda.sqlite');
  const key = Buffer.alloc(32, 5);
  writeFileSync(join(dir, 'btda.key'), key.toString('hex') + '\n');
  const db = Database.open(dbPath);
  const t = db.addTorrent({ infoHash: 'cc'.repeat(20), infoHashV2: null, name: 'thesis.pdf', pieces: 100, pieceSize: 16_384, totalSize: 1_638_400, trackers: [] }, 'x', null, T0)!;
  const runId = db.startRun({ version: 't', args: '[]', host: 'h', threshold: 0.98, startedAt: T0 });
  const writer = new ResultWriter(db, { runId, hasher: new AddressHasher(key), geo: await Geolocator.open(''), storeIp: false, flushIntervalMs: 0, runStartedAt: T0 });
  const facts = { pieceSize: 16_384, thresholdPieces: 98 };
  const c = (min: number, ip: string, peerId: string, pieces: number, event: 'first' | 'later' = 'later') =>
    writer.contact(contactResult({ torrentId: t.id, ip, port: 51413, peerId: Buffer.from(peerId), openingPieces: pieces, endPieces: pieces, event, startedAt: T0 + min * 60_000, encrypted: min === 30 }), 'udp', facts);
  c(0, '81.2.69.142', '-TR3000-aaaaaaaaaaaa', 12, 'first');
  c(30, '81.2.69.142', '-TR3000-aaaaaaaaaaaa', 100);
  c(0, '81.2.69.143', '-TR3000-bbbbbbbbbbbb', 40, 'first');
  c(30, '81.2.69.143', '-TR3000-cccccccccccc', 100);
  writer.close();
  db.close();

  const all = await runCli(['explain', '--db', dbPath]);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /peer row 1: torrent thesis\.pdf .*81\.2\.69\.0\/24 port 51413, Transmission 3\.00, sources udp, 2 successful contacts/);
  assert.match(all.stdout, /confirmed download: at 2026-05-01T08:30:00\.100Z, 100 of 100 pieces, threshold 98 pieces in force/);
  assert.match(all.stdout, /2026-05-01T08:00:00\.100Z  open       12 pieces  run 1  outgoing first, IPv4, plaintext  peer id -TR3000-, Transmission 3\.00/);
  assert.match(all.stdout, /08:30:00\.100Z  open      100 pieces  run 1  outgoing later, IPv4, MSE\/PE  <- crossing/);
  assert.doesNotMatch(all.stdout, /peer row 2/, 'the restart is not a confirmed download');

  const restart = await runCli(['explain', '--db', dbPath, '--class', 'restart']);
  assert.match(restart.stdout, /confirmed across a restart \(not in the headline\)/);
  assert.match(restart.stdout, /follows session row 2 of the same client at this address:port/);

  const byAddress = await runCli(['explain', '--db', dbPath, '--address', '81.2.69.143', '--format', 'json']);
  assert.equal(byAddress.code, 0, byAddress.stderr);
  const json = JSON.parse(byAddress.stdout) as { sessions: { row: number; crossingClass: string | null }[] };
  assert.deepEqual(json.sessions.map((s) => [s.row, s.crossingClass]), [[2, null], [3, 'restart']]);
});
