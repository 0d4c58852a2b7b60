// Trackers list the announcing peer too: the crawl never queues its own listener (moved out of crawl.ts).
import { networkInterfaces } from 'node:os';
import { unmapIPv4 } from '../wire/ip.ts';

/** Addresses of this machine: loopback and every interface address. */
const ownAddresses = new Set(
  Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address.toLowerCase())),
);
export function isOwnAddress(ip: string): boolean {
  const v4 = unmapIPv4(ip);
  return v4.startsWith('127.') || v4 === '::1' || ownAddresses.has(v4.toLowerCase());
}
