// The address policy: every special-purpose range edge (IPv4, IPv6, IPv4-mapped), port 0, --allow overriding
// the built-in ranges, --exclude winning over everything, and the exclude file's errors.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { BlockList } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { AddressListError, AddressPolicy, parseCidr, parseExcludeList, RangeSet, readExcludeFile } from '../../src/collectors/address-policy.ts';
import { SPECIAL_IPV4, SPECIAL_IPV6 } from '../../src/collectors/special-ranges.ts';
import { resolveConfig, ConfigError } from '../../src/cli/options.ts';
import { formatIPv4, parseIPv6 } from '../../src/wire/ip.ts';
import { tempDir } from '../helpers/temp-dir.ts';

const policy = new AddressPolicy();

/**
 * An independent oracle: Node's own BlockList holding the same table, one list per family (a BlockList
 * also matches IPv4 addresses against IPv6 subnets through their mapped form, so ::/3 would hold 1.0.0.0).
 */
function blockListOf(cidrs: string[]): { check(ip: string): boolean } {
  const lists = { ipv4: new BlockList(), ipv6: new BlockList() };
  for (const cidr of cidrs) {
    const [addr, len] = cidr.split('/');
    const family = addr.includes(':') ? 'ipv6' : 'ipv4';
    lists[family].addSubnet(addr, Number(len ?? (family === 'ipv4' ? 32 : 128)), family);
  }
  return { check: (ip) => (ip.includes(':') ? lists.ipv6.check(ip, 'ipv6') : lists.ipv4.check(ip, 'ipv4')) };
}
const oracle = blockListOf([...SPECIAL_IPV4, ...SPECIAL_IPV6].map((r) => r.cidr));
const oracleSays = (ip: string) => (oracle.check(ip) ? 'special' : 'dial');

function v6Text(g: Uint16Array | number[]): string {
  return Array.from(g, (x) => x.toString(16)).join(':');
}
/** The address one below / above an IPv6 address (wrapping at the ends is not needed by the table). */
function step6(g: Uint16Array, delta: 1 | -1): Uint16Array {
  const out = Uint16Array.from(g);
  for (let i = 7; i >= 0; i--) {
    const v = out[i] + delta;
    out[i] = v & 0xffff;
    if (v >= 0 && v <= 0xffff) break;
  }
  return out;
}

test('every IPv4 registry range: first and last address are special, the neighbours outside are judged as the table says', () => {
  for (const r of SPECIAL_IPV4) {
    const c = parseCidr(r.cidr);
    assert.ok(c && c.family === 4, r.cidr);
    for (const n of [c.first, c.last]) assert.equal(policy.verdict(formatIPv4(n), 6881), 'special', `${formatIPv4(n)} (${r.cidr})`);
    for (const n of [c.first - 1, c.last + 1]) {
      if (n < 0 || n > 0xffffffff) continue;
      const ip = formatIPv4(n);
      assert.equal(policy.verdict(ip, 6881), oracleSays(ip), `${ip} next to ${r.cidr}`);
    }
  }
});

test('every IPv6 registry range: first and last address are special, the neighbours outside are judged as the table says', () => {
  for (const r of SPECIAL_IPV6) {
    const c = parseCidr(r.cidr);
    assert.ok(c && c.family === 6, r.cidr);
    for (const g of [c.first, c.last]) assert.equal(policy.verdict(v6Text(g), 6881), 'special', `${v6Text(g)} (${r.cidr})`);
    const neighbours: Uint16Array[] = [];
    if (!c.first.every((x) => x === 0)) neighbours.push(step6(c.first, -1)); // nothing below ::
    if (!c.last.every((x) => x === 0xffff)) neighbours.push(step6(c.last, 1)); // nothing above ffff:...:ffff
    for (const g of neighbours) {
      const ip = v6Text(g);
      assert.equal(policy.verdict(ip, 6881), oracleSays(ip), `${ip} next to ${r.cidr}`);
    }
  }
});

