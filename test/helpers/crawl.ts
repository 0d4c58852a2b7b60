// Shared set-up for tests that run the whole crawl in-process on loopback.
import net from 'node:net';
import { join } from 'node:path';
import { defaultConfig, type Config } from '../../src/config.ts';
import { runCrawl, type CrawlSummary } from '../../src/cli/crawl.ts';
import { silentLogger } from '../../src/log.ts';

/** What every test that crawls peers on loopback allows (the address policy skips loopback otherwise). */
export const LOOPBACK_ALLOW: readonly string[] = ['127.0.0.0/8', '::1'];

/** A TCP port free on 127.0.0.1 right now (for the listener). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** A config whose files all live in `dir`, with no input folder or magnet file, fast flushes. */
export function testConfig(dir: string, over: Partial<Config> = {}): Config {
  return {
    ...defaultConfig,
    db: join(dir, 'btda.sqlite'),
    keyFile: join(dir, 'key'),
    dhtState: join(dir, 'dht.json'),
    inputPath: join(dir, 'no-input'),
    magnetFile: join(dir, 'no-magnets.txt'),
    listenHost: '127.0.0.1', // tests stay on loopback
    allow: [...LOOPBACK_ALLOW], // ...and crawl it: loopback is special-purpose, never dialled unless allowed
    connectTimeout: 1,
    flushIntervalMs: 100,
    // scripted peers change their state between connections, not on one: a test of the watch turns it on
    watch: 0,
    ...over,
  };
}

/** Starts a crawl; `stop()` aborts it and waits for its summary. */
export function startCrawl(config: Config): { done: Promise<CrawlSummary>; stop: (reason?: string) => Promise<CrawlSummary> } {
  const controller = new AbortController();
  const done = runCrawl(config, { log: silentLogger, signal: controller.signal });
  return {
    done,
    stop: (reason = 'test over') => {
      controller.abort(reason);
      return done;
    },
  };
}
