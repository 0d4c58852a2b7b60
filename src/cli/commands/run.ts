// `btda run` (the default command): crawl until --duration, SIGINT or SIGTERM.
import { createLogger } from '../../log.ts';
import { runCrawl } from '../crawl.ts';
import { resolveConfig } from '../options.ts';

export async function runCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv);
  const log = createLogger({ debug: config.debug, quiet: config.quiet, file: config.log || undefined });
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    log.info(`${signal}: stopping, writing what was measured`);
    controller.abort(`signal ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runCrawl(config, {
      log,
      signal: controller.signal,
      args: process.argv.slice(2),
      onProgress: config.quiet ? undefined : (p) =>
        log.debug(`queue ${p.queued} in flight ${p.inFlight} contacts ${p.contacts} ok ${p.successes} confirmed ${p.confirmed}`),
    });
    log.info(
      `run ${summary.runId} ended (${summary.exitReason}): ${summary.contacts} contacts, ` +
        `${summary.successes} successful, ${summary.known} peers, ${summary.confirmed} crossings seen`,
    );
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
