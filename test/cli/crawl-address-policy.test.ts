// Special-purpose addresses named by every source never reach the queue: a real tracker (HTTP, UDP), real
// DHT nodes, PEX `added`/`added6`, the peers file (incl. an unresolved magnet's peers) and an inbound
// peer's `p`; each source's `requests` rows count them as skipped. The crawl runs in a child inside a
// private network namespace (address-policy-netns.ts), where special addresses on lo have listeners: a
// failing filter would show as a connection there, and nothing could leave the machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseIPv4 } from '../../src/wire/ip.ts';

const SCRIPT = fileURLToPath(new URL('./address-policy-netns.ts', import.meta.url));
const LO_ADDRESSES = [
  'ip addr add 10.0.0.1/32 dev lo', 'ip addr add 192.168.1.10/32 dev lo', 'ip addr add 172.16.5.5/32 dev lo',
  'ip addr add 100.64.1.1/32 dev lo', 'ip addr add 169.254.1.1/32 dev lo', 'ip addr add 192.0.2.5/32 dev lo',
  'ip addr add 198.18.0.1/32 dev lo', 'ip -6 addr add fc00::1/128 dev lo nodad', 'ip -6 addr add 2001:db8::1/128 dev lo nodad',
];

function runInNetns(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const shell = ['ip link set lo up', ...LO_ADDRESSES, `exec "${process.execPath}" --import tsx "${SCRIPT}"`].join(' && ');
    const child = spawn('unshare', ['-n', 'sh', '-c', shell], { env: { ...process.env, BTDA_IN_NETNS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 80_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface RequestRow { kind: string; received: number; new: number; duplicates: number; skipped: number }

test('special-purpose addresses from every source are skipped before the queue and counted per source', { timeout: 90_000 }, async () => {
  const r = await runInNetns();
  assert.equal(r.code, 0, `child failed: ${r.stderr}`);
  const facts = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    traps: Record<string, number>;
    requests: RequestRow[];
    peers: { ip: string; port: number; sources: string; visits: number }[];
    expect: { specialV4: number; added6: number; trapPort: number };
  };
  // nothing ever dialled a trap (0.0.0.0 would have reached the one on 127.0.0.1)
  for (const [host, connections] of Object.entries(facts.traps)) assert.equal(connections, 0, `connections to the trap on ${host}`);

  const rows = (kind: string) => facts.requests.filter((q) => q.kind === kind);
  for (const q of facts.requests) assert.equal(q.new + q.duplicates + q.skipped, q.kind === 'incoming' ? q.new + q.duplicates + q.skipped : q.received, JSON.stringify(q));
  // trackers list every special address, the real peer and btda's own announce: every special one is skipped
  for (const kind of ['http', 'udp']) {
    const answered = rows(kind).filter((q) => q.received > 0);
    assert.ok(answered.length > 0, `${kind} answers`);
    for (const q of answered) assert.equal(q.skipped, facts.expect.specialV4, `${kind} ${JSON.stringify(q)}`);
  }
  assert.ok(rows('dht').some((q) => q.skipped === facts.expect.specialV4), `dht: ${JSON.stringify(rows('dht'))}`);
  assert.deepEqual(rows('pex').map((q) => [q.received, q.new, q.skipped]), [[facts.expect.specialV4 + 1 + facts.expect.added6, 1, facts.expect.specialV4 + facts.expect.added6]]);
  assert.equal(rows('file').reduce((n, q) => n + q.skipped, 0) >= 3, true, JSON.stringify(rows('file')));
  assert.equal(rows('incoming').reduce((n, q) => n + q.skipped, 0), 1, JSON.stringify(rows('incoming')));

  // no special address was queued from any source (the inbound peer's own contact is stored, never dialled)
  const isLoopback1 = (ip: string) => ip === '127.0.0.1';
  for (const p of facts.peers) {
    if (isLoopback1(p.ip)) continue;
    assert.equal(p.sources, 'incoming', `${p.ip}:${p.port} reached the peers table from ${p.sources}`);
    assert.ok(parseIPv4(p.ip) >= 0 && p.port !== facts.expect.trapPort, `${p.ip}:${p.port}`);
  }
});