test('the ranges named in the brief, by example', () => {
  const special = ['10.0.0.1', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.1.1', '100.64.0.0', '100.127.255.255',
    '127.0.0.1', '127.255.255.254', '169.254.1.1', '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255', '0.0.0.0',
    '0.1.2.3', '192.0.2.7', '198.51.100.1', '203.0.113.9', '198.18.0.1', '198.19.255.255', '192.0.0.9', '192.88.99.1',
    '::', '::1', 'fe80::1', 'febf:ffff::1', 'ff02::1', 'fc00::1', 'fdff:ffff::1', '2001:db8::1', '2001::1', '2001:2::1',
    '2002:a00:1::1', '64:ff9b::a00:1', '5f00::1', '3fff::1', '::a00:1', '::ffff:0:a00:1'];
  for (const ip of special) assert.equal(policy.verdict(ip, 6881), 'special', ip);
  const publicOnes = ['1.1.1.1', '8.8.8.8', '9.255.255.255', '11.0.0.0', '172.15.255.255', '172.32.0.0', '100.63.255.255',
    '100.128.0.0', '126.255.255.255', '128.0.0.0', '169.253.255.255', '169.255.0.0', '192.167.255.255', '192.169.0.0',
    '198.17.255.255', '198.20.0.0', '223.255.255.255', '2001:4860:4860::8888', '2a00:1450::1', '2400:cb00::1', '2001:200::1'];
  for (const ip of publicOnes) assert.equal(policy.verdict(ip, 6881), 'dial', ip);
});

test('IPv4-mapped IPv6 is judged as its IPv4 address, in every list', () => {
  assert.equal(policy.verdict('::ffff:10.0.0.1', 1), 'special');
  assert.equal(policy.verdict('::FFFF:192.168.0.1', 1), 'special');
  assert.equal(policy.verdict('::ffff:a00:1', 1), 'special');
  assert.equal(policy.verdict('0:0:0:0:0:ffff:7f00:1', 1), 'special');
  assert.equal(policy.verdict('::ffff:8.8.8.8', 1), 'dial');
  const p = new AddressPolicy({ allow: ['10.0.0.0/8'], exclude: parseExcludeList('8.8.8.0/24\n::ffff:1.1.1.0/120\n', 'x') });
  assert.equal(p.verdict('::ffff:10.0.0.1', 1), 'dial');
  assert.equal(p.verdict('::ffff:8.8.8.8', 1), 'excluded');
  assert.equal(p.verdict('1.1.1.1', 1), 'excluded');
  assert.equal(p.verdict('::ffff:1.1.1.1', 1), 'excluded');
  assert.equal(p.verdict('1.1.2.1', 1), 'dial');
});

test('port 0 and other bad ports or addresses are never dialled', () => {
  for (const port of [0, -1, 65536, 1.5, NaN, Infinity]) assert.equal(policy.verdict('8.8.8.8', port), 'bad-port', String(port));
  assert.equal(policy.verdict('8.8.8.8', 1), 'dial');
  assert.equal(policy.verdict('8.8.8.8', 65535), 'dial');
  for (const ip of ['localhost', 'example.com', '010.0.0.1', '8.8.8', '8.8.8.8 ', 'fe80::1%eth0', '[::1]', '', '0x7f000001']) {
    assert.equal(policy.verdict(ip, 6881), 'malformed', ip);
  }
  assert.equal(policy.verdict(undefined as unknown as string, 6881), 'malformed');
});

test('--allow overrides the built-in ranges, and only where it says', () => {
  const p = new AddressPolicy({ allow: ['127.0.0.0/8', '::1'] });
  assert.equal(p.verdict('127.0.0.1', 1), 'dial');
  assert.equal(p.verdict('127.77.3.4', 1), 'dial');
  assert.equal(p.verdict('::ffff:127.0.0.1', 1), 'dial');
  assert.equal(p.verdict('::1', 1), 'dial');
  assert.equal(p.verdict('::2', 1), 'special');
  assert.equal(p.verdict('10.0.0.1', 1), 'special');
  assert.equal(p.verdict('127.0.0.1', 0), 'bad-port'); // port 0 is never allowed
  assert.throws(() => new AddressPolicy({ allow: ['127.0.0.0/33'] }), AddressListError);
});

test('--exclude wins over --allow and over public addresses', () => {
  const p = new AddressPolicy({ allow: ['127.0.0.0/8', 'fc00::/7'], exclude: parseExcludeList('127.0.0.0/24\nfd00::/8\n81.2.69.0/24\n2a00:1450::/32', 'f') });
  assert.equal(p.verdict('127.0.0.5', 1), 'excluded');
  assert.equal(p.verdict('127.0.1.5', 1), 'dial');
  assert.equal(p.verdict('fd00::1', 1), 'excluded');
  assert.equal(p.verdict('fc00::1', 1), 'dial');
  assert.equal(p.verdict('81.2.69.142', 1), 'excluded');
  assert.equal(p.verdict('81.2.70.1', 1), 'dial');
  assert.equal(p.verdict('2a00:1450:4001::1', 1), 'excluded');
  assert.equal(p.verdict('2a00:1451::1', 1), 'dial');
});

