// What every real-client test sets up and tears down: a temp folder, the client processes, a real
// tracker, and btda crawling in-process. `after` stops all of it (the crawl first, so it flushes).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { runCrawl, type CrawlSummary } from '../../../src/cli/crawl.ts';
import { defaultConfig, type Config } from '../../../src/config.ts';
import { silentLogger } from '../../../src/log.ts';
import { startRealTracker, type RealTracker } from '../../helpers/tracker-server.ts';
import { ProcessGroup } from './processes.ts';

export class E2eRun {
  readonly dir: string;
  readonly group: ProcessGroup;
  tracker: RealTracker | undefined;
  crawl: Promise<CrawlSummary> | undefined;
  private readonly crawlStop = new AbortController();

  /** Kept with BTDA_KEEP_E2E=1 (to look at the database and the clients' logs). */
  constructor(t: TestContext, prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.group = new ProcessGroup(this.dir);
    t.after(() => this.after());
  }

  async startTracker(intervalS: number): Promise<RealTracker> {
    this.tracker = await startRealTracker(intervalS);
    return this.tracker;
  }

  /**
   * A passive crawl on 127.0.0.1:`port` with short intervals (a test swarm lives minutes, not days), its
   * database in the run's folder, raw addresses stored (the test matches rows to clients by address).
   */
  crawlConfig(port: number, over: Partial<Config> = {}): Config {
    return {
      ...defaultConfig,
      db: join(this.dir, 'btda.sqlite'),
      keyFile: join(this.dir, 'btda.key'),
      inputPath: join(this.dir, 'no-input'),
      magnetFile: join(this.dir, 'no-magnets'),
      passive: true,
      listenHost: '127.0.0.1',
      allow: ['127.0.0.0/8', '::1'], // the clients are on loopback, special-purpose: dialled only when allowed
      port,
      // contacts end and revisit, as these tests expect (PEX is read in contacts); the watch tests turn it on
      watch: 0,
      active: 16,
      timeout: 2,
      connectTimeout: 2,
      contactLimit: 10,
      revisitDelay: 5,
      retryDelay: 2,
      maxFailures: 20,
      trackerInterval: 5,
      statsInterval: 5,
      flushIntervalMs: 200,
      storeIp: true,
      ...over,
    };
  }

  startCrawl(config: Config): Promise<CrawlSummary> {
    this.crawl = runCrawl(config, { log: silentLogger, signal: this.crawlStop.signal });
    return this.crawl;
  }

  /** Stops the crawl (SIGINT-like) and returns its summary. */
  stopCrawl(reason = 'test over'): Promise<CrawlSummary> {
    this.crawlStop.abort(reason);
    return this.crawl!;
  }

  private async after(): Promise<void> {
    this.crawlStop.abort('test over');
    await this.crawl?.catch(() => {});
    await this.group.stopAll();
    await this.tracker?.close();
    if (!process.env.BTDA_KEEP_E2E) rmSync(this.dir, { recursive: true, force: true });
  }
}
