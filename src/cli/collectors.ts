// Builds the collectors a Config asks for. Each one is started and stopped by the crawl.
import type { Socket } from 'node:net';
import type { AddressPolicy } from '../collectors/address-policy.ts';
import type { Config } from '../config.ts';
import type { Collector } from '../collectors/collector.ts';
import { DhtCollector } from '../collectors/dht-collector.ts';
import { Dht6Collector } from '../collectors/dht/dht6-collector.ts';
import { linkFamilies } from '../collectors/dht/family-bridge.ts';
import { InboundListener } from '../collectors/listener.ts';
import { PeersFileCollector } from '../collectors/peers-file.ts';
import { TrackerCollector } from '../collectors/tracker/tracker-collector.ts';
import type { Logger } from '../log.ts';
import type { Torrent } from '../types.ts';

export interface CollectorInputs {
  torrents: Torrent[];
  peerId: Buffer;
  /** Evaluates one inbound connection (the listener only guards the door). */
  handleIncoming: (socket: Socket) => Promise<void>;
  log: Logger;
  /** Which addresses may be dialled; the DHT node also asks it before sending to a node. */
  policy?: AddressPolicy;
}

export function buildCollectors(config: Config, inputs: CollectorInputs): Collector[] {
  const { torrents, peerId, handleIncoming } = inputs;
  const collectors: Collector[] = [];
  if (config.peersFile) collectors.push(new PeersFileCollector({ path: config.peersFile, torrents }));
  if (config.passive) {
    collectors.push(
      new InboundListener({
        port: config.port,
        host: config.listenHost,
        maxConnections: config.maxIncoming,
        maxPerIp: config.maxIncomingPerIp,
        // the contact's own timeouts end honest peers; this only cuts sockets that trickle nothing
        idleTimeoutMs: (config.connectTimeout + config.timeout) * 1000,
        maxConnectionMs: (config.contactLimit + config.connectTimeout + 5) * 1000,
        logIntervalS: config.statsInterval,
        handle: handleIncoming,
      }),
    );
  }
  if (torrents.some((t) => t.trackers.length > 0)) {
    collectors.push(
      new TrackerCollector({
        torrents,
        peerId,
        port: config.port,
        // not listening: each announce is withdrawn at once, so no swarm lists a dead endpoint
        passive: config.passive,
        numwant: config.numwant,
        intervalS: config.trackerInterval,
      }),
    );
  }
  if (config.dht) {
    const dht4 = new DhtCollector({
      torrents,
      port: config.dhtPort,
      bootstrap: config.dhtBootstrap,
      intervalS: config.dhtInterval,
      statePath: config.dhtState,
      announcePort: config.passive ? config.port : undefined,
      scrape: config.dhtScrape,
      mayContact: inputs.policy ? (ip, port) => inputs.policy!.mayDial(ip, port) : undefined,
    });
    collectors.push(dht4);
    // The IPv6 node has nothing to start from when every bootstrap entry is an IPv4 address (e.g. a local test DHT).
    if (config.dht6 && config.dhtBootstrap.some((b) => !/^[\d.]+:\d+$/.test(b.trim()))) {
      const dht6 = new Dht6Collector({
        torrents,
        port: config.dhtPort,
        bootstrap: config.dhtBootstrap,
        intervalS: config.dhtInterval,
        statePath: config.dhtState.replace(/(\.json)?$/, '.v6.json'),
        announcePort: config.passive ? config.port : undefined,
        scrape: config.dhtScrape,
        mayContact: inputs.policy ? (ip, port) => inputs.policy!.mayDial(ip, port) : undefined,
      });
      // BEP 32 `want`: each family's DHT answers for, and feeds, the other's (src/collectors/dht/family-bridge.ts).
      linkFamilies(dht4, dht6);
      collectors.push(dht6);
    }
  }
  return collectors;
}