test('parseCidr: single addresses, host bits ignored, bad lengths and texts refused', () => {
  assert.deepEqual(parseCidr('10.1.2.3/8'), { family: 4, first: 0x0a000000, last: 0x0affffff });
  assert.deepEqual(parseCidr('1.2.3.4'), { family: 4, first: 0x01020304, last: 0x01020304 });
  assert.deepEqual(parseCidr('0.0.0.0/0'), { family: 4, first: 0, last: 0xffffffff });
  assert.deepEqual(parseCidr(' ::ffff:10.0.0.0/104 '), { family: 4, first: 0x0a000000, last: 0x0affffff });
  const v6 = parseCidr('2001:db8::1/33');
  assert.ok(v6 && v6.family === 6);
  assert.equal(v6Text(v6.first), '2001:db8:0:0:0:0:0:0');
  assert.equal(v6Text(v6.last), '2001:db8:7fff:ffff:ffff:ffff:ffff:ffff');
  for (const bad of ['', '10.0.0.0/', '10.0.0.0/33', '::/129', '10.0.0.0/-1', '10.0.0.0/8/8', 'ten', '10.0.0/8', '/8', '::1/1000', '10.0.0.0/ 8']) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

test('RangeSet agrees with node:net BlockList on random ranges and addresses', () => {
  const v4cidr = fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`);
  const v6cidr = fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 })).map(([a, l]) => `${a}/${l}`);
  fc.assert(fc.property(fc.array(fc.oneof(v4cidr, v6cidr), { maxLength: 12 }), fc.array(fc.oneof(fc.ipV4(), fc.ipV6()), { maxLength: 30 }), (cidrs, ips) => {
    const set = new RangeSet(cidrs.map((c) => parseCidr(c)!));
    // BlockList wants the network address for IPv6 subnets: give it the masked first address
    const list = blockListOf(cidrs.map((c) => {
      const r = parseCidr(c)!;
      return r.family === 4 ? `${formatIPv4(r.first)}/${c.split('/')[1]}` : `${v6Text(r.first)}/${c.split('/')[1]}`;
    }));
    for (const ip of ips) {
      const g = parseIPv6(ip);
      const ours = ip.includes(':') ? set.has6(Uint16Array.from(g!)) : set.has4(Number(ip.split('.').reduce((a, o) => a * 256 + Number(o), 0)));
      if (ip.includes(':') && g && g[5] === 0xffff && g.slice(0, 5).every((x) => x === 0)) continue; // BlockList maps these; RangeSet leaves mapping to the policy
      assert.equal(ours, list.check(ip), `${ip} in ${cidrs.join(' ')}`);
    }
  }), { numRuns: 300 });
});

test('exclude file: comments, blank lines and CRLF are fine; a bad line is one error naming the file and line', () => {
  const dir = tempDir('btda-exclude-');
  const good = join(dir, 'optout.txt');
  writeFileSync(good, '# opt-out requests\r\n\r\n81.2.69.0/24   # asked 2026-01-02\r\n2a00:1450::/32\r\n1.2.3.4\r\n');
  assert.equal(readExcludeFile(good).length, 3);
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, '# list\n81.2.69.0/24\n81.2.69.0/40\n');
  assert.throws(() => readExcludeFile(bad), (err: Error) =>
    err instanceof AddressListError && err.message === `--exclude: ${bad} line 3: "81.2.69.0/40" is not an address range (like 192.0.2.0/24 or 2001:db8::/32)`);
  assert.throws(() => readExcludeFile(join(dir, 'missing.txt')), (err: Error) => err instanceof AddressListError && err.message.includes('missing.txt') && err.message.includes('ENOENT'));
});

test('the flags: --allow repeatable and comma-separated, a bad --allow or --exclude line is a usage error (exit 2)', async () => {
  const c = await resolveConfig({ allow: ['127.0.0.0/8', '::1,10.0.0.0/8'] });
  assert.deepEqual(c.allow, ['127.0.0.0/8', '::1', '10.0.0.0/8']);
  assert.deepEqual((await resolveConfig({ allow: '127.0.0.1' })).allow, ['127.0.0.1']);
  assert.deepEqual((await resolveConfig({})).allow, []);
  await assert.rejects(resolveConfig({ allow: 'localhost' }), (err: Error) => err instanceof ConfigError && err.message.includes('--allow') && err.message.includes('localhost'));
  const dir = tempDir('btda-exclude-');
  const bad = join(dir, 'bad.txt');
  writeFileSync(bad, 'nonsense\n');
  await assert.rejects(resolveConfig({ exclude: bad }), (err: Error) => err instanceof ConfigError && err.message.includes(`${bad} line 1`));
  await assert.rejects(resolveConfig({ exclude: join(dir, 'none') }), ConfigError);
});
