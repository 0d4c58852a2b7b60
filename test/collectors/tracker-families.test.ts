// Trackers over both address families: a host name with an A and an AAAA record (127.0.0.1 and ::1)
// whose IPv4 and IPv6 instances answer with peers of their own family only. The scenario runs in a
// private network and mount namespace (unshare -mn) with its own /etc/hosts naming `dual-stack.test`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('a tracker with A and AAAA records is announced and scraped over both families; peers of both are kept, a peer seen twice is queued once', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'btda-families-'));
  try {
    const hosts = join(dir, 'hosts');
    writeFileSync(hosts, '127.0.0.1 localhost\n::1 localhost\n127.0.0.1 dual-stack.test\n::1 dual-stack.test\n');
    const child = join(import.meta.dirname, 'families', 'dual-stack-child.ts');
    const run = spawnSync(
      'unshare',
      ['-mn', 'sh', '-c', 'mount --bind "$1" /etc/hosts && ip link set lo up && exec node --import tsx "$2"', 'sh', hosts, child],
      { encoding: 'utf8', timeout: 50_000 },
    );
    assert.equal(run.status, 0, `child failed: ${run.stderr}${run.stdout}`);
    const r = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    const byUrl = (url: string) => r.requests.filter((q: { url: string }) => q.url === url);
    for (const base of [r.udpUrl, r.httpUrl]) {
      for (const family of ['ipv4', 'ipv6']) {
        const rows = byUrl(`${base}#${family}`);
        assert.equal(rows.length, 1, `${base}#${family}: ${JSON.stringify(r.requests)}`);
        assert.equal(rows[0].error, null);
      }
    }
    // Each instance got our announce; both UDP instances a scrape.
    assert.ok(r.udp.v4.announce >= 1 && r.udp.v6.announce >= 1 && r.udp.v4.scrape >= 1 && r.udp.v6.scrape >= 1, JSON.stringify(r.udp));
    assert.ok(r.http.v4.some((u: string) => u.startsWith('/announce')) && r.http.v6.some((u: string) => u.startsWith('/announce')));
    assert.deepEqual(r.scrapes.sort(), [`${r.udpUrl}#ipv4`, `${r.udpUrl}#ipv6`]);
    // BEP 7 (2020): one announce per family; no ipv4=/ipv6= parameters (discouraged: they let anyone list a victim).
    for (const u of [...r.http.v4, ...r.http.v6]) assert.doesNotMatch(u, /[?&]ipv[46]=/);
    // 7 peers received: 10.0.0.1:6881 three times (UDP IPv4, UDP IPv6 as ::ffff:10.0.0.1, HTTP IPv4): queued once.
    const received = r.requests.reduce((n: number, q: { received: number }) => n + q.received, 0);
    assert.equal(received, 7);
    assert.equal(r.known, 5);
    const unresolved = byUrl('udp://unresolvable.test:6969/announce');
    assert.equal(unresolved.length, 1, JSON.stringify(r.requests));
    assert.equal(unresolved[0].torrentId, null);
    assert.match(unresolved[0].error, /^DNS lookup of unresolvable\.test failed/);
    assert.deepEqual(r.queued.sort(), ['10.0.0.1|6881', '10.0.0.2|6882', '10.0.0.3|7000', '2001:db8::1|6881', '2001:db8::3|7000']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
