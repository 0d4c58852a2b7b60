// The options the queue and the evaluator take, from the one Config (seconds → milliseconds, flags →
// what the stage needs). The crawl and the benchmarks' pipeline build their stages with these, so a
// benchmark measures what a crawl runs.
import type { Config } from '../config.ts';
import type { ContactStop } from '../evaluator/contact-stop.ts';
import type { ContactOptions } from '../evaluator/contact.ts';
import { WatchPool } from '../evaluator/watch-pool.ts';
import type { QueuePolicy } from '../queue/due-queue.ts';
import type { ContactResult } from '../types.ts';
import { autoWatch } from './open-files.ts';

export function queuePolicyFor(config: Config): QueuePolicy {
  return {
    revisitDelayMs: config.revisitDelay * 1000,
    revisitComplete: config.revisitComplete,
    maxFailures: config.maxFailures,
    retryDelayMs: config.retryDelay * 1000,
  };
}

export function contactOptionsFor(config: Config, peerId: Buffer, stop?: ContactStop): ContactOptions {
  return {
    peerId,
    timeoutMs: config.timeout * 1000,
    connectTimeoutMs: config.connectTimeout * 1000,
    contactLimitMs: config.contactLimit * 1000,
    maxMessages: config.maxMessages,
    openingGraceMs: config.openingGrace * 1000,
    dhtPort: config.dht ? config.dhtPort : undefined,
    // tell peers where we listen, so those who find us can come back
    listenPort: config.passive ? config.port : undefined,
    stop,
    pex: config.pex,
  };
}

/** The watch (src/evaluator/watch-pool.ts), offered every outgoing contact through `contactOptions.watch`. */
export function watchPoolFor(config: Config, contactOptions: ContactOptions, record: (segment: ContactResult) => void): WatchPool {
  const pool = new WatchPool({
    budget: config.watch ?? autoWatch(config.active),
    stallMs: config.watchStall * 1000,
    pex: config.pex,
    dhtPort: contactOptions.dhtPort,
    record,
  });
  if (config.active > 0) contactOptions.watch = pool;
  return pool;
}
