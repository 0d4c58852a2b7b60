// The shared address helpers: unmapping '::ffff:a.b.c.d' and the strict parsers the address policy runs.
import assert from 'node:assert/strict';
import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { formatIPv4, parseIPv4, parseIPv6, unmapIPv4 } from '../../src/wire/ip.ts';

test('unmapIPv4: mapped addresses in every spelling become the IPv4 address; others are unchanged', () => {
  assert.equal(unmapIPv4('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(unmapIPv4('::FFFF:10.0.0.1'), '10.0.0.1');
  assert.equal(unmapIPv4('::ffff:a00:1'), '10.0.0.1');
  assert.equal(unmapIPv4('0:0:0:0:0:ffff:7f00:1'), '0:0:0:0:0:ffff:7f00:1'); // only the '::ffff:' spelling is rewritten
  for (const ip of ['1.2.3.4', '::1', '2001:db8::1', '::ffff:1.2.3', '::ffff:', '::fffe:1.2.3.4', 'ffff::1.2.3.4', '']) {
    assert.equal(unmapIPv4(ip), ip);
  }
});

test('parseIPv4 is strict: what Node calls IPv4, and nothing that inet_aton would read another way', () => {
  assert.equal(parseIPv4('0.0.0.0'), 0);
  assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIPv4('10.1.2.3'), 0x0a010203);
  for (const bad of ['010.0.0.1', '10.1', '10', '1.2.3.4.', '.1.2.3.4', '1..2.3', '256.1.1.1', '1.2.3.4.5', '1.2.3.-4', ' 1.2.3.4', '0x7f.0.0.1', '1.2.3.4 ', '']) {
    assert.equal(parseIPv4(bad), -1, bad);
  }
  fc.assert(fc.property(fc.ipV4(), (ip) => formatIPv4(parseIPv4(ip)) === ip));
  fc.assert(fc.property(fc.string({ maxLength: 16 }), (s) => (parseIPv4(s) >= 0) === isIPv4(s)));
});

test('parseIPv6 reads what Node reads, to the same 128 bits', () => {
  const groups = (ip: string) => Array.from(parseIPv6(ip) ?? []);
  assert.deepEqual(groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(groups('::1'), [0, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(groups('fe80::'), [0xfe80, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(groups('2001:db8::ff00:42:8329'), [0x2001, 0xdb8, 0, 0, 0, 0xff00, 0x42, 0x8329]);
  assert.deepEqual(groups('::ffff:192.0.2.1'), [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]);
  assert.deepEqual(groups('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const bad of ['', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'fe80::1%eth0', '[::1]', '::1:', ':1::', 'g::', '1.2.3.4', '::1.2.3', '1::2:3:4:5:6:7:8']) {
    assert.equal(parseIPv6(bad), null, bad);
  }
  const bits = (ip: string) => {
    const g = parseIPv6(ip)!;
    return Array.from(g, (x) => x.toString(16).padStart(4, '0')).join('');
  };
  const nodeBits = (ip: string) => {
    // SocketAddress normalises the text; compare through a fully expanded form of both
    const canon = new SocketAddress({ address: ip, family: 'ipv6' }).address;
    return bits(canon);
  };
  fc.assert(fc.property(fc.ipV6(), (ip) => isIPv6(ip) && parseIPv6(ip) !== null && bits(ip) === nodeBits(ip)));
  fc.assert(fc.property(fc.string({ maxLength: 20, unit: fc.constantFrom(...'0123456789abcdef:.'.split('')) }),
    (s) => (parseIPv6(s) !== null) === isIPv6(s)));
});
