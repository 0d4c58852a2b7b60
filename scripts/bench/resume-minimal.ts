// The minimal loop of scripts/bench/resume.ts: a process that opens the same database, reads the first
// 1,000 stored addresses and dials them, nothing else. What it takes from its spawn to its first and
// 1,000th connect is the floor (Node and tsx starting, the SQLite file opened) that btda's resume is set beside.
//   node --import tsx --import ./connect-probe.ts resume-minimal.ts DB
import net from 'node:net';
import Sqlite from 'better-sqlite3';

const db = new Sqlite(process.argv[2], { readonly: true, fileMustExist: true });
const rows = db.prepare('SELECT ip, port FROM peers WHERE latest = 1 AND ip IS NOT NULL LIMIT 1000').all() as { ip: string; port: number }[];
let open = rows.length;
const done = () => {
  if (--open === 0) process.exit(0);
};
for (const r of rows) {
  const s = net.connect({ host: r.ip, port: r.port });
  s.setTimeout(3000, () => s.destroy());
  s.on('connect', () => s.destroy());
  s.on('error', () => {});
  s.on('close', done);
}
setTimeout(() => process.exit(0), 10_000).unref();
