// How long btda merge and btda rederive take: two databases of N sessions each (written by the real writer,
// one below state on one, one above state on the other), merged, then re-derived. Usage: node --import tsx scripts/bench/merge.ts [N]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyFingerprint } from '../../src/store/address-key.ts';
import { Database } from '../../src/store/database.ts';
import { Geolocator } from '../../src/store/geolocation.ts';
import { AddressHasher } from '../../src/store/peer-identity.ts';
import { ResultWriter } from '../../src/store/result-writer.ts';
import { rederiveCrossings } from '../../src/store/rederive.ts';
import { mergeDatabases } from '../../src/store/merge.ts';
import { contactResult } from '../../test/helpers/contact-result.ts';
const N = Number(process.argv[2] ?? 100000);
const dir = mkdtempSync(join(tmpdir(), 'bm-'));
const key = Buffer.alloc(32, 1);
const T0 = Date.parse('2026-03-01T10:00:00Z');
async function make(path: string, part: number) {
  const db = Database.open(path);
  db.setMeta('address_key_fingerprint', keyFingerprint(key));
  const t = db.addTorrent({ infoHash: 'ee'.repeat(20), infoHashV2: null, name: 'x', pieces: 100, pieceSize: 16384, totalSize: 1638400, trackers: [] }, 'x', null, T0)!;
  const runId = db.startRun({ version: 't', args: String(part), host: 'h' + part, threshold: 0.98, startedAt: T0 });
  const w = new ResultWriter(db, { runId, hasher: new AddressHasher(key), geo: await Geolocator.open('none'), storeIp: false, flushIntervalMs: 0, runStartedAt: T0 });
  for (let i = 0; i < N; i++) {
    const ip = `81.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    for (const [k, pieces] of [[0, i % 3 === 0 ? 100 : 20], [1, i % 2 ? 100 : 50]] as const) {
      if (k !== part) continue;
      const at = T0 + k * 600000 + i;
      w.contact(contactResult({ torrentId: t.id, ip, port: 6881, peerId: Buffer.from(`-TR3000-${String(i).padStart(12, '0')}`), startedAt: at, openedAt: at, endedAt: at + 1, openingPieces: pieces, endPieces: pieces }), 'http', { pieceSize: 16384, thresholdPieces: 98 });
    }
    if (i % 5000 === 0) w.flush();
  }
  w.close(); db.close();
}
const a = join(dir, 'a.sqlite'), b = join(dir, 'b.sqlite');
await make(a, 0); await make(b, 1);
let t = performance.now();
const { report, out } = mergeDatabases([a, b], join(dir, 'out.sqlite'), { defaultSuspectRate: 10000 });
console.log(`merge of 2 x ${N} sessions: ${((performance.now() - t) / 1000).toFixed(1)} s; joined ${report.sessions.joined}, confirmed after ${report.rederived.after.confirmed}`);
t = performance.now();
const r = rederiveCrossings(out, { defaultSuspectRate: 10000, dryRun: false });
console.log(`rederive of ${r.sessions} sessions (${report.sessions.observations} observations): ${((performance.now() - t) / 1000).toFixed(1)} s, changed ${r.changed}`);
out.close();
rmSync(dir, { recursive: true, force: true });
