// What the store records of an address and a peer id, computed outside the writer: the anonymized network,
// the keyed hash, the raw address only with --store-ip, the place, the family and the client's name.
import { clientName } from './client-name.ts';
import type { Geolocator, Place } from './geolocation.ts';
import { anonymizeAddress, canonicalIp, ipv4Of, type AddressHasher } from './peer-identity.ts';

export interface AddressFacts extends Place {
  /** IPv4 /24 or IPv6 /48 network. */
  address: string;
  addressKey: string;
  /** Raw address, only with --store-ip. */
  ip: string | null;
  family: 4 | 6;
}

export class PeerDescriber {
  constructor(
    private readonly hasher: AddressHasher,
    private readonly geo: Geolocator,
    private readonly storeIp: boolean,
  ) {}

  address(ip: string): AddressFacts {
    const place = this.geo.locate(ip);
    return {
      address: anonymizeAddress(ip),
      addressKey: this.hasher.hash(ip),
      ip: this.storeIp ? canonicalIp(ip) : null,
      family: ipv4Of(ip) !== null ? 4 : 6,
      country: place.country,
      continent: place.continent,
      city: place.city,
    };
  }

  /** The client a hex peer id names, e.g. "Transmission 3.00". */
  client(peerIdHex: string | null): string | null {
    return clientName(peerIdHex);
  }
}

export function hexOf(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}
