// The btda command line: `run` (default), `add`, `torrents`. Exit codes (README "Exit codes"):
// 0 done, 1 failed (database, listener port, ...), 2 bad command line or config.
import yargs from 'yargs';
import { addCommand } from './commands/add.ts';
import { demoCommand, demoOptions } from './commands/demo.ts';
import { explainCommand, explainOptions } from './commands/explain.ts';
import { exportCommand, exportOptions } from './commands/export.ts';
import { reportCommand, reportOptions } from './commands/report.ts';
import { runCommand } from './commands/run.ts';
import { torrentsCommand } from './commands/torrents.ts';
import { ConfigError, yargsOptions } from './options.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export async function main(args: string[]): Promise<number> {
  let code = EXIT_OK;
  const guard = (fn: (argv: Record<string, unknown>) => Promise<number>) => async (argv: Record<string, unknown>) => {
    try {
      code = await fn(argv);
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`btda: ${err.message}\n`);
        code = EXIT_USAGE;
      } else {
        process.stderr.write(`btda: ${(err as Error).message}\n`);
        if (process.env.BTDA_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
        code = EXIT_FAILED;
      }
    }
  };

  const parser = yargs(args)
    .scriptName('btda')
    .usage('$0 [command] [options]\n\nCounts confirmed downloads in BitTorrent swarms. Without a command: run.')
    .command(['run', '$0'], 'crawl the torrents in the database (and the input folder) until stopped', (y) =>
      y.options(yargsOptions()), guard(runCommand))
    .command('add <inputs..>', 'import .torrent files, folders, magnet links or files of magnet links', (y) =>
      y.positional('inputs', { type: 'string', array: true, describe: 'paths or magnet links' })
        .options(yargsOptions(['db', 'setLabel'])), guard(addCommand))
    .command('torrents', 'list the torrents in the database', (y) => y.options(yargsOptions(['db', 'setLabel'])),
      guard(torrentsCommand))
    .command('demo', 'the main job on a local swarm of simulated peers (loopback only), then btda vs the truth', (y) =>
      y.options(demoOptions), guard(demoCommand))
    .command('report', 'confirmed vs reported downloads, sources, outcomes, clients (text, json, csv or html)',
      (y) => y.options(reportOptions()), guard(reportCommand))
    .command('explain', 'the observations behind each confirmed download (or a peer row, or an address)', (y) =>
      y.options(explainOptions()), guard(explainCommand))
    .command('export', 'write every table as CSV or JSON Lines files', (y) => y.options(exportOptions()), guard(exportCommand))
    .parserConfiguration({ 'boolean-negation': false })
    .strictOptions()
    .exitProcess(false)
    .fail((msg, err) => {
      // throwing stops yargs from running the command after a usage error
      throw err ?? new ConfigError(msg);
    })
    .help()
    .version();
  try {
    await parser.parseAsync();
  } catch (err) {
    process.stderr.write(`btda: ${(err as Error).message}\n`);
    return EXIT_USAGE;
  }
  return code;
}
