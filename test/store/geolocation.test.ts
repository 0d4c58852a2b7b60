// The built-in offline databases: country (ip-location-db mmdb) and network (ip-location-db/asn CSV ranges).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Geolocator } from '../../src/store/geolocation.ts';

test('built-in country and network lookups, IPv4, IPv6 and IPv4-mapped; private and junk addresses answer nulls', async () => {
  const geo = await Geolocator.open('', { networks: true });
  assert.equal(geo.locate('5.9.10.1').country, 'DE');
  assert.deepEqual(geo.network('5.9.10.1'), { asn: 24940, org: 'Hetzner Online GmbH' });
  assert.deepEqual(geo.network('2a01:4f8::1'), { asn: 24940, org: 'Hetzner Online GmbH' });
  assert.equal(geo.locate('::ffff:5.9.10.1').country, 'DE');
  assert.deepEqual(geo.network('1.1.1.1'), { asn: 13335, org: 'Cloudflare, Inc.' }); // a quoted organisation in the CSV
  for (const ip of ['10.0.0.1', '127.0.0.1', '::1', 'not an address']) {
    assert.equal(geo.locate(ip).country, null, ip);
    assert.deepEqual(geo.network(ip), { asn: null, org: null }, ip);
  }
  assert.match(geo.countryDatabase!.date!, /^\d{4}-\d{2}-\d{2}$/);
});

test("'none' turns country lookups off; networks only when asked for", async () => {
  const off = await Geolocator.open('none');
  assert.equal(off.locate('5.9.10.1').country, null);
  assert.equal(off.countryDatabase, null);
  assert.deepEqual(off.network('5.9.10.1'), { asn: null, org: null });
  assert.equal(off.networkDatabase, null);
});
