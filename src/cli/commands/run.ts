// `btda run` (the default command): crawl until --duration, SIGINT or SIGTERM.
import { createLogger } from '../../log.ts';
import { runCrawl } from '../crawl.ts';
import { fitOpenFiles, readOpenFileLimit } from '../open-files.ts';
import { prepareForWriting } from '../open-database.ts';
import { resolveConfig } from '../options.ts';
import { privacyLogger } from '../private-log.ts';
import { createProgressDisplay } from '../progress.ts';
import { AddressKeyError } from '../../store/address-key.ts';
import { isPostgresUrl } from '../../store/pg/connection.ts';
import { RunLockedError } from '../../store/run-lock.ts';

/** Exit code of a bad command line or config value (and a key that does not fit the database). */
const EXIT_USAGE = 2;

/** Exit code when another run holds the database. */
export const EXIT_LOCKED = 3;

export async function runCommand(argv: Record<string, unknown>): Promise<number> {
  const config = await resolveConfig(argv, { postgres: true });
  const baseLog = createLogger({ debug: config.debug, quiet: config.quiet, file: config.log || undefined });
  const log = privacyLogger(baseLog, config.storeIp);
  // the folder is created and a foreign SQLite file refused before the run lock is taken
  if (!isPostgresUrl(config.db)) prepareForWriting(config.db);
  const fit = fitOpenFiles(config, readOpenFileLimit());
  if (fit.warning) log.warn(fit.warning);
  config.active = fit.active;
  config.maxIncoming = fit.maxIncoming;
  config.watch = fit.watch;
  baseLog.debug(`settings: ${JSON.stringify(config)}`); // what this run really uses, defaults and config file included
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    log.info(`${signal}: stopping, writing what was measured`);
    controller.abort(`signal ${signal}`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const progress = config.quiet ? undefined : createProgressDisplay({ durationS: config.duration, log });
  try {
    const summary = await runCrawl(config, {
      log,
      signal: controller.signal,
      args: process.argv.slice(2),
      onProgress: progress ? (p) => progress.update(p) : undefined,
    });
    progress?.stop();
    log.info(
      `run ${summary.runId} ended (${summary.exitReason}): ${summary.contacts} contacts, ` +
        `${summary.successes} successful, ${summary.known} peers, ${summary.confirmed} confirmed downloads recorded`,
    );
    return 0;
  } catch (err) {
    progress?.stop();
    if (err instanceof RunLockedError) {
      process.stderr.write(`btda: ${err.message}\n`);
      return EXIT_LOCKED;
    }
    if (err instanceof AddressKeyError) {
      process.stderr.write(`btda: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
