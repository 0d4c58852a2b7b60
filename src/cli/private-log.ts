// --debug follows the privacy setting: without --store-ip, the addresses in debug lines are written as
// the network the database stores (81.2.69.0/24, 2001:db8:1::/48), not as the raw address. Debug lines
// come from every stage (contacts, listener, DHT), so they are rewritten here, once, on their way out.
import { isIPv4, isIPv6 } from 'node:net';
import type { Logger } from '../log.ts';
import { anonymizeAddress } from '../store/peer-identity.ts';

// Candidates only; each is checked with node:net before it is replaced (times like 12:30:45 are not IPv6).
const IPV6_CANDIDATE = /(?<![0-9a-f:])(?:[0-9a-f]{0,4}:){2,7}(?:\d+\.\d+\.\d+\.\d+|[0-9a-f]{0,4})(?![0-9a-f.])/gi;
const IPV4_CANDIDATE = /(?<![\d.])\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?![\d./])/g;

/** `text` with every IPv4 and IPv6 address replaced by its stored network. */
export function redactAddresses(text: string): string {
  return text
    .replace(IPV6_CANDIDATE, redactIPv6)
    .replace(IPV4_CANDIDATE, (m) => (isIPv4(m) ? anonymizeAddress(m) : m));
}

/** An address followed by ":port" or ": message" reads as a longer candidate: drop trailing groups until valid. */
function redactIPv6(candidate: string): string {
  for (let end = candidate.length; end > 0; end = candidate.lastIndexOf(':', end - 1)) {
    const head = candidate.slice(0, end);
    if (isIPv6(head)) return anonymizeAddress(head) + candidate.slice(end);
  }
  return candidate;
}

/** The logger itself when raw addresses may be stored; otherwise one whose debug lines name networks only. */
export function privacyLogger(log: Logger, storeIp: boolean): Logger {
  if (storeIp) return log;
  return { ...log, debug: (msg) => log.debug(redactAddresses(msg)) };
}
