// Nodes one DHT family names for the other (BEP 32 `want`) pass the address policy before they are pinged:
// special-purpose IPv4 and IPv6 addresses named beside real nodes are never sent to, while the real nodes
// join the other family's table. Runs in a child inside a private network namespace (dht-families-netns.ts),
// where the special addresses sit on lo with UDP traps: nothing could leave the machine.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./dht-families-netns.ts', import.meta.url));
const LO_ADDRESSES = [
  'ip addr add 10.0.0.1/32 dev lo', 'ip addr add 192.168.1.10/32 dev lo',
  'ip -6 addr add fc00::1/128 dev lo nodad', 'ip -6 addr add 2001:db8::1/128 dev lo nodad',
];

function runInNetns(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const shell = ['ip link set lo up', ...LO_ADDRESSES, `exec "${process.execPath}" --import tsx "${SCRIPT}"`].join(' && ');
    const child = spawn('unshare', ['-n', 'sh', '-c', shell], { env: { ...process.env, BTDA_IN_NETNS: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('special-purpose nodes named across the DHT families are never pinged; the real ones join', { timeout: 70_000 }, async () => {
  const r = await runInNetns();
  assert.equal(r.code, 0, `child failed: ${r.stderr}`);
  type Run = { v4Joined: boolean; v6Joined: boolean; traps: Record<string, number> };
  const facts = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { withPolicy: Run; withoutPolicy: Run };
  assert.ok(facts.withPolicy.v4Joined, 'the real IPv4 nodes named by the IPv6 node joined bittorrent-dht');
  assert.ok(facts.withPolicy.v6Joined, 'the real IPv6 nodes named by the IPv4 node joined the IPv6 table');
  for (const [host, n] of Object.entries(facts.withPolicy.traps)) assert.equal(n, 0, `packets to ${host} with the policy`);
  // The control: without the policy the same replies do get the traps pinged, so the zeros above are the policy's.
  for (const [host, n] of Object.entries(facts.withoutPolicy.traps)) assert.ok(n > 0, `packets to ${host} without the policy: ${n}`);
});
