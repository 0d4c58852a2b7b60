// The address ranges btda never dials unless the user allows them (--allow): every entry of the IANA
// special-purpose address registries, plus multicast and the IPv6 space IANA has not opened for unicast.
//
// Sources (read 2025):
// - IANA IPv4 Special-Purpose Address Registry, https://www.iana.org/assignments/iana-ipv4-special-registry
// - IANA IPv6 Special-Purpose Address Registry, https://www.iana.org/assignments/iana-ipv6-special-registry
// - IANA IPv4 Address Space Registry (224/4 multicast, 240/4 reserved),
//   https://www.iana.org/assignments/ipv4-address-space
// - IANA IPv6 Address Space, https://www.iana.org/assignments/ipv6-address-space: only 2000::/3 is global
//   unicast; the rest is reserved by the IETF, unique-local (fc00::/7), link-local (fe80::/10) or multicast
//   (ff00::/8), so nothing outside 2000::/3 is a peer on the internet.
//
// Every registry entry is listed, whatever its "globally reachable" flag: the few that are reachable
// (anycast of PCP, TURN, AS112, AMT; NAT64's 64:ff9b::/96; Teredo; 6to4) are infrastructure or tunnels,
// never a BitTorrent client's own address, and 6to4/NAT64 addresses embed an IPv4 address that may be a
// private one (2002:0a00:0001:: tunnels to 10.0.0.1). IPv4-mapped IPv6 (::ffff:0:0/96) is not listed:
// such an address is judged as the IPv4 address it maps.

export interface SpecialRange {
  cidr: string;
  name: string;
  /** Where the range is defined. */
  ref: string;
}

export const SPECIAL_IPV4: readonly SpecialRange[] = [
  { cidr: '0.0.0.0/8', name: '"this network" (unspecified)', ref: 'RFC 791' },
  { cidr: '10.0.0.0/8', name: 'private use', ref: 'RFC 1918' },
  { cidr: '100.64.0.0/10', name: 'shared address space (CGNAT)', ref: 'RFC 6598' },
  { cidr: '127.0.0.0/8', name: 'loopback', ref: 'RFC 1122' },
  { cidr: '169.254.0.0/16', name: 'link-local', ref: 'RFC 3927' },
  { cidr: '172.16.0.0/12', name: 'private use', ref: 'RFC 1918' },
  { cidr: '192.0.0.0/24', name: 'IETF protocol assignments (incl. 192.0.0.0/29, .8, .9, .10, .170, .171)', ref: 'RFC 6890' },
  { cidr: '192.0.2.0/24', name: 'documentation (TEST-NET-1)', ref: 'RFC 5737' },
  { cidr: '192.31.196.0/24', name: 'AS112-v4', ref: 'RFC 7535' },
  { cidr: '192.52.193.0/24', name: 'AMT', ref: 'RFC 7450' },
  { cidr: '192.88.99.0/24', name: 'deprecated 6to4 relay anycast', ref: 'RFC 7526' },
  { cidr: '192.168.0.0/16', name: 'private use', ref: 'RFC 1918' },
  { cidr: '192.175.48.0/24', name: 'direct delegation AS112 service', ref: 'RFC 7534' },
  { cidr: '198.18.0.0/15', name: 'benchmarking', ref: 'RFC 2544' },
  { cidr: '198.51.100.0/24', name: 'documentation (TEST-NET-2)', ref: 'RFC 5737' },
  { cidr: '203.0.113.0/24', name: 'documentation (TEST-NET-3)', ref: 'RFC 5737' },
  { cidr: '224.0.0.0/4', name: 'multicast', ref: 'RFC 5771' },
  { cidr: '240.0.0.0/4', name: 'reserved (incl. 255.255.255.255 limited broadcast)', ref: 'RFC 1112, RFC 919' },
];

export const SPECIAL_IPV6: readonly SpecialRange[] = [
  // outside 2000::/3 (IPv6 address space registry); covers ::/128, ::1/128, 64:ff9b::/96, 64:ff9b:1::/48,
  // 100::/64, 100:0:0:1::/64, 5f00::/16 (SRv6 SIDs), fc00::/7, fe80::/10 and ff00::/8 listed below
  { cidr: '::/3', name: 'reserved by the IETF (incl. unspecified, loopback, NAT64, discard-only)', ref: 'RFC 4291' },
  { cidr: '4000::/2', name: 'reserved by the IETF (incl. 5f00::/16 SRv6 SIDs)', ref: 'RFC 4291, RFC 9602' },
  { cidr: '8000::/1', name: 'reserved, unique-local, link-local, multicast', ref: 'RFC 4291' },
  { cidr: '::/128', name: 'unspecified', ref: 'RFC 4291' },
  { cidr: '::1/128', name: 'loopback', ref: 'RFC 4291' },
  { cidr: '64:ff9b::/96', name: 'IPv4-IPv6 translation', ref: 'RFC 6052' },
  { cidr: '64:ff9b:1::/48', name: 'IPv4-IPv6 translation (local use)', ref: 'RFC 8215' },
  { cidr: '100::/64', name: 'discard-only', ref: 'RFC 6666' },
  { cidr: 'fc00::/7', name: 'unique-local', ref: 'RFC 4193' },
  { cidr: 'fe80::/10', name: 'link-local unicast', ref: 'RFC 4291' },
  { cidr: 'ff00::/8', name: 'multicast', ref: 'RFC 4291' },
  // inside 2000::/3
  { cidr: '2001::/23', name: 'IETF protocol assignments (incl. Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID)', ref: 'RFC 2928, RFC 4380' },
  { cidr: '2001:db8::/32', name: 'documentation', ref: 'RFC 3849' },
  { cidr: '2002::/16', name: '6to4', ref: 'RFC 3056' },
  { cidr: '2620:4f:8000::/48', name: 'direct delegation AS112 service', ref: 'RFC 7534' },
  { cidr: '3fff::/20', name: 'documentation', ref: 'RFC 9637' },
];
